//! `weft run` as a process: SIGTERM in the middle of a burst stops it cleanly.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::live::{Live, configmap, eventually};
use kube::api::{Api, PostParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_finishes_in_flight_work_and_exits_zero() {
    let live = Live::start().await;
    live.module_configmap("hello-module", "hello").await;
    let client = live.client.clone();
    let (sim, _) = live.into_parts().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");

    let mut run = tokio::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["run", "--metrics-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "weft=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("weft run starts");

    let plugins: Api<weft::crd::Plugin> = Api::all(client.clone());
    let plugin = json!({
        "apiVersion": "weft.dev/v1alpha1", "kind": "Plugin", "metadata": { "name": "hello" },
        "spec": {
            "module": { "configMap": { "namespace": "weft-system", "name": "hello-module", "key": "plugin.wasm" } },
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
        },
    });
    plugins.create(&PostParams::default(), &serde_json::from_value(plugin).expect("plugin")).await.expect("create");
    eventually("the plugin runs", || async {
        plugins
            .get("hello")
            .await
            .ok()?
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready" && c.status == "True")
    })
    .await;

    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..200 {
        let name = format!("burst-{i}");
        cms.create(&PostParams::default(), &configmap(&name, &[("weft.dev/hello", "")], &[])).await.expect("create");
        if i == 100 {
            let pid = run.id().expect("pid").to_string();
            let killed = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.expect("kill");
            assert!(killed.success());
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(60), run.wait()).await.expect("exits").expect("status");
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut run.stderr.take().expect("stderr"), &mut stderr)
        .await
        .expect("read stderr");
    assert!(status.success(), "weft run exited with {status}:\n{stderr}");
    assert!(stderr.contains("plugin unloaded"), "stopped its plugin on the way out:\n{stderr}");
    assert!(!stderr.contains("abandoned"), "in-flight reconciles finished within the bound:\n{stderr}");
    sim.stop().await;
}
