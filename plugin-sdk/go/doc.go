// Package weft writes Kubernetes reconcilers for the weft host in Go, compiled to WebAssembly.
//
// A plugin is a Plugin value registered with Export from an init function of package main: a
// Description of what it reconciles and which API calls it makes, default configuration, and a
// Reconcile function from a typed primary object to an Action.
//
//	func init() {
//		weft.Export(weft.Plugin[weft.ConfigMap, struct{}]{
//			Describe: weft.Describe("touch", "0.1.0", weft.ConfigMaps).
//				Selector("touch=yes").
//				Permit(weft.ConfigMaps, "patch"),
//			Reconcile: func(_ *weft.Context[struct{}], cm *weft.ConfigMap) (weft.Action, error) {
//				patch := map[string]any{"metadata": map[string]any{"annotations": map[string]string{"touched": "yes"}}}
//				_, err := weft.ConfigMaps.In(cm.Namespace).Patch(cm.Name, patch)
//				return weft.Done, err
//			},
//		})
//	}
//
//	func main() {}
//
// Build it for wasip1 as a reactor and embed the contract (see the README):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w -checklinkname=0" -o core.wasm
//	wasm-tools component embed -w reconciler $SDK/wit core.wasm -o plugin.wasm
//
// Each call runs in a fresh instance: nothing kept in memory survives to the next call. State
// belongs in the cluster.
package weft
