//! Shared informers: one watch and one cache per resource type and namespace scope, shared by every
//! plugin that needs them and reference-counted. When the last user lets go, the watch stops and
//! the cache is freed. A resource that is not served yet (its CRD is missing) is retried with
//! backoff and watched as soon as it appears; while it is missing the informer says so.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher::{self, Event};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::runtime::ApiResource;

/// Which informer: a resource type, in one namespace or (`None`) all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InformerKey {
    pub api: ApiResource,
    pub namespace: Option<String>,
}

impl fmt::Display for InformerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", resource_name(&self.api))?;
        if let Some(ns) = &self.namespace {
            write!(f, " in {ns}")?;
        }
        Ok(())
    }
}

/// `plural.group/version`, or `plural/version` for the core group.
pub fn resource_name(api: &ApiResource) -> String {
    if api.group.is_empty() {
        format!("{}/{}", api.plural, api.version)
    } else {
        format!("{}.{}/{}", api.plural, api.group, api.version)
    }
}

/// A dynamic client for `api`, in `namespace` when it is namespaced and one is given.
pub fn dynamic_api(client: Client, api: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    let resource = kube::api::ApiResource {
        group: api.group.clone(),
        version: api.version.clone(),
        api_version: api.api_version(),
        kind: api.kind.clone(),
        plural: api.plural.clone(),
    };
    match namespace {
        Some(ns) if api.namespaced => Api::namespaced_with(client, ns, &resource),
        _ => Api::all_with(client, &resource),
    }
}

/// Namespace and name.
pub type ObjectKey = (Option<String>, String);

/// An object as cached: its JSON for plugins, and the metadata the host decides on.
#[derive(Debug)]
pub struct CachedObject {
    pub json: String,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub generation: Option<i64>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub finalizers: Vec<String>,
    pub deleting: bool,
    pub owners: Vec<Owner>,
}

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
            namespace: meta.namespace.clone(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
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

    pub fn key(&self) -> ObjectKey {
        (self.namespace.clone(), self.name.clone())
    }
}

/// What happened to an object in the cache.
#[derive(Debug, Clone)]
pub enum Change {
    Applied { old: Option<Arc<CachedObject>>, new: Arc<CachedObject> },
    Deleted(Arc<CachedObject>),
}

/// Whether the cache reflects the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    /// The first list has not completed.
    Pending,
    Synced,
    /// Listing or watching fails (for a missing CRD: not served); retried with backoff.
    Failing(String),
}

/// One shared watch and cache. Dropping the last handle stops the watch.
#[derive(Debug)]
pub struct Informer {
    key: InformerKey,
    cache: Arc<RwLock<HashMap<ObjectKey, Arc<CachedObject>>>>,
    changes: broadcast::Sender<Change>,
    state: watch::Receiver<SyncState>,
    stop: CancellationToken,
}

/// Changes a subscriber may lag behind before it resyncs from the cache instead. Kept small:
/// the channel holds on to the objects of its last `CHANGE_BUFFER` changes (old and new), and a
/// resync loses nothing.
const CHANGE_BUFFER: usize = 1024;

/// Backoff between relists after errors.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(30);

impl Informer {
    pub fn key(&self) -> &InformerKey {
        &self.key
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    pub fn state(&self) -> watch::Receiver<SyncState> {
        self.state.clone()
    }

    pub fn is_synced(&self) -> bool {
        *self.state.borrow() == SyncState::Synced
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Arc<CachedObject>> {
        self.cache.read().get(key).cloned()
    }

    /// Every cached object (in one namespace, when given).
    pub fn list(&self, namespace: Option<&str>) -> Vec<Arc<CachedObject>> {
        let cache = self.cache.read();
        cache.values().filter(|o| namespace.is_none() || o.namespace.as_deref() == namespace).cloned().collect()
    }

    /// Objects in the cache.
    pub fn cached(&self) -> usize {
        self.cache.read().len()
    }
}

impl Drop for Informer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The informers of one host.
pub struct Informers {
    client: Client,
    live: Mutex<HashMap<InformerKey, Weak<Informer>>>,
}

impl fmt::Debug for Informers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Informers").field("active", &self.live.lock().len()).finish_non_exhaustive()
    }
}

impl Informers {
    pub fn new(client: Client) -> Self {
        Self { client, live: Mutex::new(HashMap::new()) }
    }

    /// The informer for `key`, started if nobody holds it yet.
    pub fn get(&self, key: &InformerKey) -> Arc<Informer> {
        let mut live = self.live.lock();
        if let Some(informer) = live.get(key).and_then(Weak::upgrade) {
            return informer;
        }
        live.retain(|_, informer| informer.strong_count() > 0);
        let informer = Arc::new(self.start(key.clone()));
        live.insert(key.clone(), Arc::downgrade(&informer));
        informer
    }

    /// A running informer for this key, if any plugin holds one.
    pub fn find(&self, key: &InformerKey) -> Option<Arc<Informer>> {
        self.live.lock().get(key).and_then(Weak::upgrade)
    }

    /// Keys of the informers running now, with their cached object counts.
    pub fn active(&self) -> Vec<(InformerKey, usize)> {
        let live = self.live.lock();
        let mut active: Vec<_> =
            live.iter().filter_map(|(k, w)| w.upgrade().map(|informer| (k.clone(), informer.cached()))).collect();
        active.sort_by_key(|(k, _)| k.to_string());
        active
    }

    fn start(&self, key: InformerKey) -> Informer {
        let api = dynamic_api(self.client.clone(), &key.api, key.namespace.as_deref());
        let cache = Arc::new(RwLock::new(HashMap::new()));
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        let (state_tx, state) = watch::channel(SyncState::Pending);
        let stop = CancellationToken::new();
        let task =
            Watch { api, cache: Arc::clone(&cache), changes: changes.clone(), state: state_tx, name: key.to_string() };
        tokio::spawn(task.run(stop.clone()));
        Informer { key, cache, changes, state, stop }
    }
}

/// The task behind an informer.
struct Watch {
    api: Api<DynamicObject>,
    cache: Arc<RwLock<HashMap<ObjectKey, Arc<CachedObject>>>>,
    changes: broadcast::Sender<Change>,
    state: watch::Sender<SyncState>,
    name: String,
}

impl Watch {
    /// Lists and watches until stopped. Any error restarts from a fresh list after a backoff, so
    /// a resource that comes back (a re-created CRD) is relisted and marked synced again.
    async fn run(self, stop: CancellationToken) {
        tracing::debug!(resource = %self.name, "informer starting");
        let mut backoff = RETRY_MIN;
        loop {
            let failed = tokio::select! {
                () = stop.cancelled() => break,
                failed = self.list_and_watch(&mut backoff) => failed,
            };
            if !failed {
                break;
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(RETRY_MAX);
        }
        tracing::debug!(resource = %self.name, "informer stopped");
    }

    /// One list-then-watch; returns whether it ended in an error.
    async fn list_and_watch(&self, backoff: &mut Duration) -> bool {
        let mut stream = std::pin::pin!(kube::runtime::watcher(self.api.clone(), watcher::Config::default()));
        // Objects seen during the list, swapped in when it completes.
        let mut relist: Option<HashMap<ObjectKey, Arc<CachedObject>>> = None;
        while let Some(event) = stream.next().await {
            match event {
                Err(e) => {
                    let message = describe_error(&self.name, &e);
                    tracing::debug!(resource = %self.name, error = %message, "informer failing");
                    self.state.send_replace(SyncState::Failing(message));
                    return true;
                }
                Ok(Event::Init) => relist = Some(HashMap::new()),
                Ok(Event::InitApply(object)) => {
                    let object = Arc::new(CachedObject::from_dynamic(&object));
                    relist.get_or_insert_with(HashMap::new).insert(object.key(), object);
                }
                Ok(Event::InitDone) => {
                    self.swap(relist.take().unwrap_or_default());
                    self.state.send_replace(SyncState::Synced);
                    *backoff = RETRY_MIN;
                }
                Ok(Event::Apply(object)) => {
                    let new = Arc::new(CachedObject::from_dynamic(&object));
                    let old = self.cache.write().insert(new.key(), Arc::clone(&new));
                    let _ = self.changes.send(Change::Applied { old, new });
                }
                Ok(Event::Delete(object)) => {
                    let gone = CachedObject::from_dynamic(&object);
                    let removed = self.cache.write().remove(&gone.key());
                    let _ = self.changes.send(Change::Deleted(removed.unwrap_or_else(|| Arc::new(gone))));
                }
            }
        }
        false
    }

    /// Replaces the cache after a relist, announcing what changed meanwhile.
    fn swap(&self, fresh: HashMap<ObjectKey, Arc<CachedObject>>) {
        let old = std::mem::replace(&mut *self.cache.write(), fresh.clone());
        for (key, new) in fresh {
            let previous = old.get(&key);
            if previous.is_none_or(|p| p.resource_version != new.resource_version) {
                let _ = self.changes.send(Change::Applied { old: previous.cloned(), new });
            }
        }
        for (key, gone) in old {
            if !self.cache.read().contains_key(&key) {
                let _ = self.changes.send(Change::Deleted(gone));
            }
        }
    }
}

fn describe_error(resource: &str, error: &watcher::Error) -> String {
    let text = error.to_string();
    if text.contains("404") || text.contains("NotFound") || text.contains("could not find the requested resource") {
        format!("{resource} is not served (is its CustomResourceDefinition installed?)")
    } else {
        format!("watching {resource}: {text}")
    }
}
