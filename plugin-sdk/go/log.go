package weft

import (
	"context"
	"log/slog"
	"slices"

	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/imports/weft_plugin_logging"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Logger writes structured log lines through the host, which tags them with the plugin's name.
// Export makes it slog's default, so slog.Info("mirrored", "copies", n) reaches the host too.
// fmt.Println and friends also reach the host's log, as unstructured lines.
var Logger = slog.New(hostHandler{})

// hostHandler is a slog.Handler for the WIT logging interface. The host filters by level, so every
// record is sent.
type hostHandler struct {
	attrs  []witTypes.Tuple2[string, string]
	prefix string
}

func (hostHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h hostHandler) Handle(_ context.Context, r slog.Record) error {
	fields := slices.Clone(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		fields = appendAttr(fields, h.prefix, a)
		return true
	})
	weft_plugin_logging.Log(level(r.Level), r.Message, fields)
	return nil
}

func (h hostHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.attrs = slices.Clone(h.attrs)
	for _, a := range attrs {
		h.attrs = appendAttr(h.attrs, h.prefix, a)
	}
	return h
}

func (h hostHandler) WithGroup(name string) slog.Handler {
	if name != "" {
		h.prefix += name + "."
	}
	return h
}

func appendAttr(fields []witTypes.Tuple2[string, string], prefix string, a slog.Attr) []witTypes.Tuple2[string, string] {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range v.Group() {
			fields = appendAttr(fields, prefix, g)
		}
		return fields
	}
	if a.Key == "" {
		return fields
	}
	return append(fields, witTypes.Tuple2[string, string]{F0: prefix + a.Key, F1: v.String()})
}

func level(l slog.Level) weft_plugin_logging.Level {
	switch {
	case l < slog.LevelDebug:
		return weft_plugin_logging.Level_Trace
	case l < slog.LevelInfo:
		return weft_plugin_logging.Level_Debug
	case l < slog.LevelWarn:
		return weft_plugin_logging.Level_Info
	case l < slog.LevelError:
		return weft_plugin_logging.Level_Warn
	default:
		return weft_plugin_logging.Level_Error
	}
}
