//! `weft dev` as a user runs it: the demo comes up, kubectl sees the greeting, SIGTERM ends it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_demo_greets_and_stops_cleanly_on_sigterm() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("dev.kubeconfig");
    let mut dev = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["dev", "--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(&kubeconfig)
        .current_dir(&repo)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("weft dev starts");
    let kubectl = common::kubectl();
    let started = Instant::now();
    let greeting = loop {
        assert!(started.elapsed() < Duration::from_secs(60), "the demo never greeted");
        if kubeconfig.exists() {
            let output = Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["get", "configmap", "demo", "-o", r"jsonpath={.metadata.annotations.weft\.dev/greeting}"])
                .output()
                .expect("kubectl runs");
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            if !text.is_empty() {
                break text;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(greeting, "hello, default/demo");

    let pid = dev.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = dev.wait().expect("weft dev exits");
    assert!(status.success(), "weft dev exited with {status}");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut dev.stdout.take().expect("stdout"), &mut out).expect("read stdout");
    assert!(out.contains("kubectl get plugins"), "prints what to try next:\n{out}");
}
