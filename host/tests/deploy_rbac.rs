//! The host under exactly the RBAC `deploy/` installs: an emulator enforcing RBAC, loaded with
//! `kubectl apply -k deploy/` and `deploy/examples/hello-access.yaml`, and `weft run` started as
//! the Deployment starts it, with the token of deploy/'s ServiceAccount. The hello Plugin loads
//! and reconciles; and a Plugin bound to a ServiceAccount of its own writes where that
//! ServiceAccount may and is refused, with the refusal in its status, where it may not.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::live::{configmap, eventually};
use common::processes::{free_port, weft_binary};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use weft_sim::{AuthConfig, AuthorizationMode, Sim, SimConfig};

/// The host process, killed if the test ends early.
struct HostGuard(std::process::Child);

impl Drop for HostGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) {
    let output =
        Command::new(common::kubectl()).arg("--kubeconfig").arg(kubeconfig).args(args).output().expect("kubectl");
    assert!(output.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// The container args of deploy/'s Deployment.
fn deployment_args() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/deployment.yaml");
    let deployment: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).expect("read")).expect("yaml");
    let args = &deployment["spec"]["template"]["spec"]["containers"][0]["args"];
    args.as_array().expect("args").iter().map(|a| a.as_str().expect("string").to_owned()).collect()
}

async fn apply(client: &kube::Client, object: Value) {
    let name = object["metadata"]["name"].as_str().expect("name").to_owned();
    let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
    let (group, version) = object["apiVersion"].as_str().expect("apiVersion").split_once('/').unwrap_or(("", "v1"));
    let kind = object["kind"].as_str().expect("kind");
    let resource = kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(group, version, kind));
    let api: Api<kube::api::DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), &ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.patch(&name, &PatchParams::apply("test").force(), &Patch::Apply(object)).await.expect("applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_runs_on_exactly_deploys_rbac_and_a_plugin_writes_as_its_own_service_account() {
    let auth = AuthConfig { mode: AuthorizationMode::Rbac, ..AuthConfig::default() };
    let sim = Sim::start(SimConfig { auth, tls: true, ..SimConfig::default() }).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = dir.path().join("admin.kubeconfig");
    sim.write_kubeconfig(&admin).expect("kubeconfig");
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let deploy = deploy.to_str().expect("utf-8").to_owned();
    let admin_path = admin.clone();
    tokio::task::spawn_blocking(move || {
        kubectl(&admin_path, &["apply", "--server-side", "-k", &deploy]);
        kubectl(&admin_path, &["apply", "--server-side", "-f", &format!("{deploy}/examples/hello-access.yaml")]);
    })
    .await
    .expect("kubectl");
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig"),
        &Default::default(),
    )
    .await
    .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    common::live::Live::module_configmap_on(&client, "hello-module", "hello").await;

    // The hello Plugin, with the host's identity; and one bound to a ServiceAccount that may
    // patch ConfigMaps in `allowed` only.
    for namespace in ["allowed", "denied"] {
        apply(&client, json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": namespace } })).await;
    }
    apply(&client, json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": { "name": "writer", "namespace": "allowed" } })).await;
    apply(
        &client,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": { "name": "patch-configmaps", "namespace": "allowed" },
            "rules": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
        }),
    )
    .await;
    apply(
        &client,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": { "name": "writer", "namespace": "allowed" },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "patch-configmaps" },
            "subjects": [{ "kind": "ServiceAccount", "name": "writer", "namespace": "allowed" }],
        }),
    )
    .await;
    let plugin = |name: &str, namespaces: &[&str], account: Option<Value>| {
        let mut spec = json!({
            "module": { "configMap": { "namespace": "weft-system", "name": "hello-module", "key": "plugin.wasm" } },
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
            "namespaces": namespaces,
        });
        if let Some(account) = account {
            spec["serviceAccount"] = account;
        }
        json!({ "apiVersion": "weft.dev/v1alpha1", "kind": "Plugin", "metadata": { "name": name }, "spec": spec })
    };
    apply(&client, plugin("hello", &["default"], None)).await;
    apply(&client, plugin("writer", &["allowed", "denied"], Some(json!({ "namespace": "allowed", "name": "writer" }))))
        .await;
    for namespace in ["default", "allowed", "denied"] {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
        cms.create(&PostParams::default(), &configmap("greet-me", &[("weft.dev/hello", "")], &[]))
            .await
            .expect("create");
    }

    // weft run as the Deployment runs it, as deploy/'s ServiceAccount.
    let token = sim.service_account_token("weft-system", "weft", Duration::from_secs(3600)).expect("token");
    let host_kubeconfig = dir.path().join("host.kubeconfig");
    std::fs::write(&host_kubeconfig, sim.kubeconfig_with_token(&token)).expect("write");
    let log = dir.path().join("host.log");
    let args: Vec<String> = deployment_args()
        .into_iter()
        .map(|arg| match arg.split_once('=') {
            Some(("--cache-dir", _)) => {
                format!("--cache-dir={}", std::env::temp_dir().join("weft-test-compiled").display())
            }
            Some(("--metrics-addr", _)) => format!("--metrics-addr=127.0.0.1:{}", free_port()),
            _ => arg,
        })
        .collect();
    let mut host = HostGuard(
        Command::new(weft_binary())
            .args(&args)
            .env("KUBECONFIG", &host_kubeconfig)
            .env("POD_NAME", "weft-0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("weft run starts"),
    );

    let greeting = |namespace: &'static str| {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
        async move { cms.get("greet-me").await.ok()?.metadata.annotations?.get("weft.dev/greeting").cloned() }
    };
    assert_eq!(eventually("hello greets in default", || greeting("default")).await, "hello, default/greet-me");
    assert_eq!(eventually("the writer greets in allowed", || greeting("allowed")).await, "hello, allowed/greet-me");
    let plugins: Api<weft::crd::Plugin> = Api::all(client.clone());
    let refused = eventually("the writer's refusal in its status", || async {
        plugins.get("writer").await.ok()?.status?.last_error.filter(|e| e.contains("denied"))
    })
    .await;
    assert!(
        refused.contains(r#"User "system:serviceaccount:allowed:writer" cannot patch resource "configmaps""#),
        "{refused}"
    );
    assert_eq!(greeting("denied").await, None, "nothing was written where the ServiceAccount may not");
    let ready = eventually("hello Ready", || async {
        let status = plugins.get("hello").await.ok()?.status?;
        status.conditions.into_iter().find(|c| c.type_ == "Ready" && c.status == "True")
    })
    .await;
    assert_eq!(ready.reason, "Running");

    let _ = Command::new("kill").args(["-TERM", &host.0.id().to_string()]).status();
    assert!(host.0.wait().expect("exits").success());
    let log = std::fs::read_to_string(&log).expect("log");
    assert!(
        !log.contains(r#"User \"system:serviceaccount:weft-system:weft\" cannot"#)
            && !log.contains(r#"User "system:serviceaccount:weft-system:weft" cannot"#),
        "the host itself was refused something deploy/ should grant:\n{log}"
    );
    sim.stop().await;
}
