//! hello in every language, each figure also as a ratio to the Rust build in the same run: module
//! size, cold compile, cached load, per-reconcile cost on the 2.6 KB ConfigMap, where a call's
//! time goes, and resident memory per live instance. Needs `scripts/build-polyglot-examples` too.

use std::time::{Duration, Instant};

use weft::runtime::{Action, Runtime, RuntimeConfig, Trigger};

use super::{greeted_object, plugin, reference, report, resident_bytes, summarize};

/// Time spent timing one language's reconciles: Go's take milliseconds each, Rust's microseconds.
const RECONCILE_BUDGET: Duration = Duration::from_secs(4);
const MAX_RECONCILES: usize = 20_000;
const COLD_COMPILES: usize = 3;
const CACHED_LOADS: usize = 20;
const LIVE_INSTANCES: usize = 20;

const LANGUAGES: [(&str, &str); 4] = [("Rust", ""), ("Go", "-go"), ("Python", "-python"), ("JavaScript", "-js")];

fn hello_bytes(suffix: &str) -> Vec<u8> {
    let root = env!("CARGO_MANIFEST_DIR");
    let path = if suffix.is_empty() {
        format!("{root}/../examples/target/wasm32-wasip2/release/hello.wasm")
    } else {
        format!("{root}/../examples/dist/hello{suffix}.wasm")
    };
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}; run scripts/build-examples and scripts/build-polyglot-examples"))
}

/// One language's figures.
#[derive(Debug, Clone, Copy)]
struct Figures {
    size: usize,
    gzipped: usize,
    gunzip: Duration,
    compiled: u64,
    cold_compile: Duration,
    cached_load: Duration,
    reconcile_p50: Duration,
    reconcile_p99: Duration,
    per_instance: usize,
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, bytes).unwrap();
    encoder.finish().unwrap()
}

fn p50(samples: Vec<Duration>) -> Duration {
    summarize(samples).0
}

fn measure(language: &str, bytes: &[u8]) -> Figures {
    println!("\n## {language}");
    let compressed = gzip(bytes);
    let gunzip = p50((0..5).map(|_| timed(|| weft::gzip::decompress(compressed.clone()).unwrap()).1).collect());

    // Cold: a fresh runtime without a disk cache each time, so every load compiles.
    let cold: Vec<Duration> = (0..COLD_COMPILES)
        .map(|_| {
            let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
            let (module, took) = timed(|| runtime.load(bytes).unwrap());
            assert!(!module.from_cache());
            took
        })
        .collect();
    report(&format!("{language}: compile + check + describe"), cold.clone());

    // Cached: the whole load (digest, map the compiled file, link, describe) from the disk cache.
    let cache = tempfile::tempdir().unwrap();
    let runtime =
        Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().to_owned()), ..Default::default() }).unwrap();
    drop(runtime.load(bytes).unwrap());
    let compiled = std::fs::read_dir(cache.path()).unwrap().map(|f| f.unwrap().metadata().unwrap().len()).sum();
    let cached: Vec<Duration> = (0..CACHED_LOADS)
        .map(|_| {
            let (module, took) = timed(|| runtime.load(bytes).unwrap());
            assert!(module.from_cache());
            took
        })
        .collect();
    let (cached_load, _) = report(&format!("{language}: precompiled from disk + check + describe"), cached);

    let hello = plugin(runtime.load(bytes).unwrap(), "hello");
    let greeted = greeted_object();
    let call = || {
        let result = hello.reconcile(reference("bench"), greeted.clone(), Trigger::Resync).unwrap();
        assert_eq!(result, Ok(Action::Done), "{language}: the bench object is already greeted");
    };
    let (reconcile_p50, reconcile_p99) =
        report(&format!("{language}: hello, 2.6 KB ConfigMap, full call"), time_for(RECONCILE_BUDGET, call));
    let phases: Vec<_> = (0..50).map(|_| hello.phases(reference("bench"), greeted.clone()).unwrap()).collect();
    report(&format!("{language}: instantiate"), phases.iter().map(|p| p.instantiate).collect());
    report(
        &format!("{language}: first reconcile on the fresh instance"),
        phases.iter().map(|p| p.first_call).collect(),
    );
    report(&format!("{language}: reconcile on a reused instance"), phases.iter().map(|p| p.reused_call).collect());
    report(&format!("{language}: drop (memory back to the pool)"), phases.iter().map(|p| p.drop).collect());

    drop(hello.live_instance(reference("bench"), greeted.clone()).unwrap());
    let before = resident_bytes();
    let live: Vec<_> =
        (0..LIVE_INSTANCES).map(|_| hello.live_instance(reference("bench"), greeted.clone()).unwrap()).collect();
    let per_instance = resident_bytes().saturating_sub(before) / LIVE_INSTANCES;
    drop(live);
    println!("{language}: resident memory per live instance (after one reconcile): {} KiB", per_instance >> 10);
    Figures {
        size: bytes.len(),
        gzipped: compressed.len(),
        gunzip,
        compiled,
        cold_compile: p50(cold),
        cached_load,
        reconcile_p50,
        reconcile_p99,
        per_instance,
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

/// Calls `f` for about `budget` (after a tenth of that warming up), at most [`MAX_RECONCILES`] times.
fn time_for(budget: Duration, mut f: impl FnMut()) -> Vec<Duration> {
    let warm_up = Instant::now();
    while warm_up.elapsed() < budget / 10 {
        f();
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < MAX_RECONCILES && (started.elapsed() < budget || samples.len() < 20) {
        samples.push(timed(&mut f).1);
    }
    samples
}

fn ratio(value: f64, rust: f64) -> String {
    format!("x{:.1}", value / rust)
}

fn time_and_ratio(value: Duration, rust: Duration) -> String {
    format!("{value:.1?} ({})", ratio(value.as_secs_f64(), rust.as_secs_f64()))
}

fn size_and_ratio(value: u64, rust: u64) -> String {
    format!("{:.2} MB ({})", value as f64 / 1e6, ratio(value as f64, rust as f64))
}

pub(super) fn run() {
    println!("\n# Languages: hello in each, ratios to the Rust build in this run");
    let figures: Vec<(&str, Figures)> =
        LANGUAGES.iter().map(|(language, suffix)| (*language, measure(language, &hello_bytes(suffix)))).collect();
    let rust = figures[0].1;
    println!(
        "\n| language | module | gzipped | gunzip | compiled | cold compile | cached load | reconcile p50 | reconcile p99 | memory per instance |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (language, f) in &figures {
        println!(
            "| {language} | {} | {} | {:.1?} | {} | {} | {} | {} | {} | {} KiB ({}) |",
            size_and_ratio(f.size as u64, rust.size as u64),
            size_and_ratio(f.gzipped as u64, rust.gzipped as u64),
            f.gunzip,
            size_and_ratio(f.compiled, rust.compiled),
            time_and_ratio(f.cold_compile, rust.cold_compile),
            time_and_ratio(f.cached_load, rust.cached_load),
            time_and_ratio(f.reconcile_p50, rust.reconcile_p50),
            time_and_ratio(f.reconcile_p99, rust.reconcile_p99),
            f.per_instance >> 10,
            ratio(f.per_instance as f64, rust.per_instance.max(1) as f64),
        );
    }
    println!("\nGoals:");
    for (language, f) in &figures {
        let met = f.cached_load <= Duration::from_millis(50);
        println!("- {language}: cached load {:.1?} <= 50 ms: {}", f.cached_load, if met { "met" } else { "not met" });
    }
    for (language, f) in figures.iter().filter(|(language, _)| matches!(*language, "Go" | "JavaScript")) {
        let times = f.reconcile_p50.as_secs_f64() / rust.reconcile_p50.as_secs_f64();
        let met = times <= 5.0;
        println!("- {language}: reconcile p50 x{times:.1} of Rust <= x5: {}", if met { "met" } else { "not met" });
    }
}
