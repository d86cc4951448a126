//! `weft check` through the real binary: reports for the examples, one-line refusals otherwise.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{example_bytes, example_path};

fn weft_check(files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft")).arg("check").args(files).output().expect("weft runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn reports_what_each_example_declares() {
    let cases = [
        ("hello", "reconciles   configmaps (v1 ConfigMap, namespaced) selector weft.dev/hello"),
        ("configmap-mirror", "finalizer    weft.dev/mirror-cleanup"),
        ("fleet-health", "related      fleetmembers (examples.weft.dev/v1 FleetMember, namespaced)"),
        ("misbehave", "permissions  get,create,patch configmaps (group core)"),
    ];
    for (name, expected) in cases {
        let path = example_path(name, "wasm32-wasip2");
        let output = weft_check(&[&path]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let report = stdout(&output);
        assert!(report.starts_with(&format!("{}: weft plugin {name} 0.1.0\n", path.display())), "{report}");
        assert!(report.contains(expected), "{name} report lacks {expected:?}:\n{report}");
        assert!(report.contains("  module       component, "), "{report}");
    }
    let wasip1 = example_path("hello", "wasm32-wasip1");
    let output = weft_check(&[&wasip1]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("core module, componentized with the WASI preview1 adapter"));
}

#[test]
fn refuses_each_bad_file_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let hello = example_bytes("hello");
    let cases = [
        (write("script.wasm", b"#!/bin/sh\n"), "not a WebAssembly file"),
        (write("truncated.wasm", &hello[..hello.len() / 3]), "invalid WebAssembly: "),
        (write("core.wasm", &wat::parse_str("(module)").expect("wat")), "a core WebAssembly module without"),
        (
            write(
                "other.wasm",
                &wat::parse_str(r#"(component (instance $i) (export "a:b/c" (instance $i)))"#).expect("wat"),
            ),
            "does not export weft:plugin/controller@0.1.0 (its exports: a:b/c)",
        ),
        (example_path("bad-describe", "wasm32-wasip2"), "describe failed: the plugin trapped"),
        (dir.path().join("missing.wasm"), "cannot read"),
    ];
    for (path, expected) in &cases {
        let output = weft_check(&[path]);
        assert!(!output.status.success(), "{} must fail", path.display());
        let err = stderr(&output);
        assert_eq!(err.lines().count(), 1, "one line for {}: {err}", path.display());
        assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
        assert!(err.contains(expected), "{} should say {expected:?}: {err}", path.display());
        assert_eq!(stdout(&output), "");
    }

    // A good file among bad ones is still reported, and the run still fails.
    let good = example_path("hello", "wasm32-wasip2");
    let output = weft_check(&[&good, &cases[0].0]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("weft plugin hello"));
}
