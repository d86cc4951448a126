//! A typed client for one kind of object, in the spirit of kube-rs's `Api<K>`.

use std::marker::PhantomData;

use serde::Serialize;

use crate::bindings::weft::plugin::cluster;
use crate::error::ApiError;
use crate::object::{Object, to_json};

/// Cluster calls for objects of type `K`, in one namespace or across all of them.
///
/// Reads are served from the host's caches; writes go to the API server. The host checks each call
/// against the permissions the plugin was granted and answers [`ErrorKind::Forbidden`] otherwise.
///
/// [`ErrorKind::Forbidden`]: crate::ErrorKind::Forbidden
#[derive(Debug, Clone)]
pub struct Api<K> {
    namespace: Option<String>,
    _kind: PhantomData<fn() -> K>,
}

impl<K: Object> Api<K> {
    /// Objects in one namespace.
    pub fn namespaced(namespace: &str) -> Self {
        Self { namespace: Some(namespace.to_owned()), _kind: PhantomData }
    }

    /// Cluster-scoped objects, or namespaced objects across all namespaces (for `list`).
    pub fn all() -> Self {
        Self { namespace: None, _kind: PhantomData }
    }

    /// The namespace of `object`, or all namespaces for a cluster-scoped one.
    pub fn for_object(object: &K) -> Self {
        Self { namespace: object.namespace().map(str::to_owned), _kind: PhantomData }
    }

    pub fn get(&self, name: &str) -> Result<K, ApiError> {
        let json = cluster::get(&K::RESOURCE.to_wit(), self.namespace.as_deref(), name).map_err(ApiError::from_wit)?;
        decode(&json)
    }

    /// Like [`get`](Self::get), with `None` for an object that does not exist.
    pub fn get_opt(&self, name: &str) -> Result<Option<K>, ApiError> {
        match self.get(name) {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Objects matching a label selector such as `app=web,tier!=db` (`None` for all).
    pub fn list(&self, label_selector: Option<&str>) -> Result<Vec<K>, ApiError> {
        let items = cluster::list(&K::RESOURCE.to_wit(), self.namespace.as_deref(), label_selector)
            .map_err(ApiError::from_wit)?;
        items.iter().map(|json| decode(json)).collect()
    }

    pub fn create(&self, object: &K) -> Result<K, ApiError> {
        let json = cluster::create(&K::RESOURCE.to_wit(), &encode(object)?).map_err(ApiError::from_wit)?;
        decode(&json)
    }

    /// Server-side apply: `object` states every field the plugin owns. With `force`, fields other
    /// managers own are taken over instead of reported as a conflict.
    pub fn apply(&self, object: &K, force: bool) -> Result<K, ApiError> {
        let json = cluster::apply(&K::RESOURCE.to_wit(), &encode(object)?, force).map_err(ApiError::from_wit)?;
        decode(&json)
    }

    /// JSON merge patch of the object named `name`.
    pub fn patch(&self, name: &str, patch: &impl Serialize) -> Result<K, ApiError> {
        let patch = serde_json::to_string(patch).map_err(ApiError::decode)?;
        let json = cluster::patch(&K::RESOURCE.to_wit(), self.namespace.as_deref(), name, &patch)
            .map_err(ApiError::from_wit)?;
        decode(&json)
    }

    /// Merge-patches the status subresource with `{"status": status}`. The host skips the write
    /// when the status would not change.
    pub fn patch_status(&self, name: &str, status: &impl Serialize) -> Result<K, ApiError> {
        let patch = serde_json::to_string(&serde_json::json!({ "status": status })).map_err(ApiError::decode)?;
        let json = cluster::patch_status(&K::RESOURCE.to_wit(), self.namespace.as_deref(), name, &patch)
            .map_err(ApiError::from_wit)?;
        decode(&json)
    }

    pub fn delete(&self, name: &str) -> Result<(), ApiError> {
        cluster::delete(&K::RESOURCE.to_wit(), self.namespace.as_deref(), name).map_err(ApiError::from_wit)
    }
}

fn decode<K: Object>(json: &str) -> Result<K, ApiError> {
    serde_json::from_str(json).map_err(ApiError::decode)
}

fn encode<K: Object>(object: &K) -> Result<String, ApiError> {
    to_json(object).map_err(ApiError::decode)
}
