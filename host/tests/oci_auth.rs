//! Registries that want credentials: htpasswd Basic auth and Bearer tokens, with credentials
//! from `kubernetes.io/dockerconfigjson` pull secrets.

mod common;

use std::process::Command;

use common::live::Live;
use common::registry::{Auth, PASSWORD, Registry, USER, hello_spec, live_for};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::json;

async fn pull_secret(live: &Live, name: &str, config: &str) {
    let secret = Secret {
        metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: Some([(".dockerconfigjson".to_owned(), ByteString(config.as_bytes().to_vec()))].into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(live.client.clone(), "weft-system")
        .create(&PostParams::default(), &secret)
        .await
        .expect("pull secret created");
}

fn with_secret(reference: &str, secret: &str) -> serde_json::Value {
    let mut spec = hello_spec(reference);
    spec["module"]["oci"]["pullSecret"] = json!({ "namespace": "weft-system", "name": secret });
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_takes_the_pull_secret_and_refuses_wrong_or_missing_credentials() {
    let Some(registry) = Registry::start(Auth::Htpasswd).await else { return };
    let reference = registry.reference("private/hello:0.1.0");
    registry.push(&reference, &common::example_bytes("hello")).await;
    let live = live_for(&registry, |_| {}).await;
    pull_secret(&live, "right", &registry.docker_config(USER, PASSWORD)).await;
    pull_secret(&live, "wrong", &registry.docker_config(USER, "guess")).await;
    pull_secret(&live, "elsewhere", r#"{"auths":{"ghcr.io":{"auth":"dTpw"}}}"#).await;

    live.apply_plugin("right", with_secret(&reference, "right")).await;
    live.apply_plugin("wrong", with_secret(&reference, "wrong")).await;
    live.apply_plugin("none", hello_spec(&reference)).await;
    live.apply_plugin("absent", with_secret(&reference, "no-such-secret")).await;
    live.apply_plugin("elsewhere", with_secret(&reference, "elsewhere")).await;

    live.wait_condition("right", "Ready", "True", "Running").await;
    let c = live.wait_condition("wrong", "Ready", "False", "Unauthorized").await;
    assert!(c.message.contains(r#"as "weft""#) && c.message.contains("401"), "{}", c.message);
    let c = live.wait_condition("none", "Ready", "False", "Unauthorized").await;
    assert!(c.message.contains("set spec.module.oci.pullSecret"), "{}", c.message);
    let c = live.wait_condition("absent", "Ready", "False", "Unauthorized").await;
    assert!(c.message.contains("weft-system/no-such-secret does not exist"), "{}", c.message);
    let c = live.wait_condition("elsewhere", "Ready", "False", "Unauthorized").await;
    assert!(c.message.contains(&format!("no credentials for {}", registry.addr)), "{}", c.message);

    // A secret created after its Plugin is picked up on the next try.
    pull_secret(&live, "no-such-secret", &registry.docker_config(USER, PASSWORD)).await;
    live.wait_condition("absent", "Ready", "True", "Running").await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_registry_issues_tokens_for_the_pull_secret_and_refuses_anonymous_pulls() {
    let Some(registry) = Registry::start(Auth::Token).await else { return };
    let reference = registry.reference("private/hello:0.1.0");
    // weft push through the token service, with credentials from a Docker config file.
    let dir = tempfile::tempdir().expect("tempdir");
    let authfile = dir.path().join("config.json");
    std::fs::write(&authfile, registry.docker_config(USER, PASSWORD)).expect("authfile");
    let hello = common::example_path("hello", "wasm32-wasip2");
    let pushed = Command::new(common::processes::weft_binary())
        .args(["push", hello.to_str().expect("utf-8"), &reference, "--insecure", "--authfile"])
        .arg(&authfile)
        .output()
        .expect("weft runs");
    assert!(pushed.status.success(), "{}", String::from_utf8_lossy(&pushed.stderr));

    let live = live_for(&registry, |_| {}).await;
    pull_secret(&live, "token", &registry.docker_config(USER, PASSWORD)).await;
    pull_secret(&live, "bad-password", &registry.docker_config(USER, "guess")).await;
    live.apply_plugin("with-secret", with_secret(&reference, "token")).await;
    live.apply_plugin("anonymous", hello_spec(&reference)).await;
    live.apply_plugin("bad-password", with_secret(&reference, "bad-password")).await;

    live.wait_condition("with-secret", "Ready", "True", "Running").await;
    let c = live.wait_condition("anonymous", "Ready", "False", "Unauthorized").await;
    assert!(c.message.contains("without credentials"), "{}", c.message);
    let c = live.wait_condition("bad-password", "Ready", "False", "Unauthorized").await;
    assert!(c.message.contains("token service") && c.message.contains("refused"), "{}", c.message);
    live.stop().await;
}
