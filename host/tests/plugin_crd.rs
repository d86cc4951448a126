//! The Plugin CRD as generated, as shipped in deploy/, and driven with the real kubectl.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::example_path;
use common::live::{Live, eventually};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_crd_in_deploy_matches_weft_crd() {
    let output = Command::new(env!("CARGO_BIN_EXE_weft")).arg("crd").output().expect("weft runs");
    assert!(output.status.success());
    let generated = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(generated, weft::crd::crd_yaml());
    let shipped = std::fs::read_to_string(repo().join("deploy/crds/plugins.weft.dev.yaml")).expect("deploy copy");
    assert!(shipped == generated, "deploy/crds/plugins.weft.dev.yaml is stale: regenerate it with `weft crd`");
}

struct Kubectl {
    kubeconfig: tempfile::NamedTempFile,
}

impl Kubectl {
    fn new(live: &Live) -> Self {
        let kubeconfig = tempfile::NamedTempFile::new().expect("tempfile");
        live.sim.write_kubeconfig(kubeconfig.path()).expect("kubeconfig");
        Self { kubeconfig }
    }

    async fn run(&self, args: &[&str]) -> String {
        let mut command = tokio::process::Command::new(common::kubectl());
        command.arg("--kubeconfig").arg(self.kubeconfig.path()).args(args);
        let output = command.output().await.expect("kubectl runs");
        assert!(output.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_installs_changes_and_removes_a_plugin() {
    let live = Live::start().await;
    let kubectl = Kubectl::new(&live);
    let module = format!("plugin.wasm={}", example_path("hello", "wasm32-wasip2").display());
    kubectl.run(&["create", "configmap", "hello-module", "-n", "weft-system", "--from-file", &module]).await;
    let manifest = repo().join("examples/hello/plugin.yaml");
    kubectl.run(&["apply", "-f", manifest.to_str().expect("utf-8 path")]).await;

    eventually("kubectl shows the plugin ready", || async {
        let table = kubectl.run(&["get", "plugins"]).await;
        let row = table.lines().find(|l| l.starts_with("hello "))?.to_owned();
        (row.contains("True") && row.contains("hello 0.1.0")).then_some(())
    })
    .await;

    kubectl.run(&["create", "configmap", "greet-me"]).await;
    kubectl.run(&["label", "configmap", "greet-me", "weft.dev/hello="]).await;
    let jsonpath = r"jsonpath={.metadata.annotations.weft\.dev/greeting}";
    eventually("greeting", || async {
        (kubectl.run(&["get", "configmap", "greet-me", "-o", jsonpath]).await == "hello, default/greet-me")
            .then_some(())
    })
    .await;

    kubectl.run(&["patch", "plugin", "hello", "--type=merge", "-p", r#"{"spec":{"config":{"greeting":"hi"}}}"#]).await;
    eventually("new greeting", || async {
        (kubectl.run(&["get", "configmap", "greet-me", "-o", jsonpath]).await == "hi, default/greet-me").then_some(())
    })
    .await;

    let events = kubectl
        .run(&[
            "get",
            "events.events.k8s.io",
            "-o",
            r#"jsonpath={range .items[*]}{.regarding.kind} {.reason}{"\n"}{end}"#,
        ])
        .await;
    assert!(events.lines().any(|l| l == "Plugin Loaded"), "{events}");
    assert!(events.lines().any(|l| l == "Plugin Swapped"), "a new config is a swap: {events}");

    kubectl.run(&["delete", "plugin", "hello"]).await;
    eventually("plugin stopped", || async { live.host.running_plugins().is_empty().then_some(()) }).await;
    live.stop().await;
}
