//! The plugin lifecycle: the [`Host`] watches `Plugin` resources and gives each one an actor
//! ([`actor`]) that loads, swaps, suspends and unloads it in the running host, reporting
//! conditions ([`status`]) and Events on the Plugin.

mod actor;
mod failure;
mod fetches;
mod identity;
mod placement;
mod prepare;
mod refetch;
mod status;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use placement::Placement;

use self::actor::Actor;
use self::fetches::Fetches;
use crate::backoff::Backoff;
use crate::controller::{CallGate, ControllerConfig, InformerKey, Informers, Stats};
use crate::crd::Plugin;
use crate::events::Events;
use crate::fetch::Sources;
use crate::histogram::Histogram;
use crate::metrics;
use crate::oci::OciConfig;
use crate::runtime::{self, Limits, Runtime, RuntimeConfig};
use crate::shard::ShardStats;

/// Host-wide settings.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub runtime: RuntimeConfig,
    /// Limits for plugins that set none.
    pub limits: Limits,
    pub controller: ControllerConfig,
    pub sources: Sources,
    /// How often plugin status (counters, watch health) is refreshed, and `path` modules checked.
    pub status_interval: Duration,
    /// Backoff between failed lists and watches, for informers and the Plugin watch.
    pub relist: Backoff,
    /// Registries: plain-HTTP ones, required signatures, limits.
    pub oci: OciConfig,
    /// Backoff between tries of a module that could not be fetched (a registry down, a module
    /// or pull secret not there yet).
    pub refetch: Backoff,
    /// This replica's identity, reported in each Plugin's `status.host`.
    pub identity: Option<String>,
    /// The configuration the host's client was made from, to make clients that impersonate a
    /// Plugin's ServiceAccount; without it, Plugins that name one are refused.
    pub cluster: Option<kube::Config>,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeConfig::default(),
            limits: Limits::default(),
            controller: ControllerConfig::default(),
            sources: Sources { allow_path: false },
            status_interval: Duration::from_secs(2),
            relist: Backoff { base: Duration::from_millis(100), max: Duration::from_secs(30) },
            oci: OciConfig::default(),
            refetch: Backoff { base: Duration::from_secs(2), max: Duration::from_secs(300) },
            identity: None,
            cluster: None,
        }
    }
}

/// The host: shared runtime and informers, and one actor per Plugin.
#[derive(Debug, Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    runtime: Runtime,
    informers: Arc<Informers>,
    config: HostConfig,
    events: Events,
    fetches: Fetches,
    /// Plugin calls running at once, host-wide (`ControllerConfig::max_parallel_calls`).
    calls: Arc<CallGate>,
    /// The desired state of each Plugin, as its actor receives it.
    actors: Mutex<HashMap<String, watch::Sender<Option<Plugin>>>>,
    /// Every actor task, so a stopping host can wait for them all.
    tracker: TaskTracker,
    /// Actor tasks alive, by Plugin name (one may still be stopping while the next starts).
    alive: Mutex<HashMap<String, usize>>,
    /// Notified whenever an actor task ends.
    actor_exited: Notify,
    /// Every Plugin seen, placed here or not.
    known: Mutex<BTreeMap<String, Plugin>>,
    /// Which of them this host runs.
    placement: watch::Sender<Placement>,
    shard: Arc<ShardStats>,
    /// Plugins reconciling now, with their counters.
    running: Mutex<HashMap<String, Arc<Stats>>>,
    /// Plugins whose actor has acted on their spec at least once.
    settled: Mutex<HashSet<String>>,
    /// Whether the first list of Plugins has been handed to actors.
    listed: AtomicBool,
    /// A replica waiting for leadership: nothing to be ready for.
    standby: AtomicBool,
    /// Lifecycle transitions by plugin and kind (`load`, `swap`, `unload`, `failure`).
    lifecycle: Mutex<BTreeMap<(String, &'static str), u64>>,
    load_duration: Histogram,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("running", &*self.running.lock()).finish_non_exhaustive()
    }
}

impl Host {
    pub fn new(client: Client, config: HostConfig) -> anyhow::Result<Self> {
        let runtime = Runtime::new(config.runtime.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                informers: Arc::new(Informers::new(client.clone(), config.relist)),
                events: Events::new(client.clone(), "weft"),
                fetches: Fetches::default(),
                calls: Arc::new(CallGate::new(config.controller.max_parallel_calls)),
                client,
                runtime,
                config,
                actors: Mutex::new(HashMap::new()),
                tracker: TaskTracker::new(),
                alive: Mutex::new(HashMap::new()),
                actor_exited: Notify::new(),
                known: Mutex::new(BTreeMap::new()),
                placement: watch::Sender::new(Placement::All),
                shard: Arc::default(),
                running: Mutex::new(HashMap::new()),
                settled: Mutex::new(HashSet::new()),
                listed: AtomicBool::new(false),
                standby: AtomicBool::new(false),
                lifecycle: Mutex::new(BTreeMap::new()),
                load_duration: Histogram::default(),
            }),
        })
    }

    /// Informers running now, with their cached object counts.
    pub fn active_informers(&self) -> Vec<(InformerKey, usize)> {
        self.inner.informers.active()
    }

    /// The counters of a running plugin.
    pub fn plugin_stats(&self, name: &str) -> Option<Arc<Stats>> {
        self.inner.running.lock().get(name).cloned()
    }

    /// Names of the plugins reconciling now.
    pub fn running_plugins(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.running.lock().keys().cloned().collect();
        names.sort();
        names
    }

    /// Ready when the Plugins have been listed, each has been acted on once, and every running
    /// plugin's caches are synced.
    pub fn ready(&self) -> bool {
        if self.inner.standby.load(Ordering::Relaxed) {
            return true;
        }
        if !self.inner.listed.load(Ordering::Relaxed) {
            return false;
        }
        let settled = self.inner.settled.lock();
        if !self.inner.actors.lock().keys().all(|name| settled.contains(name)) {
            return false;
        }
        self.inner.running.lock().values().all(|stats| stats.synced.load(Ordering::Relaxed))
    }

    /// Every metric, in the Prometheus text format.
    pub fn metrics(&self) -> String {
        let running = self.inner.running.lock().iter().map(|(n, s)| (n.clone(), Arc::clone(s))).collect();
        metrics::render(&metrics::Snapshot {
            running,
            informers: self.inner.informers.active(),
            lifecycle: self.inner.lifecycle.lock().clone(),
            load_duration: &self.inner.load_duration,
            wasm_memory: runtime::wasm_memory_in_use(),
            shard: matches!(*self.inner.placement.borrow(), Placement::Buckets { .. }).then_some(&*self.inner.shard),
        })
    }

    /// What this replica's sharding has done (all zero unless it runs sharded).
    pub fn shard_stats(&self) -> Arc<ShardStats> {
        Arc::clone(&self.inner.shard)
    }

    /// Marks this replica as waiting for leadership (ready, running nothing) or not.
    pub fn set_standby(&self, standby: bool) {
        self.inner.standby.store(standby, Ordering::Relaxed);
    }

    /// Watches Plugins until `shutdown`, then stops every plugin and waits for their actors. It
    /// can run again afterwards (a replica that regains leadership).
    pub async fn run(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.inner.listed.store(false, Ordering::Relaxed);
        let plugins: Api<Plugin> = Api::all(self.inner.client.clone());
        let stream = watcher::watcher(plugins, watcher::Config::default()).backoff(self.inner.config.relist.retries());
        let mut stream = std::pin::pin!(stream);
        let mut listed = HashSet::new();
        let mut placement = self.inner.placement.subscribe();
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                changed = placement.changed() => {
                    if changed.is_ok() {
                        for name in self.plugin_names() {
                            self.place(&name);
                        }
                    }
                    continue;
                }
                event = stream.next() => event,
            };
            match event {
                None => break,
                Some(Err(e)) => tracing::warn!(error = %e, "watching Plugins"),
                Some(Ok(Event::Init)) => listed.clear(),
                Some(Ok(Event::InitApply(plugin))) => {
                    listed.insert(plugin.name_any());
                    self.remember(plugin);
                }
                Some(Ok(Event::InitDone)) => {
                    let gone: Vec<String> =
                        self.plugin_names().into_iter().filter(|name| !listed.contains(name)).collect();
                    for name in gone {
                        self.forget(&name);
                    }
                    self.inner.listed.store(true, Ordering::Relaxed);
                }
                Some(Ok(Event::Apply(plugin))) => self.remember(plugin),
                Some(Ok(Event::Delete(plugin))) => self.forget(&plugin.name_any()),
            }
        }
        let names: Vec<String> = self.inner.actors.lock().keys().cloned().collect();
        for name in names {
            self.desire(name, None);
        }
        // Actors stop their plugins (bounded by the controller's grace period) and exit.
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        self.inner.tracker.reopen();
        self.inner.listed.store(false, Ordering::Relaxed);
        Ok(())
    }

    fn remember(&self, plugin: Plugin) {
        let name = plugin.name_any();
        self.inner.known.lock().insert(name.clone(), plugin);
        self.place(&name);
    }

    fn forget(&self, name: &str) {
        self.inner.known.lock().remove(name);
        self.desire(name.to_owned(), None);
    }

    /// Hands the latest desired state of one Plugin to its actor, starting one if needed.
    fn desire(&self, name: String, plugin: Option<Plugin>) {
        let mut actors = self.inner.actors.lock();
        if let Some(actor) = actors.get(&name) {
            let _ = actor.send(plugin.clone());
            if plugin.is_none() {
                actors.remove(&name);
            }
            return;
        }
        if plugin.is_none() {
            return;
        }
        let (tx, rx) = watch::channel(plugin);
        actors.insert(name.clone(), tx);
        *self.inner.alive.lock().entry(name.clone()).or_default() += 1;
        let span = tracing::info_span!("plugin", plugin = %name);
        let actor = Actor::new(Arc::clone(&self.inner), name);
        self.inner.tracker.spawn(actor.run(rx).instrument(span));
    }
}
