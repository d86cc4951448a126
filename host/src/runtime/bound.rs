//! A module bound to one plugin's standing: the calls the host makes into plugins, each in a fresh
//! store and instance, in a span naming the plugin and the object.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;

use super::Shared;
use super::bindings::{Action, Failure, ObjectRef, ReconcilerPre, Request, Trigger, controller::Guest};
use super::engine::{StoreData, new_store};
use super::error::CallError;
use super::host_calls::{HostCalls, PluginEnv};
use super::limits::MemoryLimitExceeded;
use super::loaded::{Module, ModuleInfo};

/// The outcome of a call that returned: the plugin's own success or failure.
pub type CallResult<T> = Result<T, CallError>;

/// A module bound to a plugin's name, grants, configuration, limits and cluster. Cheap to clone
/// (clones share the compiled code and its eviction); calls may run concurrently, each in its
/// own instance.
#[derive(Debug, Clone)]
pub struct BoundModule {
    code: Arc<Residency>,
    env: Arc<PluginEnv>,
}

/// A plugin's hold on its compiled code, which it can let go of while idle.
#[derive(Debug)]
struct Residency {
    info: Arc<ModuleInfo>,
    runtime: Arc<Shared>,
    /// `None` while evicted: the next call reloads it.
    module: parking_lot::Mutex<Option<Arc<Module>>>,
}

impl BoundModule {
    pub fn new(module: Arc<Module>, env: PluginEnv) -> Self {
        let residency = Residency {
            info: Arc::clone(&module.info),
            runtime: Arc::clone(&module.runtime),
            module: parking_lot::Mutex::new(Some(module)),
        };
        Self { code: Arc::new(residency), env: Arc::new(env) }
    }

    /// What the module is and declares; kept while the code is evicted.
    pub fn info(&self) -> &Arc<ModuleInfo> {
        &self.code.info
    }

    pub fn env(&self) -> &PluginEnv {
        &self.env
    }

    /// Lets go of the compiled code, if the disk cache can give it back; returns whether it did.
    /// The code itself is freed once no other plugin holds it; the next call reloads it.
    pub fn evict(&self) -> bool {
        let mut module = self.code.module.lock();
        if module.is_none() || !self.code.runtime.can_reload(&self.code.info.digest) {
            return false;
        }
        *module = None;
        true
    }

    /// Whether the compiled code is held (not evicted).
    pub fn is_resident(&self) -> bool {
        self.code.module.lock().is_some()
    }

    /// The compiled code, reloaded from the disk cache if it was evicted.
    fn module(&self) -> CallResult<Arc<Module>> {
        let mut held = self.code.module.lock();
        if let Some(module) = &*held {
            return Ok(Arc::clone(module));
        }
        let module = self.code.runtime.reload(&self.code.info).map_err(|e| CallError::Reload(e.to_string()))?;
        tracing::debug!(took = ?module.load_time, "reloaded evicted module");
        *held = Some(Arc::clone(&module));
        Ok(module)
    }

    /// Reconciles one primary object given as JSON.
    pub fn reconcile(&self, object: ObjectRef, json: String, reason: Trigger) -> CallResult<Result<Action, Failure>> {
        let span = tracing::info_span!("reconcile", plugin = %self.env.name, object = %object, trigger = ?reason);
        let _entered = span.enter();
        let request = self.request(object, json, reason)?;
        self.call(|guest, store| guest.call_reconcile(store, &request))
    }

    /// Lets the plugin release what it made for a primary that is being deleted.
    pub fn cleanup(&self, object: ObjectRef, json: String) -> CallResult<Result<Action, Failure>> {
        let span = tracing::info_span!("cleanup", plugin = %self.env.name, object = %object);
        let _entered = span.enter();
        let request = self.request(object, json, Trigger::Modified)?;
        self.call(|guest, store| guest.call_cleanup(store, &request))
    }

    /// Asks the plugin which primaries a changed related object concerns.
    pub fn map_related(&self, object: ObjectRef, json: String) -> CallResult<Result<Vec<ObjectRef>, String>> {
        let span = tracing::info_span!("map_related", plugin = %self.env.name, object = %object);
        let _entered = span.enter();
        let request = self.request(object, json, Trigger::RelatedChanged)?;
        self.call(|guest, store| guest.call_map_related(store, &request))
    }

    fn request(&self, object: ObjectRef, json: String, reason: Trigger) -> CallResult<Request> {
        let limit = self.env.limits.max_object_bytes;
        if json.len() > limit {
            return Err(CallError::ObjectTooLarge { size: json.len(), limit });
        }
        Ok(Request { object, json, reason, config: self.env.config.clone() })
    }

    fn call<T>(&self, f: impl FnOnce(&Guest, &mut Store<StoreData>) -> wasmtime::Result<T>) -> CallResult<T> {
        let module = self.module()?;
        call(&module.runtime, &module.pre, Arc::clone(&self.env), f)
    }
}

/// Runs `f` on a fresh instance in a fresh store with `env`'s limits, once an instance slot is
/// free (a full pool makes calls wait rather than fail).
pub(crate) fn call<T>(
    runtime: &Shared,
    pre: &ReconcilerPre<StoreData>,
    env: Arc<PluginEnv>,
    f: impl FnOnce(&Guest, &mut Store<StoreData>) -> wasmtime::Result<T>,
) -> CallResult<T> {
    let _slot = runtime.instances.enter();
    let limits = env.limits.clone();
    let mut store = new_store(pre.engine(), HostCalls::new(env), &limits);
    let instance = pre.instantiate(&mut store).map_err(|e| CallError::Instantiate(super::module::one_line(&e)))?;
    f(instance.weft_plugin_controller(), &mut store).map_err(|e| classify(&e, &limits, &store))
}

fn classify(error: &wasmtime::Error, limits: &super::Limits, store: &Store<StoreData>) -> CallError {
    if let Some(exceeded) = error.downcast_ref::<MemoryLimitExceeded>() {
        return CallError::MemoryLimit { limit: exceeded.limit };
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => CallError::Deadline(limits.timeout),
        Some(wasmtime::Trap::OutOfFuel) => CallError::OutOfFuel(limits.fuel.unwrap_or(u64::MAX)),
        Some(trap) => match store.data().stderr_tail() {
            Some(said) => CallError::Trap(format!("{trap} (stderr: {said})")),
            None => CallError::Trap(trap.to_string()),
        },
        None => CallError::Trap(super::module::one_line(error)),
    }
}

/// Where the time of one call goes, for the runtime benchmark.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    /// Building the store: WASI context, limits, host state.
    pub store: Duration,
    /// Instantiating the component from its `InstancePre`.
    pub instantiate: Duration,
    /// The first `reconcile` on the fresh instance.
    pub first_call: Duration,
    /// A second `reconcile` on the same instance (what reuse would cost).
    pub reused_call: Duration,
    /// Dropping the store, which returns the instance's memory to the pool.
    pub drop: Duration,
}

/// A live instance, for measuring what one costs in memory.
#[doc(hidden)]
pub struct LiveInstance(#[allow(dead_code)] Store<StoreData>);

impl std::fmt::Debug for LiveInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveInstance")
    }
}

#[doc(hidden)]
impl BoundModule {
    /// Times each phase of a reconcile separately.
    pub fn phases(&self, object: ObjectRef, json: String) -> CallResult<Phases> {
        let request = self.request(object, json, Trigger::Resync)?;
        let limits = self.env.limits.clone();
        let module = self.module()?;
        let started = std::time::Instant::now();
        let mut store = new_store(module.pre.engine(), HostCalls::new(Arc::clone(&self.env)), &limits);
        let store_done = started.elapsed();
        let instance = module.pre.instantiate(&mut store).map_err(|e| CallError::Instantiate(e.to_string()))?;
        let instantiated = started.elapsed();
        let guest = instance.weft_plugin_controller();
        let trap = |e: wasmtime::Error| CallError::Trap(super::module::one_line(&e));
        guest.call_reconcile(&mut store, &request).map_err(trap)?.ok();
        let first = started.elapsed();
        guest.call_reconcile(&mut store, &request).map_err(trap)?.ok();
        let reused = started.elapsed();
        drop(store);
        let dropped = started.elapsed();
        Ok(Phases {
            store: store_done,
            instantiate: instantiated - store_done,
            first_call: first - instantiated,
            reused_call: reused - first,
            drop: dropped - reused,
        })
    }

    /// An instance that has reconciled `json` once and stays alive (holding its pool slot and
    /// the memory it touched) until dropped.
    pub fn live_instance(&self, object: ObjectRef, json: String) -> CallResult<LiveInstance> {
        let request = self.request(object, json, Trigger::Resync)?;
        let limits = self.env.limits.clone();
        let module = self.module()?;
        let mut store = new_store(module.pre.engine(), HostCalls::new(Arc::clone(&self.env)), &limits);
        let instance = module.pre.instantiate(&mut store).map_err(|e| CallError::Instantiate(e.to_string()))?;
        let result = instance.weft_plugin_controller().call_reconcile(&mut store, &request);
        result.map_err(|e| CallError::Trap(super::module::one_line(&e)))?.ok();
        Ok(LiveInstance(store))
    }
}
