//! The plugin runtime: loads WebAssembly reconcilers and calls them in a sandbox.
//!
//! One [`Runtime`] owns the wasmtime engine. [`Runtime::load`] turns bytes into a shared
//! [`Module`] (compiled once per digest, cached on disk, validated against the WIT world, and
//! described); [`BoundModule`] binds a module to a plugin's name, grants, configuration, limits
//! and [`Cluster`], and makes the calls. Every call runs in a fresh instance with its own memory
//! cap, deadline and optional fuel.

pub mod bindings;
mod bound;
mod cache;
mod cluster;
mod engine;
mod error;
mod guest_output;
mod host_calls;
mod limits;
mod loaded;
mod module;
mod permissions;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::Mutex;
use wasmtime::Engine;
use wasmtime::component::Linker;

pub use bindings::{
    Action, ApiError, ApiResource, Description, ErrorKind, Event, EventType, Failure, ObjectRef, Trigger,
};
pub use bound::{BoundModule, CallResult};
#[doc(hidden)]
pub use bound::{LiveInstance, Phases};
pub use cluster::{Cluster, NoCluster};
pub use engine::EngineConfig;
pub use error::{CallError, LoadError};
pub use host_calls::PluginEnv;
pub use limits::{Limits, wasm_memory_in_use};
pub use loaded::{Module, WatchSelectors};
pub use module::{Digest, ModuleKind};
pub use permissions::{Access, Grants, Rule};

use bindings::ReconcilerPre;
use cache::DiskCache;
use engine::{EpochTicker, StoreData};

/// Settings for a [`Runtime`].
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    pub engine: EngineConfig,
    /// Where compiled plugins are kept between runs; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
}

/// The engine, the linker and the loaded modules.
pub struct Runtime {
    engine: Engine,
    linker: Linker<StoreData>,
    disk: Option<DiskCache>,
    /// Loaded modules by digest, so plugins with the same bytes share compiled code.
    loaded: Mutex<HashMap<Digest, Weak<Module>>>,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("disk", &self.disk).finish_non_exhaustive()
    }
}

/// `describe` only builds a record; it gets a small, fixed budget.
fn describe_limits() -> Limits {
    Limits { timeout: std::time::Duration::from_secs(2), ..Limits::default() }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Self> {
        let engine = engine::new_engine(&config.engine)?;
        let linker = engine::new_linker(&engine)?;
        let disk = config.cache_dir.as_deref().map(|dir| DiskCache::new(dir, &engine)).transpose()?;
        let ticker = EpochTicker::start(engine.clone())?;
        Ok(Self { engine, linker, disk, loaded: Mutex::new(HashMap::new()), _ticker: ticker })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads a plugin module: a wasm32-wasip2 component or a wasm32-wasip1 core module built with
    /// the SDK. Compiles it unless it is already loaded or in the disk cache, checks it implements
    /// this host's `weft:plugin/reconciler` world, and calls `describe`.
    ///
    /// This is CPU-bound (a compile takes hundreds of milliseconds); call it off the async runtime.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<Module>, LoadError> {
        let started = Instant::now();
        let digest = Digest::of(bytes);
        if let Some(module) = self.loaded.lock().get(&digest).and_then(Weak::upgrade) {
            return Ok(module);
        }
        let (component_bytes, kind) = module::to_component(bytes)?;
        // A componentized core module is cached under the digest of what was compiled, so a new
        // adapter or encoder never reuses stale code.
        let cache_key = match kind {
            ModuleKind::Component => digest,
            ModuleKind::CoreModule => Digest::of(&component_bytes),
        };
        let cached = self.disk.as_ref().and_then(|disk| disk.load(&self.engine, &cache_key));
        let from_cache = cached.is_some();
        let component = match cached {
            Some(component) => component,
            None => {
                let component = module::compile(&self.engine, &component_bytes)?;
                if let Some(disk) = &self.disk {
                    disk.store(&cache_key, &component);
                }
                component
            }
        };
        module::check_world(&self.engine, &component)?;
        let instance_pre =
            self.linker.instantiate_pre(&component).map_err(|e| LoadError::Link(module::one_line(&e)))?;
        let pre = ReconcilerPre::new(instance_pre).map_err(|e| LoadError::Link(module::one_line(&e)))?;
        let description = describe(&pre)?;
        let selectors = WatchSelectors::parse(&description)?;
        let module = Arc::new(Module {
            digest,
            kind,
            size: bytes.len(),
            pre,
            description,
            selectors,
            from_cache,
            load_time: started.elapsed(),
        });
        let mut loaded = self.loaded.lock();
        loaded.retain(|_, module| module.strong_count() > 0);
        loaded.insert(digest, Arc::downgrade(&module));
        Ok(module)
    }
}

fn describe(pre: &ReconcilerPre<StoreData>) -> Result<Description, LoadError> {
    let env = Arc::new(PluginEnv {
        name: Arc::from("describe"),
        grants: Grants::default(),
        cluster: Arc::new(cluster::NoCluster),
        config: String::new(),
        limits: describe_limits(),
    });
    let description = bound::call(pre, env, |guest, store| guest.call_describe(store)).map_err(LoadError::Describe)?;
    validate(&description)?;
    Ok(description)
}

/// Checks what the host relies on: a name, and complete resource identities.
fn validate(description: &Description) -> Result<(), LoadError> {
    let bad = |what: String| Err(LoadError::BadDescription(what));
    if description.name.is_empty() {
        return bad("the plugin name is empty".to_owned());
    }
    let watches = std::iter::once(&description.primary)
        .chain(&description.owns)
        .chain(description.related.iter().map(|related| &related.watch));
    for watch in watches {
        let api = &watch.api;
        if api.version.is_empty() || api.kind.is_empty() || api.plural.is_empty() {
            return bad(format!("incomplete resource {api:?}"));
        }
    }
    Ok(())
}
