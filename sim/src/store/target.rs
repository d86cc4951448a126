//! [`Target`]: the resource a request addresses, and the view through which it is served.

use std::sync::Arc;

use serde_json::Value;

use super::ObjectKey;
use crate::registry::{GroupResource, ResourceDef};

/// The resource a request addresses, resolved against the registry.
#[derive(Clone, Debug)]
pub struct Target {
    /// The stored resource.
    pub def: Arc<ResourceDef>,
    pub version: String,
    pub namespace: Option<String>,
    /// The resource the request named, when it is another API's view of `def` (events.k8s.io/v1
    /// Events are core/v1 Events).
    pub view: Option<Arc<ResourceDef>>,
}

impl Target {
    pub fn new(def: Arc<ResourceDef>, version: &str, namespace: Option<&str>) -> Self {
        Self {
            namespace: namespace.filter(|_| def.namespaced).map(str::to_owned),
            def,
            version: version.to_owned(),
            view: None,
        }
    }

    pub fn gr(&self) -> &GroupResource {
        &self.def.gr
    }

    /// The resource as the client addressed it.
    pub fn served_def(&self) -> &Arc<ResourceDef> {
        self.view.as_ref().unwrap_or(&self.def)
    }

    /// The apiVersion objects are served with.
    pub fn served_api_version(&self) -> String {
        self.served_def().api_version(&self.version)
    }

    /// A stored object as the client sees it.
    pub fn to_served(&self, stored: &Value) -> Value {
        match &self.view {
            Some(_) => crate::events::to_events_v1(stored),
            None => stored.clone(),
        }
    }

    /// A client's object in its stored shape.
    pub fn to_stored(&self, served: Value) -> Value {
        match &self.view {
            Some(_) => crate::events::to_core(&served),
            None => served,
        }
    }

    pub fn api_version(&self) -> String {
        self.def.api_version(&self.version)
    }

    pub fn key(&self, name: &str) -> ObjectKey {
        ObjectKey::new(self.namespace.as_deref(), name)
    }

    /// The structural schema of the requested version (CRDs only).
    pub fn schema(&self) -> Option<&Value> {
        self.def.version(&self.version).and_then(|v| v.schema.as_ref())
    }
}
