//! What the shared caches hold: objects by key, with the metadata the host decides on parsed once.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use kube::api::DynamicObject;

/// An object's identity within one resource type: its namespace (none when cluster-scoped) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        Self { namespace: namespace.map(str::to_owned), name: name.to_owned() }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{namespace}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// An object as cached: its JSON for plugins, and the metadata the host decides on.
#[derive(Debug)]
pub struct CachedObject {
    pub json: String,
    pub key: ObjectKey,
    pub resource_version: String,
    pub generation: Option<i64>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub finalizers: Vec<String>,
    pub deleting: bool,
    pub owners: Vec<Owner>,
}

/// One ownerReference, as far as mapping an owned object to its owner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

impl CachedObject {
    pub fn from_dynamic(object: &DynamicObject) -> Self {
        let meta = &object.metadata;
        Self {
            json: serde_json::to_string(object).unwrap_or_default(),
            key: ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref().unwrap_or_default()),
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            generation: meta.generation,
            labels: meta.labels.clone().unwrap_or_default(),
            annotations: meta.annotations.clone().unwrap_or_default(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            owners: meta
                .owner_references
                .iter()
                .flatten()
                .map(|o| Owner { api_version: o.api_version.clone(), kind: o.kind.clone(), name: o.name.clone() })
                .collect(),
        }
    }
}

/// What happened to an object in a cache.
#[derive(Debug, Clone)]
pub enum Change {
    Applied { old: Option<Arc<CachedObject>>, new: Arc<CachedObject> },
    Deleted(Arc<CachedObject>),
}
