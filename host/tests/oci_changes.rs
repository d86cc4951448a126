//! What happens to a plugin from a registry when the registry changes under it: a tag that
//! moves, bytes that do not match their digest, and an outage.

mod common;

use std::time::Duration;

use common::live::eventually;
use common::processes::variant;
use common::registry::{Auth, Registry, greeted, hello_spec, live_for};
use kube::api::{Patch, PatchParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_tag_does_not_swap_a_running_plugin_until_the_plugin_changes() {
    let Some(registry) = Registry::start(Auth::Anonymous).await else { return };
    let hello = common::example_bytes("hello");
    let stable = registry.reference("plugins/hello:stable");
    let first = registry.push(&stable, &hello).await;
    let live = live_for(&registry, |_| {}).await;
    live.apply_plugin("hello", hello_spec(&stable)).await;
    live.wait_condition("hello", "Ready", "True", "Running").await;
    let pinned = |digest: &str| Some(registry.reference(&format!("plugins/hello@{digest}")));
    assert_eq!(live.status("hello").await.expect("status").resolved_reference, pinned(&first));

    let second = registry.push(&stable, &variant(&hello, 1)).await;
    // Several status ticks (100 ms here) pass; the plugin keeps what it resolved.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = live.status("hello").await.expect("status");
    assert_eq!(status.resolved_reference, pinned(&first), "a moved tag alone swaps nothing");

    let change = json!({ "spec": { "config": { "greeting": "hi" } } });
    live.plugins().patch("hello", &PatchParams::default(), &Patch::Merge(change)).await.expect("patched");
    eventually("the changed Plugin resolves the tag again", || async {
        let status = live.status("hello").await?;
        (status.resolved_reference == pinned(&second)).then_some(())
    })
    .await;
    assert_eq!(greeted(&live, "after-move").await, "hi, default/after-move");
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_or_blob_that_does_not_match_its_digest_is_refused() {
    let Some(registry) = Registry::start(Auth::Anonymous).await else { return };
    let hello = common::example_bytes("hello");
    // A manifest whose stored bytes were replaced by another valid manifest.
    let manifest = registry.push(&registry.reference("plugins/hello:swapped"), &variant(&hello, 2)).await;
    let other = registry.push(&registry.reference("plugins/hello:other"), &variant(&hello, 3)).await;
    std::fs::copy(registry.blob_file(&other), registry.blob_file(&manifest)).expect("replace manifest");
    // A layer with one byte flipped.
    let damaged = variant(&hello, 4);
    registry.push(&registry.reference("plugins/hello:damaged"), &damaged).await;
    let layer = registry.blob_file(&weft::oci::digest_of(&damaged));
    let mut bytes = std::fs::read(&layer).expect("layer");
    bytes[100] ^= 1;
    std::fs::write(&layer, bytes).expect("damage layer");

    let live = live_for(&registry, |_| {}).await;
    live.apply_plugin("by-tag", hello_spec(&registry.reference("plugins/hello:swapped"))).await;
    live.apply_plugin("by-digest", hello_spec(&registry.reference(&format!("plugins/hello@{manifest}")))).await;
    live.apply_plugin("damaged", hello_spec(&registry.reference("plugins/hello:damaged"))).await;
    let mut sha = hello_spec(&registry.reference("plugins/hello:other"));
    sha["sha256"] = json!("0".repeat(64));
    live.apply_plugin("pinned-sha", sha).await;

    let c = live.wait_condition("by-tag", "Ready", "False", "DigestMismatch").await;
    assert!(c.message.contains("the registry says the manifest of") && c.message.contains(&other), "{}", c.message);
    let c = live.wait_condition("by-digest", "Ready", "False", "DigestMismatch").await;
    assert!(c.message.contains(&format!("has digest {other}")), "{}", c.message);
    let c = live.wait_condition("damaged", "Ready", "False", "DigestMismatch").await;
    assert!(c.message.contains("arrived as"), "{}", c.message);
    let c = live.wait_condition("pinned-sha", "Ready", "False", "DigestMismatch").await;
    assert!(c.message.contains("spec.sha256 is 0000"), "{}", c.message);
    assert!(live.host.running_plugins().is_empty());
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_is_down_is_reported_and_tried_again_until_it_returns() {
    let Some(mut registry) = Registry::start(Auth::Anonymous).await else { return };
    let reference = registry.reference("plugins/hello:0.1.0");
    registry.push(&reference, &common::example_bytes("hello")).await;
    registry.pause();

    let live = live_for(&registry, |_| {}).await;
    live.apply_plugin("hello", hello_spec(&reference)).await;
    let c = live.wait_condition("hello", "Ready", "False", "FetchFailed").await;
    assert!(c.message.contains("tried 2 times"), "{}", c.message);
    // Still down a few tries later, and still saying so.
    tokio::time::sleep(Duration::from_millis(800)).await;
    live.wait_condition("hello", "Ready", "False", "FetchFailed").await;

    registry.resume().await;
    live.wait_condition("hello", "Ready", "True", "Running").await;
    greeted(&live, "after-outage").await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_missing_from_the_registry_is_found_once_it_is_pushed() {
    let Some(registry) = Registry::start(Auth::Anonymous).await else { return };
    let reference = registry.reference("plugins/later:0.1.0");
    let live = live_for(&registry, |_| {}).await;
    live.apply_plugin("later", hello_spec(&reference)).await;
    let c = live.wait_condition("later", "Ready", "False", "ModuleNotFound").await;
    assert!(c.message.contains("MANIFEST_UNKNOWN") || c.message.contains("NAME_UNKNOWN"), "{}", c.message);
    registry.push(&reference, &common::example_bytes("hello")).await;
    live.wait_condition("later", "Ready", "True", "Running").await;
    live.stop().await;
}
