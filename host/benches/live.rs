//! End-to-end benchmarks of live plugins: the emulator and a host in one process, over HTTP.
//!
//! - update → mirrored copy visible, at a steady 1,000 updates/s (configmap-mirror), p50/p99;
//! - reconciles/s when a plugin starts over 10,000 objects (hello, one patch each);
//! - Plugin update → first reconcile on the new version, with a cached and a fresh compile;
//! - host memory with 10,000 cached ConfigMaps, against their JSON size;
//! - against the controller a user would write instead: hello's logic as a kube-rs `Controller`
//!   (concurrency 4), each in a process of its own against its own emulator: start-up over 5,000
//!   objects, CPU seconds, resident memory, and create → reconciled p50/p99 at 100 creates/s.
//!
//! Needs the example plugins (`scripts/build-examples`). Run with
//! `cargo bench -p weft --bench live`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/processes.rs"]
#[allow(dead_code)]
mod processes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use processes::Emulator;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use weft::Sources;
use weft::crd::Plugin;
use weft::{Host, HostConfig};
use weft_sim::{Sim, SimConfig, StoreConfig};

const RATE_EVENTS: usize = 3_000;
const SOURCES: usize = 100;
const OBJECTS: usize = 10_000;

fn example_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/../examples/target/wasm32-wasip2/release/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/build-examples first"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 4096
}

struct Env {
    sim: Sim,
    client: Client,
    host: Host,
    shutdown: CancellationToken,
}

async fn start(cache: &std::path::Path) -> Env {
    let store = StoreConfig { history_capacity: 100_000, fanout_capacity: 65_536 };
    let sim =
        Sim::start(SimConfig { listen: "127.0.0.1:0".parse().unwrap(), store, ..SimConfig::default() }).await.unwrap();
    let client = Client::try_from(kube::Config::new(sim.url().parse().unwrap())).unwrap();
    weft::dev::install_crd(&client).await.unwrap();
    let mut config = HostConfig { sources: Sources { allow_path: true }, ..HostConfig::default() };
    config.status_interval = Duration::from_millis(50);
    config.runtime.cache_dir = Some(cache.to_owned());
    let host = Host::new(client.clone(), config).unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let (host, shutdown) = (host.clone(), shutdown.clone());
        async move { host.run(shutdown).await }
    });
    Env { sim, client, host, shutdown }
}

async fn module(client: &Client, name: &str, bytes: Vec<u8>) {
    let cm = ConfigMap {
        metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
        binary_data: Some([("plugin.wasm".to_owned(), ByteString(bytes))].into()),
        ..Default::default()
    };
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "weft-system");
    api.patch(name, &PatchParams::apply("bench").force(), &Patch::Apply(&cm)).await.unwrap();
}

async fn apply_plugin(client: &Client, name: &str, module: &str, config: serde_json::Value, verbs: &[&str]) {
    let plugin = json!({
        "apiVersion": "weft.dev/v1alpha1", "kind": "Plugin", "metadata": { "name": name },
        "spec": {
            "module": { "configMap": { "namespace": "weft-system", "name": module, "key": "plugin.wasm" } },
            "config": config,
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": verbs }],
            "limits": { "concurrency": 8 },
        },
    });
    let api: Api<Plugin> = Api::all(client.clone());
    api.patch(name, &PatchParams::apply("bench").force(), &Patch::Apply(plugin)).await.unwrap();
}

async fn wait_ready(client: &Client, name: &str) {
    let api: Api<Plugin> = Api::all(client.clone());
    for _ in 0..2000 {
        let ready = api
            .get_opt(name)
            .await
            .unwrap()
            .and_then(|p| p.status)
            .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if ready {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("plugin {name} never became ready");
}

/// Update → copy visible through configmap-mirror, at a steady rate.
async fn latency_at_rate(cache: &std::path::Path) {
    let env = start(cache).await;
    module(&env.client, "mirror", example_bytes("configmap_mirror")).await;
    let copies_ns = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "copies" } });
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(env.client.clone());
    namespaces.create(&PostParams::default(), &serde_json::from_value(copies_ns).unwrap()).await.unwrap();
    apply_plugin(&env.client, "mirror", "mirror", json!({}), &["get", "list", "patch", "delete"]).await;
    wait_ready(&env.client, "mirror").await;
    let sources: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let source = |i: usize, seq: usize| {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": format!("src-{i}"), "labels": { "weft.dev/mirror": "true" },
                          "annotations": { "weft.dev/mirror-to": "copies" } },
            "data": { "seq": seq.to_string() },
        })
    };
    for i in 0..SOURCES {
        sources
            .patch(&format!("src-{i}"), &PatchParams::apply("bench").force(), &Patch::Apply(source(i, 0)))
            .await
            .unwrap();
    }
    // Watch the copies; record when each sequence number shows up.
    let seen: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let copies: Api<ConfigMap> = Api::namespaced(env.client.clone(), "copies");
    let watch = tokio::spawn({
        let seen = Arc::clone(&seen);
        async move {
            let mut stream = std::pin::pin!(watcher(copies, watcher::Config::default()));
            while let Some(event) = stream.next().await {
                if let Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) = event
                    && let Some(seq) = cm.data.as_ref().and_then(|d| d.get("seq")).and_then(|s| s.parse().ok())
                {
                    seen.lock().entry(seq).or_insert_with(Instant::now);
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = HashMap::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    for seq in 1..=RATE_EVENTS {
        ticks.tick().await;
        let i = seq % SOURCES;
        sent.insert(seq, Instant::now());
        let patch = Patch::Merge(json!({ "data": { "seq": seq.to_string() } }));
        sources.patch(&format!("src-{i}"), &PatchParams::default(), &patch).await.unwrap();
    }
    let sending = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    watch.abort();
    let stats = env.host.plugin_stats("mirror").unwrap();
    let mut queued: Vec<Duration> = stats.queue_latency.lock().iter().copied().collect();
    queued.sort();
    println!(
        "event → reconcile start in the host, same run (last {} reconciles): p50 {:.2?}  p99 {:.2?}",
        queued.len(),
        percentile(&queued, 0.5),
        percentile(&queued, 0.99)
    );
    let seen = seen.lock().clone();
    let mut latencies: Vec<Duration> =
        sent.iter().filter_map(|(seq, at)| seen.get(seq).map(|s| s.saturating_duration_since(*at))).collect();
    latencies.sort();
    let superseded = RATE_EVENTS - latencies.len();
    println!(
        "update → mirrored copy visible, {:.0} updates/s over {SOURCES} sources: p50 {:.2?}  p99 {:.2?}  \
         ({} measured; {superseded} superseded by a newer update of the same source before it was reconciled)",
        RATE_EVENTS as f64 / sending.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.len()
    );
    env.shutdown.cancel();
    env.sim.stop().await;
}

/// 10,000 labelled ConfigMaps: the host's cache memory, then hello's reconciles/s over them.
async fn bulk(cache: &std::path::Path) {
    // The emulator in a process of its own, so this process's memory is the host's alone.
    let emulator = Emulator::start().await;
    let client = emulator.client.clone();
    let mut host_config = HostConfig { status_interval: Duration::from_millis(50), ..HostConfig::default() };
    host_config.runtime.cache_dir = Some(cache.to_owned());
    let host = Host::new(client.clone(), host_config).unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let (host, shutdown) = (host.clone(), shutdown.clone());
        async move { host.run(shutdown).await }
    });
    module(&client, "hello", example_bytes("hello")).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..OBJECTS {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": format!("cm-{i:05}"), "labels": { "weft.dev/hello": "" } },
            "data": { "payload": "x".repeat(2000) },
        });
        cms.create(&PostParams::default(), &serde_json::from_value(cm).unwrap()).await.unwrap();
    }
    // The cache alone: a plugin that watches ConfigMaps but matches none of them.
    module(&client, "misbehave", example_bytes("misbehave")).await;
    let before = resident_bytes();
    apply_plugin(&client, "idle", "misbehave", json!({}), &["get", "create", "patch"]).await;
    wait_ready(&client, "idle").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cached: usize = host.active_informers().iter().map(|(_, n)| n).sum();
    let grown = resident_bytes().saturating_sub(before);
    // Weighed after the measurement, so the list's own garbage is not counted.
    let json_bytes: usize =
        cms.list(&Default::default()).await.unwrap().items.iter().map(|cm| serde_json::to_vec(cm).unwrap().len()).sum();
    println!(
        "host memory with {cached} cached ConfigMaps ({:.1} MiB of JSON): +{:.1} MiB resident, {:.2}x the JSON",
        json_bytes as f64 / 1048576.0,
        grown as f64 / 1048576.0,
        grown as f64 / json_bytes as f64
    );

    let started = Instant::now();
    apply_plugin(&client, "hello", "hello", json!({}), &["patch"]).await;
    let plugins: Api<Plugin> = Api::all(client.clone());
    loop {
        let reconciles = plugins.get("hello").await.unwrap().status.map_or(0, |s| s.reconciles);
        if reconciles >= OBJECTS as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "plugin start over {OBJECTS} objects (one patch each, cache already warm): {:.2?}, {:.0} reconciles/s",
        elapsed,
        OBJECTS as f64 / elapsed.as_secs_f64()
    );
    shutdown.cancel();
}

/// Plugin update → first reconcile on the new version.
async fn swap_time(cache: &std::path::Path) {
    let env = start(cache).await;
    module(&env.client, "hello", example_bytes("hello")).await;
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let cm = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "target", "labels": { "weft.dev/hello": "" } } });
    cms.create(&PostParams::default(), &serde_json::from_value(cm).unwrap()).await.unwrap();
    apply_plugin(&env.client, "hello", "hello", json!({ "greeting": "g0" }), &["patch"]).await;
    wait_ready(&env.client, "hello").await;
    let greeting = || async {
        cms.get("target").await.unwrap().annotations().get("weft.dev/greeting").cloned().unwrap_or_default()
    };
    let mut cached = Vec::new();
    for round in 1..=20 {
        let started = Instant::now();
        apply_plugin(&env.client, "hello", "hello", json!({ "greeting": format!("g{round}") }), &["patch"]).await;
        let expected = format!("g{round}, default/target");
        while greeting().await != expected {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        cached.push(started.elapsed());
    }
    cached.sort();
    println!(
        "Plugin update → first reconcile on the new version, module already compiled: p50 {:.1?}  p99 {:.1?}",
        percentile(&cached, 0.5),
        percentile(&cached, 0.99)
    );
    // A module never seen before: a distinct digest, compiled during the swap.
    let mut fresh = Vec::new();
    for round in 0..5 {
        let mut bytes = example_bytes("hello");
        bytes.extend_from_slice(&[0, 8, 7, b'w', b'e', b'f', b't', b'-', b'0' + round, b'!']);
        let name = format!("hello-{round}");
        module(&env.client, &name, bytes).await;
        let started = Instant::now();
        apply_plugin(&env.client, "hello", &name, json!({ "greeting": format!("fresh{round}") }), &["patch"]).await;
        let expected = format!("fresh{round}, default/target");
        while greeting().await != expected {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        fresh.push(started.elapsed());
    }
    fresh.sort();
    println!(
        "Plugin update → first reconcile on the new version, fresh compile of a {} KB module: p50 {:.0?}  max {:.0?}",
        example_bytes("hello").len() / 1000,
        percentile(&fresh, 0.5),
        fresh[fresh.len() - 1]
    );
    env.shutdown.cancel();
    env.sim.stop().await;
}

const PEER_OBJECTS: usize = 5_000;
const PEER_CREATES: usize = 500;

/// hello's logic as the controller a user would write instead of a plugin: kube-rs's
/// `Controller` over labelled ConfigMaps, four reconciles at once. Runs until killed.
async fn peer(kubeconfig: &std::path::Path) {
    use kube::runtime::controller::{Action, Config, Controller};

    #[derive(Debug, thiserror::Error)]
    #[error(transparent)]
    struct Failed(#[from] kube::Error);

    async fn reconcile(cm: Arc<ConfigMap>, client: Arc<Client>) -> Result<Action, Failed> {
        let namespace = cm.namespace().unwrap_or_default();
        let greeting = format!("hello, {namespace}/{}", cm.name_any());
        if cm.annotations().get("weft.dev/greeting") != Some(&greeting) {
            let api: Api<ConfigMap> = Api::namespaced(client.as_ref().clone(), &namespace);
            let patch = json!({ "metadata": { "annotations": { "weft.dev/greeting": greeting } } });
            api.patch(&cm.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await?;
        }
        Ok(Action::await_change())
    }

    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let client = Client::try_from(config).unwrap();
    let configmaps: Api<ConfigMap> = Api::all(client.clone());
    Controller::new(configmaps, watcher::Config::default().labels("weft.dev/hello"))
        .with_config(Config::default().concurrency(4))
        .run(reconcile, |_, _, _| Action::requeue(Duration::from_secs(1)), Arc::new(client))
        .for_each(|_| async {})
        .await;
}

/// CPU seconds a process has used (user and system), from `/proc/PID/stat` at 100 ticks a second.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or_default();
    (ticks(11) + ticks(12)) / 100.0
}

/// What one side of the comparison measured.
struct Side {
    startup: Duration,
    cpu_startup: f64,
    cpu_total: f64,
    rss: u64,
    latency: (Duration, Duration),
}

/// Records when each ConfigMap was first seen greeted, until the task is aborted.
fn watch_greetings(client: &Client) -> (Arc<Mutex<HashMap<String, Instant>>>, tokio::task::JoinHandle<()>) {
    let greeted: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let task = tokio::spawn({
        let greeted = Arc::clone(&greeted);
        async move {
            let mut events = std::pin::pin!(watcher(api, watcher::Config::default()));
            while let Some(event) = events.next().await {
                if let Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) = event
                    && cm.annotations().contains_key("weft.dev/greeting")
                {
                    greeted.lock().entry(cm.name_any()).or_insert_with(Instant::now);
                }
            }
        }
    });
    (greeted, task)
}

/// One side: `PEER_OBJECTS` ConfigMaps waiting, the process started, timed until all are
/// greeted; then `PEER_CREATES` new ones at 100/s.
async fn side(start: impl FnOnce(&Emulator) -> std::process::Child, prepare: impl AsyncFnOnce(&Client)) -> Side {
    let emulator = Emulator::start().await;
    let client = emulator.client.clone();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..PEER_OBJECTS {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": format!("cm-{i:05}"), "labels": { "weft.dev/hello": "" } },
            "data": { "payload": "x".repeat(2000) },
        });
        cms.create(&PostParams::default(), &serde_json::from_value(cm).unwrap()).await.unwrap();
    }
    prepare(&client).await;
    let (greeted, watch) = watch_greetings(&client);
    let started = Instant::now();
    let mut child = start(&emulator);
    let pid = child.id();
    while greeted.lock().len() < PEER_OBJECTS {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let startup = started.elapsed();
    let cpu_startup = cpu_seconds(pid);
    let mut sent = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    for i in 0..PEER_CREATES {
        ticks.tick().await;
        let name = format!("new-{i}");
        let cm = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name, "labels": { "weft.dev/hello": "" } } });
        sent.push((name, Instant::now()));
        cms.create(&PostParams::default(), &serde_json::from_value(cm).unwrap()).await.unwrap();
    }
    while greeted.lock().len() < PEER_OBJECTS + PEER_CREATES {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seen = greeted.lock().clone();
    let mut latencies: Vec<Duration> =
        sent.iter().map(|(name, at)| seen[name].saturating_duration_since(*at)).collect();
    latencies.sort();
    let side = Side {
        startup,
        cpu_startup,
        cpu_total: cpu_seconds(pid),
        rss: processes::Memory::of(pid).rss,
        latency: (percentile(&latencies, 0.5), percentile(&latencies, 0.99)),
    };
    watch.abort();
    let _ = child.kill();
    let _ = child.wait();
    side
}

/// weft and the kube-rs peer over the same work, each against an emulator of its own.
async fn versus_peer(cache: &std::path::Path) {
    // Compile hello into the cache first, as a host that has run before would have it.
    let weft_side = side(
        |emulator| {
            std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
                .args(["run", "--metrics-addr", "127.0.0.1:0"])
                .arg("--cache-dir")
                .arg(cache)
                .env("KUBECONFIG", &emulator.kubeconfig)
                .env("RUST_LOG", "warn")
                .spawn()
                .unwrap()
        },
        async |client: &Client| {
            module(client, "hello", example_bytes("hello")).await;
            apply_plugin(client, "hello", "hello", json!({}), &["patch"]).await;
            let warm = weft::runtime::Runtime::new(weft::runtime::RuntimeConfig {
                cache_dir: Some(cache.to_owned()),
                ..Default::default()
            })
            .unwrap();
            drop(warm.load(&example_bytes("hello")).unwrap());
        },
    )
    .await;
    let peer_side = side(
        |emulator| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .arg("--peer")
                .arg(&emulator.kubeconfig)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        },
        async |_: &Client| {},
    )
    .await;
    println!("against hello's logic as a kube-rs Controller (concurrency 4), each with its own emulator:");
    let row = |what: &str, weft: f64, peer: f64, unit: &str| {
        println!("  {what:<44} weft {weft:>8.2}{unit}  peer {peer:>8.2}{unit}  ratio {:.2}x", weft / peer);
    };
    row(
        &format!("start-up: {PEER_OBJECTS} objects greeted"),
        weft_side.startup.as_secs_f64(),
        peer_side.startup.as_secs_f64(),
        " s",
    );
    row("CPU during start-up", weft_side.cpu_startup, peer_side.cpu_startup, " s");
    row("CPU, start-up and the creates", weft_side.cpu_total, peer_side.cpu_total, " s");
    row("resident memory at the end", weft_side.rss as f64 / 1048576.0, peer_side.rss as f64 / 1048576.0, " MiB");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    row("create → greeted p50, 100 creates/s", ms(weft_side.latency.0), ms(peer_side.latency.0), " ms");
    row("create → greeted p99", ms(weft_side.latency.1), ms(peer_side.latency.1), " ms");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(kubeconfig) = args.iter().position(|a| a == "--peer").and_then(|i| args.get(i + 1)) {
        peer(std::path::Path::new(kubeconfig)).await;
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    latency_at_rate(cache.path()).await;
    swap_time(cache.path()).await;
    bulk(cache.path()).await;
    versus_peer(cache.path()).await;
}
