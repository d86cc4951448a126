//! `weft dev` (the API emulator and the host in one process, for trying plugins without a cluster)
//! and `weft sim` (the emulator alone).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::core::crd::CustomResourceExt;
use kube::discovery::pinned_kind;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::crd::Plugin;
use crate::{Host, Sources};

/// Field manager for what `weft dev` applies.
const MANAGER: &str = "weft-dev";

/// Where the demo finds the `hello` example (built by `scripts/build-examples`).
pub const DEMO_MODULE: &str = "examples/target/wasm32-wasip2/release/hello.wasm";

/// Options of `weft dev`.
#[derive(Debug, Clone)]
pub struct DevOptions {
    pub listen: std::net::SocketAddr,
    pub kubeconfig: PathBuf,
    pub manifests: Vec<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    /// Periodic resync of every plugin's primaries.
    pub resync: Option<Duration>,
    /// How long a plugin may be idle before it releases its compiled code.
    pub idle_after: Option<Duration>,
    /// Where to serve /metrics, /healthz and /readyz, if anywhere.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Registries: plain-HTTP ones and required signatures.
    pub oci: crate::oci::OciConfig,
}

/// Runs until `shutdown`: emulator, Plugin CRD, host, then the manifests (or the demo).
pub async fn run(options: DevOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let config = weft_sim::SimConfig { listen: options.listen, ..Default::default() };
    let sim = weft_sim::Sim::start(config).await?;
    sim.write_kubeconfig(&options.kubeconfig)
        .with_context(|| format!("cannot write kubeconfig to {}", options.kubeconfig.display()))?;
    let cluster = kube::Config::new(sim.url().parse()?);
    let client = kube::Client::try_from(cluster.clone())?;
    install_crd(&client).await?;

    let mut host_config = crate::run::host_config(
        cluster,
        options.cache_dir.clone(),
        options.resync,
        options.idle_after,
        options.oci.clone(),
    );
    host_config.sources = Sources { allow_path: true };
    let host = Host::new(client.clone(), host_config)?;
    if let Some(addr) = options.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        println!("metrics and health: http://{}/metrics", listener.local_addr()?);
        tokio::spawn(crate::serve(listener, host.clone(), shutdown.clone()));
    }
    let host_task = tokio::spawn({
        let (host, shutdown) = (host.clone(), shutdown.clone());
        async move { host.run(shutdown).await }
    });

    println!("weft dev: Kubernetes API emulator at {}", sim.url());
    println!("kubeconfig: {}", options.kubeconfig.display());
    if options.manifests.is_empty() {
        demo(&client).await?;
        println!(
            "\nDemo: the hello plugin is loaded from {DEMO_MODULE} and greets ConfigMaps labelled weft.dev/hello."
        );
        println!("Try, in another shell:");
        let kc = options.kubeconfig.display();
        println!("  export KUBECONFIG={kc}");
        println!("  kubectl get plugins");
        println!("  kubectl get configmap demo -o jsonpath='{{.metadata.annotations}}'");
        println!("  kubectl create configmap mine && kubectl label configmap mine weft.dev/hello=");
        println!("  kubectl patch plugin hello --type=merge -p '{{\"spec\":{{\"config\":{{\"greeting\":\"hi\"}}}}}}'");
        println!("  kubectl delete plugin hello");
    } else {
        for manifest in &options.manifests {
            let applied = apply_file(&client, manifest).await?;
            println!("applied {applied} object(s) from {}", manifest.display());
        }
    }
    println!("Stop with Ctrl-C.");
    host_task.await??;
    sim.stop().await;
    Ok(())
}

/// Options of `weft sim`.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub listen: std::net::SocketAddr,
    pub kubeconfig: PathBuf,
    /// Events kept for watch resumption.
    pub history: usize,
    pub authorization: weft_sim::AuthorizationMode,
    /// kube-apiserver's `--token-auth-file`.
    pub token_auth_file: Option<PathBuf>,
}

/// Serves the emulator alone until `shutdown`.
pub async fn sim(options: SimOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let static_tokens = match &options.token_auth_file {
        Some(path) => weft_sim::auth::read_token_file(path)?,
        None => Vec::new(),
    };
    let config = weft_sim::SimConfig {
        listen: options.listen,
        store: weft_sim::StoreConfig { history_capacity: options.history, ..Default::default() },
        auth: weft_sim::AuthConfig { mode: options.authorization, static_tokens },
        // kubectl sends tokens only over TLS, so an emulator that checks them serves HTTPS.
        tls: options.authorization == weft_sim::AuthorizationMode::Rbac,
        ..Default::default()
    };
    let sim = weft_sim::Sim::start(config).await?;
    let kubeconfig = options.kubeconfig.display();
    sim.write_kubeconfig(&options.kubeconfig).with_context(|| format!("cannot write kubeconfig to {kubeconfig}"))?;
    println!("Kubernetes API emulator serving at {}", sim.url());
    println!("kubeconfig written to {kubeconfig}; try: kubectl --kubeconfig {kubeconfig} get namespaces");
    shutdown.cancelled().await;
    sim.stop().await;
    Ok(())
}

/// Installs (or updates) the Plugin CRD and waits until it is served.
pub async fn install_crd(client: &kube::Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = Plugin::crd();
    let params = PatchParams::apply(MANAGER).force();
    crds.patch(&crd.metadata.name.clone().unwrap_or_default(), &params, &Patch::Apply(&crd)).await?;
    wait_for_kind(client, &GroupVersionKind::gvk("weft.dev", "v1alpha1", "Plugin")).await?;
    Ok(())
}

/// Waits for a kind to be served (CRDs become established asynchronously).
async fn wait_for_kind(
    client: &kube::Client,
    gvk: &GroupVersionKind,
) -> anyhow::Result<(kube::api::ApiResource, kube::discovery::ApiCapabilities)> {
    let mut last = None;
    for _ in 0..100 {
        match pinned_kind(client, gvk).await {
            Ok(found) => return Ok(found),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(anyhow::anyhow!("{}/{} {} is not served: {:?}", gvk.group, gvk.version, gvk.kind, last))
}

/// The demo: a labelled ConfigMap and the hello Plugin, loaded from the built example.
async fn demo(client: &kube::Client) -> anyhow::Result<()> {
    let module = std::fs::canonicalize(DEMO_MODULE).with_context(|| {
        format!("{DEMO_MODULE} is missing: run scripts/build-examples first (from the repository root)")
    })?;
    let objects = serde_json::json!([
        {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "demo", "namespace": "default", "labels": { "weft.dev/hello": "" } },
            "data": { "note": "reconciled by the hello plugin" },
        },
        {
            "apiVersion": "weft.dev/v1alpha1", "kind": "Plugin",
            "metadata": { "name": "hello" },
            "spec": {
                "module": { "path": module },
                "config": { "greeting": "hello" },
                "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
            },
        },
    ]);
    for object in objects.as_array().into_iter().flatten() {
        apply(client, object.clone()).await?;
    }
    Ok(())
}

/// Applies every document of a YAML file; a Plugin's relative `module.path` is taken relative to
/// the file.
pub async fn apply_file(client: &kube::Client, path: &Path) -> anyhow::Result<usize> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&text).with_context(|| format!("{} is not YAML", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut count = 0;
    for mut doc in docs.into_iter().filter(|d| !d.is_null()) {
        if doc["kind"] == "Plugin"
            && let Some(module_path) = doc["spec"]["module"]["path"].as_str()
            && Path::new(module_path).is_relative()
        {
            doc["spec"]["module"]["path"] = Value::String(base.join(module_path).display().to_string());
        }
        apply(client, doc).await?;
        count += 1;
    }
    Ok(count)
}

async fn apply(client: &kube::Client, object: Value) -> anyhow::Result<()> {
    let api_version = object["apiVersion"].as_str().context("object without apiVersion")?;
    let kind = object["kind"].as_str().context("object without kind")?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (resource, capabilities) = wait_for_kind(client, &GroupVersionKind::gvk(group, version, kind)).await?;
    let name = object["metadata"]["name"].as_str().context("object without metadata.name")?.to_owned();
    let api: Api<DynamicObject> = match (capabilities.scope, object["metadata"]["namespace"].as_str()) {
        (kube::discovery::Scope::Namespaced, namespace) => {
            Api::namespaced_with(client.clone(), namespace.unwrap_or("default"), &resource)
        }
        (kube::discovery::Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
    };
    api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&object))
        .await
        .with_context(|| format!("applying {kind} {name}"))?;
    Ok(())
}
