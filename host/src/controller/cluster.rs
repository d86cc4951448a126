//! The cluster as the host serves it to plugins: reads from the shared informer caches (falling
//! back to the API server for resources nobody watches), writes to the API server, and
//! read-your-own-writes on top, so a plugin never sees an object older than one it wrote.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::events::{Recorder, Reporter};
use parking_lot::Mutex;
use serde_json::Value;
use tokio::runtime::Handle;
use weft_sim::selector::LabelSelector;

use super::informer::{CachedObject, InformerKey, Informers, ObjectKey, dynamic_api};
use crate::runtime::{ApiError, ApiResource, Cluster, ErrorKind, Event, EventType, ObjectRef};

/// How long one cluster call from a plugin may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What a plugin last wrote to an object, until the cache catches up.
#[derive(Debug, Clone)]
enum Written {
    Object { resource_version: u64, json: String },
    Deleted { resource_version: u64 },
}

type WrittenKey = (String, ObjectKey);

/// One plugin's view of the cluster.
pub struct KubeCluster {
    client: Client,
    handle: Handle,
    informers: Arc<Informers>,
    /// Informer namespace scopes this plugin reads through (`None`: all namespaces).
    scopes: Vec<Option<String>>,
    recorder: Recorder,
    written: Mutex<HashMap<WrittenKey, Written>>,
}

impl std::fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeCluster").field("scopes", &self.scopes).finish_non_exhaustive()
    }
}

fn written_key(api: &ApiResource, namespace: Option<&str>, name: &str) -> WrittenKey {
    (format!("{}/{}", api.group, api.plural), (namespace.map(str::to_owned), name.to_owned()))
}

fn to_api_error(error: kube::Error) -> ApiError {
    match error {
        kube::Error::Api(status) => {
            let kind = match (status.code, status.reason.as_str()) {
                (404, _) | (_, "NotFound") => ErrorKind::NotFound,
                (_, "AlreadyExists") => ErrorKind::AlreadyExists,
                (409, _) | (_, "Conflict") => ErrorKind::Conflict,
                (403, _) | (_, "Forbidden") => ErrorKind::Forbidden,
                (400 | 413 | 415 | 422, _) | (_, "Invalid" | "BadRequest") => ErrorKind::Invalid,
                _ => ErrorKind::Transient,
            };
            ApiError::new(kind, status.message.clone())
        }
        other => ApiError::new(ErrorKind::Transient, other.to_string()),
    }
}

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorKind::Invalid, message.to_string())
}

impl KubeCluster {
    pub fn new(client: Client, informers: Arc<Informers>, scopes: Vec<Option<String>>, plugin: &str) -> Self {
        let reporter = Reporter { controller: format!("weft/{plugin}"), instance: None };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            handle: Handle::current(),
            informers,
            scopes,
            written: Mutex::new(HashMap::new()),
        }
    }

    /// Runs an API call from the plugin's (blocking) thread.
    fn block_on<T>(&self, call: impl Future<Output = Result<T, kube::Error>>) -> Result<T, ApiError> {
        match self.handle.block_on(tokio::time::timeout(CALL_TIMEOUT, call)) {
            Ok(result) => result.map_err(to_api_error),
            Err(_) => Err(ApiError::new(ErrorKind::Transient, format!("no answer within {CALL_TIMEOUT:?}"))),
        }
    }

    fn api(&self, api: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
        dynamic_api(self.client.clone(), api, namespace)
    }

    /// A synced informer whose scope covers `namespace` (or every namespace, for `None`).
    fn cache_for(&self, api: &ApiResource, namespace: Option<&str>) -> Option<Arc<super::informer::Informer>> {
        self.scopes
            .iter()
            .filter(|scope| scope.is_none() || (namespace.is_some() && scope.as_deref() == namespace))
            .find_map(|scope| self.informers.find(&InformerKey { api: api.clone(), namespace: scope.clone() }))
            .filter(|informer| informer.is_synced())
    }

    /// The cached object, or what this plugin wrote if the cache has not caught up.
    pub fn overlay(&self, api: &ApiResource, cached: Option<&CachedObject>, key: &ObjectKey) -> Option<String> {
        let mut written = self.written.lock();
        let wkey = written_key(api, key.0.as_deref(), &key.1);
        let cached_rv = cached.and_then(|c| c.resource_version.parse::<u64>().ok());
        match written.get(&wkey) {
            Some(Written::Object { resource_version, json }) if cached_rv.is_none_or(|rv| rv < *resource_version) => {
                Some(json.clone())
            }
            Some(Written::Deleted { resource_version }) if cached_rv.is_some_and(|rv| rv <= *resource_version) => None,
            stale => {
                if stale.is_some() {
                    written.remove(&wkey);
                }
                cached.map(|c| c.json.clone())
            }
        }
    }

    /// Serializes what a write returned, remembering it until the cache has caught up.
    fn write_result(&self, api: &ApiResource, object: DynamicObject) -> Result<String, ApiError> {
        let json = serde_json::to_string(&object).map_err(invalid)?;
        let meta = &object.metadata;
        if let Some(resource_version) = meta.resource_version.as_deref().and_then(|rv| rv.parse().ok()) {
            let key = written_key(api, meta.namespace.as_deref(), meta.name.as_deref().unwrap_or_default());
            self.written.lock().insert(key, Written::Object { resource_version, json: json.clone() });
        }
        Ok(json)
    }

    /// Whether a status merge patch would leave the cached object's status as it is.
    fn status_unchanged(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Option<String> {
        let informer = self.cache_for(api, namespace)?;
        let key = (namespace.map(str::to_owned), name.to_owned());
        let json = self.overlay(api, informer.get(&key).as_deref(), &key)?;
        let current: Value = serde_json::from_str(&json).ok()?;
        let mut merged = current.get("status").cloned().unwrap_or(Value::Null);
        json_patch::merge(&mut merged, patch.get("status")?);
        (Some(&merged) == current.get("status")).then_some(json)
    }
}

fn object_of(json: &str) -> Result<(Value, Option<String>, String), ApiError> {
    let value: Value = serde_json::from_str(json).map_err(invalid)?;
    let namespace = value["metadata"]["namespace"].as_str().map(str::to_owned);
    let name = value["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    Ok((value, namespace, name))
}

impl Cluster for KubeCluster {
    fn get(&self, api: &ApiResource, namespace: Option<&str>, name: &str) -> Result<String, ApiError> {
        if let Some(informer) = self.cache_for(api, namespace) {
            let key = (namespace.map(str::to_owned), name.to_owned());
            return self
                .overlay(api, informer.get(&key).as_deref(), &key)
                .ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("{} \"{name}\" not found", api.plural)));
        }
        let object = self.block_on(self.api(api, namespace).get(name))?;
        serde_json::to_string(&object).map_err(invalid)
    }

    fn list(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<String>, ApiError> {
        let parsed = LabelSelector::parse(selector.unwrap_or_default()).map_err(|e| invalid(e.to_string()))?;
        if let Some(informer) = self.cache_for(api, namespace) {
            let mut items = Vec::new();
            for cached in informer.list(namespace) {
                let key = cached.key();
                if let Some(json) = self.overlay(api, Some(&cached), &key) {
                    let labels = if json == cached.json {
                        cached.labels.clone()
                    } else {
                        serde_json::from_str::<DynamicObject>(&json)
                            .ok()
                            .and_then(|o| o.metadata.labels)
                            .unwrap_or_default()
                    };
                    if parsed.matches_labels(&labels) {
                        items.push(json);
                    }
                }
            }
            return Ok(items);
        }
        let params = ListParams { label_selector: selector.map(str::to_owned), ..ListParams::default() };
        let list = self.block_on(self.api(api, namespace).list(&params))?;
        list.items.iter().map(|o| serde_json::to_string(o).map_err(invalid)).collect()
    }

    fn create(&self, api: &ApiResource, json: &str) -> Result<String, ApiError> {
        let (value, namespace, _) = object_of(json)?;
        let object: DynamicObject = serde_json::from_value(value).map_err(invalid)?;
        let created = self.block_on(self.api(api, namespace.as_deref()).create(&PostParams::default(), &object))?;
        self.write_result(api, created)
    }

    fn apply(&self, api: &ApiResource, json: &str, field_manager: &str, force: bool) -> Result<String, ApiError> {
        let (value, namespace, name) = object_of(json)?;
        let mut params = PatchParams::apply(field_manager);
        params.force = force;
        let applied = self.block_on(self.api(api, namespace.as_deref()).patch(&name, &params, &Patch::Apply(value)))?;
        self.write_result(api, applied)
    }

    fn patch(&self, api: &ApiResource, namespace: Option<&str>, name: &str, patch: &str) -> Result<String, ApiError> {
        let patch: Value = serde_json::from_str(patch).map_err(invalid)?;
        let patched =
            self.block_on(self.api(api, namespace).patch(name, &PatchParams::default(), &Patch::Merge(patch)))?;
        self.write_result(api, patched)
    }

    fn patch_status(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        name: &str,
        patch: &str,
    ) -> Result<String, ApiError> {
        let patch: Value = serde_json::from_str(patch).map_err(invalid)?;
        if let Some(unchanged) = self.status_unchanged(api, namespace, name, &patch) {
            return Ok(unchanged);
        }
        let patched =
            self.block_on(self.api(api, namespace).patch_status(name, &PatchParams::default(), &Patch::Merge(patch)))?;
        self.write_result(api, patched)
    }

    fn delete(&self, api: &ApiResource, namespace: Option<&str>, name: &str) -> Result<(), ApiError> {
        let cached_rv = self
            .cache_for(api, namespace)
            .and_then(|i| i.get(&(namespace.map(str::to_owned), name.to_owned())))
            .and_then(|c| c.resource_version.parse::<u64>().ok());
        self.block_on(self.api(api, namespace).delete(name, &DeleteParams::background()))?;
        if let Some(resource_version) = cached_rv {
            self.written.lock().insert(written_key(api, namespace, name), Written::Deleted { resource_version });
        }
        Ok(())
    }

    fn record_event(&self, regarding: &ObjectRef, event: &Event, _reporter: &str) {
        let reference = ObjectReference {
            api_version: Some(regarding.api_version.clone()),
            kind: Some(regarding.kind.clone()),
            namespace: regarding.namespace.clone(),
            name: Some(regarding.name.clone()),
            ..ObjectReference::default()
        };
        let event = kube::runtime::events::Event {
            type_: match event.type_ {
                EventType::Normal => kube::runtime::events::EventType::Normal,
                EventType::Warning => kube::runtime::events::EventType::Warning,
            },
            reason: event.reason.clone(),
            note: Some(event.note.clone()),
            action: event.reason.clone(),
            secondary: None,
        };
        let recorder = self.recorder.clone();
        // Events are best effort and must not hold the plugin up.
        self.handle.spawn(async move {
            if let Err(e) = recorder.publish(&event, &reference).await {
                tracing::warn!(error = %e, "could not record event");
            }
        });
    }
}
