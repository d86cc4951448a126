//! Storage of every object, the global resourceVersion counter, the bounded event history that
//! watches resume from, and per-resource fan-out to open watches.
//!
//! All state sits behind one mutex. Every operation holds it only for in-memory work (no I/O, no
//! serialization of responses), so writes are serialized exactly like etcd revisions are, and a
//! watch can subscribe atomically with reading its starting point.

mod admission;
mod commit;
mod delete;
mod read;
mod scale;
mod target;
mod watch;
mod write;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

pub use admission::FieldValidation;
pub(crate) use commit::{Tracking, finish_update};
pub use delete::{DeleteOptions, DeleteOutcome};
pub(crate) use delete::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER, delete_locked};
pub use read::{ListOptions, ListResult};
pub use scale::ScaleWrite;
pub use target::Target;
pub use watch::visible;
pub use watch::{WatchOptions, WatchStart};
pub use write::{PatchKind, WriteOptions, WriteOutcome};

use crate::builtins;
use crate::error::{ApiError, Result};
use crate::object;
use crate::registry::{GroupResource, Registry};

/// Identifies an object within one resource type; `namespace` is empty for cluster-scoped kinds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        Self { namespace: namespace.unwrap_or_default().to_owned(), name: name.to_owned() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Added => "ADDED",
            EventKind::Modified => "MODIFIED",
            EventKind::Deleted => "DELETED",
        }
    }
}

/// One change, as kept in history and sent to watches. `previous` lets selector-filtered watches
/// turn a change into ADDED or DELETED, and lets lists be served at an older resourceVersion.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub gr: GroupResource,
    pub key: ObjectKey,
    pub kind: EventKind,
    pub object: Arc<Value>,
    pub previous: Option<Arc<Value>>,
    /// The event's JSON watch line, encoded once by the first watch that sends it unchanged and
    /// shared by every other (fan-out to many watchers serializes each object once).
    pub encoded: std::sync::OnceLock<bytes::Bytes>,
}

/// Tunables of the store.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// How many events are kept for watch resumption; older resourceVersions get 410 Gone.
    pub history_capacity: usize,
    /// Capacity of each resource's fan-out channel; a watch that falls further behind is closed
    /// and its client resumes from history.
    pub fanout_capacity: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { history_capacity: 10_000, fanout_capacity: 4_096 }
    }
}

pub(crate) struct State {
    rv: u64,
    pub(crate) registry: Registry,
    objects: HashMap<GroupResource, BTreeMap<ObjectKey, Arc<Value>>>,
    uids: HashMap<String, (GroupResource, ObjectKey)>,
    history: VecDeque<Arc<Event>>,
    /// Every event with an RV at or below this has been dropped from history.
    compacted_through: u64,
    channels: HashMap<GroupResource, broadcast::Sender<Arc<Event>>>,
    resource_closers: HashMap<GroupResource, CancellationToken>,
    close_all: CancellationToken,
    config: StoreConfig,
}

/// The emulator's storage and API semantics, independent of HTTP.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    /// Wakes the in-process controllers (CRD establishment, garbage collection, namespace cleanup).
    pub(crate) controllers: Notify,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("rv", &self.rv).field("history", &self.history.len()).finish_non_exhaustive()
    }
}

impl Store {
    pub fn new(config: StoreConfig) -> Self {
        let mut registry = Registry::default();
        for def in builtins::builtin_defs() {
            registry.insert(def);
        }
        let mut state = State {
            rv: 0,
            registry,
            objects: HashMap::new(),
            uids: HashMap::new(),
            history: VecDeque::new(),
            compacted_through: 0,
            channels: HashMap::new(),
            resource_closers: HashMap::new(),
            close_all: CancellationToken::new(),
            config,
        };
        let now = object::now();
        for ns in builtins::INITIAL_NAMESPACES {
            let namespace = serde_json::json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "uid": uuid::Uuid::new_v4().to_string(),
                    "creationTimestamp": now,
                    "labels": {"kubernetes.io/metadata.name": ns},
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            });
            state.put(&GroupResource::new("", "namespaces"), ObjectKey::new(None, ns), namespace);
            state.add_default_service_account(ns);
        }
        Self { state: Mutex::new(state), controllers: Notify::new() }
    }

    pub(crate) fn lock(&self) -> parking_lot::MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Resolves `group/version/resource` in an optional namespace; 404 if not served.
    pub fn target(&self, group: &str, version: &str, resource: &str, namespace: Option<&str>) -> Result<Target> {
        let state = self.lock();
        let def = state
            .registry
            .lookup(group, version, resource)
            .ok_or_else(|| not_served(group, version, resource))?
            .clone();
        if def.gr == GroupResource::new("events.k8s.io", "events")
            && let Some(core) = state.registry.get(&GroupResource::new("", "events"))
        {
            return Ok(Target { view: Some(def), ..Target::new(core.clone(), "v1", namespace) });
        }
        Ok(Target::new(def, version, namespace))
    }

    /// Whether `group/version/resource` is served and namespaced (path routing needs it).
    pub fn is_namespaced(&self, group: &str, version: &str, resource: &str) -> bool {
        self.lock().registry.lookup(group, version, resource).is_some_and(|d| d.namespaced)
    }

    /// A snapshot of the registry (for discovery and OpenAPI).
    pub fn registry(&self) -> Registry {
        self.lock().registry.clone()
    }

    /// The newest resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Closes every open watch; clients resume from their last resourceVersion.
    pub fn close_watches(&self) {
        let mut state = self.lock();
        state.close_all.cancel();
        state.close_all = CancellationToken::new();
    }

    /// Drops the whole event history, so resuming a watch from any resourceVersion seen so far
    /// answers 410 Expired and clients must relist. Like etcd compaction after another write, it
    /// moves the revision on by one first.
    pub fn compact_history(&self) {
        let mut state = self.lock();
        state.rv += 1;
        state.compacted_through = state.rv;
        state.history.clear();
    }
}

pub(crate) fn not_served(group: &str, version: &str, resource: &str) -> ApiError {
    let gv = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    ApiError::NotFound {
        message: format!("the server could not find the requested resource ({resource} in {gv})"),
        gr: GroupResource::new(group, resource),
        name: String::new(),
    }
}

impl State {
    pub(crate) fn get(&self, gr: &GroupResource, key: &ObjectKey) -> Option<&Arc<Value>> {
        self.objects.get(gr).and_then(|m| m.get(key))
    }

    pub(crate) fn objects_of(&self, gr: &GroupResource) -> impl Iterator<Item = (&ObjectKey, &Arc<Value>)> {
        self.objects.get(gr).into_iter().flatten()
    }

    pub(crate) fn by_uid(&self, uid: &str) -> Option<&(GroupResource, ObjectKey)> {
        self.uids.get(uid)
    }

    pub(crate) fn all_objects(&self) -> impl Iterator<Item = (&GroupResource, &ObjectKey, &Arc<Value>)> {
        self.objects.iter().flat_map(|(gr, m)| m.iter().map(move |(k, v)| (gr, k, v)))
    }

    /// Stores an object under a new resourceVersion and emits ADDED or MODIFIED.
    pub(crate) fn put(&mut self, gr: &GroupResource, key: ObjectKey, mut obj: Value) -> Arc<Value> {
        self.rv += 1;
        object::meta_mut(&mut obj).insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        let obj = Arc::new(obj);
        let uid = object::uid(&obj).to_owned();
        if !uid.is_empty() {
            self.uids.insert(uid, (gr.clone(), key.clone()));
        }
        let previous = self.objects.entry(gr.clone()).or_default().insert(key.clone(), obj.clone());
        let kind = if previous.is_some() { EventKind::Modified } else { EventKind::Added };
        self.emit(Event {
            rv: self.rv,
            gr: gr.clone(),
            key,
            kind,
            object: obj.clone(),
            previous,
            encoded: Default::default(),
        });
        obj
    }

    /// Removes an object, emitting DELETED with its last state (`final_state` if the deleting
    /// write changed it, e.g. removed the last finalizer) under the deletion's new RV.
    pub(crate) fn remove(
        &mut self,
        gr: &GroupResource,
        key: &ObjectKey,
        final_state: Option<Value>,
    ) -> Option<Arc<Value>> {
        let previous = self.objects.get_mut(gr)?.remove(key)?;
        self.rv += 1;
        self.uids.remove(object::uid(&previous));
        let mut last = final_state.unwrap_or_else(|| (*previous).clone());
        object::meta_mut(&mut last).insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        let last = Arc::new(last);
        self.emit(Event {
            rv: self.rv,
            gr: gr.clone(),
            key: key.clone(),
            kind: EventKind::Deleted,
            object: last.clone(),
            previous: Some(previous),
            encoded: Default::default(),
        });
        Some(last)
    }

    fn emit(&mut self, event: Event) {
        let event = Arc::new(event);
        self.history.push_back(event.clone());
        while self.history.len() > self.config.history_capacity {
            if let Some(old) = self.history.pop_front() {
                self.compacted_through = old.rv;
            }
        }
        if let Some(tx) = self.channels.get(&event.gr) {
            // No receivers is fine: nobody is watching this resource.
            let _ = tx.send(event);
        }
    }

    fn subscribe(&mut self, gr: &GroupResource) -> broadcast::Receiver<Arc<Event>> {
        let capacity = self.config.fanout_capacity;
        self.channels.entry(gr.clone()).or_insert_with(|| broadcast::channel(capacity).0).subscribe()
    }

    fn closer(&mut self, gr: &GroupResource) -> CancellationToken {
        self.resource_closers.entry(gr.clone()).or_default().clone()
    }

    /// Ends every open watch on a resource (its CRD is gone).
    pub(crate) fn close_resource_watches(&mut self, gr: &GroupResource) {
        if let Some(token) = self.resource_closers.remove(gr) {
            token.cancel();
        }
        self.channels.remove(gr);
    }

    /// Drops every object of a resource without events (its CRD is gone).
    pub(crate) fn drop_resource(&mut self, gr: &GroupResource) {
        if let Some(objects) = self.objects.remove(gr) {
            for obj in objects.values() {
                self.uids.remove(object::uid(obj));
            }
        }
    }

    /// 404 unless the namespace exists; 403 while it terminates (for creates).
    pub(crate) fn check_namespace(&self, namespace: &str, creating: bool) -> Result<()> {
        let ns_gr = GroupResource::new("", "namespaces");
        let ns =
            self.get(&ns_gr, &ObjectKey::new(None, namespace)).ok_or_else(|| ApiError::not_found(&ns_gr, namespace))?;
        if creating && object::is_deleting(ns) {
            return Err(ApiError::Forbidden {
                message: format!(
                    "unable to create new content in namespace {namespace} because it is being terminated"
                ),
                gr: ns_gr,
                name: namespace.to_owned(),
            });
        }
        Ok(())
    }

    pub(crate) fn rv(&self) -> u64 {
        self.rv
    }

    /// The `default` ServiceAccount kube-controller-manager creates in every namespace; made with
    /// the namespace, so a Pod created right after its namespace finds it.
    pub(crate) fn add_default_service_account(&mut self, namespace: &str) {
        let gr = GroupResource::new("", "serviceaccounts");
        let key = ObjectKey::new(Some(namespace), "default");
        if self.get(&gr, &key).is_none() {
            let sa = serde_json::json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "default",
                    "namespace": namespace,
                    "uid": uuid::Uuid::new_v4().to_string(),
                    "creationTimestamp": object::now(),
                },
            });
            self.put(&gr, key, sa);
        }
    }
}
