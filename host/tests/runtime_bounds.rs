//! The bounds that keep a burst from failing or thrashing: one compile per digest however many
//! load it at once, and calls that wait for an instance slot instead of failing when the pool is
//! full.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::example_bytes;
use common::processes::variant;
use common::store_cluster::TestCluster;
use serde_json::json;
use weft::runtime::{
    BoundModule, CallError, EngineConfig, Grants, Limits, ObjectRef, PluginEnv, Runtime, RuntimeConfig, Trigger,
};

#[test]
fn concurrent_loads_of_one_digest_compile_once_and_share_the_module() {
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let bytes = Arc::new(variant(&example_bytes("hello"), 7));
    let loads: Vec<_> = (0..6)
        .map(|_| {
            let (runtime, bytes) = (runtime.clone(), Arc::clone(&bytes));
            std::thread::spawn(move || runtime.load(&bytes).expect("loads"))
        })
        .collect();
    let modules: Vec<_> = loads.into_iter().map(|t| t.join().expect("joins")).collect();
    assert_eq!(runtime.compiles_done(), 1, "six loads, one compile");
    assert!(modules.iter().all(|m| Arc::ptr_eq(m, &modules[0])), "every load got the same module");
}

#[test]
fn a_full_instance_pool_makes_calls_wait_instead_of_failing() {
    let cluster = TestCluster::start();
    let engine = EngineConfig { max_instances: 2, ..EngineConfig::default() };
    let runtime = Runtime::new(RuntimeConfig { engine, ..Default::default() }).expect("runtime");
    let module = runtime.load(&example_bytes("misbehave")).expect("loads");
    let plugin = BoundModule::new(
        module,
        PluginEnv {
            name: Arc::from("misbehave"),
            grants: Grants::default(),
            cluster: cluster.cluster.clone(),
            config: "{}".into(),
            limits: Limits { timeout: Duration::from_millis(200), ..Limits::default() },
        },
    );
    // Six calls that each hold an instance until their deadline, on a pool of two.
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let plugin = plugin.clone();
            std::thread::spawn(move || {
                let name = format!("loop-{i}");
                let object = json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": name, "namespace": "default", "labels": { "weft.dev/misbehave": "loop" } },
                });
                let reference = ObjectRef {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    namespace: Some("default".into()),
                    name,
                };
                plugin.reconcile(reference, object.to_string(), Trigger::Added)
            })
        })
        .collect();
    for call in calls {
        let result = call.join().expect("joins");
        assert_eq!(result, Err(CallError::Deadline(Duration::from_millis(200))), "queued, then ran to its deadline");
    }
}
