//! `/metrics`, `/healthz` and `/readyz` while plugins run.

mod common;

use std::time::Duration;

use common::live::{configmap, eventually};
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use weft::crd::Plugin;
use weft::{Host, HostConfig};
use weft_sim::{Sim, SimConfig};

/// A GET over a plain connection: status code and body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: weft\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// The value of one sample, by its exact name and labels.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_and_readiness_follows_the_caches() {
    let sim = Sim::start(SimConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..Default::default() })
        .await
        .expect("sim");
    let client = kube::Client::try_from(kube::Config::new(sim.url().parse().expect("url"))).expect("client");
    weft::dev::install_crd(&client).await.expect("crd");
    let mut config = HostConfig { status_interval: Duration::from_millis(100), ..HostConfig::default() };
    config.runtime.cache_dir = Some(std::env::temp_dir().join("weft-test-compiled"));
    let host = Host::new(client.clone(), config).expect("host");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    tokio::spawn(weft::serve(listener, host.clone(), shutdown.clone()));

    assert_eq!(get(addr, "/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(get(addr, "/readyz").await.0, 503, "not ready before the Plugins are listed");

    // A plugin whose CRD does not exist keeps the host unready.
    let crds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fleet-health/crds.yaml");
    common::live::Live::module_configmap_on(&client, "fleet-module", "fleet-health").await;
    common::live::Live::module_configmap_on(&client, "hello-module", "hello").await;
    let plugins: Api<Plugin> = Api::all(client.clone());
    let fleet = json!({
        "apiVersion": "weft.dev/v1alpha1", "kind": "Plugin", "metadata": { "name": "fleet" },
        "spec": {
            "module": { "configMap": { "namespace": "weft-system", "name": "fleet-module", "key": "plugin.wasm" } },
            "permissions": [
                { "apiGroups": ["examples.weft.dev"], "resources": ["fleetmembers"], "verbs": ["list"] },
                { "apiGroups": ["examples.weft.dev"], "resources": ["fleets/status"], "verbs": ["patch"] },
            ],
        },
    });
    plugins.create(&PostParams::default(), &serde_json::from_value(fleet).expect("plugin")).await.expect("create");
    let run = tokio::spawn({
        let (host, shutdown) = (host.clone(), shutdown.clone());
        async move { host.run(shutdown).await }
    });
    eventually("fleet plugin running", || async { (host.running_plugins() == ["fleet"]).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(addr, "/readyz").await.0, 503, "a watch of a missing CRD is not synced");
    weft::dev::apply_file(&client, &crds).await.expect("crds");
    eventually("ready once the CRDs exist", || async { (get(addr, "/readyz").await.0 == 200).then_some(()) }).await;

    // Reconciles, lifecycle and informers show up and move.
    let hello = json!({
        "apiVersion": "weft.dev/v1alpha1", "kind": "Plugin", "metadata": { "name": "hello" },
        "spec": {
            "module": { "configMap": { "namespace": "weft-system", "name": "hello-module", "key": "plugin.wasm" } },
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
        },
    });
    plugins.create(&PostParams::default(), &serde_json::from_value(hello).expect("plugin")).await.expect("create");
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&PostParams::default(), &configmap("one", &[("weft.dev/hello", "")], &[])).await.expect("create");
    let done = r#"weft_reconciles_total{plugin="hello",result="done"}"#;
    let first = eventually("hello reconciles counted", || async {
        sample(&get(addr, "/metrics").await.1, done).filter(|n| *n >= 1.0)
    })
    .await;
    for name in ["two", "three"] {
        cms.create(&PostParams::default(), &configmap(name, &[("weft.dev/hello", "")], &[])).await.expect("create");
    }
    let text = eventually("the counter moves", || async {
        let text = get(addr, "/metrics").await.1;
        sample(&text, done).filter(|n| *n >= first + 2.0).map(|_| text)
    })
    .await;
    assert_eq!(sample(&text, r#"weft_plugin_lifecycle_total{plugin="hello",event="load"}"#), Some(1.0));
    assert_eq!(sample(&text, "weft_plugins_running"), Some(2.0));
    assert_eq!(sample(&text, "weft_informers_active"), Some(3.0), "configmaps, fleets, fleetmembers:\n{text}");
    assert!(sample(&text, r#"weft_informer_cached_objects{resource="configmaps/v1",namespace=""}"#) >= Some(5.0));
    assert!(sample(&text, r#"weft_reconcile_duration_seconds_count{plugin="hello"}"#) >= Some(3.0));
    assert_eq!(sample(&text, r#"weft_wasm_traps_total{plugin="hello"}"#), Some(0.0));
    assert!(text.contains("# TYPE weft_reconcile_duration_seconds histogram"));
    assert!(sample(&text, "weft_wasm_memory_bytes").is_some(), "{text}");

    shutdown.cancel();
    run.await.expect("joins").expect("host ran cleanly");
    sim.stop().await;
}
