//! `weft dev` as a user runs it: the demo comes up, kubectl sees the greeting, SIGTERM ends it;
//! and each language's hello runs from its example's `dev.yaml`, as its README says.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::compiled_cache;
use common::languages::{Go, JavaScript, Language, Python};
use rstest::rstest;

/// `weft dev ARGS` in `dir`, writing its kubeconfig to `kubeconfig`.
fn weft_dev(dir: &Path, kubeconfig: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["dev", "--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(kubeconfig)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("weft dev starts")
}

/// The greeting on ConfigMap `default/demo`, once there is one (kubectl polls the emulator).
fn wait_for_greeting(kubeconfig: &Path, patience: Duration) -> String {
    let kubectl = common::kubectl();
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < patience, "the demo ConfigMap was never greeted");
        if kubeconfig.exists() {
            let output = Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .args(["get", "configmap", "demo", "-o", r"jsonpath={.metadata.annotations.weft\.dev/greeting}"])
                .output()
                .expect("kubectl runs");
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            if !text.is_empty() {
                return text;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM, and the exit status must be success; returns what it printed.
fn stop(mut dev: Child) -> String {
    let pid = dev.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = dev.wait().expect("weft dev exits");
    assert!(status.success(), "weft dev exited with {status}");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut dev.stdout.take().expect("stdout"), &mut out).expect("read stdout");
    out
}

#[test]
fn the_demo_greets_and_stops_cleanly_on_sigterm() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("dev.kubeconfig");
    let dev = weft_dev(&repo, &kubeconfig, &[]);
    assert_eq!(wait_for_greeting(&kubeconfig, Duration::from_secs(60)), "hello, default/demo");
    let out = stop(dev);
    assert!(out.contains("kubectl get plugins"), "prints what to try next:\n{out}");
}

/// The example's `dev.yaml` beside its built module, as `plugin.wasm`, the way its README runs it.
#[rstest]
fn each_languages_hello_greets_in_weft_dev_from_its_dev_yaml(#[values(Go, Python, JavaScript)] language: Language) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(language.plugin("hello"));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(example.join("dev.yaml"), dir.path().join("dev.yaml")).expect("dev.yaml");
    std::fs::copy(language.module_path("hello"), dir.path().join("plugin.wasm")).expect("plugin.wasm");
    let kubeconfig = dir.path().join("dev.kubeconfig");
    let cache = compiled_cache();
    let dev = weft_dev(dir.path(), &kubeconfig, &["--cache-dir", &cache.display().to_string(), "dev.yaml"]);
    // A cold compile of a Python module takes tens of seconds in a debug build.
    assert_eq!(wait_for_greeting(&kubeconfig, Duration::from_secs(180)), "hello, default/demo");
    stop(dev);
}
