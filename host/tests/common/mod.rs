//! Shared by the runtime tests: the compiled example plugins, and a [`Cluster`] backed by the
//! emulator's in-memory store.

#![allow(dead_code)]

pub mod fault_proxy;
pub mod live;
pub mod processes;
pub mod registry;
pub mod store_cluster;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use weft::runtime::{Module, Runtime, RuntimeConfig};

/// The examples workspace's output for `target`, built by `scripts/build-examples`.
pub fn example_path(name: &str, target: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/target")
        .join(target)
        .join("release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    assert!(path.exists(), "{} is missing: run scripts/build-examples first", path.display());
    path
}

pub fn example_bytes(name: &str) -> Vec<u8> {
    std::fs::read(example_path(name, "wasm32-wasip2")).expect("read example")
}

/// The `kubectl` binary: `$KUBECTL` (the test command sets it), else `kubectl` on PATH.
pub fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL").map_or_else(|| PathBuf::from("kubectl"), PathBuf::from)
}

/// One runtime per test binary, as in the host.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: LazyLock<Runtime> =
        LazyLock::new(|| Runtime::new(RuntimeConfig::default()).expect("runtime starts"));
    &RUNTIME
}

/// An example, compiled once per test binary.
pub fn example(name: &str) -> Arc<Module> {
    static LOADED: LazyLock<Mutex<HashMap<String, Arc<Module>>>> = LazyLock::new(Default::default);
    let mut loaded = LOADED.lock().expect("lock");
    let module = loaded
        .entry(name.to_owned())
        .or_insert_with(|| runtime().load(&example_bytes(name)).unwrap_or_else(|e| panic!("{name} loads: {e}")));
    Arc::clone(module)
}
