// Command hello-go greets ConfigMaps labelled weft.dev/hello: each gets the annotation
// weft.dev/greeting: "<greeting>, <namespace>/<name>".
package main

import (
	"fmt"

	weft "github.com/weft-dev/weft/plugin-sdk/go"
)

const annotation = "weft.dev/greeting"

// Config is spec.config of the Plugin: {"greeting": "hi"}.
type Config struct {
	Greeting string `json:"greeting"`
}

func init() {
	weft.Export(weft.Plugin[weft.ConfigMap, Config]{
		Describe: weft.Describe("hello-go", "0.1.0", weft.ConfigMaps).
			Selector("weft.dev/hello").
			Permit(weft.ConfigMaps, "patch"),
		Config:    Config{Greeting: "hello"},
		Reconcile: reconcile,
	})
}

func reconcile(ctx *weft.Context[Config], cm *weft.ConfigMap) (weft.Action, error) {
	greeting := fmt.Sprintf("%s, %s/%s", ctx.Config.Greeting, cm.Namespace, cm.Name)
	if cm.Annotation(annotation) == greeting {
		return weft.Done, nil
	}
	patch := map[string]any{"metadata": map[string]any{"annotations": map[string]string{annotation: greeting}}}
	_, err := weft.ConfigMaps.In(cm.Namespace).Patch(cm.Name, patch)
	return weft.Done, err
}

// main is never called: the host calls the exports that weft.Export registers.
func main() {}
