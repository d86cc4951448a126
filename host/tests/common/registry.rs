//! Real OCI registries for the tests: Debian's `docker-registry` (distribution 2.8) on a
//! loopback port with storage in a temporary directory, anonymous, with htpasswd Basic auth, with
//! Bearer tokens from a small token server, or redirecting blob downloads (307) to a plain file
//! server, as registries on object storage do; each stopped when dropped.
//!
//! Without `docker-registry` (or python3 with `cryptography`, for tokens) a test that needs one
//! says so and passes, unless `WEFT_REQUIRE_REGISTRY` is set, as `scripts/test` sets it: there a
//! missing tool is a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use weft::oci::push::{Artifact, push_module};
use weft::oci::{Credentials, OciConfig, Reference, RegistryClient};

use super::processes::free_port;

/// The user and password the htpasswd and token registries accept.
pub const USER: &str = "weft";
pub const PASSWORD: &str = "s3cret";
/// bcrypt of `PASSWORD` (distribution accepts bcrypt only).
const HTPASSWD: &str = "weft:$2b$10$Zj8fiRlldcUkt5mlEA79E.V1XLtASmGK7/WpIQp6VfhpVtDIYfXDW\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Anonymous,
    Htpasswd,
    Token,
    /// Anonymous, with blob downloads redirected to another server.
    Redirecting,
}

/// Whether a missing tool should fail the test rather than skip it.
fn required() -> bool {
    std::env::var_os("WEFT_REQUIRE_REGISTRY").is_some()
}

/// `None`, after saying why, when `tool` is missing and not required.
pub fn available(tool: &str, probe: &mut Command) -> bool {
    let ok = probe.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    assert!(ok || !required(), "{tool} is required (WEFT_REQUIRE_REGISTRY is set) but cannot run");
    if !ok {
        eprintln!("SKIPPED: {tool} cannot run here; install it (scripts/test does) to run this test");
    }
    ok
}

pub struct Registry {
    child: Option<Child>,
    /// The token server, or the file server redirects go to.
    helper: Option<Child>,
    pub addr: String,
    pub auth: Auth,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry, or returns `None` (having said why) when it cannot run here.
    pub async fn start(auth: Auth) -> Option<Self> {
        if !available("docker-registry", Command::new("docker-registry").arg("--version")) {
            return None;
        }
        if matches!(auth, Auth::Token | Auth::Redirecting)
            && !available("python3 with cryptography", Command::new("python3").args(["-c", "import cryptography"]))
        {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut extra = String::new();
        let mut helper = None;
        match auth {
            Auth::Anonymous => {}
            Auth::Redirecting => {
                let port = free_port();
                let data = dir.path().join("data");
                std::fs::create_dir_all(&data).expect("data dir");
                let child = Command::new("python3")
                    .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
                    .arg(&data)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("file server starts");
                helper = Some(child);
                extra = format!(
                    "middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: http://127.0.0.1:{port}/\n"
                );
            }
            Auth::Htpasswd => {
                std::fs::write(dir.path().join("htpasswd"), HTPASSWD).expect("htpasswd");
                let path = dir.path().join("htpasswd");
                extra = format!("auth:\n  htpasswd:\n    realm: weft-basic\n    path: {}\n", path.display());
            }
            Auth::Token => {
                let port = free_port();
                let cert = dir.path().join("root.crt");
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oci/token_server.py");
                let child = Command::new("python3")
                    .arg(script)
                    .args([&port.to_string(), USER, PASSWORD])
                    .arg(&cert)
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("token server starts");
                helper = Some(child);
                wait_for(|| cert.exists(), "the token server's certificate").await;
                extra = format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{port}/token\n    service: weft-test\n    \
                     issuer: weft-test-issuer\n    rootcertbundle: {}\n",
                    cert.display()
                );
            }
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    \
             enabled: true\nhttp:\n  addr: {addr}\n{extra}",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).expect("registry config");
        let mut registry = Self { child: None, helper, addr, auth, dir };
        registry.resume().await;
        Some(registry)
    }

    /// Starts the registry process again (same port, same storage) after [`Self::pause`].
    pub async fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        self.child = Some(child);
        let addr = self.addr.clone();
        wait_for(move || std::net::TcpStream::connect(&addr).is_ok(), "the registry to listen").await;
    }

    /// Stops the registry process, as an outage would.
    pub fn pause(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `ADDR/REPOSITORY:TAG` (or any target after the colon).
    pub fn reference(&self, repository_and_tag: &str) -> String {
        format!("{}/{repository_and_tag}", self.addr)
    }

    /// What the host needs to reach this registry over plain HTTP.
    pub fn oci_config(&self) -> OciConfig {
        OciConfig { insecure: [self.addr.clone()].into(), ..OciConfig::default() }
    }

    /// A client with the registry's credentials (when it has auth).
    pub fn client(&self) -> RegistryClient {
        let credentials = matches!(self.auth, Auth::Htpasswd | Auth::Token)
            .then(|| Credentials { username: USER.into(), password: PASSWORD.into() });
        RegistryClient::new(&self.addr, &self.addr, credentials, &self.oci_config()).expect("client")
    }

    /// Pushes `module` in the CNCF layout and returns the manifest digest.
    pub async fn push(&self, reference: &str, module: &[u8]) -> String {
        let reference: Reference = reference.parse().expect("reference");
        let artifact = Artifact {
            name: "hello".into(),
            version: "0.1.0".into(),
            file_name: "plugin.wasm".into(),
            created: "1970-01-01T00:00:00Z".into(),
            os: "wasip2",
            imports: Vec::new(),
            exports: Vec::new(),
        };
        push_module(&self.client(), &reference, Bytes::from(module.to_vec()), &artifact).await.expect("pushed")
    }

    /// Where the registry keeps the blob with `digest`, to damage it.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        self.dir.path().join(format!("data/docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]))
    }

    /// A Docker config file (the `.dockerconfigjson` of a pull secret) for this registry.
    pub fn docker_config(&self, user: &str, password: &str) -> String {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        serde_json::json!({ "auths": { &self.addr: { "auth": auth } } }).to_string()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.pause();
        if let Some(mut child) = self.helper.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn wait_for(mut ready: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A host in the test harness that reaches `registry` over plain HTTP, retrying quickly.
pub async fn live_for(registry: &Registry, adjust: impl FnOnce(&mut weft::HostConfig)) -> super::live::Live {
    let mut oci = registry.oci_config();
    oci.limits.attempts = 2;
    oci.limits.backoff = weft::Backoff { base: Duration::from_millis(50), max: Duration::from_millis(200) };
    oci.limits.request_timeout = Duration::from_secs(5);
    super::live::Live::start_with(|config| {
        config.oci = oci;
        config.refetch = weft::Backoff { base: Duration::from_millis(200), max: Duration::from_secs(1) };
        adjust(config);
    })
    .await
}

/// A Plugin spec loading the `hello` example from `reference`, granted what it needs.
pub fn hello_spec(reference: &str) -> serde_json::Value {
    serde_json::json!({
        "module": { "oci": { "reference": reference } },
        "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
    })
}

/// Creates a ConfigMap `name` for `hello` and waits until some running plugin greets it.
pub async fn greeted(live: &super::live::Live, name: &str) -> String {
    use kube::api::PostParams;
    let object = super::live::configmap(name, &[("weft.dev/hello", "")], &[]);
    live.configmaps("default").create(&PostParams::default(), &object).await.expect("ConfigMap created");
    super::live::eventually(&format!("{name} greeted"), || async {
        live.annotation("default", name, "weft.dev/greeting").await
    })
    .await
}
