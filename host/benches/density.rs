//! Density: how many plugins one host holds, and what each costs. The emulator and the host run
//! as processes of their own (`weft sim`, `weft run`), so the memory figures are the host's alone.
//!
//! - For N = 1, 10, 100 and 1,000 Plugins of the `hello` example (20 labelled ConfigMaps to
//!   greet; every Plugin with the same config, so they agree), with one module for all and with
//!   distinct modules (N/5, and 100 for N = 1,000 as the goal states), applied at once: resident
//!   memory (RSS, PSS, anonymous) over the host with no plugins, peak RSS, and the time until the
//!   host runs them all and is ready, with a cold compile cache and after a restart on the warm
//!   one. N = 10 and 100 also one by one, each waited for.
//! - 1,000 Plugins (100 modules) applied while a probe plugin (`configmap-mirror`) mirrors 100
//!   new ConfigMaps a second: create → mirrored copy visible, p50/p99, while they load.
//! - Idle eviction: memory per plugin with a module of its own, loaded and evicted; the first
//!   reconcile of an evicted plugin against a resident one.
//!
//! Needs the example plugins (`scripts/build-examples`). Run with
//! `cargo bench -p weft --bench density`; `WEFT_DENSITY_MAX` caps N (default 1000).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/processes.rs"]
#[allow(dead_code)]
mod processes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use processes::{Emulator, HostProcess, Memory, apply_plugins, module_configmaps, wait_for_condition};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const GREETED: usize = 20;
const LOAD_LIMIT: Duration = Duration::from_secs(900);

fn example_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/../examples/target/wasm32-wasip2/release/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/build-examples first"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn mib(bytes: i64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `after - before`, in bytes, for each figure.
fn delta(after: Memory, before: Memory) -> [i64; 3] {
    let d = |a: u64, b: u64| a as i64 - b as i64;
    [d(after.rss, before.rss), d(after.pss, before.pss), d(after.anon, before.anon)]
}

async fn greeted_configmaps(client: &Client) {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..GREETED {
        let name = format!("greet-{i}");
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": name, "labels": { "weft.dev/hello": "" } },
            "data": { "payload": "x".repeat(2000) },
        });
        api.patch(&name, &PatchParams::apply("bench").force(), &Patch::Apply(cm)).await.unwrap();
    }
}

async fn namespace(client: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } })).unwrap();
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.unwrap();
}

/// The host's memory once it has settled (past a status refresh or two).
async fn settled(host: &HostProcess) -> Memory {
    tokio::time::sleep(Duration::from_secs(3)).await;
    host.memory()
}

/// One host with `count` Plugins over `modules` modules: cold, then restarted on the warm cache.
async fn scenario(count: usize, modules: usize, at_once: bool) {
    let emulator = Emulator::start().await;
    let client = emulator.client.clone();
    module_configmaps(&client, &example_bytes("hello"), modules).await;
    greeted_configmaps(&client).await;
    let cache = tempfile::tempdir().unwrap();
    let host = HostProcess::start(&emulator, cache.path(), &["--idle-after", "0"]);
    host.wait_running(0, LOAD_LIMIT).await;
    let base = settled(&host).await;
    let started = Instant::now();
    if at_once {
        apply_plugins(&client, "p", count, modules, 32).await;
    } else {
        for i in 0..count {
            processes::apply_plugin(&client, &format!("p{i}"), &format!("module-{}", i % modules), &["patch"], &[])
                .await;
            host.wait_running(i + 1, LOAD_LIMIT).await;
        }
    }
    host.wait_running(count, LOAD_LIMIT).await;
    let cold = started.elapsed();
    let loaded = settled(&host).await;
    host.stop();

    let restarted = HostProcess::start(&emulator, cache.path(), &["--idle-after", "0"]);
    let warm = restarted.wait_running(count, LOAD_LIMIT).await;
    let warm_loaded = settled(&restarted).await;
    restarted.stop();

    let how = if at_once { "at once" } else { "one by one" };
    println!(
        "{count:>5} Plugins, {modules:>3} module(s), {how:<10}  ready cold {:>6.2}s  warm {:>5.2}s  (base {:.1} MiB)",
        cold.as_secs_f64(),
        warm.as_secs_f64(),
        mib(base.rss as i64)
    );
    for (what, memory) in [("after the cold start", loaded), ("after a restart on the warm cache", warm_loaded)] {
        let [rss, pss, anon] = delta(memory, base);
        println!(
            "      {what:<34} +RSS {:>6.1} MiB  +PSS {:>6.1}  +anon {:>6.1}  peak {:>6.1} MiB  per Plugin {:>6.0} KiB",
            mib(rss),
            mib(pss),
            mib(anon),
            mib(memory.peak as i64),
            rss as f64 / count as f64 / 1024.0,
        );
    }
}

/// Creates ConfigMaps for `configmap-mirror` at a steady rate and times each one's copy.
struct Probe {
    sent: Arc<Mutex<HashMap<String, Instant>>>,
    seen: Arc<Mutex<Vec<Duration>>>,
    stop: CancellationToken,
    producer: tokio::task::JoinHandle<usize>,
    watch: tokio::task::JoinHandle<()>,
}

impl Probe {
    async fn start(client: &Client, prefix: &'static str, per_second: u32) -> Self {
        let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let copies: Api<ConfigMap> = Api::namespaced(client.clone(), "probe-dst");
        let watch = tokio::spawn({
            let (sent, seen) = (Arc::clone(&sent), Arc::clone(&seen));
            async move {
                let events = watcher::watcher(copies, watcher::Config::default()).default_backoff();
                let mut events = std::pin::pin!(events);
                while let Some(event) = events.next().await {
                    if let Ok(watcher::Event::Apply(copy) | watcher::Event::InitApply(copy)) = event
                        && let Some(at) = sent.lock().remove(&copy.name_any())
                    {
                        seen.lock().push(at.elapsed());
                    }
                }
            }
        });
        let stop = CancellationToken::new();
        let sources: Api<ConfigMap> = Api::namespaced(client.clone(), "probe-src");
        let producer = tokio::spawn({
            let (sent, stop) = (Arc::clone(&sent), stop.clone());
            async move {
                let mut ticks = tokio::time::interval(Duration::from_secs(1) / per_second);
                let mut n = 0;
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return n,
                        _ = ticks.tick() => {}
                    }
                    let name = format!("{prefix}-{n}");
                    let cm = json!({
                        "apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {
                            "name": name, "labels": { "weft.dev/mirror": "true" },
                            "annotations": { "weft.dev/mirror-to": "probe-dst" },
                        },
                    });
                    sent.lock().insert(name.clone(), Instant::now());
                    sources.create(&PostParams::default(), &serde_json::from_value(cm).unwrap()).await.unwrap();
                    n += 1;
                }
            }
        });
        Self { sent, seen, stop, producer, watch }
    }

    /// Stops sending, waits for the copies still due, and describes the latencies.
    async fn finish(self) -> String {
        self.stop.cancel();
        let sent = self.producer.await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.sent.lock().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.watch.abort();
        let mut seen = self.seen.lock().clone();
        seen.sort();
        format!(
            "p50 {:.1?}  p99 {:.1?}  max {:.1?}  ({} of {sent} copies seen)",
            percentile(&seen, 0.5),
            percentile(&seen, 0.99),
            seen.last().copied().unwrap_or_default(),
            seen.len()
        )
    }
}

/// 1,000 Plugins (100 modules) applied at once while the probe runs at 100/s.
async fn responsiveness_while_loading(count: usize, modules: usize) {
    let emulator = Emulator::start().await;
    let client = emulator.client.clone();
    let bytes = example_bytes("hello");
    module_configmaps(&client, &bytes, modules).await;
    greeted_configmaps(&client).await;
    namespace(&client, "probe-src").await;
    namespace(&client, "probe-dst").await;
    processes::module_configmap(&client, "mirror-module", example_bytes("configmap_mirror")).await;
    let cache = tempfile::tempdir().unwrap();
    let host = HostProcess::start(&emulator, cache.path(), &["--idle-after", "0"]);
    processes::apply_plugin(&client, "probe", "mirror-module", &["get", "list", "patch", "delete"], &[]).await;
    host.wait_running(1, LOAD_LIMIT).await;

    let quiet = Probe::start(&client, "quiet", 100).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let quiet = quiet.finish().await;

    let probe = Probe::start(&client, "loading", 100).await;
    let started = Instant::now();
    apply_plugins(&client, "p", count, modules, 32).await;
    host.wait_running(count + 1, LOAD_LIMIT).await;
    let loaded_in = started.elapsed();
    let loading = probe.finish().await;
    let peak = host.memory().peak;
    host.stop();
    println!("probe (configmap-mirror), create → copy visible at 100/s, nothing else loading: {quiet}");
    println!(
        "probe while {count} Plugins ({modules} modules) load, cold, in {:.1}s: {loading}  (peak RSS {:.1} MiB)",
        loaded_in.as_secs_f64(),
        mib(peak as i64)
    );
}

/// Memory per plugin with a module of its own, loaded and evicted, and the first reconcile of an
/// evicted plugin against a resident one.
async fn eviction(count: usize) {
    let emulator = Emulator::start().await;
    let client = emulator.client.clone();
    module_configmaps(&client, &example_bytes("hello"), count).await;
    greeted_configmaps(&client).await;
    let cache = tempfile::tempdir().unwrap();
    {
        // Compile every module once, so what follows loads from the cache as a restart would.
        let warmup = HostProcess::start(&emulator, cache.path(), &["--idle-after", "0"]);
        apply_plugins(&client, "p", count, count, 32).await;
        warmup.wait_running(count, LOAD_LIMIT).await;
        warmup.stop();
    }
    let host = HostProcess::start(&emulator, cache.path(), &["--idle-after", "2"]);
    host.wait_running(count, LOAD_LIMIT).await;
    let loaded = settled(&host).await;
    wait_for_condition(&client, "Idle", count, LOAD_LIMIT).await;
    let evicted = settled(&host).await;
    host.stop();
    let fresh = HostProcess::start(&emulator, cache.path(), &["--idle-after", "0"]);
    // Plugins deleted: a host with none, on the same process layout, as the baseline.
    let plugins: Api<weft::crd::Plugin> = Api::all(client.clone());
    plugins.delete_collection(&Default::default(), &Default::default()).await.unwrap();
    fresh.wait_running(0, LOAD_LIMIT).await;
    let base = settled(&fresh).await;
    fresh.stop();
    let per = |m: Memory| (m.rss as f64 - base.rss as f64) / count as f64 / 1024.0;
    let per_anon = |m: Memory| (m.anon as f64 - base.anon as f64) / count as f64 / 1024.0;
    println!(
        "{count} Plugins, a module each, from the warm cache: loaded {:.0} KiB per Plugin ({:.0} KiB anonymous), \
         evicted {:.0} KiB per Plugin ({:.0} KiB anonymous)",
        per(loaded),
        per_anon(loaded),
        per(evicted),
        per_anon(evicted)
    );

    // First reconcile after eviction: one plugin, its event → greeting, resident vs evicted.
    let emulator = Emulator::start().await;
    let client = emulator.client.clone();
    module_configmaps(&client, &example_bytes("hello"), 1).await;
    let host = HostProcess::start(&emulator, cache.path(), &["--idle-after", "1"]);
    apply_plugins(&client, "p", 1, 1, 1).await;
    host.wait_running(1, LOAD_LIMIT).await;
    let (mut resident, mut evicted) = (Vec::new(), Vec::new());
    for round in 0..20 {
        wait_for_condition(&client, "Idle", 1, LOAD_LIMIT).await;
        evicted.push(greet_once(&client, &format!("evicted-{round}")).await);
        resident.push(greet_once(&client, &format!("resident-{round}")).await);
    }
    host.stop();
    resident.sort();
    evicted.sort();
    println!(
        "create → greeted: resident plugin p50 {:.1?} max {:.1?}; evicted plugin (reload from disk first) p50 {:.1?} \
         max {:.1?}; the reload costs p50 {:.1?}",
        percentile(&resident, 0.5),
        resident.last().unwrap(),
        percentile(&evicted, 0.5),
        evicted.last().unwrap(),
        percentile(&evicted, 0.5).saturating_sub(percentile(&resident, 0.5)),
    );
}

/// Creates one labelled ConfigMap and times it until it is greeted.
async fn greet_once(client: &Client, name: &str) -> Duration {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let started = Instant::now();
    let cm = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name, "labels": { "weft.dev/hello": "" } } });
    api.create(&PostParams::default(), &serde_json::from_value(cm).unwrap()).await.unwrap();
    loop {
        let greeted = api.get(name).await.unwrap().annotations().contains_key("weft.dev/greeting");
        if greeted {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

#[tokio::main]
async fn main() {
    let max: usize = std::env::var("WEFT_DENSITY_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    println!("## Plugins applied at once (cold compile cache, then a restart on the warm cache)");
    for count in [1, 10, 100, 1000].into_iter().filter(|n| *n <= max) {
        scenario(count, 1, true).await;
        let distinct = if count == 1000 { 100 } else { (count / 5).max(1) };
        if distinct > 1 {
            scenario(count, distinct, true).await;
        }
    }
    println!("\n## One by one, each waited for");
    for count in [10, 100].into_iter().filter(|n| *n <= max) {
        scenario(count, 1, false).await;
        scenario(count, count / 5, false).await;
    }
    println!("\n## Responsiveness while loading");
    responsiveness_while_loading(max, (max / 10).max(1)).await;
    println!("\n## Idle eviction");
    eviction(20).await;
}
