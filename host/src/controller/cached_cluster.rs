//! The cluster as the host serves it to a plugin: reads from the shared informer caches (falling
//! back to the API server for resources nobody watches), writes to the API server, and
//! read-your-own-writes on top.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde::Deserialize;
use serde_json::Value;
use tokio::runtime::Handle;
use weft_labels::Selector;

use super::cache::{CachedObject, ObjectKey};
use super::informer::{Informer, Informers};
use super::own_writes::{OwnWrites, Seen};
use super::resource::{dynamic_api, raw_request};
use super::scopes::Scopes;
use crate::events::{self, Events};
use crate::runtime::{ApiError, ApiResource, Cluster, ErrorKind, Event, EventType, ObjectRef};

/// How long one cluster call from a plugin may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One plugin's view of the cluster.
pub struct CachedCluster {
    /// The host's client, for reads the caches cannot answer.
    client: Client,
    /// The plugin's writes go through this one: the host's, or one impersonating the plugin's
    /// ServiceAccount.
    writer: Client,
    handle: Handle,
    informers: Arc<Informers>,
    scopes: Scopes,
    events: Events,
    own_writes: OwnWrites,
}

impl std::fmt::Debug for CachedCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedCluster").field("scopes", &self.scopes).finish_non_exhaustive()
    }
}

/// The plugin-facing error for a failed API call, by status code (and reason where the code is
/// shared).
fn to_api_error(error: kube::Error) -> ApiError {
    match error {
        kube::Error::Api(status) => {
            let kind = match (status.code, status.reason.as_str()) {
                (404, _) => ErrorKind::NotFound,
                (409, "AlreadyExists") => ErrorKind::AlreadyExists,
                (409, _) => ErrorKind::Conflict,
                (403, _) => ErrorKind::Forbidden,
                (400 | 413 | 415 | 422, _) => ErrorKind::Invalid,
                _ => ErrorKind::Transient,
            };
            ApiError::new(kind, status.message)
        }
        other => ApiError::new(ErrorKind::Transient, other.to_string()),
    }
}

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorKind::Invalid, message.to_string())
}

impl CachedCluster {
    /// Must be created on the host's async runtime: plugin calls block on it from their threads.
    /// Writes and Events go through `writer`.
    pub fn new(client: Client, writer: Client, informers: Arc<Informers>, scopes: Scopes, plugin: &str) -> Self {
        Self {
            events: Events::new(writer.clone(), format!("weft/{plugin}")),
            client,
            writer,
            handle: Handle::current(),
            informers,
            scopes,
            own_writes: OwnWrites::default(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn informers(&self) -> &Informers {
        &self.informers
    }

    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// The object as this plugin should see it: cached, or its own newer write.
    pub fn overlay(&self, api: &ApiResource, key: &ObjectKey, cached: Option<&CachedObject>) -> Option<String> {
        self.own_writes.overlay(api, key, cached)
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
    fn cache_for(&self, api: &ApiResource, namespace: Option<&str>) -> Option<Arc<Informer>> {
        self.scopes
            .covering(api, namespace)
            .iter()
            .find_map(|key| self.informers.find(key))
            .filter(|informer| informer.is_synced())
    }

    /// Sends a write and answers with the object the server returned, as the server sent it
    /// (no decoding into a typed object and back), remembering it until the cache catches up.
    fn write(
        &self,
        api: &ApiResource,
        request: Result<http::Request<Vec<u8>>, kube::core::request::Error>,
    ) -> Result<String, ApiError> {
        let request = request.map_err(invalid)?;
        let json = self.block_on(self.writer.request_text(request))?;
        if let Ok(Stored { metadata }) = serde_json::from_str::<Stored<'_>>(&json)
            && let Some(resource_version) = &metadata.resource_version
        {
            let key = ObjectKey::new(metadata.namespace.as_deref(), &metadata.name);
            self.own_writes.wrote(api, &key, resource_version, &json);
        }
        Ok(json)
    }

    /// Whether a status merge patch would leave the cached object's status as it is; then the
    /// object as it stands.
    fn status_unchanged(&self, api: &ApiResource, key: &ObjectKey, patch: &Value) -> Option<String> {
        let informer = self.cache_for(api, key.namespace.as_deref())?;
        let json = self.overlay(api, key, informer.get(key).as_deref())?;
        let current: Value = serde_json::from_str(&json).ok()?;
        let mut merged = current.get("status").cloned().unwrap_or(Value::Null);
        json_patch::merge(&mut merged, patch.get("status")?);
        (Some(&merged) == current.get("status")).then_some(json)
    }
}

/// What read-your-own-writes needs of a written object.
#[derive(Deserialize)]
struct Stored<'a> {
    #[serde(borrow)]
    metadata: StoredMeta<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredMeta<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    resource_version: Option<Cow<'a, str>>,
}

fn object_of(json: &str) -> Result<(Value, Option<String>, String), ApiError> {
    let value: Value = serde_json::from_str(json).map_err(invalid)?;
    let namespace = value["metadata"]["namespace"].as_str().map(str::to_owned);
    let name = value["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    Ok((value, namespace, name))
}

impl Cluster for CachedCluster {
    fn get(&self, api: &ApiResource, namespace: Option<&str>, name: &str) -> Result<String, ApiError> {
        if let Some(informer) = self.cache_for(api, namespace) {
            let key = ObjectKey::new(namespace, name);
            return self
                .overlay(api, &key, informer.get(&key).as_deref())
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
        let parsed: Selector = selector.unwrap_or_default().parse().map_err(invalid)?;
        if let Some(informer) = self.cache_for(api, namespace) {
            let mut items = Vec::new();
            // Labels decide before anything is copied: a list may pass over large objects.
            for cached in informer.list(namespace) {
                match self.own_writes.seen(api, &cached.key, Some(&cached)) {
                    Seen::Cached(object) if parsed.matches_labels(&object.labels) => items.push(object.json.clone()),
                    Seen::Written(json) => {
                        let written = serde_json::from_str::<DynamicObject>(&json).ok();
                        let labels = written.and_then(|o| o.metadata.labels).unwrap_or_default();
                        if parsed.matches_labels(&labels) {
                            items.push(json);
                        }
                    }
                    Seen::Cached(_) | Seen::Absent => {}
                }
            }
            return Ok(items);
        }
        let params = ListParams { label_selector: selector.map(str::to_owned), ..ListParams::default() };
        let list = self.block_on(self.api(api, namespace).list(&params))?;
        list.items.iter().map(|o| serde_json::to_string(o).map_err(invalid)).collect()
    }

    fn create(&self, api: &ApiResource, json: &str) -> Result<String, ApiError> {
        let (_, namespace, _) = object_of(json)?;
        let request = raw_request(api, namespace.as_deref()).create(&PostParams::default(), json.as_bytes().to_vec());
        self.write(api, request)
    }

    fn apply(&self, api: &ApiResource, json: &str, field_manager: &str, force: bool) -> Result<String, ApiError> {
        let (value, namespace, name) = object_of(json)?;
        let mut params = PatchParams::apply(field_manager);
        params.force = force;
        self.write(api, raw_request(api, namespace.as_deref()).patch(&name, &params, &Patch::Apply(value)))
    }

    fn patch(&self, api: &ApiResource, namespace: Option<&str>, name: &str, patch: &str) -> Result<String, ApiError> {
        let patch: Value = serde_json::from_str(patch).map_err(invalid)?;
        self.write(api, raw_request(api, namespace).patch(name, &PatchParams::default(), &Patch::Merge(patch)))
    }

    fn patch_status(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        name: &str,
        patch: &str,
    ) -> Result<String, ApiError> {
        let patch: Value = serde_json::from_str(patch).map_err(invalid)?;
        if let Some(unchanged) = self.status_unchanged(api, &ObjectKey::new(namespace, name), &patch) {
            return Ok(unchanged);
        }
        let request = raw_request(api, namespace).patch_subresource(
            "status",
            name,
            &PatchParams::default(),
            &Patch::Merge(patch),
        );
        self.write(api, request)
    }

    fn delete(&self, api: &ApiResource, namespace: Option<&str>, name: &str) -> Result<(), ApiError> {
        let key = ObjectKey::new(namespace, name);
        let cached = self.cache_for(api, namespace).and_then(|i| i.get(&key));
        let request = raw_request(api, namespace).delete(name, &DeleteParams::background()).map_err(invalid)?;
        self.block_on(self.writer.request_text(request))?;
        if let Some(cached) = cached {
            self.own_writes.deleted(api, &key, &cached.resource_version);
        }
        Ok(())
    }

    fn record_event(&self, regarding: &ObjectRef, event: &Event, _reporter: &str) {
        let reference = events::reference(
            &regarding.api_version,
            &regarding.kind,
            regarding.namespace.as_deref(),
            &regarding.name,
            None,
        );
        let type_ = match event.type_ {
            EventType::Normal => kube::runtime::events::EventType::Normal,
            EventType::Warning => kube::runtime::events::EventType::Warning,
        };
        let (events, reason, note) = (self.events.clone(), event.reason.clone(), event.note.clone());
        // Events must not hold the plugin up.
        self.handle.spawn(async move { events.publish(&reference, type_, &reason, &note).await });
    }
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn failed(code: u16, reason: &str) -> ErrorKind {
        to_api_error(kube::Error::Api(Status::failure("m", reason).with_code(code).boxed())).kind
    }

    #[test]
    fn api_errors_map_to_plugin_error_kinds_by_status_code() {
        assert_eq!(failed(404, ""), ErrorKind::NotFound);
        assert_eq!(failed(409, "AlreadyExists"), ErrorKind::AlreadyExists);
        assert_eq!(failed(409, "Conflict"), ErrorKind::Conflict);
        assert_eq!(failed(403, "Forbidden"), ErrorKind::Forbidden);
        assert_eq!(failed(422, "Invalid"), ErrorKind::Invalid);
        assert_eq!(failed(429, "TooManyRequests"), ErrorKind::Transient);
        assert_eq!(failed(500, "NotFound"), ErrorKind::Transient, "the code decides, not the reason text");
    }
}
