//! A loaded module and a plugin bound to it: the calls the host makes into plugins.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;

use super::bindings::{Action, Description, Failure, ObjectRef, ReconcilerPre, Request, Trigger, controller::Guest};
use super::engine::{StoreData, new_store};
use super::error::CallError;
use super::host_calls::{HostCalls, PluginEnv};
use super::limits::MemoryLimitExceeded;
use super::module::{Digest, ModuleKind};

/// A compiled, validated plugin module, shared by every plugin that uses the same bytes.
pub struct Module {
    pub(crate) digest: Digest,
    pub(crate) kind: ModuleKind,
    pub(crate) size: usize,
    pub(crate) pre: ReconcilerPre<StoreData>,
    pub(crate) description: Description,
    pub(crate) from_cache: bool,
    pub(crate) load_time: Duration,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("digest", &self.digest)
            .field("kind", &self.kind)
            .field("name", &self.description.name)
            .field("version", &self.description.version)
            .finish_non_exhaustive()
    }
}

impl Module {
    /// The sha256 of the bytes the module was loaded from.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    pub fn kind(&self) -> ModuleKind {
        self.kind
    }

    /// The size of the bytes the module was loaded from.
    pub fn size(&self) -> usize {
        self.size
    }

    /// What the plugin declared in `describe`.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// Whether the compiled code came from the disk cache (or memory) rather than a compile.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// Time from bytes to a described, ready-to-instantiate module.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }
}

/// The outcome of a call that returned: the plugin's own success or failure.
pub type CallResult<T> = Result<T, CallError>;

/// A module bound to a plugin's name, grants, configuration, limits and cluster. Cheap to clone;
/// calls may run concurrently, each in its own instance.
#[derive(Debug, Clone)]
pub struct Plugin {
    module: Arc<Module>,
    env: Arc<PluginEnv>,
}

impl Plugin {
    pub fn new(module: Arc<Module>, env: PluginEnv) -> Self {
        Self { module, env: Arc::new(env) }
    }

    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    pub fn env(&self) -> &PluginEnv {
        &self.env
    }

    /// Reconciles one primary object given as JSON.
    pub fn reconcile(&self, object: ObjectRef, json: String, reason: Trigger) -> CallResult<Result<Action, Failure>> {
        let request = self.request(object, json, reason)?;
        self.call(&request, |guest, store| guest.call_reconcile(store, &request))
    }

    /// Lets the plugin release what it made for a primary that is being deleted.
    pub fn cleanup(&self, object: ObjectRef, json: String) -> CallResult<Result<Action, Failure>> {
        let request = self.request(object, json, Trigger::Modified)?;
        self.call(&request, |guest, store| guest.call_cleanup(store, &request))
    }

    /// Asks the plugin which primaries a changed related object concerns.
    pub fn map_related(&self, object: ObjectRef, json: String) -> CallResult<Result<Vec<ObjectRef>, String>> {
        let request = self.request(object, json, Trigger::RelatedChanged)?;
        self.call(&request, |guest, store| guest.call_map_related(store, &request))
    }

    fn request(&self, object: ObjectRef, json: String, reason: Trigger) -> CallResult<Request> {
        let limit = self.env.limits.max_object_bytes;
        if json.len() > limit {
            return Err(CallError::ObjectTooLarge { size: json.len(), limit });
        }
        Ok(Request { object, json, reason, config: self.env.config.clone() })
    }

    fn call<T>(
        &self,
        request: &Request,
        f: impl FnOnce(&Guest, &mut Store<StoreData>) -> wasmtime::Result<T>,
    ) -> CallResult<T> {
        call(&self.module.pre, Arc::clone(&self.env), Some(request.object.to_string()), f)
    }
}

/// Runs `f` on a fresh instance in a fresh store with `env`'s limits; `subject` names the object
/// the call is about, for the plugin's log lines.
pub(crate) fn call<T>(
    pre: &ReconcilerPre<StoreData>,
    env: Arc<PluginEnv>,
    subject: Option<String>,
    f: impl FnOnce(&Guest, &mut Store<StoreData>) -> wasmtime::Result<T>,
) -> CallResult<T> {
    let limits = env.limits.clone();
    let mut store = new_store(pre.engine(), HostCalls::new(env, subject), &limits);
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
impl Plugin {
    /// Times each phase of a reconcile separately.
    pub fn phases(&self, object: ObjectRef, json: String) -> CallResult<Phases> {
        let request = self.request(object, json, Trigger::Resync)?;
        let limits = self.env.limits.clone();
        let started = std::time::Instant::now();
        let mut store = new_store(self.module.pre.engine(), HostCalls::new(Arc::clone(&self.env), None), &limits);
        let store_done = started.elapsed();
        let instance = self.module.pre.instantiate(&mut store).map_err(|e| CallError::Instantiate(e.to_string()))?;
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
        let mut store = new_store(self.module.pre.engine(), HostCalls::new(Arc::clone(&self.env), None), &limits);
        let instance = self.module.pre.instantiate(&mut store).map_err(|e| CallError::Instantiate(e.to_string()))?;
        let result = instance.weft_plugin_controller().call_reconcile(&mut store, &request);
        result.map_err(|e| CallError::Trap(super::module::one_line(&e)))?.ok();
        Ok(LiveInstance(store))
    }
}
