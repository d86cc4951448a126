//! Emulator benchmarks: write throughput, listing 10,000 objects, and watch fan-out latency.
//!
//! Every figure is measured twice in the same run: through HTTP with the real kube client, and
//! against the store directly (the baseline), so the ratio shows what HTTP and JSON cost.
//! Run with `cargo bench -p weft-sim --bench emulator`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::{Client, Config};
use serde_json::json;
use tokio::sync::mpsc;
use weft_sim::store::{ListOptions, PatchKind, Target, WriteOptions};
use weft_sim::{Sim, SimConfig, Store, StoreConfig};

const WRITES: usize = 5_000;
const LIST_OBJECTS: usize = 10_000;
const WATCHERS: usize = 100;
const FANOUT_EVENTS: usize = 300;

fn configmap(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([("bench".into(), "yes".into())].into()),
            ..Default::default()
        },
        data: Some([("payload".to_owned(), "x".repeat(256))].into()),
        ..Default::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!("{name:<52} p50 {:>10.1?}  p99 {:>10.1?}  (n={})", p50, p99, samples.len());
    p50
}

fn opts() -> WriteOptions {
    WriteOptions { default_manager: "bench".into(), ..WriteOptions::default() }
}

async fn start() -> (Sim, Client) {
    let store = StoreConfig { history_capacity: 50_000, fanout_capacity: 65_536 };
    let sim = Sim::start(SimConfig { store, ..SimConfig::default() }).await.unwrap();
    let client = Client::try_from(Config::new(sim.url().parse().unwrap())).unwrap();
    (sim, client)
}

fn target(store: &Store) -> Target {
    store.target("", "v1", "configmaps", Some("default")).unwrap()
}

/// Creates then updates `WRITES` objects with `concurrency` clients in flight; returns writes/s.
async fn http_writes(api: &Api<ConfigMap>, prefix: &str, concurrency: usize) -> (f64, f64) {
    let started = Instant::now();
    futures::stream::iter(0..WRITES)
        .map(|i| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &configmap(&format!("{prefix}-{i}"))).await.unwrap() }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let creates = WRITES as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    futures::stream::iter(0..WRITES)
        .map(|i| {
            let api = api.clone();
            async move {
                let patch = Patch::Merge(json!({"data": {"n": i.to_string()}}));
                api.patch(&format!("{prefix}-{i}"), &PatchParams::default(), &patch).await.unwrap()
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    (creates, WRITES as f64 / started.elapsed().as_secs_f64())
}

fn direct_writes(store: &Store, prefix: &str) -> (f64, f64) {
    let t = target(store);
    let started = Instant::now();
    for i in 0..WRITES {
        store.create(&t, serde_json::to_value(configmap(&format!("{prefix}-{i}"))).unwrap(), &opts()).unwrap();
    }
    let creates = WRITES as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for i in 0..WRITES {
        let patch = json!({"data": {"n": i.to_string()}});
        store.patch(&t, &format!("{prefix}-{i}"), PatchKind::Merge, patch, None, &opts()).unwrap();
    }
    (creates, WRITES as f64 / started.elapsed().as_secs_f64())
}

async fn writes() {
    println!("\n== writes ({WRITES} creates, then {WRITES} merge patches, 256-byte ConfigMaps)");
    let (sim, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let (dc, du) = direct_writes(sim.store(), "direct");
    println!("{:<52} creates {dc:>9.0}/s  updates {du:>9.0}/s", "store directly (baseline)");
    for concurrency in [1, 16] {
        let (hc, hu) = http_writes(&api, &format!("http{concurrency}"), concurrency).await;
        println!(
            "{:<52} creates {hc:>9.0}/s  updates {hu:>9.0}/s  (x{:.2} / x{:.2} of baseline)",
            format!("kube client over HTTP, {concurrency} in flight"),
            hc / dc,
            hu / du
        );
    }
    sim.stop().await;
}

async fn lists() {
    println!("\n== list of {LIST_OBJECTS} ConfigMaps");
    let (sim, client) = start().await;
    let store = sim.store().clone();
    let t = target(&store);
    for i in 0..LIST_OBJECTS {
        store.create(&t, serde_json::to_value(configmap(&format!("cm-{i}"))).unwrap(), &opts()).unwrap();
    }
    let mut direct = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let listed = store.list(&t, &ListOptions::default()).unwrap();
        assert_eq!(listed.items.len(), LIST_OBJECTS);
        direct.push(started.elapsed());
    }
    let base = report("store directly (baseline)", direct);
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut http = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let listed = api.list(&ListParams::default()).await.unwrap();
        assert_eq!(listed.items.len(), LIST_OBJECTS);
        http.push(started.elapsed());
    }
    let over_http = report("kube client over HTTP (decode into ConfigMap)", http);
    println!("{:<52} x{:.1}", "HTTP / baseline (p50)", over_http.as_secs_f64() / base.as_secs_f64());
    sim.stop().await;
}

/// How a benchmark watcher consumes its stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// kube's `Api::watch`, decoding every event into a `ConfigMap`.
    KubeClient,
    /// Raw HTTP chunks, only locating the sequence number: what the emulator delivers.
    RawLines,
}

/// Latency from a store write to its arrival at each of `watchers` watches.
async fn fanout(watchers: usize, reader: Reader) -> Vec<Duration> {
    let (sim, client) = start().await;
    let store = sim.store().clone();
    let t = target(&store);
    store.create(&t, serde_json::to_value(configmap("hot")).unwrap(), &opts()).unwrap();
    let rv = store.current_rv().to_string();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    for _ in 0..watchers {
        let tx = tx.clone();
        match reader {
            Reader::KubeClient => {
                let stream = api.watch(&WatchParams::default().disable_bookmarks(), &rv).await.unwrap();
                tokio::spawn(async move {
                    let mut stream = stream.boxed();
                    while let Ok(Some(event)) = stream.try_next().await {
                        if let WatchEvent::Modified(cm) = event {
                            let seq: usize = cm.data.unwrap()["seq"].parse().unwrap();
                            if tx.send((seq, Instant::now())).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
            Reader::RawLines => {
                let path = format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}");
                let request = http::Request::builder().uri(path).body(Vec::new().into()).unwrap();
                let mut body = client.send(request).await.unwrap().into_body();
                tokio::spawn(async move {
                    while let Some(Ok(frame)) = body.frame().await {
                        let Ok(data) = frame.into_data() else { continue };
                        let now = Instant::now();
                        for seq in find_seqs(&data) {
                            if tx.send((seq, now)).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        }
    }
    drop(tx);
    let sent: Arc<parking_lot::Mutex<Vec<Instant>>> = Arc::default();
    let mut latencies = Vec::with_capacity(watchers * FANOUT_EVENTS);
    for seq in 0..FANOUT_EVENTS {
        let patch = json!({"data": {"seq": seq.to_string()}});
        let at = Instant::now();
        sent.lock().push(at);
        store.patch(&t, "hot", PatchKind::Merge, patch, None, &opts()).unwrap();
        // Pace the writes (≈1,000/s) so each event's fan-out is measured, not queueing behind others.
        let mut received = 0;
        while received < watchers {
            let (s, when) =
                tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("fan-out stalled").unwrap();
            latencies.push(when - sent.lock()[s]);
            received += 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    sim.stop().await;
    latencies
}

/// The `"seq":"N"` values in a chunk of watch lines.
fn find_seqs(data: &[u8]) -> Vec<usize> {
    const NEEDLE: &[u8] = b"\"seq\":\"";
    let mut seqs = Vec::new();
    let mut rest = data;
    while let Some(pos) = rest.windows(NEEDLE.len()).position(|w| w == NEEDLE) {
        rest = &rest[pos + NEEDLE.len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        seqs.push(std::str::from_utf8(&rest[..digits]).unwrap().parse().unwrap());
    }
    seqs
}

async fn watches() {
    println!("\n== watch fan-out: store write -> event at every watch, {FANOUT_EVENTS} writes paced at about 1,000/s");
    for (reader, label) in [(Reader::RawLines, "raw HTTP lines"), (Reader::KubeClient, "kube client, decoded")] {
        let single = report(&format!("{label}: 1 watcher (baseline)"), fanout(1, reader).await);
        let many = report(&format!("{label}: {WATCHERS} watchers"), fanout(WATCHERS, reader).await);
        let ratio = many.as_secs_f64() / single.as_secs_f64();
        println!("{:<52} x{ratio:.1}", format!("{label}: {WATCHERS} watchers / 1 (p50)"));
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        writes().await;
        lists().await;
        watches().await;
    });
}
