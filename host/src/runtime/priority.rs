//! Compiling at a lower scheduling priority than reconciling: a burst of new modules must not
//! hold up the plugins already running. Linux gives each thread its own nice value, so the
//! threads that compile are lowered, and nothing else.

#![allow(unsafe_code)]

/// How far compiling threads are lowered: at nice 10 a busy thread gets about a tenth of the
/// CPU a nice 0 thread gets while both want it, and all of it when nothing else runs.
const COMPILE_NICENESS: libc::c_int = 10;

/// Lowers the calling thread's priority, and that of the threads it starts afterwards (raising
/// it again would need privileges, so only threads that do nothing but compile call this).
pub fn lower_this_thread() {
    // SAFETY: setpriority has no memory-safety preconditions; with PRIO_PROCESS and 0 it changes
    // the calling thread's nice value on Linux. Failure (a sandbox that forbids it) leaves the
    // priority as it was, which is only slower for the plugins already running.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, COMPILE_NICENESS) };
}

/// Runs `compile` on a thread of its own at compile priority and waits for it; `Err` when no
/// thread can be had. wasmtime compiles functions in parallel on rayon's global pool, whose
/// threads are lowered too (see [`lower_rayon_pool`]).
pub(crate) fn compile_apart<T: Send>(compile: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let compiler = std::thread::Builder::new().name("weft-compile".into()).spawn_scoped(scope, || {
            lower_this_thread();
            compile()
        })?;
        Ok(compiler.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Builds rayon's global pool (the one wasmtime's parallel compilation uses) with lowered
/// threads, unless something already built it.
pub(crate) fn lower_rayon_pool() {
    let _ = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("weft-compile-{i}"))
        .start_handler(|_| lower_this_thread())
        .build_global();
}
