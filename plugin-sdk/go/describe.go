package weft

import (
	"github.com/weft-dev/weft/plugin-sdk/go/internal/bindings/imports/weft_plugin_types"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Description is what a plugin declares about itself: what it reconciles and watches, and every
// API call it makes. Build one with Describe; the host reads it once per loaded module.
type Description[T any] struct {
	d weft_plugin_types.Description
}

// Describe starts the description of a plugin called name at version, reconciling objects of
// primary.
func Describe[T any](name, version string, primary Resource[T]) *Description[T] {
	return &Description[T]{weft_plugin_types.Description{
		Name:    name,
		Version: version,
		Primary: watch(primary.ResourceType, ""),
	}}
}

// Selector reconciles only primaries matching a label selector such as "app=web" or "weft.dev/hello".
func (d *Description[T]) Selector(labelSelector string) *Description[T] {
	d.d.Primary.LabelSelector = optional(labelSelector)
	return d
}

// Owns watches objects the plugin creates with an ownerReference to a primary; their changes
// reconcile the owner. labelSelector may be "".
func (d *Description[T]) Owns(r AnyResource, labelSelector string) *Description[T] {
	d.d.Owns = append(d.d.Owns, watch(r.resourceType(), labelSelector))
	return d
}

// Related watches other objects whose changes reconcile the primaries that Plugin.MapRelated
// returns. labelSelector may be "".
func (d *Description[T]) Related(r AnyResource, labelSelector string) *Description[T] {
	return d.related(r, labelSelector, weft_plugin_types.MakeRelatedMappingByFunction())
}

// RelatedByLabel watches other objects that name their primary (in the same namespace) in the
// label primaryLabel; no MapRelated needed. labelSelector may be "".
func (d *Description[T]) RelatedByLabel(r AnyResource, labelSelector, primaryLabel string) *Description[T] {
	return d.related(r, labelSelector, weft_plugin_types.MakeRelatedMappingByLabel(primaryLabel))
}

func (d *Description[T]) related(r AnyResource, labelSelector string, m weft_plugin_types.RelatedMapping) *Description[T] {
	d.d.Related = append(d.d.Related, weft_plugin_types.Related{Watch: watch(r.resourceType(), labelSelector), Mapping: m})
	return d
}

// Permit declares the verbs the plugin calls on r: get, list, create, patch (also needed by
// Apply), delete. Status patches need PermitStatus.
func (d *Description[T]) Permit(r AnyResource, verbs ...string) *Description[T] {
	rt := r.resourceType()
	return d.permit(rt.Group, rt.Plural, verbs)
}

// PermitStatus declares that the plugin patches the status subresource of r.
func (d *Description[T]) PermitStatus(r AnyResource) *Description[T] {
	rt := r.resourceType()
	return d.permit(rt.Group, rt.Plural+"/status", []string{"patch"})
}

func (d *Description[T]) permit(group, resource string, verbs []string) *Description[T] {
	d.d.Permissions = append(d.d.Permissions, weft_plugin_types.PolicyRule{
		ApiGroups: []string{group},
		Resources: []string{resource},
		Verbs:     verbs,
	})
	return d
}

// Finalizer has the host add this finalizer to primaries and call Plugin.Cleanup before they go.
func (d *Description[T]) Finalizer(name string) *Description[T] {
	d.d.Finalizer = witTypes.Some(name)
	return d
}

// ReconcileOnStatusChange also reconciles when only a primary's status changed (off by default,
// which keeps the plugin's own status writes from looping).
func (d *Description[T]) ReconcileOnStatusChange() *Description[T] {
	d.d.ReconcileOnStatusChange = true
	return d
}

func watch(r ResourceType, labelSelector string) weft_plugin_types.Watch {
	return weft_plugin_types.Watch{
		Api:           weft_plugin_types.ApiResource{Group: r.Group, Version: r.Version, Kind: r.Kind, Plural: r.Plural, Namespaced: r.Namespaced},
		LabelSelector: optional(labelSelector),
	}
}
