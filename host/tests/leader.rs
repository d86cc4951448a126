//! Two hosts against one API server: exactly one reconciles; the other takes over when the leader
//! stops, and a leader that loses its Lease stops at once.

mod common;

use std::time::{Duration, Instant};

use common::live::{Live, configmap, eventually};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weft::leader::{LeaseConfig, run_elected};
use weft::{Host, HostConfig};

const LEASE: Duration = Duration::from_secs(2);

struct Replica {
    host: Host,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

fn replica(client: &kube::Client, identity: &str) -> Replica {
    let mut config = HostConfig { status_interval: Duration::from_millis(100), ..HostConfig::default() };
    config.runtime.cache_dir = Some(std::env::temp_dir().join("weft-test-compiled"));
    let host = Host::new(client.clone(), config).expect("host");
    let lease = LeaseConfig {
        lease_duration: LEASE,
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(200),
        ..LeaseConfig::new("weft-system", "weft-host", identity)
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let (client, host, shutdown) = (client.clone(), host.clone(), shutdown.clone());
        async move {
            run_elected(client, lease, shutdown, move |term| {
                let host = host.clone();
                async move {
                    host.run(term).await.expect("host runs");
                }
            })
            .await;
        }
    });
    Replica { host, shutdown, task }
}

fn leading(replica: &Replica) -> bool {
    !replica.host.running_plugins().is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_leads_a_standby_takes_over_and_a_lost_lease_stops_the_leader() {
    // The harness's own host is not used: the replicas below are the hosts under test.
    let live = Live::start().await;
    live.module_configmap("hello-module", "hello").await;
    live.apply_plugin(
        "hello",
        json!({
            "module": { "configMap": { "namespace": "weft-system", "name": "hello-module", "key": "plugin.wasm" } },
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
            "config": { "greeting": "elected" },
        }),
    )
    .await;
    // Stop the harness's host so only the replicas reconcile.
    let client = live.client.clone();
    let (sim, harness_host) = live.into_parts().await;
    drop(harness_host);

    let a = replica(&client, "replica-a");
    eventually("a leads", || async { leading(&a).then_some(()) }).await;
    let b = replica(&client, "replica-b");
    tokio::time::sleep(LEASE).await;
    assert!(leading(&a) && !leading(&b), "exactly one replica reconciles");

    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "default");
    let greeted = |name: &'static str| {
        let cms = cms.clone();
        async move {
            let cm = cms.get_opt(name).await.ok()??;
            (cm.metadata.annotations?.get("weft.dev/greeting")? == &format!("elected, default/{name}")).then_some(())
        }
    };
    cms.create(&PostParams::default(), &configmap("first", &[("weft.dev/hello", "")], &[])).await.expect("create");
    eventually("the leader greets", || greeted("first")).await;

    // The leader stops (releasing the Lease): the standby takes over within the lease duration,
    // and a change made during the handover is not lost.
    a.shutdown.cancel();
    let stopped = Instant::now();
    cms.create(&PostParams::default(), &configmap("handover", &[("weft.dev/hello", "")], &[])).await.expect("create");
    a.task.await.expect("a stops");
    eventually("b leads", || async { leading(&b).then_some(()) }).await;
    assert!(stopped.elapsed() < LEASE, "took over after {:?}", stopped.elapsed());
    eventually("the change made during the handover is reconciled", || greeted("handover")).await;

    // Someone else takes the Lease: b stops reconciling at once.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "weft-system");
    let mut lease = leases.get("weft-host").await.expect("lease");
    let spec = lease.spec.as_mut().expect("spec");
    spec.holder_identity = Some("intruder".into());
    spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
    leases.replace("weft-host", &PostParams::default(), &lease).await.expect("steal the lease");
    eventually("b stops after losing the lease", || async { (!leading(&b)).then_some(()) }).await;
    // The intruder never renews: b gets the Lease back once it expires.
    eventually("b leads again", || async { leading(&b).then_some(()) }).await;

    b.shutdown.cancel();
    b.task.await.expect("b stops");
    let lease = leases.get("weft-host").await.expect("lease");
    assert_eq!(lease.spec.and_then(|s| s.holder_identity), None, "released on shutdown");
    sim.stop().await;
}
