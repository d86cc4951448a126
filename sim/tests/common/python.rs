//! The official Python `kubernetes` client (PyPI, pinned in `scripts/test`) run against a test
//! emulator: each snippet gets `v1`, `apps`, `co` (custom objects), `ev` (events.k8s.io) and
//! `rbac` clients from the emulator's kubeconfig, and `out(x)` prints `x` as the JSON result.

use std::time::Duration;

use serde_json::Value;

const PRELUDE: &str = r#"
import json, os, sys
from kubernetes import client, config
config.load_kube_config(os.environ["KUBECONFIG"])
api = client.ApiClient()
v1, apps, co = client.CoreV1Api(), client.AppsV1Api(), client.CustomObjectsApi()
ev, rbac = client.EventsV1Api(), client.RbacAuthorizationV1Api()
def out(x):
    print(json.dumps(api.sanitize_for_serialization(x)))
"#;

/// Python with the `kubernetes` client: `$PYTHON`, else `python3`.
pub struct Python {
    dir: tempfile::TempDir,
}

impl Python {
    /// A client set up for `sim`'s kubeconfig.
    pub fn new(sim: &weft_sim::Sim) -> Self {
        let dir = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&dir.path().join("kubeconfig")).unwrap();
        Self { dir }
    }

    /// Runs `snippet` after the prelude and returns what it passed to `out`; panics with the
    /// traceback when it fails.
    pub async fn run(&self, snippet: &str) -> Value {
        let (ok, stdout, stderr) = self.output(snippet).await;
        assert!(ok, "python snippet failed:\n{snippet}\n{stderr}");
        serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap()
    }

    /// Runs `snippet` and returns success, stdout and stderr.
    pub async fn output(&self, snippet: &str) -> (bool, String, String) {
        let script = self.dir.path().join("snippet.py");
        std::fs::write(&script, format!("{PRELUDE}\n{snippet}\n")).unwrap();
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let run = tokio::process::Command::new(&python)
            .arg(&script)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(60), run).await.expect("python hung").unwrap_or_else(|e| {
            panic!("cannot run {python}: {e}; install the client with `pip install kubernetes` (scripts/test does)")
        });
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}
