//! Decoding the request bodies kubectl 1.37 sent (captured, one per line in `fixtures.txt`).

use serde_json::{Value, json};

use super::*;

fn fixture(name: &str) -> Value {
    let line = include_str!("fixtures.txt")
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no fixture {name}"));
    let body = crate::base64::decode(line.split_once(' ').map(|(_, b)| b).unwrap_or_default()).unwrap();
    decode(&body).unwrap()
}

#[test]
fn kubectl_create_deployment_decodes_without_empty_fields() {
    let d = fixture("POST.apis_apps_v1_namespaces_default_deployments.bin");
    assert_eq!(d["metadata"], json!({"name": "web", "labels": {"app": "web"}}));
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(d["spec"]["selector"], json!({"matchLabels": {"app": "web"}}));
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["name"], "nginx");
    assert_eq!(container["ports"], json!([{"containerPort": 80}]));
    assert_eq!(container["resources"], json!({}), "a non-pointer struct stays, as its JSON does");
    assert_eq!(d["spec"]["strategy"], json!({}));
    assert!(d["metadata"].get("generateName").is_none());
}

#[test]
fn kubectl_create_service_and_secret_decode() {
    let s = fixture("POST.api_v1_namespaces_default_services.bin");
    assert_eq!(s["spec"]["ports"], json!([{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}]));
    assert_eq!((&s["spec"]["type"], &s["spec"]["selector"]), (&json!("ClusterIP"), &json!({"app": "s2"})));
    let secret = fixture("POST.api_v1_namespaces_default_secrets.bin");
    assert_eq!(secret["data"], json!({"a": "Yg=="}));
    assert!(secret.get("type").is_none(), "an empty type is unset, so it defaults to Opaque");
}

#[test]
fn rbac_bodies_decode() {
    let role = fixture("POST.apis_rbac.authorization.k8s.io_v1_namespaces_default_roles.bin");
    assert_eq!(role["rules"], json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]));
    let binding = fixture("POST.apis_rbac.authorization.k8s.io_v1_clusterrolebindings.bin");
    assert_eq!(
        binding["subjects"],
        json!([
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "bob"},
            {"kind": "ServiceAccount", "name": "sa9", "namespace": "default"},
        ])
    );
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cr"})
    );
}

#[test]
fn review_and_token_bodies_decode() {
    let ssar = fixture("POST.apis_authorization.k8s.io_v1_selfsubjectaccessreviews.bin");
    assert_eq!(
        ssar["spec"],
        json!({"resourceAttributes": {"namespace": "default", "verb": "get", "resource": "pods"}})
    );
    assert_eq!(ssar["kind"], "SelfSubjectAccessReview");
    let token = fixture("POST.api_v1_namespaces_default_serviceaccounts_sa9_token.bin");
    assert_eq!(token["spec"]["expirationSeconds"], 3600);
    let rules = fixture("POST.apis_authorization.k8s.io_v1_selfsubjectrulesreviews.bin");
    assert_eq!(rules["spec"], json!({"namespace": "default"}));
    let job = fixture("POST.apis_batch_v1_namespaces_default_jobs.bin");
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    fixture("POST.apis_authentication.k8s.io_v1_selfsubjectreviews.bin");
}

#[test]
fn malformed_and_unsupported_bodies_are_errors() {
    assert!(matches!(decode(b"{}"), Err(ProtobufError::Malformed(_))));
    assert!(matches!(decode(b"k8s\0\x0a\xff"), Err(ProtobufError::Malformed(_))));
    // typeMeta {apiVersion: "example.com/v1", kind: "Widget"}
    let body = b"k8s\0\x0a\x18\x0a\x0eexample.com/v1\x12\x06Widget";
    assert!(matches!(decode(body), Err(ProtobufError::UnsupportedKind(_))));
}

#[test]
fn delete_options_from_a_typed_client_decode() {
    // typeMeta {apiVersion: "v1", kind: "DeleteOptions"}, raw {gracePeriodSeconds: 0, propagationPolicy: "Foreground"}
    let body = b"k8s\0\x0a\x13\x0a\x02v1\x12\x0dDeleteOptions\x12\x0e\x08\x00\x22\x0aForeground";
    assert_eq!(
        decode(body).unwrap(),
        json!({"gracePeriodSeconds": 0, "propagationPolicy": "Foreground", "apiVersion": "v1", "kind": "DeleteOptions"})
    );
}
