//! A burst of Plugins applied at once, in a host process of its own: they all become ready, and
//! the host's memory stays within a bound taken from the density benchmark (BENCHMARKS.md) with
//! margin, so the burst that once took a host past its memory limit cannot come back unseen.

mod common;

use std::time::Duration;

use common::processes::{Emulator, HostProcess, apply_plugins, module_configmaps};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

const PLUGINS: usize = 50;
const MODULES: usize = 10;
/// Peak resident memory of the host above its start, for 50 Plugins over 10 modules of `hello`.
/// The density benchmark measured 100 Plugins over 20 modules at once peaking 61 MiB above the
/// idle host (release build); this leaves room for the test's debug build and a busy machine,
/// and is far below the 1,187 MiB that 100 Plugins once took.
const BOUND_MIB: u64 = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_plugins_applied_at_once_become_ready_within_a_memory_bound() {
    let emulator = Emulator::start().await;
    let client = emulator.client.clone();
    module_configmaps(&client, &common::example_bytes("hello"), MODULES).await;
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..20 {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": format!("greet-{i}"), "labels": { "weft.dev/hello": "" } },
        });
        configmaps
            .patch(&format!("greet-{i}"), &PatchParams::apply("test").force(), &Patch::Apply(cm))
            .await
            .expect("apply");
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let mut host = HostProcess::start(&emulator, cache.path(), &[]);
    host.wait_running(0, Duration::from_secs(60)).await;
    let base = host.memory();

    apply_plugins(&client, "burst-", PLUGINS, MODULES, PLUGINS).await;
    host.wait_running(PLUGINS, Duration::from_secs(300)).await;
    assert!(host.alive(), "the host survived the burst");
    for i in 0..20 {
        let greeted = common::live::eventually(&format!("greet-{i} greeted"), || async {
            configmaps.get(&format!("greet-{i}")).await.ok()?.metadata.annotations?.get("weft.dev/greeting").cloned()
        })
        .await;
        assert_eq!(greeted, format!("hello, default/greet-{i}"));
    }
    let after = host.memory();
    let grown = after.peak.saturating_sub(base.rss) >> 20;
    assert!(grown < BOUND_MIB, "peak RSS grew by {grown} MiB over the idle host ({} MiB)", base.rss >> 20);
    host.stop();
}
