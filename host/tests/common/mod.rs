//! Shared by the runtime tests: the compiled example plugins, and a [`Cluster`] backed by the
//! emulator's in-memory store.

#![allow(dead_code)]

pub mod fault_proxy;
pub mod languages;
pub mod live;
pub mod processes;
pub mod registry;
pub mod store_cluster;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use languages::Language;
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

/// `bytes` gzip-compressed, as `gzip` would.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, bytes).expect("compress");
    encoder.finish().expect("compress")
}

/// Compiled plugins shared by every test binary and run (keyed by module digest and engine), so
/// each module compiles once: a Python one takes seconds.
pub fn compiled_cache() -> PathBuf {
    std::env::temp_dir().join("weft-test-compiled")
}

/// One runtime per test binary, as in the host.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
        Runtime::new(RuntimeConfig { cache_dir: Some(compiled_cache()), ..RuntimeConfig::default() })
            .expect("runtime starts")
    });
    &RUNTIME
}

/// A Rust example, loaded once per test binary.
pub fn example(name: &str) -> Arc<Module> {
    example_in(Language::Rust, name)
}

/// Loaded examples by language and name.
type Loaded = Mutex<HashMap<(Language, String), Arc<Module>>>;

/// A language's build of an example, loaded once per test binary.
pub fn example_in(language: Language, name: &str) -> Arc<Module> {
    static LOADED: LazyLock<Loaded> = LazyLock::new(Default::default);
    let load = || {
        let bytes = language.module_bytes(name);
        runtime().load(&bytes).unwrap_or_else(|e| panic!("{} loads: {e}", language.plugin(name)))
    };
    // Not under the lock: loads of different modules may compile in parallel.
    if let Some(module) = LOADED.lock().expect("lock").get(&(language, name.to_owned())) {
        return Arc::clone(module);
    }
    let module = load();
    Arc::clone(LOADED.lock().expect("lock").entry((language, name.to_owned())).or_insert(module))
}
