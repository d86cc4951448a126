//! The wasmtime glue: one `Engine` for every plugin, and a fresh `Store` for every call.
//!
//! Everything that configures wasmtime lives here, so the sandbox can be read in one place.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::Reconciler;
use super::guest_output::GuestOutput;
use super::host_calls::HostCalls;
use super::limits::{Limits, MemoryLimiter};

/// How often the engine's epoch advances; deadlines are rounded up to whole ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Engine-wide settings. A compiler process gets them as JSON, so that what it compiles fits this
/// engine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EngineConfig {
    /// Instances that can exist at once across all plugins (concurrent calls plus one per loaded
    /// module being described).
    pub max_instances: u32,
    /// Upper bound for any plugin's memory limit.
    pub max_memory_bytes: usize,
    /// Linear memory kept mapped between calls instead of returned to the kernel. Keeping what a
    /// call typically touches resident spares every call its page faults and spares the host the
    /// TLB shootdowns of returning memory, which otherwise stop calls from scaling across threads
    /// (see BENCHMARKS.md). It costs up to this much resident memory per warm pool slot.
    pub memory_keep_resident: usize,
    /// Pool slots kept warm while unused, host-wide (not per plugin): with many plugins each
    /// module would otherwise keep a slot of its own, with its kept-resident memory.
    pub warm_slots: u32,
    /// Reset only the pages a call dirtied, found with the `PAGEMAP_SCAN` ioctl (Linux 6.7 and
    /// later; elsewhere this has no effect).
    pub pagemap_scan: bool,
    /// Compiled code keeps maps from machine code back to wasm offsets, for backtraces.
    pub address_maps: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_instances: 1000,
            max_memory_bytes: 1 << 30,
            memory_keep_resident: 4 << 20,
            warm_slots: 16,
            pagemap_scan: true,
            address_maps: true,
        }
    }
}

pub(crate) fn new_engine(config: &EngineConfig) -> anyhow::Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(config.max_instances)
        // A Rust component has a handful of core instances (the program and wit-component's shims).
        .total_core_instances(config.max_instances * 4)
        .total_memories(config.max_instances * 2)
        .total_tables(config.max_instances * 4)
        .max_memory_size(config.max_memory_bytes)
        .linear_memory_keep_resident(config.memory_keep_resident)
        .table_keep_resident(config.memory_keep_resident)
        .max_unused_warm_slots(config.warm_slots)
        .pagemap_scan(if config.pagemap_scan { Enabled::Auto } else { Enabled::No });
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(true)
        .generate_address_map(config.address_maps)
        // Only external unwinders need it; wasmtime's own traps and backtraces do not, and
        // registering it costs memory and time per loaded module.
        .native_unwind_info(false)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok(Engine::new(&wasm)?)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped, so that deadlines fire.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        thread::Builder::new().name("weft-epoch".into()).spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(Self { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What a `Store` holds for one call.
pub(crate) struct StoreData {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    stderr: GuestOutput,
    host: HostCalls,
}

impl StoreData {
    /// What the guest last wrote to stderr, such as a panic message.
    pub(crate) fn stderr_tail(&self) -> Option<String> {
        self.stderr.tail()
    }
}

impl std::fmt::Debug for StoreData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreData").field("host", &self.host).finish_non_exhaustive()
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The linker every plugin is instantiated with: the weft imports and WASI, nothing else.
pub(crate) fn new_linker(engine: &Engine) -> anyhow::Result<Linker<StoreData>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    // The weft imports see only their own state, projected out of the store.
    Reconciler::add_to_linker::<_, wasmtime::component::HasSelf<HostCalls>>(&mut linker, |data: &mut StoreData| {
        &mut data.host
    })?;
    Ok(linker)
}

/// A store for one call, with the plugin's limits in force.
///
/// WASI gets no preopened directories, no environment, no arguments and no network; stdout and
/// stderr go to the log, in the caller's span.
pub(crate) fn new_store(engine: &Engine, host: HostCalls, limits: &Limits) -> Store<StoreData> {
    let stderr = GuestOutput::new("stderr", limits.max_output_bytes);
    let wasi = WasiCtxBuilder::new()
        .stdout(GuestOutput::new("stdout", limits.max_output_bytes))
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let limiter = MemoryLimiter::new(limits.memory_bytes);
    let data = StoreData { wasi, table: ResourceTable::new(), limiter, stderr, host };
    let mut store = Store::new(engine, data);
    store.limiter(|data| &mut data.limiter);
    store.set_epoch_deadline(deadline_ticks(limits.timeout));
    store.epoch_deadline_trap();
    // Fuel is always metered (it is an engine-wide setting); unlimited plugins get all of it.
    store.set_fuel(limits.fuel.unwrap_or(u64::MAX)).expect("the engine meters fuel");
    store
}

fn deadline_ticks(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    u64::try_from(timeout.as_nanos().div_ceil(tick)).unwrap_or(u64::MAX).max(1)
}
