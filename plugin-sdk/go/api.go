package weft

import (
	"encoding/json"

	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/imports/weft_plugin_cluster"
	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/imports/weft_plugin_types"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Api makes cluster calls for objects of type T, in one namespace or (namespace "") for
// cluster-scoped objects and lists across all namespaces. Get one with Resource.In or
// Resource.All.
//
// Reads come from the host's caches; writes go to the API server. Every call is checked against
// the permissions the plugin declared; a call outside them fails with a KindForbidden *APIError.
type Api[T any] struct {
	resource  ResourceType
	namespace string
}

// Get fetches one object.
func (a Api[T]) Get(name string) (*T, error) {
	return decodeResult[T](weft_plugin_cluster.Get(a.wit(), a.ns(), name))
}

// List returns the objects matching a label selector such as "app=web,tier!=db" ("" for all).
func (a Api[T]) List(labelSelector string) ([]T, error) {
	selector := witTypes.None[string]()
	if labelSelector != "" {
		selector = witTypes.Some(labelSelector)
	}
	result := weft_plugin_cluster.List(a.wit(), a.ns(), selector)
	if result.IsErr() {
		return nil, fromWit(result.Err())
	}
	items := make([]T, len(result.Ok()))
	for i, item := range result.Ok() {
		if err := json.Unmarshal([]byte(item), &items[i]); err != nil {
			return nil, decodeError(err)
		}
	}
	return items, nil
}

// Create creates an object and returns it as stored.
func (a Api[T]) Create(object *T) (*T, error) {
	body, err := encode(a.resource, object)
	if err != nil {
		return nil, decodeError(err)
	}
	return decodeResult[T](weft_plugin_cluster.Create(a.wit(), body))
}

// Apply is a server-side apply with the plugin's field manager: object states every field the
// plugin owns. With force, fields other managers own are taken over instead of failing with a
// conflict.
func (a Api[T]) Apply(object *T, force bool) (*T, error) {
	body, err := encode(a.resource, object)
	if err != nil {
		return nil, decodeError(err)
	}
	return decodeResult[T](weft_plugin_cluster.Apply(a.wit(), body, force))
}

// Patch applies a JSON merge patch (RFC 7386) to the object called name. patch is anything that
// marshals to a JSON object, such as a map[string]any.
func (a Api[T]) Patch(name string, patch any) (*T, error) {
	body, err := json.Marshal(patch)
	if err != nil {
		return nil, decodeError(err)
	}
	return decodeResult[T](weft_plugin_cluster.Patch(a.wit(), a.ns(), name, string(body)))
}

// PatchStatus merge-patches the status subresource with {"status": status}. The host skips the
// write when the status would not change.
func (a Api[T]) PatchStatus(name string, status any) (*T, error) {
	body, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return nil, decodeError(err)
	}
	return decodeResult[T](weft_plugin_cluster.PatchStatus(a.wit(), a.ns(), name, string(body)))
}

// Delete deletes the object called name, with background propagation.
func (a Api[T]) Delete(name string) error {
	result := weft_plugin_cluster.Delete(a.wit(), a.ns(), name)
	if result.IsErr() {
		return fromWit(result.Err())
	}
	return nil
}

func (a Api[T]) wit() weft_plugin_types.ApiResource {
	r := a.resource
	return weft_plugin_types.ApiResource{Group: r.Group, Version: r.Version, Kind: r.Kind, Plural: r.Plural, Namespaced: r.Namespaced}
}

func (a Api[T]) ns() witTypes.Option[string] { return optional(a.namespace) }

func optional(s string) witTypes.Option[string] {
	if s == "" {
		return witTypes.None[string]()
	}
	return witTypes.Some(s)
}

func decodeResult[T any](result witTypes.Result[string, weft_plugin_types.ApiError]) (*T, error) {
	if result.IsErr() {
		return nil, fromWit(result.Err())
	}
	object := new(T)
	if err := json.Unmarshal([]byte(result.Ok()), object); err != nil {
		return nil, decodeError(err)
	}
	return object, nil
}
