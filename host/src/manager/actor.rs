//! One actor per Plugin: it owns that plugin's lifecycle. Desired states arrive through a watch
//! channel (latest wins); each is prepared while the running version serves, then committed by
//! starting or swapping the controller; status is refreshed on a tick.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::EventType;
use tokio::sync::watch;

use super::Inner;
use super::failure::LoadFailure;
use super::prepare::{self, Prepared};
use super::refetch::Refetch;
use super::status::{self, Judgement, Verdict};
use crate::controller::{CachedCluster, ControllerConfig, PluginController, Scopes, Stats};
use crate::crd::{Plugin, PluginSpec, PluginStatus};
use crate::events;
use crate::runtime::{BoundModule, ModuleInfo, PluginEnv};

/// What one actor has running.
struct Running {
    controller: PluginController,
    /// What runs; the compiled code itself is the controller's to hold or evict.
    module: Arc<ModuleInfo>,
    cluster: Arc<CachedCluster>,
    stats: Arc<Stats>,
    concurrency: usize,
    generation: Option<i64>,
    spec: PluginSpec,
    /// For `path` modules: the file's modification time when loaded.
    modified: Option<SystemTime>,
    /// For `oci` modules: the pinned reference that runs.
    resolved: Option<String>,
}

pub(super) struct Actor {
    inner: Arc<Inner>,
    name: String,
    running: Option<Running>,
    /// The status last written, so unchanged status is not written again.
    status: Option<PluginStatus>,
    /// When to try again a spec whose module could not be fetched.
    refetch: Refetch,
}

impl Actor {
    pub(super) fn new(inner: Arc<Inner>, name: String) -> Self {
        let refetch = Refetch::new(inner.config.refetch);
        Self { inner, name, running: None, status: None, refetch }
    }

    /// Runs until the Plugin is gone (`None`) or the channel closes, then stops the plugin.
    pub(super) async fn run(mut self, mut desired: watch::Receiver<Option<Plugin>>) {
        let mut ticks = tokio::time::interval(self.inner.config.status_interval);
        let mut current = desired.borrow_and_update().clone();
        let mut verdict = None;
        if let Some(plugin) = &current {
            verdict = Some(self.converge(plugin).await);
            self.inner.settled.lock().insert(self.name.clone());
        }
        loop {
            tokio::select! {
                changed = desired.changed() => {
                    if changed.is_err() { break; }
                    current = desired.borrow_and_update().clone();
                    let Some(plugin) = &current else { break };
                    verdict = Some(self.converge(plugin).await);
                    self.inner.settled.lock().insert(self.name.clone());
                }
                _ = ticks.tick() => {
                    let Some(plugin) = &current else { break };
                    if self.path_changed() {
                        if let Some(running) = &mut self.running { running.generation = None; }
                        verdict = Some(self.converge(plugin).await);
                    } else if self.refetch.due() {
                        verdict = Some(self.converge(plugin).await);
                    } else if let Some(verdict) = verdict.as_mut().filter(|_| self.running.is_some()) {
                        // Watches come and go (a CRD deleted and re-created) without a spec change.
                        verdict.ready = self.running_judgement();
                    }
                }
            }
            if let (Some(plugin), Some(verdict)) = (&current, &verdict) {
                self.write_status(plugin, verdict).await;
            }
        }
        self.stop().await;
        self.inner.settled.lock().remove(&self.name);
        let mut alive = self.inner.alive.lock();
        if let Some(count) = alive.get_mut(&self.name) {
            *count -= 1;
            if *count == 0 {
                alive.remove(&self.name);
            }
        }
        drop(alive);
        self.inner.actor_exited.notify_waiters();
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
            tracing::info!("plugin unloaded");
            // A Plugin re-created under the same name may already run in a new actor.
            let mut registered = self.inner.running.lock();
            if registered.get(&self.name).is_some_and(|stats| Arc::ptr_eq(stats, &running.stats)) {
                registered.remove(&self.name);
            }
        }
    }

    /// Brings the running plugin in line with `plugin`'s spec.
    async fn converge(&mut self, plugin: &Plugin) -> Verdict {
        if plugin.spec.suspend {
            if self.running.is_some() {
                self.stop().await;
                self.event(plugin, EventType::Normal, "Suspended", "plugin suspended; watches released").await;
            }
            return Judgement::not("Suspended", "spec.suspend is true").into();
        }
        if let Some(running) = &self.running
            && running.generation.is_some()
            && running.generation == plugin.metadata.generation
        {
            return self.running_judgement().into();
        }
        let started = Instant::now();
        let prepared = self.prepare(plugin).await;
        self.inner.load_duration.observe(started.elapsed());
        let failure = match prepared {
            Ok(prepared) => {
                self.refetch.clear();
                self.commit(plugin, prepared).await;
                return self.running_judgement().into();
            }
            Err(failure) => failure,
        };
        self.count("failure");
        self.refetch.after(&failure, plugin.metadata.generation);
        let (reason, message) = (failure.reason(), failure.to_string());
        self.event(plugin, EventType::Warning, reason, &message).await;
        tracing::warn!(reason, %message, "plugin not loaded");
        match &self.running {
            // The previous version keeps serving.
            Some(running) => {
                let still = format!(
                    "{message}; still running {} {}",
                    running.module.description().version,
                    running.module.digest()
                );
                Verdict { ready: self.running_judgement(), loaded: Some(Judgement::not(reason, still)) }
            }
            None => Judgement::not(reason, message).into(),
        }
    }

    /// Fetches and loads the module, saying `Compiling` meanwhile when it must be compiled.
    async fn prepare(&mut self, plugin: &Plugin) -> Result<Prepared, LoadFailure> {
        let fetched = prepare::fetch(&self.inner, &plugin.spec).await?;
        if fetched.needs_compile(&self.inner) {
            let running = self.inner.runtime.compiles_running();
            let limit = self.inner.config.runtime.max_concurrent_compiles;
            let compiling = Judgement::not(
                "Compiling",
                format!("compiling the module ({running} of at most {limit} compiles running; the rest wait)"),
            );
            let verdict = match &self.running {
                Some(_) => Verdict { ready: self.running_judgement(), loaded: Some(compiling) },
                None => compiling.into(),
            };
            self.write_status(plugin, &verdict).await;
        }
        prepare::load(&self.inner, &plugin.spec, fetched).await
    }

    fn running_judgement(&self) -> Judgement {
        match &self.running {
            None => Judgement::not("NotLoaded", "no module loaded"),
            Some(running) => match running.controller.watch_problem() {
                Some(problem) => Judgement::not("WatchFailing", problem),
                None => {
                    let description = running.module.description();
                    Judgement::ok("Running", format!("{} {} reconciling", description.name, description.version))
                }
            },
        }
    }

    /// Puts a prepared module to work: swapped into the running controller when it watches the
    /// same things and writes as the same identity, else in a new controller that replaces the
    /// old one.
    async fn commit(&mut self, plugin: &Plugin, prepared: Prepared) {
        let Prepared { module, grants, limits, concurrency, config, modified, writer, resolved } = prepared;
        let spec = &plugin.spec;
        let scopes = Scopes::of(&spec.namespaces);
        let reusable = self.running.as_ref().filter(|r| {
            r.controller.same_watches(module.description())
                && r.cluster.scopes() == &scopes
                && r.concurrency == concurrency
                && r.spec.service_account == spec.service_account
        });
        let reuse = reusable.is_some();
        let cluster = match reusable {
            Some(running) => Arc::clone(&running.cluster),
            None => Arc::new(CachedCluster::new(
                self.inner.client.clone(),
                writer,
                Arc::clone(&self.inner.informers),
                scopes,
                &self.name,
            )),
        };
        let env = PluginEnv { name: Arc::from(self.name.as_str()), grants, cluster: cluster.clone(), config, limits };
        let bound = BoundModule::new(module, env);
        let module = Arc::clone(bound.info());
        let description = module.description();
        let summary = format!("{} {} ({})", description.name, description.version, module.digest());
        let generation = plugin.metadata.generation;
        if let Some(running) = self.running.as_mut().filter(|_| reuse) {
            running.controller.swap(bound);
            running.module = module;
            running.generation = generation;
            running.spec = spec.clone();
            running.modified = modified;
            running.resolved = resolved;
            self.count("swap");
            self.event(plugin, EventType::Normal, "Swapped", &format!("now running {summary}")).await;
            return;
        }
        let stats = self.running.as_ref().map_or_else(Arc::default, |r| Arc::clone(&r.stats));
        let config = ControllerConfig { concurrency, ..self.inner.config.controller.clone() };
        let calls = Arc::clone(&self.inner.calls);
        let controller = PluginController::start(bound, Arc::clone(&cluster), config, Arc::clone(&stats), calls);
        let replaced = self.running.replace(Running {
            controller,
            module,
            cluster,
            stats: Arc::clone(&stats),
            concurrency,
            generation,
            spec: spec.clone(),
            modified,
            resolved,
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
        let previous_host = plugin.status.as_ref().and_then(|s| s.host.as_deref());
        if let (Some(here), Some(before)) = (self.inner.config.identity.as_deref(), previous_host)
            && here != before
        {
            self.event(plugin, EventType::Normal, "Moved", &format!("now running on {here}, moved from {before}"))
                .await;
        }
        tracing::info!(%summary, reason, "plugin running");
    }

    async fn write_status(&mut self, plugin: &Plugin, verdict: &Verdict) {
        let running = self.running.as_ref().map(|r| {
            let watch_problem = r.controller.watch_problem();
            let description = r.module.description();
            status::Running {
                digest: r.module.digest().to_string(),
                resolved_reference: r.resolved.clone(),
                version: format!("{} {}", description.name, description.version),
                watched: r.controller.watching().iter().map(ToString::to_string).collect(),
                watch_problem,
                idle: r.controller.is_idle(),
                reconciles: r.stats.reconciles.load(Ordering::Relaxed),
                errors: r.stats.errors.load(Ordering::Relaxed),
                last_error: r.stats.last_error.lock().clone(),
            }
        });
        let previous = self.status.clone().or_else(|| plugin.status.clone()).unwrap_or_default();
        let host = self.inner.config.identity.as_deref().filter(|_| self.running.is_some());
        let status = status::status(verdict, running.as_ref(), &previous, plugin.metadata.generation, host, &now());
        if self.status.as_ref() == Some(&status) {
            return;
        }
        let api: Api<Plugin> = Api::all(self.inner.client.clone());
        let patch = serde_json::json!({ "status": status });
        match api.patch_status(&self.name, &PatchParams::default(), &Patch::Merge(patch)).await {
            Ok(_) => self.status = Some(status),
            Err(e) => tracing::debug!(error = %e, "could not write Plugin status"),
        }
    }

    fn count(&self, kind: &'static str) {
        *self.inner.lifecycle.lock().entry((self.name.clone(), kind)).or_insert(0) += 1;
    }

    async fn event(&self, plugin: &Plugin, type_: EventType, reason: &str, note: &str) {
        let uid = plugin.metadata.uid.as_deref();
        let regarding = events::reference(&Plugin::api_version(&()), &Plugin::kind(&()), None, &self.name, uid);
        self.inner.events.publish(&regarding, type_, reason, note).await;
    }
}

fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
