//! The cluster as plugins see it, below the permission checks: the host backs it with its caches
//! and the API server; tests back it with memory.

use std::fmt;

use super::bindings::{ApiError, ApiResource, ErrorKind, Event, ObjectRef};

/// Cluster reads and writes made on behalf of plugins. Objects are JSON text in wire form.
///
/// Calls arrive on the thread running the plugin and block it until they return; an
/// implementation bounds its own waiting (for example with request timeouts).
pub trait Cluster: Send + Sync + fmt::Debug {
    fn get(&self, api: &ApiResource, namespace: Option<&str>, name: &str) -> Result<String, ApiError>;
    fn list(&self, api: &ApiResource, namespace: Option<&str>, selector: Option<&str>)
    -> Result<Vec<String>, ApiError>;
    fn create(&self, api: &ApiResource, json: &str) -> Result<String, ApiError>;
    fn apply(&self, api: &ApiResource, json: &str, field_manager: &str, force: bool) -> Result<String, ApiError>;
    fn patch(&self, api: &ApiResource, namespace: Option<&str>, name: &str, patch: &str) -> Result<String, ApiError>;
    fn patch_status(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        name: &str,
        patch: &str,
    ) -> Result<String, ApiError>;
    fn delete(&self, api: &ApiResource, namespace: Option<&str>, name: &str) -> Result<(), ApiError>;
    /// Records an Event; `reporter` is the plugin's name. Failures are the implementation's to log.
    fn record_event(&self, regarding: &ObjectRef, event: &Event, reporter: &str);
}

/// A cluster that refuses every call: for `describe`, and for running plugins where no cluster
/// is wanted (benchmarks).
#[derive(Debug)]
pub struct NoCluster;

impl NoCluster {
    fn refuse<T>() -> Result<T, ApiError> {
        Err(ApiError::new(ErrorKind::Forbidden, "this call may not use the cluster"))
    }
}

impl Cluster for NoCluster {
    fn get(&self, _: &ApiResource, _: Option<&str>, _: &str) -> Result<String, ApiError> {
        Self::refuse()
    }
    fn list(&self, _: &ApiResource, _: Option<&str>, _: Option<&str>) -> Result<Vec<String>, ApiError> {
        Self::refuse()
    }
    fn create(&self, _: &ApiResource, _: &str) -> Result<String, ApiError> {
        Self::refuse()
    }
    fn apply(&self, _: &ApiResource, _: &str, _: &str, _: bool) -> Result<String, ApiError> {
        Self::refuse()
    }
    fn patch(&self, _: &ApiResource, _: Option<&str>, _: &str, _: &str) -> Result<String, ApiError> {
        Self::refuse()
    }
    fn patch_status(&self, _: &ApiResource, _: Option<&str>, _: &str, _: &str) -> Result<String, ApiError> {
        Self::refuse()
    }
    fn delete(&self, _: &ApiResource, _: Option<&str>, _: &str) -> Result<(), ApiError> {
        Self::refuse()
    }
    fn record_event(&self, _: &ObjectRef, _: &Event, _: &str) {}
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

impl ApiResource {
    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}
