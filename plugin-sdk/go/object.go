package weft

import (
	"encoding/json"
)

// TypeMeta is the apiVersion and kind of an object. Embed it in object types; the SDK fills both
// in when it sends an object that leaves them empty.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// ObjectMeta is the metadata every object has. Embed it with the tag `json:"metadata"` so that its
// fields and helpers are promoted (cm.Name, cm.Annotation("...")).
type ObjectMeta struct {
	Name              string            `json:"name,omitempty"`
	GenerateName      string            `json:"generateName,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	Generation        int64             `json:"generation,omitempty"`
	CreationTimestamp string            `json:"creationTimestamp,omitempty"`
	DeletionTimestamp string            `json:"deletionTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	OwnerReferences   []OwnerReference  `json:"ownerReferences,omitempty"`
	Finalizers        []string          `json:"finalizers,omitempty"`
}

// Label returns the value of a label, or "" when it is not set.
func (m *ObjectMeta) Label(key string) string { return m.Labels[key] }

// HasLabel reports whether the label is set, with any value.
func (m *ObjectMeta) HasLabel(key string) bool {
	_, ok := m.Labels[key]
	return ok
}

// SetLabel sets a label, creating the map when needed.
func (m *ObjectMeta) SetLabel(key, value string) {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[key] = value
}

// Annotation returns the value of an annotation, or "" when it is not set.
func (m *ObjectMeta) Annotation(key string) string { return m.Annotations[key] }

// SetAnnotation sets an annotation, creating the map when needed.
func (m *ObjectMeta) SetAnnotation(key, value string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[key] = value
}

// Deleting reports whether the object is being deleted (it has a deletionTimestamp).
func (m *ObjectMeta) Deleting() bool { return m.DeletionTimestamp != "" }

// OwnerReference points from an owned object to its owner.
type OwnerReference struct {
	APIVersion         string `json:"apiVersion"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	UID                string `json:"uid"`
	Controller         *bool  `json:"controller,omitempty"`
	BlockOwnerDeletion *bool  `json:"blockOwnerDeletion,omitempty"`
}

// ObjectRef names one object. Namespace is "" for cluster-scoped objects.
type ObjectRef struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

// ResourceType says where a kind of object is served.
type ResourceType struct {
	// Group is "" for the core group.
	Group   string
	Version string
	Kind    string
	// Plural is the lower-case name used in URLs and RBAC rules, such as "configmaps".
	Plural     string
	Namespaced bool
}

// APIVersion is "v1" for the core group and "group/version" otherwise.
func (r ResourceType) APIVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// Ref names the object of this type called name in namespace ("" when cluster-scoped).
func (r ResourceType) Ref(namespace, name string) ObjectRef {
	return ObjectRef{APIVersion: r.APIVersion(), Kind: r.Kind, Namespace: namespace, Name: name}
}

// Is reports whether ref names an object of this type.
func (r ResourceType) Is(ref ObjectRef) bool {
	return ref.Kind == r.Kind && ref.APIVersion == r.APIVersion()
}

// OwnerReference makes owner (an object of this type) the controlling owner of another object.
func (r ResourceType) OwnerReference(owner *ObjectMeta) OwnerReference {
	yes := true
	return OwnerReference{APIVersion: r.APIVersion(), Kind: r.Kind, Name: owner.Name, UID: owner.UID, Controller: &yes}
}

func (r ResourceType) resourceType() ResourceType { return r }

// AnyResource is a Resource of any object type, as the Description builder takes it.
type AnyResource interface {
	resourceType() ResourceType
}

// Resource is a ResourceType tied to the Go type T its objects decode into. T is a struct that
// embeds TypeMeta and ObjectMeta, like ConfigMap.
type Resource[T any] struct {
	ResourceType
}

// Namespaced declares a namespaced resource whose objects decode into T.
func Namespaced[T any](group, version, kind, plural string) Resource[T] {
	return Resource[T]{ResourceType{Group: group, Version: version, Kind: kind, Plural: plural, Namespaced: true}}
}

// ClusterScoped declares a cluster-scoped resource whose objects decode into T.
func ClusterScoped[T any](group, version, kind, plural string) Resource[T] {
	return Resource[T]{ResourceType{Group: group, Version: version, Kind: kind, Plural: plural}}
}

// In is the Api for objects in one namespace.
func (r Resource[T]) In(namespace string) Api[T] { return Api[T]{r.ResourceType, namespace} }

// All is the Api for cluster-scoped objects, or for namespaced ones across every namespace (list).
func (r Resource[T]) All() Api[T] { return Api[T]{r.ResourceType, ""} }

// ConfigMap is a core/v1 ConfigMap.
type ConfigMap struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
}

// Secret is a core/v1 Secret; Data values are the decoded bytes.
type Secret struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"`
	StringData map[string]string `json:"stringData,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
}

// Namespace is a core/v1 Namespace.
type Namespace struct {
	TypeMeta
	ObjectMeta `json:"metadata"`
	Status     struct {
		Phase string `json:"phase,omitempty"`
	} `json:"status,omitzero"`
}

var (
	ConfigMaps = Namespaced[ConfigMap]("", "v1", "ConfigMap", "configmaps")
	Secrets    = Namespaced[Secret]("", "v1", "Secret", "secrets")
	Namespaces = ClusterScoped[Namespace]("", "v1", "Namespace", "namespaces")
)

// encode serializes an object for the API server, adding apiVersion and kind when the value
// leaves them out.
func encode(r ResourceType, object any) (string, error) {
	raw, err := json.Marshal(object)
	if err != nil {
		return "", err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return "", err
	}
	if _, ok := fields["apiVersion"]; !ok {
		fields["apiVersion"], _ = json.Marshal(r.APIVersion())
	}
	if _, ok := fields["kind"]; !ok {
		fields["kind"], _ = json.Marshal(r.Kind)
	}
	raw, err = json.Marshal(fields)
	return string(raw), err
}
