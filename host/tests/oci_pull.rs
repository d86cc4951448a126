//! Modules from a real registry on loopback: pushed with `weft push` and with oras, loaded by tag
//! and by digest, through redirects and busy answers, and refused when too large.

mod common;

use std::process::Command;

use common::example_path;
use common::fault_proxy::FaultProxy;
use common::registry::{Auth, Registry, available, greeted, hello_spec, live_for};
use weft::oci::pull::pull;
use weft::oci::{OciConfig, Reference, RegistryClient, digest_of};

fn weft(args: &[&str]) -> std::process::Output {
    Command::new(common::processes::weft_binary()).args(args).output().expect("weft runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_pushed_with_weft_push_runs_by_tag_and_by_digest() {
    let Some(registry) = Registry::start(Auth::Anonymous).await else { return };
    let hello = example_path("hello", "wasm32-wasip2");
    let tagged = registry.reference("plugins/hello:0.1.0");
    let pushed = weft(&["push", hello.to_str().expect("utf-8"), &tagged, "--insecure"]);
    assert!(pushed.status.success(), "{}", String::from_utf8_lossy(&pushed.stderr));
    let digest = String::from_utf8(pushed.stdout).expect("utf-8").trim().to_owned();
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "prints the digest: {digest}");

    // The CNCF layout, named from describe.
    let reference: Reference = tagged.parse().expect("reference");
    let client = registry.client();
    let pulled = pull(&client, &reference, &[]).await.expect("pulls");
    assert_eq!(pulled.layer.media_type, "application/wasm");
    assert_eq!(pulled.annotations["org.opencontainers.image.title"], "hello");
    assert_eq!(pulled.annotations["org.opencontainers.image.version"], "0.1.0");
    assert_eq!(pulled.resolved.to_string(), registry.reference(&format!("plugins/hello@{digest}")));

    let checked = weft(&["check", &format!("oci://{tagged}"), "--insecure-registry", &registry.addr]);
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    assert!(report.contains("weft plugin hello 0.1.0") && report.contains(&digest), "{report}");
    let refused = weft(&["check", &format!("oci://{tagged}")]);
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && why.contains("name it with --insecure-registry"), "HTTPS fails: {why}");

    let live = live_for(&registry, |_| {}).await;
    live.apply_plugin("by-tag", hello_spec(&tagged)).await;
    live.apply_plugin("by-digest", hello_spec(&registry.reference(&format!("plugins/hello@{digest}")))).await;
    for name in ["by-tag", "by-digest"] {
        live.wait_condition(name, "Ready", "True", "Running").await;
        let status = live.status(name).await.expect("status");
        assert_eq!(status.resolved_reference, Some(pulled.resolved.to_string()), "{name}");
        assert_eq!(status.module_digest.map(|d| format!("sha256:{d}")), Some(pulled.layer.digest.clone()));
    }
    assert!(greeted(&live, "greet-me").await.starts_with("hello"));
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_pushed_by_oras_run_with_either_wasm_layer_type() {
    let oras = available("oras (PyPI)", Command::new("python3").args(["-c", "import oras.provider"]));
    let Some(registry) = Registry::start(Auth::Anonymous).await.filter(|_| oras) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(example_path("hello", "wasm32-wasip2"), dir.path().join("plugin.wasm")).expect("copy");
    std::fs::write(dir.path().join("config.json"), r#"{"architecture":"wasm","os":"wasip2"}"#).expect("config");
    let script = format!(
        r#"
import oras.provider
registry = oras.provider.Registry(hostname="{addr}", insecure=True)
registry.push(target="{addr}/oras/hello:cncf", files=["plugin.wasm:application/wasm"],
              manifest_config="config.json:application/vnd.wasm.config.v0+json", quiet=True)
registry.push(target="{addr}/oras/hello:legacy", files=["plugin.wasm:application/vnd.wasm.content.layer.v1+wasm"],
              manifest_config="config.json:application/vnd.wasm.config.v1+json", quiet=True)
"#,
        addr = registry.addr
    );
    let pushed = Command::new("python3").args(["-c", &script]).current_dir(dir.path()).output().expect("python3");
    assert!(pushed.status.success(), "oras push: {}", String::from_utf8_lossy(&pushed.stderr));

    let live = live_for(&registry, |_| {}).await;
    live.apply_plugin("cncf", hello_spec(&registry.reference("oras/hello:cncf"))).await;
    live.apply_plugin("legacy", hello_spec(&registry.reference("oras/hello:legacy"))).await;
    live.wait_condition("cncf", "Ready", "True", "Running").await;
    live.wait_condition("legacy", "Ready", "True", "Running").await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_download_redirected_to_another_server_is_followed_and_verified() {
    let Some(registry) = Registry::start(Auth::Redirecting).await else { return };
    let bytes = common::example_bytes("hello");
    let reference = registry.reference("plugins/hello:redirected");
    registry.push(&reference, &bytes).await;
    let pulled = pull(&registry.client(), &reference.parse().expect("reference"), &[]).await.expect("pulls");
    assert_eq!(pulled.bytes, bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_answers_are_retried_within_a_pull_and_a_layer_over_the_limit_is_refused() {
    let Some(registry) = Registry::start(Auth::Anonymous).await else { return };
    let bytes = common::example_bytes("hello");
    registry.push(&registry.reference("plugins/hello:busy"), &bytes).await;
    let proxy = FaultProxy::start(&registry.addr).await;
    let reference: Reference = format!("{}/plugins/hello:busy", proxy.addr).parse().expect("reference");
    let mut config = OciConfig { insecure: [proxy.addr.clone()].into(), ..OciConfig::default() };
    config.limits.backoff =
        weft::Backoff { base: std::time::Duration::from_millis(50), max: std::time::Duration::from_secs(2) };

    proxy.fail_next(&[503, 429, 502]);
    let client = RegistryClient::new(&proxy.addr, &proxy.addr, None, &config).expect("client");
    let pulled = pull(&client, &reference, &[]).await.expect("pulls after the busy answers");
    assert_eq!((digest_of(&pulled.bytes), proxy.pending()), (pulled.layer.digest.clone(), 0));

    config.limits.attempts = 2;
    proxy.fail_next(&[503, 503]);
    let client = RegistryClient::new(&proxy.addr, &proxy.addr, None, &config).expect("client");
    let error = pull(&client, &reference, &[]).await.expect_err("gives up");
    assert_eq!(error.reason(), "FetchFailed");
    assert!(error.to_string().contains("HTTP 503") && error.to_string().contains("tried 2 times"), "{error}");

    config.limits.layer_bytes = 1000;
    let client = RegistryClient::new(&proxy.addr, &proxy.addr, None, &config).expect("client");
    let error = pull(&client, &reference, &[]).await.expect_err("too large");
    assert!(error.to_string().contains("more than the 1000 allowed"), "{error}");
}
