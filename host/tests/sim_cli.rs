//! `weft sim` as a process: it writes a working kubeconfig, serves the kube client, and exits 0 on
//! SIGTERM.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use kube::{Client, Config};

#[tokio::test]
async fn weft_sim_serves_until_sigterm_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["sim", "--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let server = loop {
        if let Some(line) = std::fs::read_to_string(&kubeconfig)
            .ok()
            .and_then(|k| k.lines().find(|l| l.contains("server:")).map(str::to_owned))
        {
            break line.trim().trim_start_matches("server:").trim().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "weft sim wrote no kubeconfig");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let client = Client::try_from(Config::new(server.parse().unwrap())).unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(names, ["default", "kube-public", "kube-system", "weft-system"]);

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "weft sim did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}
