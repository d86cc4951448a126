//! A memory bomb, in a test binary of its own so the process's peak memory is its alone.

mod common;

use std::sync::Arc;

use common::store_cluster::TestCluster;
use common::{example, runtime};
use serde_json::json;
use weft::runtime::{BoundModule, CallError, Grants, Limits, ObjectRef, PluginEnv, Trigger};

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    let kib: usize = line.split_whitespace().nth(1).expect("value").parse().expect("number");
    kib * 1024
}

#[test]
fn a_memory_bomb_stops_at_the_cap_and_host_memory_stays_bounded() {
    let cluster = TestCluster::start();
    let _ = runtime();
    let module = example("misbehave");
    let limit = 64 << 20;
    let plugin = BoundModule::new(
        module,
        PluginEnv {
            name: Arc::from("misbehave"),
            grants: Grants::default(),
            cluster: cluster.cluster.clone(),
            config: "{}".into(),
            limits: Limits { memory_bytes: limit, ..Limits::default() },
        },
    );
    let object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "bomb", "namespace": "default", "labels": { "weft.dev/misbehave": "memory" } },
    });
    let reference = ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some("default".into()),
        name: "bomb".into(),
    };

    let before = peak_rss();
    for _ in 0..3 {
        let result = plugin.reconcile(reference.clone(), object.to_string(), Trigger::Added);
        assert_eq!(result, Err(CallError::MemoryLimit { limit }));
    }
    assert_eq!(weft::runtime::wasm_memory_in_use(), 0, "every instance's memory is accounted back");
    let ok = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "calm", "namespace": "default", "labels": { "weft.dev/misbehave": "ok" } },
    });
    let live = plugin.live_instance(reference.clone(), ok.to_string()).expect("instance");
    assert!(weft::runtime::wasm_memory_in_use() >= 64 << 10, "a live instance's memory is counted");
    drop(live);
    assert_eq!(weft::runtime::wasm_memory_in_use(), 0);
    let grown = peak_rss().saturating_sub(before);
    // One bomb at a time, each capped at the limit; repeated bombs do not accumulate.
    assert!(grown < limit + (32 << 20), "peak RSS grew by {} MiB", grown >> 20);
}
