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
mod compiler_process;
mod engine;
mod error;
mod gate;
mod guest_output;
mod host_calls;
mod limits;
mod load;
mod loaded;
mod module;
mod permissions;
mod priority;
mod trim;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};

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
pub use compiler_process::compile_into_cache;
pub use engine::EngineConfig;
pub use error::{CallError, LoadError};
pub use host_calls::PluginEnv;
pub use limits::{Limits, wasm_memory_in_use};
pub use loaded::{Module, ModuleInfo, WatchSelectors};
pub use module::{Digest, ModuleKind};
pub use permissions::{Access, Grants, Rule};

use cache::DiskCache;
use engine::{EpochTicker, StoreData};
use gate::Gate;

/// Settings for a [`Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub engine: EngineConfig,
    /// Where compiled plugins are kept between runs; `None` keeps them in memory only (and then
    /// idle plugins cannot give their compiled code back).
    pub cache_dir: Option<PathBuf>,
    /// Compiles at once, host-wide; loads beyond it wait their turn.
    pub max_concurrent_compiles: usize,
    pub compile_in: CompileIn,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self {
            engine: EngineConfig::default(),
            cache_dir: None,
            max_concurrent_compiles: cores,
            compile_in: CompileIn::ThisProcess,
        }
    }
}

/// Where modules are compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileIn {
    /// In this process, on threads at a lower priority.
    ThisProcess,
    /// In a child process running `weft compile` from this program, at a lower priority, which
    /// writes into the disk cache: the compiler's memory (tens to hundreds of MiB for a large
    /// module, which an allocator would otherwise keep) is returned in full when the child exits,
    /// and a compiler that crashes or runs out of memory fails one load, not the host. Needs a
    /// disk cache; without one, modules compile in this process.
    Subprocess(PathBuf),
}

/// The engine, the linker and the loaded modules. Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

/// A load (or reload) under way, which concurrent loads of the same digest wait for.
type InFlight = Arc<OnceLock<Result<Arc<Module>, LoadError>>>;

/// What the runtime and its modules share.
pub(crate) struct Shared {
    engine: Engine,
    linker: Linker<StoreData>,
    disk: Option<DiskCache>,
    /// Loaded modules by digest, so plugins with the same bytes share compiled code.
    loaded: Mutex<HashMap<Digest, Weak<Module>>>,
    loading: Mutex<HashMap<Digest, InFlight>>,
    compiles: Gate,
    /// Modules compiled so far (not loaded from memory or the disk cache).
    compiled: std::sync::atomic::AtomicU64,
    engine_config: EngineConfig,
    compile_in: CompileIn,
    /// Instances alive at once, bounded by the pool's size, so a full pool queues calls.
    pub(crate) instances: Gate,
    _ticker: EpochTicker,
    _trimmer: trim::Trimmer,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("disk", &self.disk).finish_non_exhaustive()
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Self> {
        priority::lower_rayon_pool();
        let engine = engine::new_engine(&config.engine)?;
        let linker = engine::new_linker(&engine)?;
        let disk = config.cache_dir.as_deref().map(|dir| DiskCache::new(dir, &engine)).transpose()?;
        let ticker = EpochTicker::start(engine.clone())?;
        let shared = Shared {
            engine,
            linker,
            disk,
            loaded: Mutex::new(HashMap::new()),
            loading: Mutex::new(HashMap::new()),
            compiles: Gate::new(config.max_concurrent_compiles),
            compiled: std::sync::atomic::AtomicU64::new(0),
            engine_config: config.engine.clone(),
            compile_in: config.compile_in.clone(),
            instances: Gate::new(config.engine.max_instances as usize),
            _ticker: ticker,
            _trimmer: trim::Trimmer::start()?,
        };
        Ok(Self { shared: Arc::new(shared) })
    }

    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// Loads a plugin module: a wasm32-wasip2 component or a wasm32-wasip1 core module built with
    /// the SDK. Compiles it unless it is already loaded or in the disk cache, checks it implements
    /// this host's `weft:plugin/reconciler` world, and calls `describe`. Concurrent loads of the
    /// same bytes share one load; compiles beyond `max_concurrent_compiles` wait their turn.
    ///
    /// This is CPU-bound (a compile takes hundreds of milliseconds); call it off the async runtime.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<Module>, LoadError> {
        self.shared.load(bytes)
    }

    /// Whether loading `bytes` means a compile, this caller's or one already under way: they are
    /// neither loaded nor in the disk cache.
    pub fn needs_compile(&self, bytes: &[u8]) -> bool {
        self.shared.needs_compile(&Digest::of(bytes))
    }

    /// Compiles running now.
    pub fn compiles_running(&self) -> usize {
        self.shared.compiles.held()
    }

    /// Modules this runtime has compiled (rather than found loaded or in the disk cache).
    pub fn compiles_done(&self) -> u64 {
        self.shared.compiled.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Compiles `bytes` into the disk cache (componentizing a core module first), without
    /// loading or describing them: what `weft compile` does, for a host to pick up later.
    pub fn precompile(&self, bytes: &[u8]) -> Result<Digest, LoadError> {
        self.shared.precompile(bytes)
    }
}
