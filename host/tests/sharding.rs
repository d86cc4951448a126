//! Replicas that share the plugins: `weft run --shards` processes against one emulator. Every
//! Plugin runs on exactly one replica and the spread is even; a replica killed with SIGKILL, one
//! stopped with SIGTERM, one that joins and one cut off from the API server each move plugins
//! without losing events; and the replicas' journals of plugin calls show no two replicas inside
//! a call of the same plugin at once, through all of it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::live::{Live, configmap, eventually};
use common::processes::{free_port, weft_binary};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const PLUGINS: usize = 30;
const TIMING: [&str; 6] = ["--lease-duration", "3s", "--renew-deadline", "2s", "--retry-period", "500ms"];

struct Replica {
    name: String,
    child: Child,
    endpoints: SocketAddr,
    log: PathBuf,
}

impl Replica {
    fn start(name: &str, kubeconfig: &Path, dir: &Path) -> Self {
        let endpoints = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(weft_binary())
            .args(["--log-format", "json", "run", "--shards", "32", "--identity", name])
            .args(TIMING)
            .args(["--metrics-addr", &endpoints.to_string(), "--idle-after", "0"])
            .arg("--cache-dir")
            .arg(std::env::temp_dir().join("weft-test-compiled"))
            .env("KUBECONFIG", kubeconfig)
            // The plugin span (weft::manager, info) names the plugin of each journalled call.
            .env("RUST_LOG", "warn,weft::manager=info,weft::calls=debug,weft::shard=info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("weft run starts");
        Self { name: name.to_owned(), child, endpoints, log }
    }

    /// The plugins this replica runs, from its `/metrics`; `None` if it does not answer.
    async fn running(&self) -> Option<BTreeSet<String>> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.endpoints).await.ok()?;
        stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await.ok()?;
        let plugins = text
            .lines()
            .filter_map(|line| line.strip_prefix("weft_queue_depth{plugin=\""))
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect();
        Some(plugins)
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([signal, &self.child.id().to_string()]).status().expect("kill");
        assert!(sent.success());
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().expect("exits")
    }

    /// Log lines as JSON.
    fn lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `replicas` run all the plugins between them, each on exactly one, and each replica
/// some; returns who runs what.
async fn divided(replicas: &[&Replica]) -> BTreeMap<String, BTreeSet<String>> {
    eventually("every plugin on exactly one replica, every replica busy", || async {
        let mut by_replica = BTreeMap::new();
        for replica in replicas {
            by_replica.insert(replica.name.clone(), replica.running().await?);
        }
        let total: usize = by_replica.values().map(BTreeSet::len).sum();
        let union: BTreeSet<&String> = by_replica.values().flatten().collect();
        let all_busy = by_replica.values().all(|plugins| !plugins.is_empty());
        (total == PLUGINS && union.len() == PLUGINS && all_busy).then_some(by_replica)
    })
    .await
}

/// A TCP forwarder to the API server that can be cut, as a network partition would.
struct Proxy {
    addr: SocketAddr,
    cut: CancellationToken,
}

async fn proxy(upstream: SocketAddr) -> Proxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let cut = CancellationToken::new();
    tokio::spawn({
        let cut = cut.clone();
        async move {
            loop {
                let accepted = tokio::select! {
                    () = cut.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((mut inbound, _)) = accepted else { continue };
                let cut = cut.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else { return };
                    tokio::select! {
                        () = cut.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        }
    });
    Proxy { addr, cut }
}

/// One journalled call: plugin, started and finished, in Unix milliseconds.
type Call = (String, u64, u64);

/// Every call in a replica's journal.
fn calls(replica: &Replica) -> Vec<Call> {
    replica
        .lines()
        .iter()
        .filter(|line| line["target"] == "weft::calls")
        .filter_map(|line| {
            let plugin = line["spans"].as_array()?.iter().find_map(|s| s["plugin"].as_str())?.to_owned();
            let fields = &line["fields"];
            Some((plugin, fields["started_at"].as_u64()?, fields["finished_at"].as_u64()?))
        })
        .collect()
}

/// When a replica logged `message` for `bucket`, in Unix milliseconds.
fn bucket_events(replica: &Replica, message: &str) -> BTreeMap<u64, u64> {
    replica
        .lines()
        .iter()
        .filter(|line| line["fields"]["message"] == message)
        .filter_map(|line| {
            let at: jiff::Timestamp = line["timestamp"].as_str()?.parse().ok()?;
            Some((line["fields"]["bucket"].as_u64()?, u64::try_from(at.as_millisecond()).ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_plugins_and_hand_them_over_without_overlap_or_loss() {
    let live = Live::start().await;
    live.module_configmap("hello-module", "hello").await;
    for i in 0..PLUGINS {
        let namespace = format!("team-{i}");
        live.namespace(&namespace).await;
        let spec = json!({
            "module": { "configMap": { "namespace": "weft-system", "name": "hello-module", "key": "plugin.wasm" } },
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
            "namespaces": [namespace],
        });
        live.apply_plugin(&namespace, spec).await;
    }
    let (sim, _) = live.into_parts().await;
    let client = kube::Client::try_from(kube::Config::new(sim.url().parse().expect("url"))).expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");

    // Three replicas divide the thirty plugins evenly.
    let mut replicas: Vec<Replica> =
        ["r1", "r2", "r3"].iter().map(|n| Replica::start(n, &kubeconfig, dir.path())).collect();
    let by_replica = divided(&replicas.iter().collect::<Vec<_>>()).await;
    for (replica, plugins) in &by_replica {
        assert!(plugins.len() <= PLUGINS.div_ceil(3) + 2, "{replica} runs {} plugins: {by_replica:?}", plugins.len());
    }
    let plugins: Api<weft::crd::Plugin> = Api::all(client.clone());
    for (replica, names) in &by_replica {
        for name in names {
            eventually(&format!("{name} reports {replica}"), || async {
                (plugins.get(name).await.ok()?.status?.host.as_deref() == Some(replica.as_str())).then_some(())
            })
            .await;
        }
    }

    // A burst of new objects; one replica dies in the middle of it.
    let burst = tokio::spawn({
        let client = client.clone();
        async move {
            for k in 0..150 {
                let namespace = format!("team-{}", k % PLUGINS);
                let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), &namespace);
                let cm = configmap(&format!("burst-{k}"), &[("weft.dev/hello", "")], &[]);
                cms.create(&PostParams::default(), &cm).await.expect("create");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    replicas[0].signal("-KILL");
    replicas[0].wait();
    burst.await.expect("burst");
    divided(&[&replicas[1], &replicas[2]]).await;
    for k in 0..150 {
        let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
            Api::namespaced(client.clone(), &format!("team-{}", k % PLUGINS));
        eventually(&format!("burst-{k} greeted"), || async {
            cms.get(&format!("burst-{k}")).await.ok()?.metadata.annotations?.get("weft.dev/greeting").cloned()
        })
        .await;
    }

    // SIGTERM: the replica hands its buckets over on the way out, without waiting for expiry.
    replicas[1].signal("-TERM");
    assert!(replicas[1].wait().success(), "a stopped replica exits cleanly");
    let leases: Api<Lease> = Api::namespaced(client.clone(), "weft-system");
    let held_by_r2: Vec<String> = leases
        .list(&ListParams::default())
        .await
        .expect("leases")
        .items
        .iter()
        .filter(|l| l.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) == Some("r2"))
        .filter_map(|l| l.metadata.name.clone())
        .collect();
    assert!(held_by_r2.is_empty(), "r2 released every Lease on SIGTERM: {held_by_r2:?}");
    divided(&[&replicas[2]]).await;

    // A fourth replica joins: buckets move to it.
    replicas.push(Replica::start("r4", &kubeconfig, dir.path()));
    divided(&[&replicas[2], &replicas[3]]).await;

    // A fifth, through a proxy that is then cut: it stops its plugins before anyone takes them.
    let upstream: SocketAddr = sim.url().trim_start_matches("http://").parse().expect("addr");
    let partition = proxy(upstream).await;
    let proxied = dir.path().join("proxied.kubeconfig");
    std::fs::write(&proxied, sim.kubeconfig().replace(&upstream.to_string(), &partition.addr.to_string()))
        .expect("write");
    replicas.push(Replica::start("r5", &proxied, dir.path()));
    eventually("r5 runs some plugins", || async { replicas[4].running().await.filter(|p| !p.is_empty()) }).await;
    let cut_at = jiff::Timestamp::now().as_millisecond().unsigned_abs();
    partition.cut.cancel();
    divided(&[&replicas[2], &replicas[3]]).await;
    let lost = bucket_events(&replicas[4], "lost bucket; its plugins stop at once");
    assert!(!lost.is_empty(), "the cut-off replica gave its buckets up");
    for taker in &replicas[2..4] {
        for (bucket, taken) in bucket_events(taker, "took bucket").into_iter().filter(|(_, at)| *at >= cut_at) {
            if let Some(stopped) = lost.get(&bucket) {
                assert!(
                    *stopped <= taken,
                    "bucket {bucket}: r5 stopped at {stopped}, {} took it at {taken}",
                    taker.name
                );
            }
        }
    }

    // Through all of it, no two replicas were inside a call of the same plugin at once.
    for replica in &mut replicas {
        if replica.child.try_wait().ok().flatten().is_none() {
            replica.signal("-TERM");
            replica.wait();
        }
    }
    let journals: Vec<(String, Vec<Call>)> = replicas.iter().map(|r| (r.name.clone(), calls(r))).collect();
    assert!(journals.iter().map(|(_, calls)| calls.len()).sum::<usize>() >= 150, "the journals recorded the calls");
    for (i, (a_name, a_calls)) in journals.iter().enumerate() {
        for (b_name, b_calls) in &journals[i + 1..] {
            for (plugin, a_start, a_end) in a_calls {
                for (_, b_start, b_end) in b_calls.iter().filter(|(p, _, _)| p == plugin) {
                    assert!(
                        !(a_start < b_end && b_start < a_end),
                        "{plugin} ran on {a_name} ({a_start}..{a_end}) and {b_name} ({b_start}..{b_end}) at once"
                    );
                }
            }
        }
    }
    sim.stop().await;
}
