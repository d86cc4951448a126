//! Scale-out: how fast plugins move between `weft run --shards` replicas, and what each replica
//! holds. The emulator and every replica run as processes of their own, with the short Lease
//! settings the tests use (3 s lease, 2 s renew deadline, 500 ms retry period).
//!
//! - Failover: one replica of three is killed (SIGKILL) or stopped (SIGTERM); time from then to
//!   a ConfigMap created at that moment, in the namespace of one of its plugins, being reconciled
//!   by another replica. p50 and max over repeated runs.
//! - Memory: 100 Plugins (hello, one module) over 1, 2 and 3 replicas: resident memory of each.
//!
//! Needs the example plugins (`scripts/build-examples`). Run with
//! `cargo bench -p weft --bench sharding`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/processes.rs"]
#[allow(dead_code)]
mod processes;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use processes::{Emulator, Memory, free_port, module_configmap, weft_binary};
use serde_json::json;

const ROUNDS: usize = 5;

fn example_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/../examples/target/wasm32-wasip2/release/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/build-examples first"))
}

struct Replica {
    child: Child,
    endpoints: std::net::SocketAddr,
}

impl Replica {
    fn start(emulator: &Emulator, identity: &str, cache: &std::path::Path) -> Self {
        let endpoints = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
        let child = Command::new(weft_binary())
            .args(["run", "--shards", "32", "--identity", identity, "--idle-after", "0"])
            .args(["--lease-duration", "3s", "--renew-deadline", "2s", "--retry-period", "500ms"])
            .args(["--metrics-addr", &endpoints.to_string()])
            .arg("--cache-dir")
            .arg(cache)
            .env("KUBECONFIG", &emulator.kubeconfig)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self { child, endpoints }
    }

    async fn running(&self) -> BTreeSet<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Ok(mut stream) = tokio::net::TcpStream::connect(self.endpoints).await else { return BTreeSet::new() };
        let _ = stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await;
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text).await;
        text.lines()
            .filter_map(|line| line.strip_prefix("weft_queue_depth{plugin=\""))
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    fn signal(&mut self, signal: &str) {
        let _ = Command::new("kill").args([signal, &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the replicas run `count` plugins between them, each on one.
async fn divided(replicas: &[Replica], count: usize) {
    loop {
        let mut total = 0;
        let mut union = BTreeSet::new();
        for replica in replicas {
            let running = replica.running().await;
            total += running.len();
            union.extend(running);
        }
        if total == count && union.len() == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn setup(count: usize) -> (Emulator, tempfile::TempDir) {
    let emulator = Emulator::start().await;
    module_configmap(&emulator.client, "hello-module", example_bytes("hello")).await;
    for i in 0..count {
        let namespace = format!("team-{i}");
        let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": namespace } })).unwrap();
        Api::<Namespace>::all(emulator.client.clone()).create(&PostParams::default(), &ns).await.unwrap();
        processes::apply_plugin(&emulator.client, &namespace, "hello-module", &["patch"], &[&namespace]).await;
    }
    (emulator, tempfile::tempdir().unwrap())
}

/// Creates a labelled ConfigMap in `namespace` and waits for its greeting.
async fn greeted_after(client: &Client, namespace: &str, name: &str) -> Duration {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let started = Instant::now();
    let cm = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name, "labels": { "weft.dev/hello": "" } } });
    api.create(&PostParams::default(), &serde_json::from_value(cm).unwrap()).await.unwrap();
    loop {
        if api.get(name).await.unwrap().annotations().contains_key("weft.dev/greeting") {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!("p50 {:.2?}  max {:.2?}  (n={})", samples[samples.len() / 2], samples[samples.len() - 1], samples.len())
}

async fn failover(signal: &str) -> String {
    let (emulator, cache) = setup(30).await;
    let mut replicas: Vec<Replica> =
        (0..3).map(|i| Replica::start(&emulator, &format!("{signal}-r{i}"), cache.path())).collect();
    divided(&replicas, 30).await;
    let mut samples = Vec::new();
    for round in 0..ROUNDS {
        let victim = round % replicas.len();
        let Some(plugin) = replicas[victim].running().await.into_iter().next() else { continue };
        replicas[victim].signal(signal);
        samples.push(greeted_after(&emulator.client, &plugin, &format!("after-{round}")).await);
        replicas[victim] = Replica::start(&emulator, &format!("{signal}-r{victim}-{round}"), cache.path());
        divided(&replicas, 30).await;
    }
    summary(samples)
}

async fn memory_per_replica() {
    for count in 1..=3 {
        let (emulator, cache) = setup(100).await;
        let replicas: Vec<Replica> =
            (0..count).map(|i| Replica::start(&emulator, &format!("m{count}-r{i}"), cache.path())).collect();
        divided(&replicas, 100).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut line = format!("100 Plugins over {count} replica(s):");
        for replica in &replicas {
            let plugins = replica.running().await.len();
            let rss = Memory::of(replica.child.id()).rss as f64 / 1048576.0;
            line += &format!("  {plugins} plugins, {rss:.1} MiB");
        }
        println!("{line}");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("## Failover: a replica of three goes; until its plugins reconcile elsewhere");
    println!("killed (SIGKILL):   {}", failover("-KILL").await);
    println!("stopped (SIGTERM):  {}", failover("-TERM").await);
    println!("\n## Memory per replica");
    memory_per_replica().await;
}
