//! The emulator and the host as processes of their own (the `weft` binary), so what is measured
//! of the host (its memory above all) is the host's alone. Used by the density test and the
//! density benchmark.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use weft::crd::Plugin;

/// A free loopback port (released again, so a child process can take it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The `weft` binary this test was built with, copied aside at first use, so that a build of the
/// same target directory running meanwhile cannot swap it under the test's later processes.
pub fn weft_binary() -> &'static Path {
    static COPY: std::sync::LazyLock<PathBuf> = std::sync::LazyLock::new(|| {
        let dir = std::env::temp_dir().join(format!("weft-test-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the binary");
        let copy = dir.join("weft");
        std::fs::copy(env!("CARGO_BIN_EXE_weft"), &copy).expect("copy the weft binary");
        copy
    });
    &COPY
}

fn weft() -> Command {
    Command::new(weft_binary())
}

/// Stops a child with SIGTERM and waits for it; kills it if it does not exit within 30 s.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `weft sim` on a loopback port.
pub struct Emulator {
    child: Child,
    pub kubeconfig: PathBuf,
    pub client: Client,
    _dir: tempfile::TempDir,
}

impl Emulator {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let child = weft()
            .args(["sim", "--listen", &format!("127.0.0.1:{}", free_port()), "--history", "200000"])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("weft sim starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !kubeconfig.exists() {
            assert!(Instant::now() < deadline, "weft sim wrote no kubeconfig");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig"),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .expect("config");
        let client = Client::try_from(config).expect("client");
        weft::dev::install_crd(&client).await.expect("Plugin CRD installs");
        Self { child, kubeconfig, client, _dir: dir }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// Memory of a process, from `/proc/PID/smaps_rollup` and `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    /// Proportional set size: shared pages divided among the processes mapping them.
    pub pss: u64,
    /// Anonymous (heap and pool) pages.
    pub anon: u64,
    /// Peak resident set size.
    pub peak: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Self {
        let kib = |text: &str, field: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or_default()
                * 1024
        };
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        Self {
            rss: kib(&rollup, "Rss:"),
            pss: kib(&rollup, "Pss:"),
            anon: kib(&rollup, "Anonymous:"),
            peak: kib(&status, "VmHWM:"),
        }
    }
}

/// `weft run` against an emulator.
pub struct HostProcess {
    child: Child,
    endpoints: std::net::SocketAddr,
}

impl HostProcess {
    /// Starts the host with `cache` for compiled plugins and `args` added to `weft run`.
    pub fn start(emulator: &Emulator, cache: &Path, args: &[&str]) -> Self {
        let endpoints = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
        let child = weft()
            .args(["run", "--metrics-addr", &endpoints.to_string()])
            .arg("--cache-dir")
            .arg(cache)
            .args(args)
            .env("KUBECONFIG", &emulator.kubeconfig)
            .env("RUST_LOG", std::env::var("WEFT_HOST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .spawn()
            .expect("weft run starts");
        Self { child, endpoints }
    }

    /// The body of a GET of one of the host's endpoints, if it answers 200.
    pub async fn get(&self, path: &str) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.endpoints).await.ok()?;
        stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: weft\r\n\r\n").as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        (head.split_whitespace().nth(1) == Some("200")).then(|| body.to_owned())
    }

    /// A gauge or counter without labels from `/metrics`.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let text = self.get("/metrics").await?;
        text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// Waits until `/readyz` answers and `count` plugins run; panics after `limit`.
    pub async fn wait_running(&self, count: usize, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let running = self.metric("weft_plugins_running").await.unwrap_or_default() as usize;
            if running >= count && self.get("/readyz").await.is_some() {
                return started.elapsed();
            }
            assert!(started.elapsed() < limit, "the host did not run {count} plugins within {limit:?} ({running} run)");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn memory(&self) -> Memory {
        Memory::of(self.child.id())
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    pub fn stop(mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        if self.alive() {
            terminate(&mut self.child);
        }
    }
}

/// `bytes` with a custom section appended: the same plugin under a digest of its own, so it is
/// compiled and cached on its own.
pub fn variant(bytes: &[u8], n: usize) -> Vec<u8> {
    let name = format!("weft-variant-{n}");
    let mut section = vec![u8::try_from(name.len()).expect("short name")];
    section.extend_from_slice(name.as_bytes());
    let mut out = bytes.to_vec();
    out.push(0); // custom section id
    out.push(u8::try_from(section.len()).expect("short section"));
    out.extend_from_slice(&section);
    out
}

/// ConfigMaps `module-0` … in `weft-system`, each holding a distinct variant of `bytes`.
pub async fn module_configmaps(client: &Client, bytes: &[u8], count: usize) {
    for n in 0..count {
        module_configmap(client, &format!("module-{n}"), variant(bytes, n)).await;
    }
}

/// A ConfigMap in `weft-system` holding `bytes` under `plugin.wasm`.
pub async fn module_configmap(client: &Client, name: &str, bytes: Vec<u8>) {
    let cm = ConfigMap {
        metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
        binary_data: Some([("plugin.wasm".to_owned(), ByteString(bytes))].into()),
        ..Default::default()
    };
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "weft-system");
    api.patch(name, &PatchParams::apply("test").force(), &Patch::Apply(&cm)).await.expect("module ConfigMap");
}

/// Applies one Plugin loading the module in ConfigMap `module`, granted `verbs` on ConfigMaps.
pub async fn apply_plugin(client: &Client, name: &str, module: &str, verbs: &[&str], namespaces: &[&str]) {
    let plugin = json!({
        "apiVersion": "weft.dev/v1alpha1", "kind": "Plugin", "metadata": { "name": name },
        "spec": {
            "module": { "configMap": { "namespace": "weft-system", "name": module, "key": "plugin.wasm" } },
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": verbs }],
            "namespaces": namespaces,
        },
    });
    let api: Api<Plugin> = Api::all(client.clone());
    api.patch(name, &PatchParams::apply("test").force(), &Patch::Apply(plugin)).await.expect("Plugin applied");
}

/// Applies Plugins `{prefix}0` … `{prefix}{count - 1}`, plugin `i` loading `module-{i % modules}`,
/// with `in_flight` applies at once.
pub async fn apply_plugins(client: &Client, prefix: &str, count: usize, modules: usize, in_flight: usize) {
    use futures::StreamExt;
    let api: Api<Plugin> = Api::all(client.clone());
    futures::stream::iter(0..count)
        .map(|i| {
            let api = api.clone();
            let name = format!("{prefix}{i}");
            let plugin = json!({
                "apiVersion": "weft.dev/v1alpha1", "kind": "Plugin", "metadata": { "name": name },
                "spec": {
                    "module": { "configMap": {
                        "namespace": "weft-system", "name": format!("module-{}", i % modules), "key": "plugin.wasm",
                    } },
                    "config": { "greeting": "hello" },
                    "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
                },
            });
            async move { api.patch(&name, &PatchParams::apply("test").force(), &Patch::Apply(plugin)).await }
        })
        .buffer_unordered(in_flight)
        .for_each(|applied| async move {
            applied.expect("Plugin applied");
        })
        .await;
}

/// How many Plugins have a condition of this type with status `True`.
pub async fn count_condition(client: &Client, type_: &str) -> usize {
    let api: Api<Plugin> = Api::all(client.clone());
    let plugins = api.list(&ListParams::default()).await.expect("list Plugins");
    plugins
        .items
        .iter()
        .filter(|p| {
            p.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.type_ == type_ && c.status == "True"))
        })
        .count()
}

/// Waits until `count` Plugins have `type_=True`; panics after `limit`.
pub async fn wait_for_condition(client: &Client, type_: &str, count: usize, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if count_condition(client, type_).await >= count {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{count} Plugins did not reach {type_}=True within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
