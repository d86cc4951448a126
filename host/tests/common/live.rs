//! The emulator and a host in one test process, talking over HTTP with the real kube client.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weft::Backoff;
use weft::Sources;
use weft::crd::{Plugin, PluginCondition, PluginStatus};
use weft::{Host, HostConfig};
use weft_sim::{Sim, SimConfig};

use super::example_bytes;

pub struct Live {
    pub sim: Sim,
    pub client: Client,
    pub host: Host,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Live {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with the test defaults, adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut HostConfig)) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let config = SimConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..Default::default() };
        let sim = Sim::start(config).await.expect("sim starts");
        let cluster = kube::Config::new(sim.url().parse().expect("url"));
        let client = Client::try_from(cluster.clone()).expect("client");
        weft::dev::install_crd(&client).await.expect("Plugin CRD installs");
        let mut host_config = HostConfig {
            sources: Sources { allow_path: true },
            cluster: Some(cluster),
            status_interval: Duration::from_millis(100),
            ..HostConfig::default()
        };
        host_config.controller.backoff = Backoff { base: Duration::from_millis(20), max: Duration::from_secs(2) };
        host_config.controller.stop_grace = Duration::from_secs(5);
        host_config.limits.timeout = Duration::from_secs(2);
        host_config.runtime.cache_dir = Some(std::env::temp_dir().join("weft-test-compiled"));
        adjust(&mut host_config);
        let host = Host::new(client.clone(), host_config).expect("host");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let (host, shutdown) = (host.clone(), shutdown.clone());
            async move { host.run(shutdown).await }
        });
        Self { sim, client, host, shutdown, task }
    }

    /// Stops the harness's host and hands back the emulator and the stopped host.
    pub async fn into_parts(self) -> (Sim, Host) {
        self.shutdown.cancel();
        self.task.await.expect("host task").expect("host ran cleanly");
        (self.sim, self.host)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("host task").expect("host ran cleanly");
        self.sim.stop().await;
    }

    /// A ConfigMap in `weft-system` holding an example's module under `plugin.wasm`.
    pub async fn module_configmap(&self, name: &str, example: &str) {
        Self::module_configmap_on(&self.client, name, example).await;
    }

    /// [`module_configmap`](Self::module_configmap) through any client.
    pub async fn module_configmap_on(client: &Client, name: &str, example: &str) {
        Self::store_module(client, name, example_bytes(example)).await.expect("module ConfigMap created");
    }

    /// A ConfigMap in `weft-system` holding `module` under `plugin.wasm`, if the API server takes it.
    pub async fn store_module(client: &Client, name: &str, module: Vec<u8>) -> kube::Result<ConfigMap> {
        let cm = ConfigMap {
            metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
            binary_data: Some([("plugin.wasm".to_owned(), ByteString(module))].into()),
            ..Default::default()
        };
        Api::<ConfigMap>::namespaced(client.clone(), "weft-system").create(&PostParams::default(), &cm).await
    }

    /// Server-side applies a Plugin with this spec.
    pub async fn apply_plugin(&self, name: &str, spec: Value) {
        let plugin =
            json!({ "apiVersion": "weft.dev/v1alpha1", "kind": "Plugin", "metadata": { "name": name }, "spec": spec });
        self.plugins()
            .patch(name, &PatchParams::apply("test").force(), &Patch::Apply(plugin))
            .await
            .expect("Plugin applied");
    }

    pub fn plugins(&self) -> Api<Plugin> {
        Api::all(self.client.clone())
    }

    pub fn configmaps(&self, namespace: &str) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub async fn status(&self, name: &str) -> Option<PluginStatus> {
        self.plugins().get_opt(name).await.expect("get Plugin").and_then(|p| p.status)
    }

    /// Waits for a Plugin condition with this status and reason.
    pub async fn wait_condition(&self, name: &str, type_: &str, status: &str, reason: &str) -> PluginCondition {
        eventually(&format!("Plugin {name} {type_}={status} ({reason})"), || async {
            self.status(name)
                .await?
                .conditions
                .into_iter()
                .find(|c| c.type_ == type_ && c.status == status && c.reason == reason)
        })
        .await
    }

    pub async fn namespace(&self, name: &str) {
        let ns = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } });
        Api::<k8s_openapi::api::core::v1::Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &serde_json::from_value(ns).expect("namespace"))
            .await
            .expect("namespace created");
    }

    pub async fn annotation(&self, namespace: &str, name: &str, key: &str) -> Option<String> {
        let cm = self.configmaps(namespace).get_opt(name).await.expect("get ConfigMap")?;
        cm.metadata.annotations?.get(key).cloned()
    }
}

/// A labelled ConfigMap.
pub fn configmap(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            ..Default::default()
        },
        data: Some(data.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
        ..Default::default()
    }
}

/// Polls `check` until it yields a value; panics naming `what` after 30 seconds.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(what, Duration::from_secs(30), check).await
}

/// [`eventually`] with a longer patience, for what waits on compiles (a Python module takes tens of
/// seconds in a debug build).
pub async fn eventually_within<T, F, Fut>(what: &str, patience: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
