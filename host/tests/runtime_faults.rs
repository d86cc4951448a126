//! Bad modules and misbehaving plugins: each gets a clear error, and none disturbs the host or
//! another plugin.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::store_cluster::TestCluster;
use common::{example, example_bytes, runtime};
use serde_json::json;
use weft::runtime::{
    Action, BoundModule, CallError, CompileIn, Failure, Grants, Limits, LoadError, ObjectRef, PluginEnv, Runtime,
    RuntimeConfig, Trigger,
};

fn plugin_with(name: &str, cluster: &TestCluster, limits: Limits) -> BoundModule {
    let module = example(name);
    let grants = Grants::declared(&module.description().permissions);
    BoundModule::new(
        module,
        PluginEnv { name: Arc::from(name), grants, cluster: cluster.cluster.clone(), config: "{}".into(), limits },
    )
}

/// A ConfigMap asking misbehave for `behaviour`, and its reference.
fn misbehaving(behaviour: &str) -> (ObjectRef, String) {
    let object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": behaviour, "namespace": "default", "labels": { "weft.dev/misbehave": behaviour } },
    });
    let reference = ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some("default".into()),
        name: behaviour.into(),
    };
    (reference, object.to_string())
}

fn misbehave(cluster: &TestCluster, behaviour: &str, limits: Limits) -> Result<Result<Action, Failure>, CallError> {
    let (reference, json) = misbehaving(behaviour);
    plugin_with("misbehave", cluster, limits).reconcile(reference, json, Trigger::Added)
}

fn load_error(bytes: &[u8]) -> LoadError {
    runtime().load(bytes).expect_err("the module must be refused")
}

#[test]
fn garbage_bytes_are_not_webassembly() {
    let error = load_error(b"#!/bin/sh\necho hello\n");
    assert!(matches!(error, LoadError::NotWasm(_)), "{error:?}");
    assert_eq!(error.to_string(), "not a WebAssembly file (it starts with [23, 21, 2f, 62], not \\0asm)");
    assert!(matches!(load_error(b""), LoadError::NotWasm(_)));
}

#[test]
fn a_truncated_component_is_invalid() {
    let bytes = example_bytes("hello");
    let error = load_error(&bytes[..bytes.len() / 2]);
    assert!(matches!(error, LoadError::Invalid(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.starts_with("invalid WebAssembly: "), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn a_core_module_without_the_world_is_refused() {
    let core = wat::parse_str(r#"(module (func (export "reconcile")))"#).expect("wat");
    let error = load_error(&core);
    assert!(matches!(error, LoadError::CoreWithoutWorld), "{error:?}");
    assert!(error.to_string().contains("weft:plugin/reconciler"), "{error}");
}

#[test]
fn a_component_of_another_world_is_refused() {
    let other =
        wat::parse_str(r#"(component (instance $run) (export "wasi:cli/run@0.2.0" (instance $run)))"#).expect("wat");
    let error = load_error(&other);
    assert!(matches!(error, LoadError::WrongWorld { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the component is not a weft plugin: it does not export weft:plugin/controller@0.1.0 \
         (its exports: wasi:cli/run@0.2.0)"
    );
}

#[test]
fn a_component_of_another_contract_version_is_refused() {
    let newer = wat::parse_str(r#"(component (instance $c) (export "weft:plugin/controller@0.2.0" (instance $c)))"#)
        .expect("wat");
    let error = load_error(&newer);
    assert!(matches!(error, LoadError::WrongVersion { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the component implements weft:plugin/controller@0.2.0, but this host speaks weft:plugin/controller@0.1.0"
    );
}

#[test]
fn a_describe_that_traps_is_refused_with_the_panic_message() {
    let error = load_error(&example_bytes("bad-describe"));
    let LoadError::Describe(CallError::Trap(message)) = &error else { panic!("expected a describe trap: {error:?}") };
    assert!(message.contains("describe is broken on purpose"), "{message}");
}

#[test]
fn a_label_selector_that_does_not_parse_refuses_the_module() {
    let error = load_error(&example_bytes("bad-selector"));
    assert!(matches!(error, LoadError::BadDescription(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "describe returned an invalid description: the label selector of its configmaps watch: unable to parse \
         requirement: expected a parenthesised set of values, found \"web\" in selector \"app in web\""
    );
}

#[test]
fn a_trap_is_reported_and_the_next_call_works() {
    let cluster = TestCluster::start();
    let error = misbehave(&cluster, "trap", Limits::default()).expect_err("traps");
    let CallError::Trap(message) = &error else { panic!("expected a trap: {error:?}") };
    assert!(message.contains("misbehaving on purpose: trap"), "{message}");
    assert!(error.is_plugin_fault());
    assert_eq!(misbehave(&cluster, "ok", Limits::default()), Ok(Ok(Action::Done)));
}

#[test]
fn an_infinite_loop_is_interrupted_while_other_plugins_keep_serving() {
    let cluster = TestCluster::start();
    cluster.create(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "busy", "namespace": "default", "labels": { "weft.dev/hello": "" } },
    }));
    let hello = plugin_with("hello", &cluster, Limits::default());
    let looping = Arc::new(AtomicBool::new(true));
    let served_meanwhile = Arc::new(AtomicUsize::new(0));
    let neighbour = {
        let (looping, served) = (Arc::clone(&looping), Arc::clone(&served_meanwhile));
        let json = cluster.get("", "v1", "configmaps", Some("default"), "busy").expect("exists").to_string();
        let reference = ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("default".into()),
            name: "busy".into(),
        };
        std::thread::spawn(move || {
            while looping.load(Ordering::SeqCst) {
                let result = hello.reconcile(reference.clone(), json.clone(), Trigger::Resync);
                assert_eq!(result, Ok(Ok(Action::Done)));
                if looping.load(Ordering::SeqCst) {
                    served.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };

    let deadline = Duration::from_millis(500);
    let started = Instant::now();
    let result = misbehave(&cluster, "loop", Limits { timeout: deadline, ..Limits::default() });
    let elapsed = started.elapsed();
    looping.store(false, Ordering::SeqCst);
    neighbour.join().expect("the neighbour never failed");

    assert_eq!(result, Err(CallError::Deadline(deadline)));
    assert!(elapsed < deadline * 2, "interrupted after {elapsed:?}, deadline {deadline:?}");
    assert!(served_meanwhile.load(Ordering::SeqCst) > 0, "hello kept reconciling while the loop ran");
}

#[test]
fn fuel_bounds_computation_when_set() {
    let cluster = TestCluster::start();
    let limits = Limits { fuel: Some(50_000_000), timeout: Duration::from_secs(60), ..Limits::default() };
    assert_eq!(misbehave(&cluster, "loop", limits), Err(CallError::OutOfFuel(50_000_000)));
}

#[test]
fn an_undeclared_call_gets_a_typed_forbidden_error_and_never_reaches_the_cluster() {
    let cluster = TestCluster::start();
    let result = misbehave(&cluster, "forbidden", Limits::default()).expect("call returns");
    let Err(Failure::Permanent(message)) = result else { panic!("expected a permanent failure: {result:?}") };
    assert!(message.starts_with("Forbidden: plugin misbehave may not list secrets (group core)"), "{message}");
    assert_eq!(cluster.cluster.reads(), 0);
}

#[test]
fn oversized_objects_are_refused_both_ways() {
    let cluster = TestCluster::start();
    // Into the plugin: refused before any instance exists.
    let (reference, _) = misbehaving("ok");
    let huge = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "ok", "namespace": "default", "labels": { "weft.dev/misbehave": "ok" } },
        "data": { "blob": "x".repeat(4 << 20) },
    })
    .to_string();
    let plugin = plugin_with("misbehave", &cluster, Limits::default());
    let error = plugin.reconcile(reference, huge.clone(), Trigger::Added).expect_err("too large");
    assert_eq!(error, CallError::ObjectTooLarge { size: huge.len(), limit: Limits::default().max_object_bytes });

    // Out of the plugin: the write is refused with a typed error and never sent.
    let limits = Limits { max_object_bytes: 1 << 20, ..Limits::default() };
    let result = misbehave(&cluster, "oversize", limits).expect("call returns");
    let Err(Failure::Permanent(message)) = result else { panic!("expected a permanent failure: {result:?}") };
    assert!(message.starts_with("Invalid: object is"), "{message}");
    assert!(message.contains("over the 1048576-byte limit"), "{message}");
    assert_eq!(cluster.cluster.writes(), vec![]);
}

#[test]
fn a_permanent_error_and_guest_output_come_back_as_such() {
    let cluster = TestCluster::start();
    assert_eq!(
        misbehave(&cluster, "fail", Limits::default()),
        Ok(Err(Failure::Permanent("failing on purpose".into())))
    );
    assert_eq!(misbehave(&cluster, "print", Limits::default()), Ok(Ok(Action::Done)));
    // Output past the budget is dropped, never a trap.
    let tiny = Limits { max_output_bytes: 4, ..Limits::default() };
    assert_eq!(misbehave(&cluster, "print", tiny), Ok(Ok(Action::Done)));
}

#[test]
fn invalid_config_is_a_permanent_failure() {
    let cluster = TestCluster::start();
    let module = example("hello");
    let grants = Grants::declared(&module.description().permissions);
    let hello = BoundModule::new(
        module,
        PluginEnv {
            name: Arc::from("hello"),
            grants,
            cluster: cluster.cluster.clone(),
            config: r#"{"greeting": 42}"#.into(),
            limits: Limits::default(),
        },
    );
    let (reference, json) = misbehaving("ok");
    let result = hello.reconcile(reference, json, Trigger::Added).expect("call returns");
    let Err(Failure::Permanent(message)) = result else { panic!("expected a permanent failure: {result:?}") };
    assert!(message.starts_with("invalid plugin config"), "{message}");
}

#[test]
fn the_disk_cache_serves_a_second_runtime_and_survives_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RuntimeConfig { cache_dir: Some(dir.path().to_owned()), ..Default::default() };
    let bytes = example_bytes("hello");

    let first = Runtime::new(config.clone()).expect("runtime").load(&bytes).expect("loads");
    assert!(!first.from_cache());
    let cached: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").map(|e| e.expect("entry").path()).collect();
    assert_eq!(cached.len(), 1, "one compiled artifact: {cached:?}");
    assert!(cached[0].to_string_lossy().contains(&first.digest().to_string()));

    let second = Runtime::new(config.clone()).expect("runtime").load(&bytes).expect("loads");
    assert!(second.from_cache());
    assert_eq!(second.description(), first.description());

    std::fs::write(&cached[0], b"not a compiled module").expect("corrupt");
    let third = Runtime::new(config).expect("runtime").load(&bytes).expect("recompiles");
    assert!(!third.from_cache());
}

#[test]
fn a_module_compiled_in_a_child_process_loads_and_a_broken_compiler_fails_only_the_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let in_child = |program: &str| RuntimeConfig {
        cache_dir: Some(dir.path().to_owned()),
        compile_in: CompileIn::Subprocess(program.into()),
        ..Default::default()
    };
    let bytes = example_bytes("hello");
    let module = Runtime::new(in_child(env!("CARGO_BIN_EXE_weft"))).expect("runtime").load(&bytes).expect("loads");
    assert!(!module.from_cache(), "compiled for this load, by the child");
    assert_eq!(module.description().name, "hello");

    let error = Runtime::new(in_child(env!("CARGO_BIN_EXE_weft"))).expect("runtime").load(b"\0asm\x0d\0\x01\0junk");
    let error = error.expect_err("refused");
    assert!(error.to_string().contains("the compiler process failed"), "{error}");

    let broken = Runtime::new(in_child("/bin/false")).expect("runtime");
    let error = broken.load(&common::processes::variant(&bytes, 1)).expect_err("no compiler");
    assert!(error.to_string().starts_with("compiling the component failed: the compiler process failed"), "{error}");
    let error = Runtime::new(in_child("/no/such/weft")).expect("runtime").load(&common::processes::variant(&bytes, 2));
    assert!(error.expect_err("no compiler").to_string().contains("did not start"));
}
