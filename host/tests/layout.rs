//! The host's dependency layout: production code does not carry the test emulator.

use std::process::Command;

#[test]
fn the_host_without_its_dev_feature_does_not_depend_on_the_emulator() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let tree = |features: &[&str]| {
        let output = Command::new(&cargo)
            .args(["tree", "--offline", "--locked", "-p", "weft", "-e", "normal", "--prefix", "none"])
            .args(features)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo tree runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let crates =
        |tree: &str| tree.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect::<Vec<_>>();
    let production = crates(&tree(&["--no-default-features"]));
    assert!(production.iter().any(|c| c == "weft-labels"), "{production:?}");
    assert!(!production.iter().any(|c| c == "weft-sim"), "weft-sim is in the host's tree: {production:?}");
    assert!(crates(&tree(&[])).iter().any(|c| c == "weft-sim"), "the dev feature brings the emulator");
}
