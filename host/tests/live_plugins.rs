//! Plugins live in a running host: applied, reconfigured, swapped, deleted and re-created through
//! the Plugin resource, against the emulator over HTTP.

mod common;

use std::time::Duration;

use common::live::{Live, configmap, eventually};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

const GREETING: &str = "weft.dev/greeting";

fn hello_spec(greeting: &str) -> serde_json::Value {
    json!({
        "module": { "configMap": { "namespace": "weft-system", "name": "hello-module", "key": "plugin.wasm" } },
        "config": { "greeting": greeting },
        "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"] }],
    })
}

fn mirror_spec(module: &str) -> serde_json::Value {
    json!({
        "module": { "configMap": { "namespace": "weft-system", "name": module, "key": "plugin.wasm" } },
        "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "patch", "delete"] }],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_is_applied_reconfigured_swapped_deleted_and_recreated() {
    let live = Live::start().await;
    live.module_configmap("hello-module", "hello").await;
    live.module_configmap("mirror-module", "configmap-mirror").await;
    live.namespace("team").await;
    let default = live.configmaps("default");
    default.create(&PostParams::default(), &configmap("a", &[("weft.dev/hello", "")], &[])).await.expect("create");

    // Apply: the labelled ConfigMap is greeted, and the Plugin says it is ready.
    live.apply_plugin("hello", hello_spec("hello")).await;
    eventually("greeting", || async {
        (live.annotation("default", "a", GREETING).await? == "hello, default/a").then_some(())
    })
    .await;
    live.wait_condition("hello", "Ready", "True", "Running").await;
    let status = live.status("hello").await.expect("status");
    assert_eq!(status.version.as_deref(), Some("hello 0.1.0"));
    assert_eq!(status.watched, ["configmaps/v1"]);
    assert_eq!(status.module_digest.map(|d| d.len()), Some(64));

    // Reconfigure: existing objects are greeted again.
    live.apply_plugin("hello", hello_spec("hi")).await;
    eventually("new greeting", || async {
        (live.annotation("default", "a", GREETING).await? == "hi, default/a").then_some(())
    })
    .await;

    // Swap the module: mirroring starts, greeting stops.
    live.apply_plugin("hello", mirror_spec("mirror-module")).await;
    eventually("swap to configmap-mirror", || async {
        live.status("hello").await?.version.filter(|v| v == "configmap-mirror 0.1.0")
    })
    .await;
    let source = configmap("src", &[("weft.dev/mirror", "true"), ("weft.dev/hello", "")], &[("k", "v")]);
    let mut source = source;
    source.metadata.annotations = Some([("weft.dev/mirror-to".to_owned(), "team".to_owned())].into());
    default.create(&PostParams::default(), &source).await.expect("create source");
    eventually("mirrored copy", || async { live.configmaps("team").get_opt("src").await.ok()? }).await;
    assert_eq!(live.annotation("default", "src", GREETING).await, None, "hello no longer runs");

    // Delete: nothing reconciles, and the watches are gone.
    live.plugins().delete("hello", &DeleteParams::default()).await.expect("delete");
    eventually("plugin stopped", || async { live.host.running_plugins().is_empty().then_some(()) }).await;
    eventually("informers released", || async { live.host.active_informers().is_empty().then_some(()) }).await;
    default.create(&PostParams::default(), &configmap("b", &[("weft.dev/hello", "")], &[])).await.expect("create");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(live.annotation("default", "b", GREETING).await, None);

    // Re-create with the same name: it works again.
    live.apply_plugin("hello", hello_spec("again")).await;
    eventually("greeting after re-create", || async {
        (live.annotation("default", "b", GREETING).await? == "again, default/b").then_some(())
    })
    .await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_finalizer_removes_every_copy_before_the_source() {
    let live = Live::start().await;
    live.module_configmap("mirror-module", "configmap-mirror").await;
    for ns in ["red", "blue"] {
        live.namespace(ns).await;
    }
    live.apply_plugin("mirror", mirror_spec("mirror-module")).await;
    let mut source = configmap("shared", &[("weft.dev/mirror", "true")], &[("colour", "green")]);
    source.metadata.annotations = Some([("weft.dev/mirror-to".to_owned(), "red,blue".to_owned())].into());
    let default = live.configmaps("default");
    default.create(&PostParams::default(), &source).await.expect("create");
    for ns in ["red", "blue"] {
        eventually(&format!("copy in {ns}"), || async { live.configmaps(ns).get_opt("shared").await.ok()? }).await;
    }
    let stored = default.get("shared").await.expect("source");
    assert_eq!(stored.metadata.finalizers, Some(vec!["weft.dev/mirror-cleanup".to_owned()]));

    // A copy deleted by hand is put back.
    live.configmaps("red").delete("shared", &DeleteParams::default()).await.expect("delete copy");
    eventually("copy restored", || async { live.configmaps("red").get_opt("shared").await.ok()? }).await;

    default.delete("shared", &DeleteParams::default()).await.expect("delete source");
    eventually("source gone", || async { default.get_opt("shared").await.ok()?.is_none().then_some(()) }).await;
    for ns in ["red", "blue"] {
        assert!(live.configmaps(ns).get_opt("shared").await.expect("get").is_none(), "copy in {ns} removed");
    }
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_plugins_share_one_watch_and_one_can_leave() {
    let live = Live::start().await;
    live.module_configmap("hello-module", "hello").await;
    live.module_configmap("mirror-module", "configmap-mirror").await;
    live.namespace("copies").await;
    live.apply_plugin("hello", hello_spec("hello")).await;
    live.apply_plugin("mirror", mirror_spec("mirror-module")).await;
    live.wait_condition("hello", "Ready", "True", "Running").await;
    live.wait_condition("mirror", "Ready", "True", "Running").await;
    let informers = live.host.active_informers();
    assert_eq!(informers.len(), 1, "one shared configmaps watch: {informers:?}");

    live.plugins().delete("hello", &DeleteParams::default()).await.expect("delete");
    eventually("hello stopped", || async { (live.host.running_plugins() == ["mirror"]).then_some(()) }).await;
    assert_eq!(live.host.active_informers().len(), 1, "mirror still holds the watch");
    let mut source = configmap("after", &[("weft.dev/mirror", "true")], &[]);
    source.metadata.annotations = Some([("weft.dev/mirror-to".to_owned(), "copies".to_owned())].into());
    live.configmaps("default").create(&PostParams::default(), &source).await.expect("create");
    eventually("mirror still works", || async { live.configmaps("copies").get_opt("after").await.ok()? }).await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_writes_then_requeues_never_sees_its_old_version() {
    let live = Live::start().await;
    live.module_configmap("misbehave-module", "misbehave").await;
    live.apply_plugin(
        "counter",
        json!({
            "module": { "configMap": { "namespace": "weft-system", "name": "misbehave-module", "key": "plugin.wasm" } },
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"] }],
        }),
    )
    .await;
    live.configmaps("default")
        .create(&PostParams::default(), &configmap("counted", &[("weft.dev/misbehave", "count")], &[]))
        .await
        .expect("create");
    eventually("count reaches 20", || async {
        (live.annotation("default", "counted", "weft.dev/count").await? == "20").then_some(())
    })
    .await;
    let status =
        eventually("status counts", || async { live.status("counter").await.filter(|s| s.reconciles >= 20) }).await;
    assert_eq!(status.errors, 0, "no stale read led to a conflict: {:?}", status.last_error);
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_patch_changes_nothing_when_the_plugin_spec_is_unchanged() {
    // Plugin status is written only when it changes: a settled host stops writing.
    let live = Live::start().await;
    live.module_configmap("hello-module", "hello").await;
    live.apply_plugin("hello", hello_spec("hello")).await;
    live.wait_condition("hello", "Ready", "True", "Running").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = live.plugins().get("hello").await.expect("get").metadata.resource_version;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = live.plugins().get("hello").await.expect("get").metadata.resource_version;
    assert_eq!(before, after, "an idle plugin's status is not rewritten");
    // And the spec's suspend flag stops it.
    live.plugins()
        .patch("hello", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "suspend": true } })))
        .await
        .expect("suspend");
    live.wait_condition("hello", "Ready", "False", "Suspended").await;
    assert!(live.host.running_plugins().is_empty());
    assert!(live.host.active_informers().is_empty());
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_module_is_reloaded_when_its_file_changes() {
    let live = Live::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plugin.wasm");
    std::fs::write(&file, common::example_bytes("hello")).expect("write module");
    live.apply_plugin(
        "dev",
        json!({
            "module": { "path": file },
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"] }],
        }),
    )
    .await;
    eventually("hello from the file", || async { live.status("dev").await?.version.filter(|v| v == "hello 0.1.0") })
        .await;

    // Rebuilt in place: the new module takes over without any change to the Plugin.
    tokio::time::sleep(Duration::from_millis(20)).await;
    std::fs::write(&file, common::example_bytes("misbehave")).expect("rewrite module");
    eventually("reloaded from the file", || async {
        live.status("dev").await?.version.filter(|v| v == "misbehave 0.1.0")
    })
    .await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resync_reconciles_primaries_without_changes() {
    let live = Live::start_with(|config| config.controller.resync = Some(Duration::from_millis(200))).await;
    live.module_configmap("hello-module", "hello").await;
    live.configmaps("default")
        .create(&PostParams::default(), &configmap("steady", &[("weft.dev/hello", "")], &[]))
        .await
        .expect("create");
    live.apply_plugin("hello", hello_spec("hello")).await;
    eventually("greeting", || async { live.annotation("default", "steady", GREETING).await }).await;
    let settled = eventually("settled", || async { live.status("hello").await.filter(|s| s.reconciles >= 2) }).await;
    eventually("resyncs keep coming", || async {
        live.status("hello").await.filter(|s| s.reconciles >= settled.reconciles + 3)
    })
    .await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_limited_to_namespaces_needs_and_uses_grants_only_there() {
    let live = Live::start().await;
    live.module_configmap("hello-module", "hello").await;
    live.namespace("team").await;
    for ns in ["team", "default"] {
        live.configmaps(ns)
            .create(&PostParams::default(), &configmap("cm", &[("weft.dev/hello", "")], &[]))
            .await
            .expect("create");
    }
    let team_rule =
        json!([{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"], "namespaces": ["team"] }]);
    let module = json!({ "configMap": { "namespace": "weft-system", "name": "hello-module", "key": "plugin.wasm" } });
    live.apply_plugin("everywhere", json!({ "module": module, "permissions": team_rule })).await;
    let c = live.wait_condition("everywhere", "Ready", "False", "PermissionDenied").await;
    assert_eq!(c.message, "spec.permissions does not grant: patch configmaps (group core)");

    live.apply_plugin("team-only", json!({ "module": module, "permissions": team_rule, "namespaces": ["team"] })).await;
    live.wait_condition("team-only", "Ready", "True", "Running").await;
    eventually("greeted in team", || async { live.annotation("team", "cm", GREETING).await }).await;
    let status = live.status("team-only").await.expect("status");
    assert_eq!(status.watched, ["configmaps/v1 in team"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(live.annotation("default", "cm", GREETING).await, None, "nothing outside its namespaces");
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_an_owned_object_reconciles_its_owner() {
    let live = Live::start().await;
    live.module_configmap("misbehave-module", "misbehave").await;
    live.apply_plugin(
        "owner",
        json!({
            "module": { "configMap": { "namespace": "weft-system", "name": "misbehave-module", "key": "plugin.wasm" } },
            "permissions": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"] }],
        }),
    )
    .await;
    let default = live.configmaps("default");
    default
        .create(&PostParams::default(), &configmap("parent", &[("weft.dev/misbehave", "own")], &[]))
        .await
        .expect("create");
    let value = |v: &'static str| {
        let live = &live;
        async move { (live.annotation("default", "parent", "weft.dev/child-value").await? == v).then_some(()) }
    };
    eventually("the child is made and read", || value("0")).await;
    let child = default.get("parent-child").await.expect("child");
    assert_eq!(child.metadata.owner_references.expect("owned")[0].name, "parent");

    // The child is not selected by the plugin; only its ownerReference leads back to the parent.
    default
        .patch("parent-child", &PatchParams::default(), &Patch::Merge(json!({ "data": { "value": "7" } })))
        .await
        .expect("patch child");
    eventually("the owner sees the child's change", || value("7")).await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_plugin_releases_its_code_and_misses_no_event_meanwhile() {
    let live = Live::start_with(|config| config.controller.idle_after = Some(Duration::from_millis(300))).await;
    live.module_configmap("hello-module", "hello").await;
    live.apply_plugin("hello", hello_spec("hello")).await;
    live.wait_condition("hello", "Ready", "True", "Running").await;
    live.wait_condition("hello", "Idle", "True", "Evicted").await;
    let ready = live.wait_condition("hello", "Ready", "True", "Running").await;
    assert!(ready.message.contains("reconciling"), "an idle plugin is still ready: {}", ready.message);

    // Events that arrive while the code is released are all reconciled, by a reloaded module.
    let default = live.configmaps("default");
    for i in 0..20 {
        let cm = configmap(&format!("while-idle-{i}"), &[("weft.dev/hello", "")], &[]);
        default.create(&PostParams::default(), &cm).await.expect("create");
    }
    for i in 0..20 {
        let name = format!("while-idle-{i}");
        eventually(&format!("{name} greeted"), || async {
            (live.annotation("default", &name, GREETING).await? == format!("hello, default/{name}")).then_some(())
        })
        .await;
    }
    // Quiet again, it releases its code again.
    live.wait_condition("hello", "Idle", "True", "Evicted").await;
    live.stop().await;
}
