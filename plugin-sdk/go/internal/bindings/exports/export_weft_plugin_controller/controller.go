// Package export_weft_plugin_controller is where the generated exports (package wit_exports) call
// the plugin. Its name and functions are fixed by wit-bindgen; package weft installs the plugin in
// Impl. Hand-written: generate.sh leaves it alone.
package export_weft_plugin_controller

import (
	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/imports/weft_plugin_types"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Controller is the exported interface of the world, one method per WIT function.
type Controller interface {
	Describe() weft_plugin_types.Description
	Reconcile(request weft_plugin_types.Request) witTypes.Result[weft_plugin_types.Action, weft_plugin_types.Failure]
	Cleanup(request weft_plugin_types.Request) witTypes.Result[weft_plugin_types.Action, weft_plugin_types.Failure]
	MapRelated(request weft_plugin_types.Request) witTypes.Result[[]weft_plugin_types.ObjectRef, string]
}

// Impl is set by weft.Export, from an init function of the plugin's main package.
var Impl Controller

func impl() Controller {
	if Impl == nil {
		panic("weft: no plugin exported; call weft.Export from an init function")
	}
	return Impl
}

func Describe() weft_plugin_types.Description { return impl().Describe() }

func Reconcile(request weft_plugin_types.Request) witTypes.Result[weft_plugin_types.Action, weft_plugin_types.Failure] {
	return impl().Reconcile(request)
}

func Cleanup(request weft_plugin_types.Request) witTypes.Result[weft_plugin_types.Action, weft_plugin_types.Failure] {
	return impl().Cleanup(request)
}

func MapRelated(request weft_plugin_types.Request) witTypes.Result[[]weft_plugin_types.ObjectRef, string] {
	return impl().MapRelated(request)
}
