//! Typed Kubernetes objects: what a plugin reads and writes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::weft::plugin::types;

/// Where a kind of object is served: group, version, kind, plural and scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

impl ResourceType {
    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_owned() } else { format!("{}/{}", self.group, self.version) }
    }

    pub(crate) fn to_wit(self) -> types::ApiResource {
        types::ApiResource {
            group: self.group.to_owned(),
            version: self.version.to_owned(),
            kind: self.kind.to_owned(),
            plural: self.plural.to_owned(),
            namespaced: self.namespaced,
        }
    }
}

/// A Kubernetes object type a plugin can read and write.
///
/// Every k8s-openapi type with an `ObjectMeta` implements it; for custom resources use
/// [`resource!`](crate::resource).
pub trait Object: Serialize + DeserializeOwned {
    const RESOURCE: ResourceType;

    fn meta(&self) -> &ObjectMeta;
    fn meta_mut(&mut self) -> &mut ObjectMeta;

    /// The object's name, or `""` when unset.
    fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    /// The object's namespace, if it has one.
    fn namespace(&self) -> Option<&str> {
        self.meta().namespace.as_deref()
    }

    /// A reference to this object.
    fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            api_version: Self::RESOURCE.api_version(),
            kind: Self::RESOURCE.kind.to_owned(),
            namespace: self.namespace().map(str::to_owned),
            name: self.name().to_owned(),
        }
    }
}

/// Resource scopes of k8s-openapi, as a constant.
pub trait Scope {
    const NAMESPACED: bool;
}

impl Scope for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: bool = true;
}

impl Scope for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: bool = false;
}

impl<K> Object for K
where
    K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta> + Serialize + DeserializeOwned,
    K::Scope: Scope,
{
    const RESOURCE: ResourceType = ResourceType {
        group: K::GROUP,
        version: K::VERSION,
        kind: K::KIND,
        plural: K::URL_PATH_SEGMENT,
        namespaced: <K::Scope as Scope>::NAMESPACED,
    };

    fn meta(&self) -> &ObjectMeta {
        self.metadata()
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.metadata_mut()
    }
}

/// Makes a serde struct with a `metadata: ObjectMeta` field a custom resource type.
///
/// ```
/// use weft_plugin::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Fleet {
///     metadata: ObjectMeta,
/// }
///
/// weft_plugin::resource!(Fleet, group = "examples.weft.dev", version = "v1", kind = "Fleet", plural = "fleets", namespaced);
/// ```
#[macro_export]
macro_rules! resource {
    ($ty:ty, group = $group:literal, version = $version:literal, kind = $kind:literal, plural = $plural:literal, namespaced) => {
        $crate::resource!(@impl $ty, $group, $version, $kind, $plural, $crate::k8s_openapi::NamespaceResourceScope);
    };
    ($ty:ty, group = $group:literal, version = $version:literal, kind = $kind:literal, plural = $plural:literal, cluster) => {
        $crate::resource!(@impl $ty, $group, $version, $kind, $plural, $crate::k8s_openapi::ClusterResourceScope);
    };
    (@impl $ty:ty, $group:literal, $version:literal, $kind:literal, $plural:literal, $scope:ty) => {
        impl $crate::k8s_openapi::Resource for $ty {
            const API_VERSION: &'static str = concat!($group, "/", $version);
            const GROUP: &'static str = $group;
            const KIND: &'static str = $kind;
            const VERSION: &'static str = $version;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = $scope;
        }

        impl $crate::k8s_openapi::Metadata for $ty {
            type Ty = $crate::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }
    };
}

/// One object, by identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// A reference to an object of type `K`.
    pub fn new<K: Object>(namespace: Option<&str>, name: &str) -> Self {
        Self {
            api_version: K::RESOURCE.api_version(),
            kind: K::RESOURCE.kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    pub(crate) fn from_wit(r: types::ObjectRef) -> Self {
        Self { api_version: r.api_version, kind: r.kind, namespace: r.namespace, name: r.name }
    }

    pub(crate) fn into_wit(self) -> types::ObjectRef {
        types::ObjectRef { api_version: self.api_version, kind: self.kind, namespace: self.namespace, name: self.name }
    }
}

/// Serializes an object for the API server, filling in `apiVersion` and `kind` when the type does
/// not carry them itself (custom resource structs usually do not).
pub(crate) fn to_json<K: Object>(object: &K) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(object)?;
    if let Some(map) = value.as_object_mut() {
        map.entry("apiVersion").or_insert_with(|| K::RESOURCE.api_version().into());
        map.entry("kind").or_insert_with(|| K::RESOURCE.kind.into());
    }
    serde_json::to_string(&value)
}
