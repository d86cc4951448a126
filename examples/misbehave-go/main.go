// Command misbehave-go is a test fixture: a ConfigMap labelled weft.dev/misbehave chooses, by the
// label's value, how its reconcile fails, so tests can check what the host and the SDK make of it.
package main

import (
	"fmt"

	weft "github.com/weft-dev/weft/plugin-sdk/go"
)

const label = "weft.dev/misbehave"

func init() {
	weft.Export(weft.Plugin[weft.ConfigMap, struct{}]{
		Describe: weft.Describe("misbehave-go", "0.1.0", weft.ConfigMaps).
			Selector(label).
			Permit(weft.ConfigMaps, "patch"),
		Reconcile: reconcile,
	})
}

func reconcile(_ *weft.Context[struct{}], cm *weft.ConfigMap) (weft.Action, error) {
	switch cm.Label(label) {
	case "panic":
		panic("misbehaving on purpose: " + cm.Name)
	case "runtime-error":
		var counts map[string]int
		counts[cm.Name]++ // a write to a nil map: a Go runtime panic
	case "forbidden":
		// Secrets were never declared: the host refuses, and the SDK says so with its error type.
		_, err := weft.Secrets.All().List("")
		return weft.Done, note(cm, fmt.Sprintf("forbidden=%t: %v", weft.IsForbidden(err), err))
	case "forbidden-uncaught":
		_, err := weft.Secrets.All().List("")
		return weft.Done, err
	}
	return weft.Done, note(cm, "ok")
}

// note records what happened in the annotation weft.dev/result.
func note(cm *weft.ConfigMap, result string) error {
	patch := map[string]any{"metadata": map[string]any{"annotations": map[string]string{"weft.dev/result": result}}}
	_, err := weft.ConfigMaps.In(cm.Namespace).Patch(cm.Name, patch)
	return err
}

// main is never called: the host calls the exports that weft.Export registers.
func main() {}
