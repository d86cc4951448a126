//! Running one plugin: its informers, its work queue and its workers.
//!
//! Changes in the shared caches map to primary keys ([`triggers`]); workers take requests off the
//! [`queue`](queue::Queue), read the primary from the cache (with read-your-own-writes), follow
//! the [`finalizer`] protocol, call the plugin on a blocking thread, and let the call's
//! [`Outcome`](outcome::Outcome) decide between done, requeue and retry.

mod cache;
mod cached_cluster;
mod call_gate;
mod delay_queue;
mod finalizer;
mod informer;
mod outcome;
mod own_writes;
mod pump;
mod queue;
mod reflector;
mod resource;
mod scopes;
mod stats;
mod triggers;
mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use weft_labels::Selector;

pub use cached_cluster::CachedCluster;
pub use call_gate::CallGate;
pub use informer::{InformerKey, Informers};
pub use resource::resource_name;
pub use scopes::Scopes;
pub use stats::Stats;

use self::cache::ObjectKey;
use self::informer::Informer;
use self::queue::{Queue, Urgency};
use crate::backoff::Backoff;
use crate::runtime::bindings::RelatedMapping;
use crate::runtime::{BoundModule, Description, Trigger};

/// How plugins run, besides their modules: the host's defaults.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Reconciles of one plugin at once; the host's default, which `limits.concurrency` overrides.
    pub concurrency: usize,
    /// Reconcile every primary this often, even without changes.
    pub resync: Option<Duration>,
    /// Time in-flight reconciles get to finish when a plugin stops.
    pub stop_grace: Duration,
    /// Retries of failed keys.
    pub backoff: Backoff,
    /// A plugin with nothing to do for this long releases its compiled code until its next
    /// event (when the disk cache can give it back); `None` keeps it loaded.
    pub idle_after: Option<Duration>,
    /// Plugin calls running at once across the whole host, each on a blocking thread. Above
    /// this, calls wait their turn (first come, first served) instead of piling threads onto the
    /// cores.
    pub max_parallel_calls: usize,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            resync: None,
            stop_grace: Duration::from_secs(10),
            backoff: Backoff::default(),
            idle_after: Some(Duration::from_secs(60)),
            max_parallel_calls: 16,
        }
    }
}

/// A running plugin. Dropping it without [`stop`](Self::stop) cancels its tasks at once.
#[derive(Debug)]
pub struct PluginController {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

/// What the controller's tasks share.
struct Shared {
    plugin: RwLock<BoundModule>,
    description: Description,
    /// The primary watch's label selector.
    selector: Selector,
    primary: Vec<Arc<Informer>>,
    secondary: Vec<(Arc<Informer>, Source)>,
    cluster: Arc<CachedCluster>,
    client: kube::Client,
    queue: Queue<ObjectKey>,
    stats: Arc<Stats>,
    stop: CancellationToken,
    config: ControllerConfig,
    /// When the plugin last finished a call, for idle eviction.
    last_active: parking_lot::Mutex<Instant>,
    /// The host-wide bound on calls running at once.
    calls: Arc<CallGate>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("plugin", &self.description.name).finish_non_exhaustive()
    }
}

/// How a secondary informer's objects map to primaries; the selector is its watch's.
#[derive(Debug, Clone)]
enum Source {
    Owned(Selector),
    Related(Selector, RelatedMapping),
}

impl PluginController {
    /// Starts watching (through `cluster`'s informers and scopes) and reconciling for `plugin`,
    /// whose description has been checked; each of its calls takes a permit of `calls`, the
    /// host's. Its tasks run in the current tracing span.
    pub fn start(
        plugin: BoundModule,
        cluster: Arc<CachedCluster>,
        config: ControllerConfig,
        stats: Arc<Stats>,
        calls: Arc<CallGate>,
    ) -> Self {
        let info = Arc::clone(plugin.info());
        let description = info.description().clone();
        let selectors = info.selectors();
        let informers_for = |api| {
            cluster.scopes().informer_keys(api).iter().map(|key| cluster.informers().get(key)).collect::<Vec<_>>()
        };
        let primary = informers_for(&description.primary.api);
        let mut secondary = Vec::new();
        for (owned, selector) in description.owns.iter().zip(&selectors.owns) {
            let source = Source::Owned(selector.clone());
            secondary.extend(informers_for(&owned.api).into_iter().map(|i| (i, source.clone())));
        }
        for (related, selector) in description.related.iter().zip(&selectors.related) {
            let source = Source::Related(selector.clone(), related.mapping.clone());
            secondary.extend(informers_for(&related.watch.api).into_iter().map(|i| (i, source.clone())));
        }
        let shared = Arc::new(Shared {
            plugin: RwLock::new(plugin),
            selector: selectors.primary.clone(),
            description,
            primary,
            secondary,
            client: cluster.client().clone(),
            cluster,
            queue: Queue::new(config.backoff),
            stats,
            stop: CancellationToken::new(),
            config,
            last_active: parking_lot::Mutex::new(Instant::now()),
            calls,
        });
        let span = tracing::Span::current();
        let mut tasks = JoinSet::new();
        for informer in &shared.primary {
            tasks.spawn(Arc::clone(&shared).pump(Arc::clone(informer), None).instrument(span.clone()));
        }
        for (informer, source) in &shared.secondary {
            let pump = Arc::clone(&shared).pump(Arc::clone(informer), Some(source.clone()));
            tasks.spawn(pump.instrument(span.clone()));
        }
        tasks.spawn(Arc::clone(&shared).work().instrument(span.clone()));
        if let Some(every) = shared.config.resync {
            tasks.spawn(Arc::clone(&shared).resync(every).instrument(span.clone()));
        }
        if let Some(after) = shared.config.idle_after {
            tasks.spawn(Arc::clone(&shared).evict_when_idle(after).instrument(span));
        }
        Self { shared, tasks }
    }

    fn informers(&self) -> impl Iterator<Item = &Arc<Informer>> {
        self.shared.primary.iter().chain(self.shared.secondary.iter().map(|(i, _)| i))
    }

    /// The informers this plugin holds.
    pub fn watching(&self) -> Vec<InformerKey> {
        let mut keys: Vec<InformerKey> = self.informers().map(|i| i.key().clone()).collect();
        keys.dedup();
        keys
    }

    /// `None` when every informer is synced, else what the first unsynced one says.
    pub fn watch_problem(&self) -> Option<String> {
        self.informers().find_map(|i| i.problem())
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

    /// Whether the plugin has released its compiled code while idle.
    pub fn is_idle(&self) -> bool {
        !self.shared.plugin.read().is_resident()
    }

    /// Hands every later reconcile to `plugin` and reconciles every primary with it. In-flight
    /// reconciles finish on the plugin they started with.
    pub fn swap(&self, plugin: BoundModule) {
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
            tracing::warn!(?grace, "reconciles still running at stop; abandoned");
            self.tasks.abort_all();
        }
    }
}

impl Shared {
    /// Queues a key an event concerns.
    fn enqueue(&self, key: ObjectKey, trigger: Trigger) {
        self.queue.add(key, trigger, Urgency::Event);
        self.note_depth();
    }

    fn note_depth(&self) {
        self.stats.queue_depth.store(self.queue.depth() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Queues every selected primary in the caches, behind keys that events queue.
    fn enqueue_all(&self, trigger: Trigger) {
        for informer in &self.primary {
            for object in informer.list(None) {
                if self.selector.matches_labels(&object.labels) {
                    self.queue.add(object.key.clone(), trigger, Urgency::Bulk);
                }
            }
        }
        self.note_depth();
    }

    fn note_active(&self) {
        *self.last_active.lock() = Instant::now();
    }

    /// Releases the compiled code once nothing has happened for `after`; the next call reloads
    /// it. Events keep arriving in the queue meanwhile, so none is lost.
    async fn evict_when_idle(self: Arc<Self>, after: Duration) {
        let mut ticks = tokio::time::interval((after / 4).max(Duration::from_millis(10)));
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let quiet = self.last_active.lock().elapsed() >= after;
            if quiet && self.queue.depth() == 0 && self.plugin.read().evict() {
                tracing::debug!(idle = ?after, "idle; compiled code released until the next event");
            }
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
}
