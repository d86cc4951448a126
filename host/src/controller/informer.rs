//! Shared informers: one watch and one cache per resource type and namespace scope, shared by every
//! plugin that needs them and reference-counted. When the last user lets go, the watch stops and
//! the cache is freed. A resource that is not served yet (its CRD is missing) is retried with
//! backoff and watched as soon as it appears; while it is missing the informer says so.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Weak};

use kube::Client;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::cache::{CachedObject, Change, ObjectKey};
use super::reflector::Reflector;
use super::resource::{dynamic_api, resource_name};
use crate::backoff::Backoff;
use crate::runtime::ApiResource;

/// Which informer: a resource type, in one namespace or (`None`) all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InformerKey {
    pub api: ApiResource,
    pub namespace: Option<String>,
}

impl fmt::Display for InformerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&resource_name(&self.api))?;
        if let Some(ns) = &self.namespace {
            write!(f, " in {ns}")?;
        }
        Ok(())
    }
}

/// Whether a cache reflects the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    /// The first list has not completed.
    Pending,
    Synced,
    /// Listing or watching fails (for a missing CRD: not served); retried with backoff.
    Failing(String),
}

/// The objects of one informer, by key.
pub(super) type Cache = Arc<RwLock<HashMap<ObjectKey, Arc<CachedObject>>>>;

/// One shared watch and cache. Dropping the last handle stops the watch.
#[derive(Debug)]
pub struct Informer {
    key: InformerKey,
    cache: Cache,
    changes: broadcast::Sender<Change>,
    state: watch::Receiver<SyncState>,
    stop: CancellationToken,
}

/// Changes a subscriber may lag behind before it resyncs from the cache instead. Kept small:
/// the channel holds on to the objects of its last `CHANGE_BUFFER` changes (old and new), and a
/// resync loses nothing.
const CHANGE_BUFFER: usize = 1024;

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

    /// `None` when synced, else what is wrong, for a plugin's status.
    pub fn problem(&self) -> Option<String> {
        match &*self.state.borrow() {
            SyncState::Synced => None,
            SyncState::Pending => Some(format!("waiting for the first list of {}", self.key)),
            SyncState::Failing(message) => Some(message.clone()),
        }
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Arc<CachedObject>> {
        self.cache.read().get(key).cloned()
    }

    /// Every cached object (in one namespace, when given).
    pub fn list(&self, namespace: Option<&str>) -> Vec<Arc<CachedObject>> {
        let cache = self.cache.read();
        cache.values().filter(|o| namespace.is_none() || o.key.namespace.as_deref() == namespace).cloned().collect()
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
    relist: Backoff,
    live: Mutex<HashMap<InformerKey, Weak<Informer>>>,
}

impl fmt::Debug for Informers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Informers").field("active", &self.live.lock().len()).finish_non_exhaustive()
    }
}

impl Informers {
    /// Informers on `client` that back off by `relist` between failed lists and watches.
    pub fn new(client: Client, relist: Backoff) -> Self {
        Self { client, relist, live: Mutex::new(HashMap::new()) }
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
        let cache = Cache::default();
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        let (state_tx, state) = watch::channel(SyncState::Pending);
        let stop = CancellationToken::new();
        let reflector = Reflector {
            api,
            cache: Arc::clone(&cache),
            changes: changes.clone(),
            state: state_tx,
            resource: key.to_string(),
        };
        tokio::spawn(reflector.run(self.relist, stop.clone()));
        Informer { key, cache, changes, state, stop }
    }
}
