//! What each SDK makes of a reconcile that goes wrong, with the `misbehave` fixture of every
//! language: an exception or panic is a transient failure carrying its message (not a trap), a
//! refused cluster call reaches the plugin as its language's error type, and one the plugin does
//! not catch fails the reconcile permanently, as Rust's `?` does.

mod common;

use std::sync::Arc;

use common::example_in;
use common::languages::{Go, JavaScript, Language, Python, Rust};
use common::store_cluster::TestCluster;
use rstest::rstest;
use serde_json::json;
use weft::runtime::{Action, BoundModule, Failure, Grants, Limits, ObjectRef, PluginEnv, Trigger};

/// Reconciles a stored ConfigMap asking `language`'s misbehave for `behaviour`; the cluster is
/// returned to look at what the plugin wrote.
fn misbehave(language: Language, behaviour: &str) -> (Result<Action, Failure>, TestCluster) {
    let cluster = TestCluster::start();
    let object = cluster.create(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": behaviour, "namespace": "default", "labels": { "weft.dev/misbehave": behaviour } },
    }));
    let module = example_in(language, "misbehave");
    let grants = Grants::declared(&module.description().permissions);
    let plugin = BoundModule::new(
        module,
        PluginEnv {
            name: Arc::from(language.plugin("misbehave")),
            grants,
            cluster: cluster.cluster.clone(),
            config: "{}".into(),
            limits: Limits::default(),
        },
    );
    let reference = ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some("default".into()),
        name: behaviour.into(),
    };
    let result = plugin.reconcile(reference, object.to_string(), Trigger::Added);
    (result.unwrap_or_else(|e| panic!("{language}: the call itself failed: {e}")), cluster)
}

fn transient(language: Language, result: Result<Action, Failure>) -> String {
    match result {
        Err(Failure::Transient(message)) => message,
        other => panic!("{language}: expected a transient failure, got {other:?}"),
    }
}

#[rstest]
fn a_panic_or_exception_in_reconcile_is_a_transient_failure_with_its_message(
    #[values(Go, Python, JavaScript)] language: Language,
) {
    let (result, _) = misbehave(language, "panic");
    let message = transient(language, result);
    assert!(message.contains("misbehaving on purpose: panic"), "{language}: {message}");
}

#[rstest]
#[case::go(Go, "assignment to entry in nil map")]
#[case::python(Python, "KeyError")]
#[case::javascript(JavaScript, "TypeError")]
fn a_runtime_error_in_reconcile_is_a_transient_failure_naming_it(#[case] language: Language, #[case] error: &str) {
    let (result, _) = misbehave(language, "runtime-error");
    let message = transient(language, result);
    assert!(message.contains(error), "{language}: {message}");
}

#[rstest]
fn a_forbidden_call_comes_back_as_the_languages_error_type(#[values(Go, Python, JavaScript)] language: Language) {
    let (result, cluster) = misbehave(language, "forbidden");
    assert_eq!(result, Ok(Action::Done), "{language}: the plugin caught the error");
    let stored = cluster.get("", "v1", "configmaps", Some("default"), "forbidden").expect("stored");
    let noted = stored["metadata"]["annotations"]["weft.dev/result"].as_str().unwrap_or_default().to_owned();
    // Each fixture writes `forbidden=<the error says it is a forbidden error>: <its message>`.
    assert!(noted.to_lowercase().starts_with("forbidden=true: "), "{language}: {noted}");
    assert!(noted.contains("secrets"), "{language}: the message names what was refused: {noted}");
}

#[rstest]
#[case::rust(Rust, "forbidden")]
#[case::go(Go, "forbidden-uncaught")]
#[case::python(Python, "forbidden-uncaught")]
#[case::javascript(JavaScript, "forbidden-uncaught")]
fn a_forbidden_error_the_plugin_does_not_catch_fails_permanently(#[case] language: Language, #[case] behaviour: &str) {
    let (result, _) = misbehave(language, behaviour);
    match result {
        Err(Failure::Permanent(message)) => assert!(message.contains("secrets"), "{language}: {message}"),
        other => panic!("{language}: expected a permanent failure, got {other:?}"),
    }
}
