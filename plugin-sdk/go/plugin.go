package weft

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/exports/export_weft_plugin_controller"
	_ "github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/exports/wit_exports" // the wasm exports
	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/imports/weft_plugin_cluster"
	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/imports/weft_plugin_types"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Plugin is a reconciler of objects of type T with configuration C. Register it with Export.
type Plugin[T, C any] struct {
	// Describe is what the plugin reconciles, watches and may call.
	Describe *Description[T]
	// Config holds the defaults: the Plugin's spec.config (JSON) is decoded over a copy of it for
	// every call, so fields it leaves out keep these values.
	Config C
	// Reconcile brings the cluster in line with object. It runs for every change, so it must be
	// idempotent. A returned error, or a panic, fails the reconcile: see Transient and Permanent.
	Reconcile func(ctx *Context[C], object *T) (Action, error)
	// Cleanup runs when a primary carrying the plugin's finalizer is being deleted; Done lets the
	// host remove the finalizer. Optional: without it the finalizer is removed at once.
	Cleanup func(ctx *Context[C], object *T) (Action, error)
	// MapRelated returns the primaries a change of a related object (declared with
	// Description.Related) concerns.
	MapRelated func(ctx *Context[C], related Related) ([]ObjectRef, error)
}

// Export registers p as the plugin of this module. Call it from an init function of the main
// package; main itself is never called.
func Export[T, C any](p Plugin[T, C]) {
	slog.SetDefault(Logger)
	export_weft_plugin_controller.Impl = controller[T, C]{&p}
}

// Action is what to do after a successful reconcile: Done, or RequeueAfter.
type Action struct {
	requeue bool
	after   time.Duration
}

// Done: nothing more to do until something changes.
var Done = Action{}

// RequeueAfter reconciles the object again after d.
func RequeueAfter(d time.Duration) Action { return Action{requeue: true, after: d} }

// Trigger says why the host called the plugin.
type Trigger uint8

const (
	// Added: the primary was added to the cache (created, or seen for the first time).
	Added Trigger = iota
	// Modified: the primary changed.
	Modified
	// OwnedChanged: an object the primary owns changed.
	OwnedChanged
	// RelatedChanged: a related object changed.
	RelatedChanged
	// Requeued: the plugin asked to be called again.
	Requeued
	// Retry: a failed reconcile is retried.
	Retry
	// Resync: periodic resync, or a new plugin version or configuration.
	Resync
)

var triggerNames = [...]string{"added", "modified", "owned-changed", "related-changed", "requeued", "retry", "resync"}

func (t Trigger) String() string {
	if int(t) < len(triggerNames) {
		return triggerNames[t]
	}
	return fmt.Sprintf("Trigger(%d)", uint8(t))
}

// EventType is the severity of a Kubernetes Event.
type EventType uint8

const (
	Normal EventType = iota
	Warning
)

// Context is what a call receives besides its object.
type Context[C any] struct {
	// Config is the plugin's configuration: spec.config of its Plugin over Plugin.Config.
	Config C
	// Trigger says why the call happens.
	Trigger Trigger
	// Object names the object the call is about.
	Object ObjectRef
}

// RecordEvent records a Kubernetes Event about regarding. reason is UpperCamelCase, such as
// "Mirrored"; note is for people.
func (c *Context[C]) RecordEvent(regarding ObjectRef, typ EventType, reason, note string) {
	weft_plugin_cluster.RecordEvent(refToWit(regarding), weft_plugin_types.Event{Type: uint8(typ), Reason: reason, Note: note})
}

// Related is a related object whose change may concern some primaries.
type Related struct {
	Object ObjectRef
	JSON   string
}

// Decode unmarshals the related object into v, such as a *FleetMember.
func (r Related) Decode(v any) error {
	if err := json.Unmarshal([]byte(r.JSON), v); err != nil {
		return Permanent(fmt.Errorf("decoding %s %s: %w", r.Object.Kind, r.Object.Name, err))
	}
	return nil
}

// controller is the WIT side of a Plugin: conversions, configuration, errors and panics.
type controller[T, C any] struct{ p *Plugin[T, C] }

func (c controller[T, C]) Describe() weft_plugin_types.Description { return c.p.Describe.d }

func (c controller[T, C]) Reconcile(request weft_plugin_types.Request) witTypes.Result[weft_plugin_types.Action, weft_plugin_types.Failure] {
	return c.call(request, c.p.Reconcile)
}

func (c controller[T, C]) Cleanup(request weft_plugin_types.Request) witTypes.Result[weft_plugin_types.Action, weft_plugin_types.Failure] {
	if c.p.Cleanup == nil {
		return witTypes.Ok[weft_plugin_types.Action, weft_plugin_types.Failure](weft_plugin_types.MakeActionDone())
	}
	return c.call(request, c.p.Cleanup)
}

func (c controller[T, C]) MapRelated(request weft_plugin_types.Request) (result witTypes.Result[[]weft_plugin_types.ObjectRef, string]) {
	defer func() {
		if r := recover(); r != nil {
			result = witTypes.Err[[]weft_plugin_types.ObjectRef](fmt.Sprint("panic: ", r))
		}
	}()
	if c.p.MapRelated == nil {
		return witTypes.Ok[[]weft_plugin_types.ObjectRef, string](nil)
	}
	ctx, err := c.p.context(request)
	if err != nil {
		return witTypes.Err[[]weft_plugin_types.ObjectRef](err.Error())
	}
	refs, err := c.p.MapRelated(ctx, Related{Object: ctx.Object, JSON: request.Json})
	if err != nil {
		return witTypes.Err[[]weft_plugin_types.ObjectRef](err.Error())
	}
	out := make([]weft_plugin_types.ObjectRef, len(refs))
	for i, ref := range refs {
		out[i] = refToWit(ref)
	}
	return witTypes.Ok[[]weft_plugin_types.ObjectRef, string](out)
}

// call runs a reconcile or cleanup. A panic becomes a transient failure carrying its message
// instead of a trap, so the host retries with backoff and the plugin's lastError says why.
func (c controller[T, C]) call(request weft_plugin_types.Request, run func(*Context[C], *T) (Action, error)) (result witTypes.Result[weft_plugin_types.Action, weft_plugin_types.Failure]) {
	defer func() {
		if r := recover(); r != nil {
			result = witTypes.Err[weft_plugin_types.Action](weft_plugin_types.MakeFailureTransient(fmt.Sprint("panic: ", r)))
		}
	}()
	ctx, err := c.p.context(request)
	if err != nil {
		return witTypes.Err[weft_plugin_types.Action](toFailure(err))
	}
	object := new(T)
	if err := json.Unmarshal([]byte(request.Json), object); err != nil {
		return witTypes.Err[weft_plugin_types.Action](toFailure(Permanentf("decoding %s: %w", request.Object.Kind, err)))
	}
	action, err := run(ctx, object)
	if err != nil {
		return witTypes.Err[weft_plugin_types.Action](toFailure(err))
	}
	if !action.requeue {
		return witTypes.Ok[weft_plugin_types.Action, weft_plugin_types.Failure](weft_plugin_types.MakeActionDone())
	}
	return witTypes.Ok[weft_plugin_types.Action, weft_plugin_types.Failure](weft_plugin_types.MakeActionRequeueAfter(uint64(max(action.after, 0) / time.Millisecond)))
}

func (p *Plugin[T, C]) context(request weft_plugin_types.Request) (*Context[C], error) {
	ctx := &Context[C]{Config: p.Config, Trigger: Trigger(request.Reason), Object: refFromWit(request.Object)}
	switch strings.TrimSpace(request.Config) {
	case "", "{}", "null":
	default:
		if err := json.Unmarshal([]byte(request.Config), &ctx.Config); err != nil {
			return nil, Permanentf("invalid plugin config: %w", err)
		}
	}
	return ctx, nil
}

func refFromWit(r weft_plugin_types.ObjectRef) ObjectRef {
	return ObjectRef{APIVersion: r.ApiVersion, Kind: r.Kind, Namespace: r.Namespace.SomeOr(""), Name: r.Name}
}

func refToWit(r ObjectRef) weft_plugin_types.ObjectRef {
	return weft_plugin_types.ObjectRef{ApiVersion: r.APIVersion, Kind: r.Kind, Namespace: optional(r.Namespace), Name: r.Name}
}
