//! Status error bodies, names, bad input, discovery, OpenAPI, and fault injection.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{configmap, create_cm, start};
use http::{Method, StatusCode};
use kube::api::{ObjectMeta, PostParams};
use rstest::rstest;
use weft_sim::GroupResource;

#[tokio::test]
async fn errors_are_status_objects_with_the_real_messages() {
    let t = start().await;
    let (status, body) = t.get("/api/v1/namespaces/default/configmaps/missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["apiVersion"], "v1");
    assert_eq!(body["status"], "Failure");
    assert_eq!(body["reason"], "NotFound");
    assert_eq!(body["message"], "configmaps \"missing\" not found");
    assert_eq!(body["details"]["name"], "missing");
    assert_eq!(body["details"]["kind"], "configmaps");
    assert_eq!(body["code"], 404);

    create_cm(&t.configmaps(), "a").await;
    let err = t.configmaps().create(&PostParams::default(), &configmap("a", &[])).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref e) if e.code == 409 && e.reason == "AlreadyExists" && e.message == "configmaps \"a\" already exists"),
        "{err:?}"
    );
}

#[tokio::test]
async fn generate_name_appends_five_kubernetes_characters() {
    let t = start().await;
    let cm = k8s_openapi::api::core::v1::ConfigMap {
        metadata: ObjectMeta { generate_name: Some("gen-".into()), ..ObjectMeta::default() },
        ..Default::default()
    };
    let created = t.configmaps().create(&PostParams::default(), &cm).await.unwrap();
    let name = created.metadata.name.unwrap();
    assert_eq!(name.len(), 9);
    assert!(name[4..].chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)), "{name}");
}

#[rstest]
#[case::invalid_name(r#"{"metadata":{"name":"Not_Valid"}}"#, "application/json", 422)]
#[case::malformed_json(r#"{"metadata":"#, "application/json", 400)]
#[case::malformed_yaml("metadata: [", "application/yaml", 400)]
#[case::wrong_kind(r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"}}"#, "application/json", 400)]
#[case::wrong_api_version(
    r#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"a"}}"#,
    "application/json",
    400
)]
#[case::no_name(r#"{"metadata":{}}"#, "application/json", 422)]
#[case::bad_label(r#"{"metadata":{"name":"a","labels":{"a":"-x"}}}"#, "application/json", 422)]
#[case::truncated_protobuf("\u{6b}\u{38}\u{73}\u{0}\u{a}\u{7f}", "application/vnd.kubernetes.protobuf", 400)]
#[case::cbor("\u{a0}", "application/cbor", 415)]
#[tokio::test]
async fn bad_input_gets_a_status_error(#[case] body: &str, #[case] content_type: &str, #[case] code: u16) {
    let t = start().await;
    let (status, answer) = t.raw(Method::POST, "/api/v1/namespaces/default/configmaps", content_type, body).await;
    assert_eq!(status.as_u16(), code, "{answer}");
    assert_eq!(answer["kind"], "Status");
    assert_eq!(answer["code"], code);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let t = start().await;
    let big = format!(r#"{{"metadata":{{"name":"big"}},"data":{{"k":"{}"}}}}"#, "x".repeat(4 * 1024 * 1024));
    let (status, _) = t.raw(Method::POST, "/api/v1/namespaces/default/configmaps", "application/json", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unknown_paths_and_resources_are_404_and_patch_needs_a_known_content_type() {
    let t = start().await;
    assert_eq!(t.get("/apis/nope.example.com/v1/things").await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/totally/unknown").await.0, StatusCode::NOT_FOUND);
    create_cm(&t.configmaps(), "a").await;
    let (status, _) = t.raw(Method::PATCH, "/api/v1/namespaces/default/configmaps/a", "text/plain", "{}").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn discovery_documents_describe_the_served_api() {
    let t = start().await;
    let (_, version) = t.get("/version").await;
    assert_eq!(version["major"], "1");
    let (_, api) = t.get("/api").await;
    assert_eq!(api["versions"][0], "v1");
    let (_, core) = t.get("/api/v1").await;
    let names: Vec<&str> = core["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    for expected in
        ["namespaces", "configmaps", "secrets", "services", "serviceaccounts", "pods", "pods/status", "events"]
    {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let (_, groups) = t.get("/apis").await;
    let groups: Vec<&str> = groups["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    for expected in ["apps", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"] {
        assert!(groups.contains(&expected), "{expected} in {groups:?}");
    }
    let (_, apps) = t.get("/apis/apps/v1").await;
    assert!(apps["resources"].as_array().unwrap().iter().any(|r| r["name"] == "deployments/scale"));
}

#[tokio::test]
async fn openapi_v3_advertises_field_validation_and_crd_schemas() {
    let t = start().await;
    t.install_widgets().await;
    let (_, index) = t.get("/openapi/v3").await;
    let url = index["paths"]["apis/examples.weft.dev/v1"]["serverRelativeURL"].as_str().unwrap().to_owned();
    let (status, doc) = t.get(&url).await;
    assert_eq!(status, StatusCode::OK);
    let patch = &doc["paths"]["/apis/examples.weft.dev/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
    assert!(patch["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "fieldValidation"));
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas.values().any(|s| s["properties"]["spec"]["properties"]["size"]["type"] == "integer"));
}

#[tokio::test]
async fn injected_failures_hit_the_named_resource_then_stop() {
    let t = start().await;
    t.sim.faults().fail_next(Some(GroupResource::new("", "configmaps")), 2, 503, "injected outage");
    // Over bare TCP: kube-client retries 503s by itself.
    let addr = t.sim.addr();
    for _ in 0..2 {
        let (status, body) = common::plain_get(addr, "/api/v1/namespaces/default/configmaps").await;
        assert_eq!(status, 503);
        assert_eq!(body["message"], "injected outage");
    }
    assert_eq!(common::plain_get(addr, "/api/v1/namespaces/default/secrets").await.0, 200);
    assert_eq!(common::plain_get(addr, "/api/v1/namespaces/default/configmaps").await.0, 200);
    t.sim.faults().fail_next(None, 1, 503, "once");
    assert!(t.configmaps().list(&Default::default()).await.is_ok(), "the kube client rides out a single 503");
}

#[tokio::test]
async fn injected_latency_delays_requests() {
    let t = start().await;
    t.sim.faults().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    t.get("/api/v1/namespaces/default/configmaps").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    t.sim.faults().clear();
}

#[tokio::test]
async fn secrets_turn_string_data_into_data() {
    let t = start().await;
    let body = r#"{"metadata":{"name":"s"},"stringData":{"user":"admin"}}"#;
    let (status, secret) = t.raw(Method::POST, "/api/v1/namespaces/default/secrets", "application/json", body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(secret["data"]["user"], "YWRtaW4=");
    assert!(secret.get("stringData").is_none());
}

#[tokio::test]
async fn configmaps_hold_at_most_one_mebibyte() {
    let t = start().await;
    let fits = format!(r#"{{"metadata":{{"name":"fits"}},"data":{{"k":"{}"}}}}"#, "x".repeat(1024 * 1024 - 1));
    assert_eq!(
        t.raw(Method::POST, "/api/v1/namespaces/default/configmaps", "application/json", &fits).await.0,
        StatusCode::CREATED
    );
    let big = format!(r#"{{"metadata":{{"name":"big"}},"data":{{"k":"{}"}}}}"#, "x".repeat(1024 * 1024));
    let (status, body) = t.raw(Method::POST, "/api/v1/namespaces/default/configmaps", "application/json", &big).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("Too long: must have at most 1048576 bytes"), "{body}");
}
