//! Running one plugin: its informers, its work queue and its workers.
//!
//! Events map to primary keys (primaries directly, owned objects through their ownerReferences,
//! related objects through `map-related` or a label); workers take keys off the queue, read the
//! primary from the cache (with read-your-own-writes), handle the finalizer, and call the plugin on
//! a blocking thread.

pub mod cluster;
pub mod informer;
pub mod queue;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use weft_sim::selector::LabelSelector;

use self::cluster::KubeCluster;
use self::informer::{CachedObject, Change, Informer, InformerKey, Informers, ObjectKey, SyncState};
use self::queue::{Backoff, Queue};
use crate::metrics::Histogram;
use crate::runtime::bindings::{RelatedMapping, Watch};
use crate::runtime::{Action, ApiResource, CallError, CallResult, Description, Failure, ObjectRef, Plugin, Trigger};

/// How a plugin runs, besides its module.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Reconciles of this plugin at once.
    pub concurrency: usize,
    /// Namespaces to watch; empty for all.
    pub namespaces: Vec<String>,
    /// Reconcile every primary this often, even without changes.
    pub resync: Option<Duration>,
    /// Time in-flight reconciles get to finish when the plugin stops.
    pub stop_grace: Duration,
    pub backoff: Backoff,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            namespaces: Vec::new(),
            resync: None,
            stop_grace: Duration::from_secs(10),
            backoff: Backoff::default(),
        }
    }
}

/// Counters a plugin's status reports.
#[derive(Debug, Default)]
pub struct Stats {
    pub reconciles: AtomicU64,
    pub errors: AtomicU64,
    pub last_error: Mutex<Option<String>>,
    /// Recent times from an event (or requeue) queuing a key to its reconcile starting.
    pub queue_latency: Mutex<VecDeque<Duration>>,
    /// Reconcile and cleanup calls by result.
    pub outcomes: Outcomes,
    pub retries: AtomicU64,
    /// Calls that trapped (including memory and fuel limits) and calls stopped at the deadline.
    pub traps: AtomicU64,
    pub deadline_kills: AtomicU64,
    pub duration: Histogram,
    /// Keys waiting or being reconciled, as of the last change.
    pub queue_depth: AtomicU64,
    /// Whether every informer the plugin uses is synced, as of the last status refresh.
    pub synced: AtomicBool,
}

/// Counts of call results, for `weft_reconciles_total{result}`.
#[derive(Debug, Default)]
pub struct Outcomes {
    pub done: AtomicU64,
    pub requeued: AtomicU64,
    pub transient: AtomicU64,
    pub permanent: AtomicU64,
    /// Traps, deadlines and other host-side failures of the call itself.
    pub fault: AtomicU64,
}

impl Outcomes {
    pub fn by_result(&self) -> [(&'static str, u64); 5] {
        [
            ("done", self.done.load(Ordering::Relaxed)),
            ("requeue", self.requeued.load(Ordering::Relaxed)),
            ("transient_error", self.transient.load(Ordering::Relaxed)),
            ("permanent_error", self.permanent.load(Ordering::Relaxed)),
            ("fault", self.fault.load(Ordering::Relaxed)),
        ]
    }
}

/// Latency samples kept per plugin.
const LATENCY_SAMPLES: usize = 4096;

impl Stats {
    fn record_latency(&self, latency: Duration) {
        let mut samples = self.queue_latency.lock();
        if samples.len() == LATENCY_SAMPLES {
            samples.pop_front();
        }
        samples.push_back(latency);
    }
}

/// A running plugin. Dropping it without [`stop`](Self::stop) cancels its tasks at once.
#[derive(Debug)]
pub struct PluginController {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

struct Shared {
    plugin: RwLock<Plugin>,
    description: Description,
    primary: Vec<Arc<Informer>>,
    secondary: Vec<(Arc<Informer>, Source)>,
    selector: LabelSelector,
    cluster: Arc<KubeCluster>,
    client: kube::Client,
    queue: Queue<ObjectKey>,
    /// Why each queued key is queued, and since when.
    reasons: Mutex<HashMap<ObjectKey, (Trigger, Instant)>>,
    stats: Arc<Stats>,
    stop: CancellationToken,
    config: ControllerConfig,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("plugin", &self.description.name).finish_non_exhaustive()
    }
}

/// How a secondary informer's objects map to primaries.
#[derive(Debug, Clone)]
enum Source {
    Owned,
    Related(RelatedMapping),
}

impl PluginController {
    /// Starts watching and reconciling for `plugin`, whose description has already been checked.
    pub fn start(
        plugin: Plugin,
        client: kube::Client,
        informers: &Arc<Informers>,
        cluster: Arc<KubeCluster>,
        config: ControllerConfig,
        stats: Arc<Stats>,
    ) -> Self {
        let description = plugin.module().description().clone();
        let scopes = scopes(&config.namespaces);
        let informers_for = |watch: &Watch| -> Vec<Arc<Informer>> {
            scopes
                .iter()
                .map(|namespace| {
                    let namespace = if watch.api.namespaced { namespace.clone() } else { None };
                    informers.get(&InformerKey { api: watch.api.clone(), namespace })
                })
                .collect()
        };
        let primary = dedup(informers_for(&description.primary));
        let mut secondary = Vec::new();
        for owned in &description.owns {
            secondary.extend(informers_for(owned).into_iter().map(|i| (i, Source::Owned)));
        }
        for related in &description.related {
            let source = Source::Related(related.mapping.clone());
            secondary.extend(informers_for(&related.watch).into_iter().map(|i| (i, source.clone())));
        }
        let selector = LabelSelector::parse(description.primary.label_selector.as_deref().unwrap_or_default())
            .unwrap_or_else(|_| LabelSelector::parse("").expect("an empty selector parses"));
        let shared = Arc::new(Shared {
            plugin: RwLock::new(plugin),
            description,
            primary,
            secondary,
            selector,
            cluster,
            client,
            queue: Queue::new(config.backoff),
            reasons: Mutex::new(HashMap::new()),
            stats,
            stop: CancellationToken::new(),
            config,
        });
        let mut tasks = JoinSet::new();
        for informer in &shared.primary {
            tasks.spawn(Arc::clone(&shared).pump(Arc::clone(informer), None));
        }
        for (informer, source) in &shared.secondary {
            tasks.spawn(Arc::clone(&shared).pump(Arc::clone(informer), Some(source.clone())));
        }
        tasks.spawn(Arc::clone(&shared).work());
        if let Some(every) = shared.config.resync {
            tasks.spawn(Arc::clone(&shared).resync(every));
        }
        Self { shared, tasks }
    }

    /// The informers this plugin holds.
    pub fn watching(&self) -> Vec<InformerKey> {
        let all = self.shared.primary.iter().chain(self.shared.secondary.iter().map(|(i, _)| i));
        let mut keys: Vec<InformerKey> = all.map(|i| i.key().clone()).collect();
        keys.dedup();
        keys
    }

    /// `None` when every informer is synced, else what the first unsynced one says.
    pub fn watch_problem(&self) -> Option<String> {
        let all = self.shared.primary.iter().chain(self.shared.secondary.iter().map(|(i, _)| i));
        all.filter_map(|i| match &*i.state().borrow() {
            SyncState::Synced => None,
            SyncState::Pending => Some(format!("waiting for the first list of {}", i.key())),
            SyncState::Failing(message) => Some(message.clone()),
        })
        .next()
    }

    /// Whether `description` watches the same things as the running one (so a swap can keep the
    /// informers and queue).
    pub fn same_watches(&self, description: &Description) -> bool {
        let running = &self.shared.description;
        running.primary == description.primary
            && running.owns == description.owns
            && running.related == description.related
            && running.finalizer == description.finalizer
            && running.reconcile_on_status_change == description.reconcile_on_status_change
    }

    /// Hands every later reconcile to `plugin` and reconciles every primary with it. In-flight
    /// reconciles finish on the plugin they started with.
    pub fn swap(&self, plugin: Plugin) {
        *self.shared.plugin.write() = plugin;
        self.shared.enqueue_all(Trigger::Resync);
    }

    /// Stops taking work, lets in-flight reconciles finish within the grace period, and releases
    /// the informers.
    pub async fn stop(mut self) {
        self.shared.stop.cancel();
        self.shared.queue.shut_down();
        let grace = self.shared.config.stop_grace;
        let finished = tokio::time::timeout(grace, async { while self.tasks.join_next().await.is_some() {} }).await;
        if finished.is_err() {
            tracing::warn!(plugin = %self.shared.description.name, ?grace, "reconciles still running at stop; abandoned");
            self.tasks.abort_all();
        }
    }
}

fn scopes(namespaces: &[String]) -> Vec<Option<String>> {
    if namespaces.is_empty() { vec![None] } else { namespaces.iter().cloned().map(Some).collect() }
}

fn dedup(mut informers: Vec<Arc<Informer>>) -> Vec<Arc<Informer>> {
    informers.dedup_by(|a, b| Arc::ptr_eq(a, b));
    informers
}

fn object_ref(api: &ApiResource, object: &CachedObject) -> ObjectRef {
    ObjectRef {
        api_version: api.api_version(),
        kind: api.kind.clone(),
        namespace: object.namespace.clone(),
        name: object.name.clone(),
    }
}

/// Whether only the status (or nothing the plugin looks at) changed: same generation, labels,
/// annotations, finalizers and deletion state.
fn status_only(old: &CachedObject, new: &CachedObject) -> bool {
    old.generation.is_some()
        && old.generation == new.generation
        && old.labels == new.labels
        && old.annotations == new.annotations
        && old.finalizers == new.finalizers
        && old.deleting == new.deleting
}

impl Shared {
    fn primary_api(&self) -> &ApiResource {
        &self.description.primary.api
    }

    fn enqueue(&self, key: ObjectKey, reason: Trigger) {
        self.reasons.lock().entry(key.clone()).or_insert((reason, Instant::now()));
        self.queue.add(key);
        self.note_depth();
    }

    fn note_depth(&self) {
        self.stats.queue_depth.store(self.queue.depth() as u64, Ordering::Relaxed);
    }

    /// Counts a finished call by its result.
    fn count(&self, outcome: &Result<CallResult<Result<Action, Failure>>, tokio::task::JoinError>, took: Duration) {
        let stats = &self.stats;
        stats.reconciles.fetch_add(1, Ordering::Relaxed);
        stats.duration.observe(took);
        let counter = match outcome {
            Ok(Ok(Ok(Action::Done))) => &stats.outcomes.done,
            Ok(Ok(Ok(Action::RequeueAfter(_)))) => &stats.outcomes.requeued,
            Ok(Ok(Err(Failure::Transient(_)))) => &stats.outcomes.transient,
            Ok(Ok(Err(Failure::Permanent(_)))) => &stats.outcomes.permanent,
            Ok(Err(error)) => {
                match error {
                    CallError::Deadline(_) => stats.deadline_kills.fetch_add(1, Ordering::Relaxed),
                    CallError::Instantiate(_) | CallError::ObjectTooLarge { .. } => 0,
                    _ => stats.traps.fetch_add(1, Ordering::Relaxed),
                };
                &stats.outcomes.fault
            }
            Err(_) => &stats.outcomes.fault,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn enqueue_all(&self, reason: Trigger) {
        for informer in &self.primary {
            for object in informer.list(None) {
                if self.selector.matches_labels(&object.labels) {
                    self.enqueue(object.key(), reason);
                }
            }
        }
    }

    fn selected(&self, object: &CachedObject) -> bool {
        self.selector.matches_labels(&object.labels)
    }

    /// Turns one informer's changes into queued primary keys.
    async fn pump(self: Arc<Self>, informer: Arc<Informer>, source: Option<Source>) {
        let mut changes = informer.subscribe();
        let mut state = informer.state();
        if source.is_none() {
            self.enqueue_all(Trigger::Added);
        }
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                changed = state.changed() => {
                    if changed.is_err() { return; }
                    // A (re)synced primary cache may hold objects we have never reconciled.
                    if source.is_none() && *state.borrow() == SyncState::Synced {
                        self.enqueue_all(Trigger::Resync);
                    }
                }
                change = changes.recv() => match change {
                    Ok(change) => self.route(&informer.key().api, change, source.as_ref()).await,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(plugin = %self.description.name, missed, "fell behind on events; reconciling everything");
                        self.enqueue_all(Trigger::Resync);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    async fn route(self: &Arc<Self>, api: &ApiResource, change: Change, source: Option<&Source>) {
        match (source, change) {
            (None, Change::Applied { old, new }) => {
                if !self.selected(&new) {
                    return;
                }
                let reason = match &old {
                    None => Trigger::Added,
                    Some(old) if !self.description.reconcile_on_status_change && status_only(old, &new) => return,
                    Some(_) => Trigger::Modified,
                };
                self.enqueue(new.key(), reason);
            }
            (None, Change::Deleted(_)) => {}
            (Some(Source::Owned), change) => {
                let primary = self.primary_api();
                for object in changed_objects(&change) {
                    for owner in &object.owners {
                        if owner.kind == primary.kind && owner.api_version == primary.api_version() {
                            self.enqueue((object.namespace.clone(), owner.name.clone()), Trigger::OwnedChanged);
                        }
                    }
                }
            }
            (Some(Source::Related(RelatedMapping::ByLabel(label))), change) => {
                for object in changed_objects(&change) {
                    if let Some(name) = object.labels.get(label) {
                        self.enqueue((object.namespace.clone(), name.clone()), Trigger::RelatedChanged);
                    }
                }
            }
            (Some(Source::Related(RelatedMapping::ByFunction)), change) => {
                for object in changed_objects(&change) {
                    self.map_related(api, object).await;
                }
            }
        }
    }

    /// Asks the plugin which primaries a related object concerns.
    async fn map_related(self: &Arc<Self>, api: &ApiResource, object: Arc<CachedObject>) {
        let plugin = self.plugin.read().clone();
        let related_ref = object_ref(api, &object);
        let json = object.json.clone();
        let result = tokio::task::spawn_blocking(move || plugin.map_related(related_ref, json)).await;
        match result {
            Ok(Ok(Ok(primaries))) => {
                for primary in primaries {
                    self.enqueue((primary.namespace, primary.name), Trigger::RelatedChanged);
                }
            }
            Ok(Ok(Err(message))) => tracing::warn!(plugin = %self.description.name, %message, "map-related failed"),
            Ok(Err(error)) => tracing::warn!(plugin = %self.description.name, %error, "map-related failed"),
            Err(error) => tracing::warn!(plugin = %self.description.name, %error, "map-related task failed"),
        }
    }

    async fn resync(self: Arc<Self>, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                _ = ticks.tick() => self.enqueue_all(Trigger::Resync),
            }
        }
    }

    /// Takes keys off the queue, at most `concurrency` at once.
    async fn work(self: Arc<Self>) {
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut running = JoinSet::new();
        while let Some(key) = self.queue.next().await {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { break };
            let shared = Arc::clone(&self);
            running.spawn(async move {
                shared.process(&key).await;
                shared.queue.done(&key);
                shared.note_depth();
                drop(permit);
            });
            while running.try_join_next().is_some() {}
        }
        // Stopped: in-flight reconciles finish (the caller bounds how long).
        while running.join_next().await.is_some() {}
    }

    async fn process(&self, key: &ObjectKey) {
        let (reason, queued) = self.reasons.lock().remove(key).unwrap_or((Trigger::Resync, Instant::now()));
        self.stats.record_latency(queued.elapsed());
        let api = self.primary_api().clone();
        let cached = self.primary.iter().find_map(|i| i.get(key));
        let Some(json) = self.cluster.overlay(&api, cached.as_deref(), key) else {
            self.queue.forget(key);
            return;
        };
        let Some(object) = cached else { return };
        if !self.selected(&object) {
            return;
        }
        let reference = object_ref(&api, &object);
        let finalizer = self.description.finalizer.clone();
        if object.deleting {
            if let Some(finalizer) = finalizer.filter(|f| object.finalizers.contains(f)) {
                self.cleanup(key, &object, reference, json, &finalizer).await;
            }
            return;
        }
        if let Some(finalizer) = finalizer.filter(|f| !object.finalizers.contains(f)) {
            let mut finalizers = object.finalizers.clone();
            finalizers.push(finalizer);
            if let Err(e) = self.set_finalizers(&object, finalizers).await {
                self.failed(key, &format!("adding finalizer: {e}"), true);
                return;
            }
        }
        let plugin = self.plugin.read().clone();
        let started = Instant::now();
        let outcome = tokio::task::spawn_blocking(move || plugin.reconcile(reference, json, reason)).await;
        self.count(&outcome, started.elapsed());
        match outcome {
            Ok(Ok(Ok(Action::Done))) => self.queue.forget(key),
            Ok(Ok(Ok(Action::RequeueAfter(ms)))) => {
                self.queue.forget(key);
                let after = Duration::from_millis(ms);
                self.reasons.lock().insert(key.clone(), (Trigger::Requeued, Instant::now() + after));
                self.queue.add_after(key.clone(), after);
            }
            Ok(Ok(Err(Failure::Transient(message)))) => self.failed(key, &message, true),
            Ok(Ok(Err(Failure::Permanent(message)))) => self.failed(key, &message, false),
            Ok(Err(call)) => self.failed(key, &call.to_string(), true),
            Err(join) => self.failed(key, &join.to_string(), true),
        }
    }

    async fn cleanup(
        &self,
        key: &ObjectKey,
        object: &CachedObject,
        reference: ObjectRef,
        json: String,
        finalizer: &str,
    ) {
        let plugin = self.plugin.read().clone();
        let started = Instant::now();
        let outcome = tokio::task::spawn_blocking(move || plugin.cleanup(reference, json)).await;
        self.count(&outcome, started.elapsed());
        match outcome {
            Ok(Ok(Ok(Action::Done))) => {
                let remaining = object.finalizers.iter().filter(|f| *f != finalizer).cloned().collect();
                match self.set_finalizers(object, remaining).await {
                    Ok(()) => self.queue.forget(key),
                    Err(e) => self.failed(key, &format!("removing finalizer: {e}"), true),
                }
            }
            Ok(Ok(Ok(Action::RequeueAfter(ms)))) => self.queue.add_after(key.clone(), Duration::from_millis(ms)),
            Ok(Ok(Err(Failure::Transient(message) | Failure::Permanent(message)))) => {
                self.failed(key, &format!("cleanup: {message}"), true);
            }
            Ok(Err(call)) => self.failed(key, &format!("cleanup: {call}"), true),
            Err(join) => self.failed(key, &join.to_string(), true),
        }
    }

    /// Replaces the finalizer list, guarded by the cached resourceVersion.
    async fn set_finalizers(&self, object: &CachedObject, finalizers: Vec<String>) -> Result<(), kube::Error> {
        let objects = informer::dynamic_api(self.client.clone(), self.primary_api(), object.namespace.as_deref());
        let patch = serde_json::json!({
            "metadata": { "finalizers": finalizers, "resourceVersion": object.resource_version }
        });
        objects.patch(&object.name, &PatchParams::default(), &Patch::Merge(patch)).await.map(drop)
    }

    fn failed(&self, key: &ObjectKey, message: &str, retry: bool) {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        *self.stats.last_error.lock() = Some(format!("{}/{}: {message}", key.0.as_deref().unwrap_or_default(), key.1));
        tracing::warn!(plugin = %self.description.name, namespace = ?key.0, name = %key.1, %message, retry, "reconcile failed");
        if retry {
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let delay = self.queue.retry(key.clone());
            self.reasons.lock().insert(key.clone(), (Trigger::Retry, Instant::now() + delay));
        } else {
            self.queue.forget(key);
        }
    }
}

/// The objects a change concerns: the new and (if different) the old state, or the deleted one.
fn changed_objects(change: &Change) -> Vec<Arc<CachedObject>> {
    match change {
        Change::Applied { old: Some(old), new } if old.labels != new.labels || old.owners != new.owners => {
            vec![Arc::clone(new), Arc::clone(old)]
        }
        Change::Applied { new, .. } => vec![Arc::clone(new)],
        Change::Deleted(gone) => vec![Arc::clone(gone)],
    }
}
