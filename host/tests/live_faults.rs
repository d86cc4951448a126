//! Bad Plugins, misbehaving plugins, CRDs that come and go, and watches that break: each shows a
//! clear condition, nothing else is disturbed, and no event is lost.

mod common;

use std::time::Duration;

use common::live::{Live, configmap, eventually};
use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::discovery::ApiResource;
use serde_json::json;

fn module(name: &str) -> serde_json::Value {
    json!({ "configMap": { "namespace": "weft-system", "name": name, "key": "plugin.wasm" } })
}

fn configmap_rule(verbs: &[&str]) -> serde_json::Value {
    json!([{ "apiGroups": [""], "resources": ["configmaps"], "verbs": verbs }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plugins_get_clear_conditions_and_disturb_nothing() {
    let live = Live::start().await;
    live.module_configmap("hello-module", "hello").await;
    let junk = ConfigMap {
        metadata: kube::api::ObjectMeta { name: Some("junk".into()), ..Default::default() },
        binary_data: Some([("plugin.wasm".to_owned(), ByteString(b"MZ\x90\x00 not wasm".to_vec()))].into()),
        ..Default::default()
    };
    live.configmaps("weft-system").create(&PostParams::default(), &junk).await.expect("junk module");
    live.apply_plugin("good", json!({ "module": module("hello-module"), "permissions": configmap_rule(&["patch"]) }))
        .await;

    live.apply_plugin("unreachable", json!({ "module": module("no-such-module"), "permissions": [] })).await;
    live.apply_plugin(
        "mismatch",
        json!({ "module": module("hello-module"), "sha256": "0".repeat(64), "permissions": configmap_rule(&["patch"]) }),
    )
    .await;
    live.apply_plugin("not-wasm", json!({ "module": module("junk"), "permissions": [] })).await;
    live.module_configmap("bad-selector-module", "bad-selector").await;
    live.apply_plugin("bad-selector", json!({ "module": module("bad-selector-module"), "permissions": [] })).await;
    live.apply_plugin(
        "ungranted",
        json!({ "module": module("hello-module"), "permissions": configmap_rule(&["get"]) }),
    )
    .await;

    let c = live.wait_condition("unreachable", "Ready", "False", "ModuleNotFound").await;
    assert!(c.message.contains("weft-system/no-such-module does not exist"), "{}", c.message);
    let c = live.wait_condition("mismatch", "Ready", "False", "DigestMismatch").await;
    assert!(c.message.contains("spec.sha256 is 0000"), "{}", c.message);
    let c = live.wait_condition("not-wasm", "Ready", "False", "LoadFailed").await;
    assert!(c.message.starts_with("not a WebAssembly file"), "{}", c.message);
    let c = live.wait_condition("bad-selector", "Ready", "False", "LoadFailed").await;
    assert!(c.message.contains("unable to parse requirement"), "{}", c.message);
    let c = live.wait_condition("ungranted", "Ready", "False", "PermissionDenied").await;
    assert_eq!(c.message, "spec.permissions does not grant: patch configmaps (group core)");

    // The good plugin was never disturbed.
    live.wait_condition("good", "Ready", "True", "Running").await;
    live.configmaps("default")
        .create(&PostParams::default(), &configmap("x", &[("weft.dev/hello", "")], &[]))
        .await
        .expect("create");
    eventually("good plugin greets", || async { live.annotation("default", "x", "weft.dev/greeting").await }).await;
    assert_eq!(live.host.running_plugins(), ["good"]);

    // A new version that fails to load leaves the old one running, and says so.
    live.apply_plugin("good", json!({ "module": module("junk"), "permissions": configmap_rule(&["patch"]) })).await;
    let loaded = live.wait_condition("good", "Loaded", "False", "LoadFailed").await;
    assert!(loaded.message.contains("still running 0.1.0"), "{}", loaded.message);
    live.wait_condition("good", "Ready", "True", "Running").await;
    live.configmaps("default")
        .create(&PostParams::default(), &configmap("y", &[("weft.dev/hello", "")], &[]))
        .await
        .expect("create");
    eventually("old version still greets", || async { live.annotation("default", "y", "weft.dev/greeting").await })
        .await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_traps_or_loops_on_some_objects_keeps_serving_the_rest() {
    let live = Live::start().await;
    live.module_configmap("misbehave-module", "misbehave").await;
    live.apply_plugin(
        "misbehave",
        json!({
            "module": module("misbehave-module"),
            "permissions": configmap_rule(&["get", "create", "patch"]),
            "limits": { "timeout": "300ms", "memory": "32Mi" },
        }),
    )
    .await;
    let default = live.configmaps("default");
    for (name, behaviour) in [("trapper", "trap"), ("looper", "loop"), ("hoarder", "memory"), ("counter", "count")] {
        default
            .create(&PostParams::default(), &configmap(name, &[("weft.dev/misbehave", behaviour)], &[]))
            .await
            .expect("create");
    }
    eventually("the well-behaved object is reconciled", || async {
        (live.annotation("default", "counter", "weft.dev/count").await? == "20").then_some(())
    })
    .await;
    let status =
        eventually("errors are counted", || async { live.status("misbehave").await.filter(|s| s.errors >= 3) }).await;
    assert!(status.last_error.is_some());
    live.wait_condition("misbehave", "Ready", "True", "Running").await;
    live.stop().await;
}

fn fleet_api(live: &Live, plural: &str, kind: &str) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "examples.weft.dev".into(),
        version: "v1".into(),
        api_version: "examples.weft.dev/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    Api::namespaced_with(live.client.clone(), "default", &resource)
}

async fn apply_yaml(live: &Live, object: serde_json::Value, plural: &str, kind: &str) {
    let name = object["metadata"]["name"].as_str().expect("name").to_owned();
    fleet_api(live, plural, kind)
        .patch(&name, &PatchParams::apply("test").force(), &Patch::Apply(object))
        .await
        .expect("applied");
}

async fn member(live: &Live, name: &str, healthy: bool) {
    let object = json!({
        "apiVersion": "examples.weft.dev/v1", "kind": "FleetMember",
        "metadata": { "name": name, "labels": { "examples.weft.dev/fleet": "edge" } },
        "spec": { "healthy": healthy },
    });
    apply_yaml(live, object, "fleetmembers", "FleetMember").await;
}

async fn fleet_status(live: &Live) -> Option<serde_json::Value> {
    let fleet = fleet_api(live, "fleets", "Fleet").get_opt("edge").await.ok()??;
    fleet.data.get("status").cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_health_settles_and_survives_its_crds_going_away() {
    let live = Live::start().await;
    let crds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fleet-health/crds.yaml");
    weft::dev::apply_file(&live.client, &crds).await.expect("CRDs applied");
    live.module_configmap("fleet-module", "fleet-health").await;
    live.apply_plugin(
        "fleet-health",
        json!({
            "module": module("fleet-module"),
            "permissions": [
                { "apiGroups": ["examples.weft.dev"], "resources": ["fleetmembers"], "verbs": ["list"] },
                { "apiGroups": ["examples.weft.dev"], "resources": ["fleets/status"], "verbs": ["patch"] },
            ],
        }),
    )
    .await;
    let fleet =
        json!({ "apiVersion": "examples.weft.dev/v1", "kind": "Fleet", "metadata": { "name": "edge" }, "spec": {} });
    apply_yaml(&live, fleet.clone(), "fleets", "Fleet").await;
    member(&live, "m1", true).await;
    member(&live, "m2", false).await;
    member(&live, "m3", true).await;
    let expected = json!({ "totalMembers": 3, "healthyMembers": 2, "observedGeneration": 1 });
    eventually("fleet status", || async { (fleet_status(&live).await? == expected).then_some(()) }).await;
    live.wait_condition("fleet-health", "Ready", "True", "Running").await;

    // One member update: exactly one status write, and no loop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fleets = fleet_api(&live, "fleets", "Fleet");
    let from = fleets.get("edge").await.expect("fleet").metadata.resource_version.expect("rv");
    let mut writes =
        fleets.watch(&WatchParams::default().fields("metadata.name=edge"), &from).await.expect("watch").boxed();
    member(&live, "m2", true).await;
    let expected = json!({ "totalMembers": 3, "healthyMembers": 3, "observedGeneration": 1 });
    eventually("fleet status after the update", || async { (fleet_status(&live).await? == expected).then_some(()) })
        .await;
    let mut modified = 0;
    let quiet = tokio::time::sleep(Duration::from_millis(1500));
    tokio::pin!(quiet);
    loop {
        tokio::select! {
            () = &mut quiet => break,
            event = writes.next() => match event {
                Some(Ok(WatchEvent::Modified(_))) => modified += 1,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("watch failed: {e}"),
                None => break,
            },
        }
    }
    assert_eq!(modified, 1, "one status write per member change");

    // The CRDs go away: the plugin says which resource is missing.
    let crd_api: Api<CustomResourceDefinition> = Api::all(live.client.clone());
    for name in ["fleets.examples.weft.dev", "fleetmembers.examples.weft.dev"] {
        crd_api.delete(name, &DeleteParams::default()).await.expect("delete CRD");
    }
    let c = live.wait_condition("fleet-health", "Ready", "False", "WatchFailing").await;
    assert!(c.message.contains(".examples.weft.dev/v1 is not served"), "{}", c.message);

    // They come back: the plugin resumes by itself.
    weft::dev::apply_file(&live.client, &crds).await.expect("CRDs applied again");
    live.wait_condition("fleet-health", "Ready", "True", "Running").await;
    apply_yaml(&live, fleet, "fleets", "Fleet").await;
    member(&live, "m9", true).await;
    let expected = json!({ "totalMembers": 1, "healthyMembers": 1, "observedGeneration": 1 });
    eventually("fleet status after the CRDs returned", || async {
        (fleet_status(&live).await? == expected).then_some(())
    })
    .await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_lost_across_a_closed_watch_and_a_410() {
    const SOURCES: usize = 50;
    const ROUNDS: usize = 20;
    let live = Live::start().await;
    live.module_configmap("mirror-module", "configmap-mirror").await;
    live.namespace("burst").await;
    live.apply_plugin(
        "mirror",
        json!({ "module": module("mirror-module"), "permissions": configmap_rule(&["get", "list", "patch", "delete"]) }),
    )
    .await;
    live.wait_condition("mirror", "Ready", "True", "Running").await;
    let default = live.configmaps("default");
    for round in 0..ROUNDS {
        for i in 0..SOURCES {
            let name = format!("src-{i}");
            let cm = json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {
                    "name": name, "labels": { "weft.dev/mirror": "true" },
                    "annotations": { "weft.dev/mirror-to": "burst" },
                },
                "data": { "round": round.to_string() },
            });
            default.patch(&name, &PatchParams::apply("burst").force(), &Patch::Apply(cm)).await.expect("apply");
        }
        if round == ROUNDS / 2 {
            live.sim.close_watches();
        }
        if round == ROUNDS * 3 / 4 {
            live.sim.compact_history();
            live.sim.close_watches();
        }
    }
    let last = (ROUNDS - 1).to_string();
    for i in 0..SOURCES {
        let name = format!("src-{i}");
        eventually(&format!("copy {name} at its final state"), || async {
            let copy = live.configmaps("burst").get_opt(&name).await.ok()??;
            (copy.data?.get("round")? == &last).then_some(())
        })
        .await;
    }
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_modules_are_downloaded_and_checked_against_their_sha256() {
    let hello = common::example_bytes("hello");
    let digest = weft::runtime::Digest::of(&hello).to_string();
    let app = axum::Router::new().route("/hello.wasm", axum::routing::get(move || async move { hello.clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let live = Live::start().await;
    let url = |path: &str| json!({ "url": format!("{base}{path}") });
    live.apply_plugin(
        "fetched",
        json!({ "module": url("/hello.wasm"), "sha256": digest, "permissions": configmap_rule(&["patch"]) }),
    )
    .await;
    live.apply_plugin("unpinned", json!({ "module": url("/hello.wasm"), "permissions": configmap_rule(&["patch"]) }))
        .await;
    live.apply_plugin(
        "tampered",
        json!({ "module": url("/hello.wasm"), "sha256": "ab".repeat(32), "permissions": configmap_rule(&["patch"]) }),
    )
    .await;
    live.apply_plugin(
        "gone",
        json!({ "module": url("/missing.wasm"), "sha256": digest, "permissions": configmap_rule(&["patch"]) }),
    )
    .await;

    live.wait_condition("fetched", "Ready", "True", "Running").await;
    let c = live.wait_condition("unpinned", "Ready", "False", "InvalidSpec").await;
    assert_eq!(c.message, "module.url needs sha256");
    live.wait_condition("tampered", "Ready", "False", "DigestMismatch").await;
    let c = live.wait_condition("gone", "Ready", "False", "FetchFailed").await;
    assert!(c.message.ends_with("HTTP 404 Not Found"), "{}", c.message);
    live.stop().await;
}
