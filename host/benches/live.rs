//! End-to-end benchmarks of live plugins: the emulator and a host in one process, over HTTP.
//!
//! - update → mirrored copy visible, at a steady 1,000 updates/s (configmap-mirror), p50/p99;
//! - reconciles/s when a plugin starts over 10,000 objects (hello, one patch each);
//! - Plugin update → first reconcile on the new version, with a cached and a fresh compile;
//! - host memory with 10,000 cached ConfigMaps, against their JSON size.
//!
//! Needs the example plugins (`scripts/build-examples`). Run with
//! `cargo bench -p weft --bench live`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

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

/// `weft sim` in a process of its own, so this process's memory is the host's alone.
struct SimProcess {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

impl SimProcess {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("sim.kubeconfig");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["sim", "--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(&kubeconfig)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        while !kubeconfig.exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, _dir: dir, kubeconfig }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 10,000 labelled ConfigMaps: the host's cache memory, then hello's reconciles/s over them.
async fn bulk(cache: &std::path::Path) {
    let sim = SimProcess::start();
    let kubeconfig = kube::config::Kubeconfig::read_from(&sim.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    let client = Client::try_from(config).unwrap();
    weft::dev::install_crd(&client).await.unwrap();
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cache = tempfile::tempdir().unwrap();
    latency_at_rate(cache.path()).await;
    swap_time(cache.path()).await;
    bulk(cache.path()).await;
}
