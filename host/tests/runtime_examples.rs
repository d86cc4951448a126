//! The example plugins, loaded by the real runtime and driven through `reconcile`, `cleanup` and
//! `map-related` against the emulator's store: what each one writes. `hello` and `fleet-health`
//! run in every language they are written in, through the same test.

mod common;

use std::sync::Arc;

use common::languages::{Go, JavaScript, Language, Python, Rust};
use common::store_cluster::{TestCluster, Write};
use common::{compiled_cache, example, example_in, example_path, runtime};
use rstest::rstest;
use serde_json::{Value, json};
use weft::runtime::{
    Action, BoundModule, EngineConfig, Grants, Limits, Module, ModuleKind, ObjectRef, PluginEnv, Runtime,
    RuntimeConfig, Trigger,
};

fn plugin(name: &str, cluster: &TestCluster, config: Value) -> BoundModule {
    bind(example(name), cluster, config)
}

/// `module` with the grants it declares.
fn bind(module: Arc<Module>, cluster: &TestCluster, config: Value) -> BoundModule {
    let grants = Grants::declared(&module.description().permissions);
    BoundModule::new(
        module.clone(),
        PluginEnv {
            name: Arc::from(module.description().name.as_str()),
            grants,
            cluster: cluster.cluster.clone(),
            config: config.to_string(),
            limits: Limits::default(),
        },
    )
}

fn configmap_ref(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

fn get_configmap(cluster: &TestCluster, namespace: &str, name: &str) -> Option<Value> {
    cluster.get("", "v1", "configmaps", Some(namespace), name)
}

/// Reconciles the stored object, as the host would after a watch event.
fn reconcile_stored(plugin: &BoundModule, cluster: &TestCluster, object: &ObjectRef, plural: &str) -> Action {
    let (group, version) = object.api_version.split_once('/').unwrap_or(("", &object.api_version));
    let json = cluster.get(group, version, plural, object.namespace.as_deref(), &object.name).expect("object exists");
    plugin
        .reconcile(object.clone(), json.to_string(), Trigger::Modified)
        .expect("call returns")
        .unwrap_or_else(|failure| panic!("reconcile of {object} failed: {failure:?}"))
}

#[rstest]
fn hello_greets_with_the_default_and_configured_greeting_and_settles(
    #[values(Rust, Go, Python, JavaScript)] language: Language,
) {
    let cluster = TestCluster::start();
    cluster.create(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "app", "namespace": "default", "labels": { "weft.dev/hello": "" } },
    }));
    let object = configmap_ref("default", "app");
    let module = example_in(language, "hello");
    assert_eq!(module.description().name, language.plugin("hello"));

    let hello = bind(module.clone(), &cluster, json!({}));
    assert_eq!(reconcile_stored(&hello, &cluster, &object, "configmaps"), Action::Done);
    let cm = get_configmap(&cluster, "default", "app").expect("exists");
    assert_eq!(cm["metadata"]["annotations"]["weft.dev/greeting"], "hello, default/app");
    assert_eq!(cluster.cluster.writes().len(), 1, "one patch");

    // Already greeted: no second write.
    cluster.cluster.clear_writes();
    reconcile_stored(&hello, &cluster, &object, "configmaps");
    assert_eq!(cluster.cluster.writes(), vec![]);

    // A new greeting re-greets.
    let hi = bind(module, &cluster, json!({ "greeting": "hi" }));
    reconcile_stored(&hi, &cluster, &object, "configmaps");
    let cm = get_configmap(&cluster, "default", "app").expect("exists");
    assert_eq!(cm["metadata"]["annotations"]["weft.dev/greeting"], "hi, default/app");
}

/// A pool of three slots, each holding a live instance: the pool is sized for the language with
/// the most core instances (Python), memories (JavaScript) and tables.
#[rstest]
fn the_pool_holds_a_live_instance_per_slot_in_every_language(
    #[values(Rust, Go, Python, JavaScript)] language: Language,
) {
    const SLOTS: u32 = 3;
    let config = RuntimeConfig {
        engine: EngineConfig { max_instances: SLOTS, ..EngineConfig::default() },
        cache_dir: Some(compiled_cache()),
        ..RuntimeConfig::default()
    };
    let runtime = Runtime::new(config).expect("runtime");
    let module = runtime.load(&language.module_bytes("hello")).expect("loads");
    let cluster = TestCluster::start();
    let hello = bind(module, &cluster, json!({}));
    let greeted = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "app", "namespace": "default", "labels": { "weft.dev/hello": "" },
            "annotations": { "weft.dev/greeting": "hello, default/app" },
        },
    });
    let live: Vec<_> = (0..SLOTS)
        .map(|slot| {
            hello
                .live_instance(configmap_ref("default", "app"), greeted.to_string())
                .unwrap_or_else(|e| panic!("{language}: instance {slot} of {SLOTS}: {e}"))
        })
        .collect();
    assert_eq!(live.len(), SLOTS as usize);
}

#[test]
fn hello_built_for_wasip1_is_componentized_and_behaves_the_same() {
    let cluster = TestCluster::start();
    let bytes = std::fs::read(example_path("hello", "wasm32-wasip1")).expect("read");
    let module = runtime().load(&bytes).expect("wasip1 module loads");
    assert_eq!(module.kind(), ModuleKind::CoreModule);
    assert_eq!(module.description().name, "hello");

    cluster.create(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "p1", "namespace": "default", "labels": { "weft.dev/hello": "yes" } },
    }));
    let grants = Grants::declared(&module.description().permissions);
    let hello = BoundModule::new(
        module,
        PluginEnv {
            name: Arc::from("hello-p1"),
            grants,
            cluster: cluster.cluster.clone(),
            config: r#"{"greeting":"hey"}"#.into(),
            limits: Limits::default(),
        },
    );
    reconcile_stored(&hello, &cluster, &configmap_ref("default", "p1"), "configmaps");
    let cm = get_configmap(&cluster, "default", "p1").expect("exists");
    assert_eq!(cm["metadata"]["annotations"]["weft.dev/greeting"], "hey, default/p1");
}

#[test]
fn configmap_mirror_copies_prunes_maps_back_and_cleans_up() {
    let cluster = TestCluster::start();
    for ns in ["source", "team-a", "team-b"] {
        cluster.namespace(ns);
    }
    cluster.create(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "shared", "namespace": "source",
            "labels": { "weft.dev/mirror": "true" },
            "annotations": { "weft.dev/mirror-to": "team-a, team-b,source" },
        },
        "data": { "colour": "blue" },
    }));
    let source = configmap_ref("source", "shared");
    let mirror = plugin("configmap-mirror", &cluster, json!({}));
    assert_eq!(mirror.info().description().finalizer.as_deref(), Some("weft.dev/mirror-cleanup"));

    reconcile_stored(&mirror, &cluster, &source, "configmaps");
    for ns in ["team-a", "team-b"] {
        let copy = get_configmap(&cluster, ns, "shared").unwrap_or_else(|| panic!("copy in {ns}"));
        assert_eq!(copy["data"]["colour"], "blue");
        assert_eq!(copy["metadata"]["labels"]["weft.dev/mirrored-from"], "source.shared");
        assert_eq!(copy["metadata"]["managedFields"][0]["manager"], "configmap-mirror", "applied as the plugin");
    }

    // A copy maps back to its source.
    let copy = get_configmap(&cluster, "team-a", "shared").expect("copy");
    let primaries = mirror.map_related(configmap_ref("team-a", "shared"), copy.to_string()).expect("call").expect("ok");
    assert_eq!(primaries, vec![source.clone()]);

    // Dropping a namespace from the list deletes its copy.
    let stored = get_configmap(&cluster, "source", "shared").expect("source");
    let mut narrowed = stored.clone();
    narrowed["metadata"]["annotations"]["weft.dev/mirror-to"] = json!("team-a");
    cluster.cluster.clear_writes();
    mirror.reconcile(source.clone(), narrowed.to_string(), Trigger::Modified).expect("call").expect("ok");
    assert!(get_configmap(&cluster, "team-b", "shared").is_none(), "stale copy deleted");
    assert!(get_configmap(&cluster, "team-a", "shared").is_some());
    assert!(cluster.cluster.writes().contains(&Write {
        verb: "delete",
        resource: "configmaps".into(),
        namespace: Some("team-b".into()),
        name: "shared".into(),
    }));

    // Cleanup removes every copy.
    let action = mirror.cleanup(source, stored.to_string()).expect("call").expect("ok");
    assert_eq!(action, Action::Done);
    assert!(get_configmap(&cluster, "team-a", "shared").is_none());
    assert!(get_configmap(&cluster, "source", "shared").is_some(), "the source itself is the host's to delete");
}

#[test]
fn configmap_mirror_reports_a_missing_namespace_as_transient_with_an_event() {
    let cluster = TestCluster::start();
    cluster.namespace("source");
    cluster.create(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "cfg", "namespace": "source",
            "labels": { "weft.dev/mirror": "true" },
            "annotations": { "weft.dev/mirror-to": "nowhere" },
        },
    }));
    let mirror = plugin("configmap-mirror", &cluster, json!({}));
    let json = get_configmap(&cluster, "source", "cfg").expect("source").to_string();
    let result = mirror.reconcile(configmap_ref("source", "cfg"), json, Trigger::Added).expect("call returns");
    match result {
        Err(weft::runtime::Failure::Transient(message)) => assert!(message.contains("nowhere"), "{message}"),
        other => panic!("expected a transient failure, got {other:?}"),
    }
    let events = cluster.cluster.events();
    assert_eq!(events.len(), 1);
    let (regarding, event, reporter) = &events[0];
    assert_eq!(regarding, &configmap_ref("source", "cfg"));
    assert_eq!(event.reason, "MirrorFailed");
    assert_eq!(reporter, "configmap-mirror");
}

#[rstest]
fn fleet_health_counts_members_maps_them_and_writes_status_once(
    #[values(Rust, Go, Python, JavaScript)] language: Language,
) {
    let cluster = TestCluster::start();
    cluster.create_yaml(include_str!("../../examples/fleet-health/crds.yaml"));
    cluster.create(json!({
        "apiVersion": "examples.weft.dev/v1", "kind": "Fleet",
        "metadata": { "name": "edge", "namespace": "default" }, "spec": {},
    }));
    for (name, fleet, healthy) in
        [("m1", "edge", true), ("m2", "edge", false), ("m3", "edge", true), ("x", "core", true)]
    {
        cluster.create(json!({
            "apiVersion": "examples.weft.dev/v1", "kind": "FleetMember",
            "metadata": { "name": name, "namespace": "default", "labels": { "examples.weft.dev/fleet": fleet } },
            "spec": { "healthy": healthy },
        }));
    }
    let module = example_in(language, "fleet-health");
    assert_eq!(module.description().name, language.plugin("fleet-health"));
    let health = bind(module, &cluster, json!({}));
    let fleet = ObjectRef {
        api_version: "examples.weft.dev/v1".into(),
        kind: "Fleet".into(),
        namespace: Some("default".into()),
        name: "edge".into(),
    };

    // A member maps to its fleet.
    let member = cluster.get("examples.weft.dev", "v1", "fleetmembers", Some("default"), "m2").expect("member");
    let member_ref = ObjectRef { kind: "FleetMember".into(), name: "m2".into(), ..fleet.clone() };
    let primaries = health.map_related(member_ref, member.to_string()).expect("call").expect("ok");
    assert_eq!(primaries, vec![fleet.clone()]);

    reconcile_stored(&health, &cluster, &fleet, "fleets");
    let stored = cluster.get("examples.weft.dev", "v1", "fleets", Some("default"), "edge").expect("fleet");
    assert_eq!(stored["status"], json!({ "totalMembers": 3, "healthyMembers": 2, "observedGeneration": 1 }));
    assert_eq!(cluster.cluster.writes().len(), 1);

    // Reconciling again (as a status-only event would, were it not filtered) writes nothing.
    cluster.cluster.clear_writes();
    reconcile_stored(&health, &cluster, &fleet, "fleets");
    assert_eq!(cluster.cluster.writes(), vec![]);
}
