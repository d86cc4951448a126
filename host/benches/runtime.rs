//! Plugin runtime benchmarks: per-reconcile overhead against the same logic in native Rust, where
//! that time goes, loading precompiled vs compiling, memory per plugin and per instance,
//! throughput on one and two threads, and hello in every language against its Rust build.
//!
//! Needs the example plugins (`scripts/build-examples`, `scripts/build-polyglot-examples`). Run
//! with `cargo bench -p weft --bench runtime`; `-- languages` runs the languages section alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::json;
use weft::runtime::{
    Action, BoundModule, EngineConfig, Grants, Limits, Module, NoCluster, ObjectRef, PluginEnv, Runtime, RuntimeConfig,
    Trigger,
};

#[path = "runtime/languages.rs"]
mod languages;

const CALLS: usize = 20_000;
const THROUGHPUT_CALLS: usize = 40_000;
const DISTINCT_MODULES: usize = 8;
const LIVE_INSTANCES: usize = 100;

fn example_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/../examples/target/wasm32-wasip2/release/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/build-examples first"))
}

fn plugin(module: Arc<Module>, name: &str) -> BoundModule {
    BoundModule::new(
        module,
        PluginEnv {
            name: Arc::from(name),
            grants: Grants::default(),
            cluster: Arc::new(NoCluster),
            config: "{}".into(),
            limits: Limits::default(),
        },
    )
}

fn reference(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some("default".into()),
        name: name.into(),
    }
}

/// A small ConfigMap that misbehave answers with `done` after parsing it: the no-op plugin.
fn noop_object() -> String {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "noop", "namespace": "default", "labels": { "weft.dev/misbehave": "ok" } },
    })
    .to_string()
}

/// A 2.6 KB ConfigMap that hello has already greeted: parse, compare, no write.
fn greeted_object() -> String {
    let data: BTreeMap<String, String> = (0..20).map(|i| (format!("key-{i:02}"), "v".repeat(90))).collect();
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "bench", "namespace": "default", "uid": "6f1d2c1e-0000-4000-8000-000000000001",
            "resourceVersion": "12345", "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": { "weft.dev/hello": "", "app": "bench" },
            "annotations": { "weft.dev/greeting": "hello, default/bench" },
        },
        "data": data,
    })
    .to_string()
}

/// hello's logic, natively: what the wasm call is measured against.
fn native_hello(json: &str, config: &str) -> Action {
    #[derive(serde::Deserialize)]
    #[serde(default)]
    struct Config {
        greeting: String,
    }
    impl Default for Config {
        fn default() -> Self {
            Self { greeting: "hello".into() }
        }
    }
    let config: Config = if config == "{}" { Config::default() } else { serde_json::from_str(config).unwrap() };
    let cm: ConfigMap = serde_json::from_str(json).unwrap();
    let greeting = format!(
        "{}, {}/{}",
        config.greeting,
        cm.metadata.namespace.as_deref().unwrap_or_default(),
        cm.metadata.name.as_deref().unwrap_or_default()
    );
    let current = cm.metadata.annotations.as_ref().and_then(|a| a.get("weft.dev/greeting"));
    assert_eq!(current, Some(&greeting), "the benchmark object is already greeted");
    Action::Done
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summarize(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn report(name: &str, samples: Vec<Duration>) -> (Duration, Duration) {
    let (p50, p99) = summarize(samples);
    println!("{name:<58} p50 {:>9.1?}  p99 {:>9.1?}", p50, p99);
    (p50, p99)
}

fn time_calls(calls: usize, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..calls / 10 {
        f();
    }
    (0..calls)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect()
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn per_call_overhead(runtime: &Runtime) {
    println!("\n## Per-reconcile cost (fresh store and instance per call)");
    let noop = plugin(runtime.load(&example_bytes("misbehave")).unwrap(), "noop");
    let hello = plugin(runtime.load(&example_bytes("hello")).unwrap(), "hello");
    let (small, greeted) = (noop_object(), greeted_object());
    println!("objects: no-op {} bytes, ConfigMap {} bytes", small.len(), greeted.len());

    let (noop_p50, _) = report(
        "no-op plugin, full call",
        time_calls(CALLS, || {
            let result = noop.reconcile(reference("noop"), small.clone(), Trigger::Resync).unwrap();
            assert_eq!(result, Ok(Action::Done));
        }),
    );
    let (wasm_p50, wasm_p99) = report(
        "hello, 2.6 KB ConfigMap, full call",
        time_calls(CALLS, || {
            let result = hello.reconcile(reference("bench"), greeted.clone(), Trigger::Resync).unwrap();
            assert_eq!(result, Ok(Action::Done));
        }),
    );
    let (native_p50, native_p99) = report(
        "hello's logic as a native function (baseline)",
        time_calls(CALLS, || {
            assert_eq!(native_hello(&greeted.clone(), "{}"), Action::Done);
        }),
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "ratio wasm/native: p50 {:.1}x  p99 {:.1}x; host overhead over native p50 {:.1?}; no-op p50 {:.1?}",
        ratio(wasm_p50, native_p50),
        ratio(wasm_p99, native_p99),
        wasm_p50.saturating_sub(native_p50),
        noop_p50
    );

    println!("\n## Where a call's time goes (hello, 2.6 KB)");
    let phases: Vec<_> = (0..CALLS / 4).map(|_| hello.phases(reference("bench"), greeted.clone()).unwrap()).collect();
    report("store + WASI context", phases.iter().map(|p| p.store).collect());
    report("instantiate", phases.iter().map(|p| p.instantiate).collect());
    report("first reconcile on the fresh instance", phases.iter().map(|p| p.first_call).collect());
    report("reconcile on a reused instance", phases.iter().map(|p| p.reused_call).collect());
    report("drop (memory back to the pool)", phases.iter().map(|p| p.drop).collect());
}

fn load_times() {
    println!("\n## Loading hello: compile vs precompiled (disk cache)");
    let bytes = example_bytes("hello");
    let cache = tempfile::tempdir().unwrap();
    let config = RuntimeConfig { cache_dir: Some(cache.path().to_owned()), ..Default::default() };
    let runtime = Runtime::new(config).unwrap();

    let compile: Vec<Duration> = (0..5)
        .map(|_| {
            let uncached = Runtime::new(RuntimeConfig::default()).unwrap();
            let module = uncached.load(&bytes).unwrap();
            assert!(!module.from_cache());
            module.load_time()
        })
        .collect();
    drop(runtime.load(&bytes).unwrap()); // fills the disk cache
    let precompiled: Vec<Duration> = (0..50)
        .map(|_| {
            let module = runtime.load(&bytes).unwrap();
            assert!(module.from_cache());
            module.load_time()
        })
        .collect();
    let (compile_p50, _) = report("compile + check + describe", compile);
    let (cached_p50, _) = report("precompiled from disk + check + describe", precompiled);
    println!("speed-up: {:.0}x", compile_p50.as_secs_f64() / cached_p50.as_secs_f64());
}

/// The same component with a custom section appended: a distinct digest, compiled on its own.
fn variant(bytes: &[u8], n: usize) -> Vec<u8> {
    let name = format!("weft-bench-{n}");
    let mut section = vec![u8::try_from(name.len()).unwrap()];
    section.extend_from_slice(name.as_bytes());
    let mut out = bytes.to_vec();
    out.push(0); // custom section id
    out.push(u8::try_from(section.len()).unwrap());
    out.extend_from_slice(&section);
    out
}

fn memory() {
    println!("\n## Memory");
    let bytes = example_bytes("hello");
    let variants: Vec<Vec<u8>> = (0..DISTINCT_MODULES).map(|n| variant(&bytes, n)).collect();
    let cache = tempfile::tempdir().unwrap();
    let config = RuntimeConfig { cache_dir: Some(cache.path().to_owned()), ..Default::default() };
    {
        // Compile every variant once, into the disk cache.
        let compiler = Runtime::new(config.clone()).unwrap();
        for v in &variants {
            drop(compiler.load(v).unwrap());
        }
    }
    // A fresh runtime, as after a restart: modules come from the cache, with no compiler garbage.
    let runtime = Runtime::new(config).unwrap();
    let first = runtime.load(&bytes).unwrap();
    let before = resident_bytes();
    let modules: Vec<_> = variants.iter().map(|v| runtime.load(v).unwrap()).collect();
    assert!(modules.iter().all(|m| m.from_cache()));
    let per_module = (resident_bytes().saturating_sub(before)) / DISTINCT_MODULES;
    println!(
        "resident memory per loaded idle plugin (distinct modules, precompiled): {:.2} MiB",
        per_module as f64 / 1048576.0
    );
    drop(modules);

    let hello = plugin(first, "hello");
    let greeted = greeted_object();
    drop(hello.live_instance(reference("bench"), greeted.clone()).unwrap());
    let before = resident_bytes();
    let live: Vec<_> =
        (0..LIVE_INSTANCES).map(|_| hello.live_instance(reference("bench"), greeted.clone()).unwrap()).collect();
    let per_instance = (resident_bytes().saturating_sub(before)) / LIVE_INSTANCES;
    println!("resident memory per live instance (after one reconcile): {:.0} KiB", per_instance as f64 / 1024.0);
    drop(live);
}

fn throughput(runtime: &Runtime) {
    println!("\n## Throughput, no-op plugin");
    let noop = plugin(runtime.load(&example_bytes("misbehave")).unwrap(), "noop");
    let small = noop_object();
    let run = |threads: usize| {
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..THROUGHPUT_CALLS / threads {
                        noop.reconcile(reference("noop"), small.clone(), Trigger::Resync).unwrap().unwrap();
                    }
                });
            }
        });
        THROUGHPUT_CALLS as f64 / started.elapsed().as_secs_f64()
    };
    run(2); // warm-up
    let one = run(1);
    let two = run(2);
    println!("1 thread: {one:.0} reconciles/s; 2 threads: {two:.0} reconciles/s; scaling {:.2}x", two / one);
}

fn main() {
    if std::env::args().any(|arg| arg == "languages") {
        languages::run();
        return;
    }
    // How much linear memory stays mapped between calls decides between page faults on first
    // touch (little kept) and zeroing on reuse (much kept); measure each setting.
    for keep in [0, 256 << 10, 4 << 20, 16 << 20] {
        println!(
            "\n# memory_keep_resident = {} KiB{}",
            keep >> 10,
            if keep == EngineConfig::default().memory_keep_resident { " (default)" } else { "" }
        );
        let engine = EngineConfig { memory_keep_resident: keep, ..EngineConfig::default() };
        let runtime = Runtime::new(RuntimeConfig { engine, ..RuntimeConfig::default() }).unwrap();
        per_call_overhead(&runtime);
        throughput(&runtime);
    }
    load_times();
    memory();
    languages::run();
}
