//! The plugin lifecycle: watches `Plugin` resources and loads, swaps, suspends and unloads
//! plugins in the running host, reporting conditions and Events on each Plugin.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::controller::cluster::KubeCluster;
use crate::controller::informer::{InformerKey, Informers, resource_name};
use crate::controller::{ControllerConfig, PluginController, Stats};
use crate::crd::{Plugin, PluginCondition, PluginSpec, PluginStatus};
use crate::fetch::{FetchError, Sources, fetch};
use crate::metrics::{Exposition, Histogram};
use crate::runtime::{self, Grants, Limits, Module, PluginEnv, Runtime, RuntimeConfig};

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
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeConfig::default(),
            limits: Limits::default(),
            controller: ControllerConfig::default(),
            sources: Sources { allow_path: false },
            status_interval: Duration::from_secs(2),
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
    runtime: Arc<Runtime>,
    informers: Arc<Informers>,
    config: HostConfig,
    recorder: Recorder,
    actors: Mutex<HashMap<String, watch::Sender<Option<Plugin>>>>,
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

impl Host {
    pub fn new(client: Client, config: HostConfig) -> anyhow::Result<Self> {
        let runtime = Arc::new(Runtime::new(config.runtime.clone())?);
        let reporter = Reporter { controller: "weft".into(), instance: None };
        Ok(Self {
            inner: Arc::new(Inner {
                informers: Arc::new(Informers::new(client.clone())),
                recorder: Recorder::new(client.clone(), reporter),
                client,
                runtime,
                config,
                actors: Mutex::new(HashMap::new()),
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
        let mut e = Exposition::default();
        let running: Vec<(String, Arc<Stats>)> =
            self.inner.running.lock().iter().map(|(n, s)| (n.clone(), Arc::clone(s))).collect();
        e.family("weft_plugins_running", "gauge", "Plugins reconciling now.");
        e.sample("weft_plugins_running", &[], running.len());
        e.family("weft_reconciles_total", "counter", "Reconcile and cleanup calls by result.");
        for (name, stats) in &running {
            for (result, count) in stats.outcomes.by_result() {
                e.sample("weft_reconciles_total", &[("plugin", name), ("result", result)], count);
            }
        }
        e.family("weft_reconcile_duration_seconds", "histogram", "Time of one reconcile or cleanup call.");
        for (name, stats) in &running {
            e.histogram("weft_reconcile_duration_seconds", &[("plugin", name)], &stats.duration);
        }
        let per_plugin: [PluginSeries; 4] = [
            ("weft_queue_depth", "Keys waiting or being reconciled.", |s| s.queue_depth.load(Ordering::Relaxed)),
            ("weft_retries_total", "Keys queued again after a failure.", |s| s.retries.load(Ordering::Relaxed)),
            ("weft_wasm_traps_total", "Calls that trapped, including memory and fuel limits.", |s| {
                s.traps.load(Ordering::Relaxed)
            }),
            ("weft_wasm_deadline_kills_total", "Calls stopped at their deadline.", |s| {
                s.deadline_kills.load(Ordering::Relaxed)
            }),
        ];
        for (metric, help, value) in per_plugin {
            let kind = if metric.ends_with("_total") { "counter" } else { "gauge" };
            e.family(metric, kind, help);
            for (name, stats) in &running {
                e.sample(metric, &[("plugin", name)], value(stats));
            }
        }
        let informers = self.inner.informers.active();
        e.family("weft_informers_active", "gauge", "Shared watches running now.");
        e.sample("weft_informers_active", &[], informers.len());
        e.family("weft_informer_cached_objects", "gauge", "Objects in each shared cache.");
        for (key, cached) in &informers {
            let namespace = key.namespace.as_deref().unwrap_or("");
            e.sample(
                "weft_informer_cached_objects",
                &[("resource", &resource_name(&key.api)), ("namespace", namespace)],
                cached,
            );
        }
        e.family("weft_wasm_memory_bytes", "gauge", "Linear memory of the plugin instances alive now.");
        e.sample("weft_wasm_memory_bytes", &[], runtime::wasm_memory_in_use());
        e.family("weft_plugin_lifecycle_total", "counter", "Plugin loads, swaps, unloads and load failures.");
        for ((name, kind), count) in self.inner.lifecycle.lock().iter() {
            e.sample("weft_plugin_lifecycle_total", &[("plugin", name), ("event", kind)], count);
        }
        e.family("weft_plugin_load_duration_seconds", "histogram", "Time to fetch, compile and start a plugin.");
        e.histogram("weft_plugin_load_duration_seconds", &[], &self.inner.load_duration);
        e.finish()
    }

    /// Names of the plugins reconciling now.
    pub fn running_plugins(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.running.lock().keys().cloned().collect();
        names.sort();
        names
    }

    /// Marks this replica as waiting for leadership (ready, running nothing) or not.
    pub fn set_standby(&self, standby: bool) {
        self.inner.standby.store(standby, Ordering::Relaxed);
    }

    /// Watches Plugins until `shutdown`, then stops every plugin. It can run again afterwards
    /// (a replica that regains leadership).
    pub async fn run(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.inner.listed.store(false, Ordering::Relaxed);
        let plugins: Api<Plugin> = Api::all(self.inner.client.clone());
        let stream = watcher::watcher(plugins, watcher::Config::default()).default_backoff();
        let mut stream = std::pin::pin!(stream);
        let mut listed = HashSet::new();
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                event = stream.next() => event,
            };
            match event {
                None => break,
                Some(Err(e)) => tracing::warn!(error = %e, "watching Plugins"),
                Some(Ok(Event::Init)) => listed.clear(),
                Some(Ok(Event::InitApply(plugin))) => {
                    listed.insert(plugin.name_any());
                    self.desire(plugin.name_any(), Some(plugin));
                }
                Some(Ok(Event::InitDone)) => {
                    let gone: Vec<String> =
                        self.inner.actors.lock().keys().filter(|name| !listed.contains(*name)).cloned().collect();
                    for name in gone {
                        self.desire(name, None);
                    }
                    self.inner.listed.store(true, Ordering::Relaxed);
                }
                Some(Ok(Event::Apply(plugin))) => self.desire(plugin.name_any(), Some(plugin)),
                Some(Ok(Event::Delete(plugin))) => self.desire(plugin.name_any(), None),
            }
        }
        let names: Vec<String> = self.inner.actors.lock().keys().cloned().collect();
        for name in names {
            self.desire(name, None);
        }
        // Actors stop their plugins (bounded by the controller's grace period) and exit.
        while !self.inner.running.lock().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.inner.listed.store(false, Ordering::Relaxed);
        Ok(())
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
        tokio::spawn(Actor { inner: Arc::clone(&self.inner), name, running: None, status: None }.run(rx));
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("running", &*self.running.lock()).finish_non_exhaustive()
    }
}

/// A per-plugin series: name, help, and how to read it from the plugin's counters.
type PluginSeries = (&'static str, &'static str, fn(&Stats) -> u64);

/// What one actor has running.
struct Running {
    controller: PluginController,
    module: Arc<Module>,
    cluster: Arc<KubeCluster>,
    stats: Arc<Stats>,
    generation: Option<i64>,
    spec: PluginSpec,
    /// For `path` modules: the file's modification time when loaded.
    modified: Option<SystemTime>,
}

/// Owns one plugin's lifecycle; desired states arrive through a watch channel, latest wins.
struct Actor {
    inner: Arc<Inner>,
    name: String,
    running: Option<Running>,
    /// The status last written, so unchanged status is not written again.
    status: Option<PluginStatus>,
}

/// The outcome of bringing a plugin to its spec, for status.
struct Verdict {
    ready: bool,
    reason: &'static str,
    message: String,
    /// Loaded condition: `None` keeps Ready's verdict.
    loaded: Option<(bool, &'static str, String)>,
}

impl Actor {
    async fn run(mut self, mut desired: watch::Receiver<Option<Plugin>>) {
        let mut ticks = tokio::time::interval(self.inner.config.status_interval);
        let mut current = desired.borrow_and_update().clone();
        let mut verdict = None;
        if let Some(plugin) = &current {
            verdict = Some(self.converge(plugin).await);
        }
        loop {
            tokio::select! {
                changed = desired.changed() => {
                    if changed.is_err() { break; }
                    current = desired.borrow_and_update().clone();
                    let Some(plugin) = &current else { break };
                    verdict = Some(self.converge(plugin).await);
                }
                _ = ticks.tick() => {
                    let Some(plugin) = &current else { break };
                    if self.path_changed() {
                        if let Some(running) = &mut self.running { running.generation = None; }
                        verdict = Some(self.converge(plugin).await);
                    } else if let Some(verdict) = verdict.as_mut().filter(|_| self.running.is_some()) {
                        // Watches come and go (a CRD deleted and re-created) without a spec change.
                        let fresh = self.running_verdict();
                        (verdict.ready, verdict.reason, verdict.message) = (fresh.ready, fresh.reason, fresh.message);
                    }
                }
            }
            if let (Some(plugin), Some(verdict)) = (&current, &verdict) {
                self.write_status(plugin, verdict).await;
            }
        }
        self.stop().await;
        self.inner.settled.lock().remove(&self.name);
    }

    fn path_changed(&self) -> bool {
        let Some(running) = &self.running else { return false };
        let Some(path) = &running.spec.module.path else { return false };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        modified.is_some() && modified != running.modified
    }

    async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.controller.stop().await;
            self.count("unload");
            tracing::info!(plugin = %self.name, "plugin unloaded");
            // A Plugin re-created under the same name may already run in a new actor.
            let mut registered = self.inner.running.lock();
            if registered.get(&self.name).is_some_and(|stats| Arc::ptr_eq(stats, &running.stats)) {
                registered.remove(&self.name);
            }
        }
    }

    /// Brings the running plugin in line with `plugin`'s spec.
    async fn converge(&mut self, plugin: &Plugin) -> Verdict {
        let spec = &plugin.spec;
        if spec.suspend {
            if self.running.is_some() {
                self.stop().await;
                self.event(plugin, EventType::Normal, "Suspended", "plugin suspended; watches released").await;
            }
            return Verdict { ready: false, reason: "Suspended", message: "spec.suspend is true".into(), loaded: None };
        }
        if let Some(running) = &self.running
            && running.generation.is_some()
            && running.generation == plugin.metadata.generation
        {
            return self.running_verdict();
        }
        let started = std::time::Instant::now();
        let loaded = self.load(plugin).await;
        self.inner.load_duration.observe(started.elapsed());
        match loaded {
            Ok(()) => self.running_verdict(),
            Err(failure) => {
                self.count("failure");
                self.event(plugin, EventType::Warning, failure.reason, &failure.message).await;
                tracing::warn!(plugin = %self.name, reason = failure.reason, message = %failure.message, "plugin not loaded");
                match &self.running {
                    // The previous version keeps serving.
                    Some(running) => Verdict {
                        loaded: Some((
                            false,
                            failure.reason,
                            format!(
                                "{}; still running {} {}",
                                failure.message,
                                running.module.description().version,
                                running.module.digest()
                            ),
                        )),
                        ..self.running_verdict()
                    },
                    None => Verdict { ready: false, reason: failure.reason, message: failure.message, loaded: None },
                }
            }
        }
    }

    fn running_verdict(&self) -> Verdict {
        match &self.running {
            None => Verdict { ready: false, reason: "NotLoaded", message: "no module loaded".into(), loaded: None },
            Some(running) => match running.controller.watch_problem() {
                Some(problem) => Verdict { ready: false, reason: "WatchFailing", message: problem, loaded: None },
                None => Verdict {
                    ready: true,
                    reason: "Running",
                    message: format!(
                        "{} {} reconciling",
                        running.module.description().name,
                        running.module.description().version
                    ),
                    loaded: None,
                },
            },
        }
    }

    async fn load(&mut self, plugin: &Plugin) -> Result<(), FetchError> {
        let spec = &plugin.spec;
        let bytes = fetch(&self.inner.client, spec, self.inner.config.sources).await?;
        let modified = spec.module.path.as_ref().and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        let runtime = Arc::clone(&self.inner.runtime);
        let module = tokio::task::spawn_blocking(move || runtime.load(&bytes))
            .await
            .map_err(|e| FetchError { reason: "LoadFailed", message: e.to_string() })?
            .map_err(|e| FetchError { reason: "LoadFailed", message: e.to_string() })?;
        let grants = Grants::new(spec.permissions.clone());
        let missing = grants.missing(&module.description().permissions, &spec.namespaces);
        if !missing.is_empty() {
            return Err(FetchError {
                reason: "PermissionDenied",
                message: format!("spec.permissions does not grant: {}", missing.join("; ")),
            });
        }
        let (limits, concurrency) = spec
            .limits
            .resolve(&self.inner.config.limits)
            .map_err(|message| FetchError { reason: "InvalidSpec", message })?;
        let config = spec.config.as_ref().map_or_else(|| "{}".to_owned(), ToString::to_string);
        let controller_config = ControllerConfig {
            concurrency,
            namespaces: spec.namespaces.clone(),
            ..self.inner.config.controller.clone()
        };
        let scopes: Vec<Option<String>> =
            if spec.namespaces.is_empty() { vec![None] } else { spec.namespaces.iter().cloned().map(Some).collect() };
        let reusable = self
            .running
            .as_ref()
            .filter(|r| r.controller.same_watches(module.description()) && r.spec.namespaces == spec.namespaces);
        let reuse = reusable.is_some();
        let cluster = match reusable {
            Some(running) => Arc::clone(&running.cluster),
            None => Arc::new(KubeCluster::new(
                self.inner.client.clone(),
                Arc::clone(&self.inner.informers),
                scopes,
                &self.name,
            )),
        };
        let env = PluginEnv { name: Arc::from(self.name.as_str()), grants, cluster: cluster.clone(), config, limits };
        let new_plugin = runtime::Plugin::new(Arc::clone(&module), env);
        let summary = format!("{} {} ({})", module.description().name, module.description().version, module.digest());
        let generation = plugin.metadata.generation;
        if let Some(running) = self.running.as_mut().filter(|_| reuse) {
            running.controller.swap(new_plugin);
            running.module = module;
            running.generation = generation;
            running.spec = spec.clone();
            running.modified = modified;
            self.count("swap");
            self.event(plugin, EventType::Normal, "Swapped", &format!("now running {summary}")).await;
            return Ok(());
        }
        let stats = self.running.as_ref().map_or_else(Arc::default, |r| Arc::clone(&r.stats));
        let controller = PluginController::start(
            new_plugin,
            self.inner.client.clone(),
            &self.inner.informers,
            cluster.clone(),
            controller_config,
            Arc::clone(&stats),
        );
        let replaced = self.running.replace(Running {
            controller,
            module,
            cluster,
            stats: Arc::clone(&stats),
            generation,
            spec: spec.clone(),
            modified,
        });
        let reason = if let Some(old) = replaced {
            old.controller.stop().await;
            self.count("swap");
            "Swapped"
        } else {
            self.count("load");
            "Loaded"
        };
        self.inner.running.lock().insert(self.name.clone(), stats);
        self.event(plugin, EventType::Normal, reason, &format!("running {summary}")).await;
        tracing::info!(plugin = %self.name, %summary, reason, "plugin running");
        Ok(())
    }

    async fn write_status(&mut self, plugin: &Plugin, verdict: &Verdict) {
        self.inner.settled.lock().insert(self.name.clone());
        if let Some(running) = &self.running {
            running.stats.synced.store(running.controller.watch_problem().is_none(), Ordering::Relaxed);
        }
        let previous = self.status.clone().or_else(|| plugin.status.clone()).unwrap_or_default();
        let generation = plugin.metadata.generation;
        let condition = |type_: &str, ok: bool, reason: &str, message: &str| {
            let status = if ok { "True" } else { "False" };
            let since = previous
                .conditions
                .iter()
                .find(|c| c.type_ == type_ && c.status == status)
                .map_or_else(now, |c| c.last_transition_time.clone());
            PluginCondition {
                type_: type_.into(),
                status: status.into(),
                reason: reason.into(),
                message: message.into(),
                last_transition_time: since,
                observed_generation: generation,
            }
        };
        let running = self.running.as_ref();
        let (loaded_ok, loaded_reason, loaded_message) = verdict.loaded.clone().unwrap_or_else(|| match running {
            Some(r) => (true, "Loaded", format!("module {}", r.module.digest())),
            None => (false, verdict.reason, verdict.message.clone()),
        });
        let watch_problem = running.and_then(|r| r.controller.watch_problem());
        let mut conditions = vec![condition("Ready", verdict.ready, verdict.reason, &verdict.message)];
        conditions.push(condition("Loaded", loaded_ok, loaded_reason, &loaded_message));
        conditions.push(match (running, &watch_problem) {
            (None, _) => condition("Watching", false, "NotRunning", "no watches"),
            (Some(_), Some(problem)) => condition("Watching", false, "WatchFailing", problem),
            (Some(_), None) => condition("Watching", true, "Synced", "every watch is synced"),
        });
        let status = PluginStatus {
            conditions,
            observed_generation: generation,
            module_digest: running.map(|r| r.module.digest().to_string()),
            version: running.map(|r| format!("{} {}", r.module.description().name, r.module.description().version)),
            watched: running
                .map(|r| {
                    r.controller
                        .watching()
                        .iter()
                        .map(|k| match &k.namespace {
                            Some(ns) => format!("{} in {ns}", resource_name(&k.api)),
                            None => resource_name(&k.api),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            reconciles: running.map_or(previous.reconciles, |r| r.stats.reconciles.load(Ordering::Relaxed)),
            errors: running.map_or(previous.errors, |r| r.stats.errors.load(Ordering::Relaxed)),
            last_error: running.and_then(|r| r.stats.last_error.lock().clone()).or(previous.last_error.clone()),
        };
        if self.status.as_ref() == Some(&status) {
            return;
        }
        let api: Api<Plugin> = Api::all(self.inner.client.clone());
        let patch = serde_json::json!({ "status": status });
        match api.patch_status(&self.name, &PatchParams::default(), &Patch::Merge(patch)).await {
            Ok(_) => self.status = Some(status),
            Err(e) => tracing::debug!(plugin = %self.name, error = %e, "could not write Plugin status"),
        }
    }

    fn count(&self, kind: &'static str) {
        *self.inner.lifecycle.lock().entry((self.name.clone(), kind)).or_insert(0) += 1;
    }

    async fn event(&self, plugin: &Plugin, type_: EventType, reason: &str, note: &str) {
        let reference = ObjectReference {
            api_version: Some("weft.dev/v1alpha1".into()),
            kind: Some("Plugin".into()),
            name: Some(self.name.clone()),
            uid: plugin.metadata.uid.clone(),
            ..ObjectReference::default()
        };
        let event =
            KubeEvent { type_, reason: reason.into(), note: Some(note.into()), action: reason.into(), secondary: None };
        if let Err(e) = self.inner.recorder.publish(&event, &reference).await {
            tracing::debug!(plugin = %self.name, error = %e, "could not record event");
        }
    }
}

fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
