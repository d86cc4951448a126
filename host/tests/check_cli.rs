//! `weft check` through the real binary: reports for the examples in every language, one-line
//! refusals otherwise.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::languages::{Go, JavaScript, Language, Python, Rust};
use common::{compiled_cache, example_bytes, example_path, gzip};
use rstest::rstest;
use weft::runtime::Digest;

/// `weft check FILES`, sharing compiled modules with the other tests.
fn weft_check(files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("check")
        .args(files)
        .env("WEFT_CACHE_DIR", compiled_cache())
        .output()
        .expect("weft runs")
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

#[rstest]
#[case::rust(Rust, "Rust (built with ")]
#[case::go(Go, "Go 1.27.3 (built with Go cmd/compile go1.27.3)")]
#[case::python(Python, "Python 3.14, SDK weft-plugin 0.1.0 (built with componentize-py 0.25.1, wit-component ")]
#[case::javascript(
    JavaScript,
    "JavaScript, SDK @weft/plugin 0.1.0 (built with jco 1.35.0, componentize-qjs 0.4.5, wit-component "
)]
fn names_the_language_and_toolchain_of_every_example(#[case] language: Language, #[case] toolchain: &str) {
    let examples = ["hello", "fleet-health", "misbehave"];
    let paths: Vec<_> = examples.iter().map(|example| language.module_path(example)).collect();
    let output = weft_check(&paths.iter().map(|p| p.as_path()).collect::<Vec<_>>());
    assert!(output.status.success(), "{language}: {}", stderr(&output));
    let report = stdout(&output);
    for (example, path) in examples.iter().zip(&paths) {
        let header = format!("{}: weft plugin {} 0.1.0\n", path.display(), language.plugin(example));
        let (_, rest) = report.split_once(&header).unwrap_or_else(|| panic!("no report for {header:?}:\n{report}"));
        let line = rest.lines().find(|l| l.starts_with("  toolchain ")).expect("a toolchain line");
        assert!(line.starts_with(&format!("  toolchain    {toolchain}")), "{example}: {line}");
    }
}

#[test]
fn a_gzip_compressed_module_is_checked_as_the_host_would_load_it() {
    let module = JavaScript.module_bytes("hello");
    let compressed = gzip(&module);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hello-js.wasm.gz");
    std::fs::write(&path, &compressed).expect("write");
    let output = weft_check(&[&path]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    let module_line = format!("  module       component, {} bytes, sha256 {}\n", module.len(), Digest::of(&module));
    let compressed_line = format!(
        "  compressed   gzip, {} bytes, sha256 {} (spec.sha256 may name either)\n",
        compressed.len(),
        Digest::of(&compressed)
    );
    assert!(report.contains(&format!("{module_line}{compressed_line}")), "{report}");
    assert!(report.contains("weft plugin hello-js 0.1.0"), "{report}");
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
        (write("truncated.wasm.gz", &gzip(&hello)[..1000]), "the module is gzip-compressed but does not decompress: "),
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
