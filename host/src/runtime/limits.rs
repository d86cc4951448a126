//! What one plugin call may use: memory, time, fuel, object and output sizes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Per-plugin limits, applied to every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory a call may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time a call may run before it is interrupted.
    pub timeout: Duration,
    /// WebAssembly instructions (roughly) a call may execute; `None` for no limit.
    pub fuel: Option<u64>,
    /// Largest object JSON passed to or accepted from the plugin.
    pub max_object_bytes: usize,
    /// Guest stdout and stderr kept per call; the rest is dropped.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(10),
            fuel: None,
            // The API server's own limit on a stored object.
            max_object_bytes: 3 << 20,
            max_output_bytes: 64 << 10,
        }
    }
}

/// The error a call traps with when it grows memory past its limit.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded (the plugin asked for {desired} bytes)")]
pub struct MemoryLimitExceeded {
    pub limit: usize,
    pub desired: usize,
}

/// Linear memory of every live plugin instance in this process, in bytes.
static WASM_MEMORY: AtomicU64 = AtomicU64::new(0);

/// Linear memory of every live plugin instance in this process, in bytes.
pub fn wasm_memory_in_use() -> u64 {
    WASM_MEMORY.load(Ordering::Relaxed)
}

/// Enforces [`Limits::memory_bytes`] by trapping the call, which gives a clearer error than letting
/// the guest's allocator fail, and accounts the memory in [`wasm_memory_in_use`].
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    memory_bytes: usize,
    /// What this store's memories have grown to in total.
    grown: u64,
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        WASM_MEMORY.fetch_sub(self.grown, Ordering::Relaxed);
    }
}

/// Tables hold function references; plugins need a few thousand entries at most.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemoryLimiter {
    pub(crate) fn new(memory_bytes: usize) -> Self {
        Self { memory_bytes, grown: 0 }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(MemoryLimitExceeded { limit: self.memory_bytes, desired }.into());
        }
        let added = desired.saturating_sub(current) as u64;
        self.grown += added;
        WASM_MEMORY.fetch_add(added, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
