//! Giving freed heap back to the kernel. glibc keeps what a process frees for later reuse, so the
//! megabytes a module's code and metadata held stay resident after it is dropped (an idle
//! plugin's eviction, an unload, a swap), as do the fetched bytes of a burst of loads, unless
//! glibc is asked to return its free pages. The runtime asks, with `malloc_trim`, at most once a
//! second and only after a module was loaded or dropped.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};

static FREED: AtomicBool = AtomicBool::new(false);

/// Notes that a load finished or a module was dropped, so the next [`trim_if_freed`] returns
/// the memory.
pub(crate) fn note_freed() {
    FREED.store(true, Ordering::Relaxed);
}

/// Returns free heap pages to the kernel if anything was noted since the last call.
fn trim_if_freed() {
    if FREED.swap(false, Ordering::Relaxed) {
        trim();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks glibc's own arenas (under their locks) and madvises free
    // pages away; it has no preconditions on the caller.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

/// The thread that trims, once a second when there is something to give back, until dropped.
#[derive(Debug)]
pub(crate) struct Trimmer {
    stop: std::sync::Arc<AtomicBool>,
}

impl Trimmer {
    pub(crate) fn start() -> std::io::Result<Self> {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        std::thread::Builder::new().name("weft-trim".into()).spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_secs(1));
                trim_if_freed();
            }
        })?;
        Ok(Self { stop })
    }
}

impl Drop for Trimmer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
