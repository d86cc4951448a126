//! What a new user does with kubectl 1.37 that the emulator used to get wrong: replacing a custom
//! resource, piping `get -o yaml` into `apply`, `describe` with its Events, the typed generators
//! (which send protobuf), `auth can-i` and `whoami`, and `apply --prune`.

#![allow(clippy::unwrap_used)]

mod common;

use common::kubectl::Kubectl;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

#[tokio::test]
async fn kubectl_replace_of_a_custom_resource_just_read_succeeds() {
    let k = Kubectl::start().await;
    let widgets = k.t.install_widgets().await;
    widgets.create(&Default::default(), &common::widget("w1", 1)).await.unwrap();
    let mut w = k.json(&["get", "widget", "w1"]).await;
    w["spec"]["size"] = 2.into();
    let file = k.write_file("w1.json", &w.to_string());
    let out = k.run(&["replace", "-f", &file]).await;
    assert!(out.contains("replaced"), "{out}");
    let after = k.json(&["get", "widget", "w1"]).await;
    assert_eq!((after["spec"]["size"].as_i64(), after["metadata"]["generation"].as_i64()), (Some(2), Some(2)));
    // Without a resourceVersion a custom resource PUT is refused, naming the plural resource
    // (kubectl itself fills in the current one, so this goes around it).
    w["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    let path = "/apis/examples.weft.dev/v1/namespaces/default/widgets/w1";
    let (status, body) = k.t.raw(http::Method::PUT, path, "application/json", &w.to_string()).await;
    assert_eq!(status, http::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["message"],
        "widgets.examples.weft.dev \"w1\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    );
    assert_eq!((&body["details"]["kind"], &body["details"]["group"]), (&"widgets".into(), &"examples.weft.dev".into()));
}

#[tokio::test]
async fn kubectl_get_as_yaml_piped_to_apply_applies_the_list() {
    let k = Kubectl::start().await;
    k.run(&["create", "configmap", "a", "--from-literal=k=1"]).await;
    k.run(&["create", "configmap", "b", "--from-literal=k=2"]).await;
    let list = k.run(&["get", "configmaps", "a", "b", "-o", "yaml"]).await;
    assert!(list.contains("kind: List"), "{list}");
    let out = k.run_with_input(&["apply", "-f", "-"], &list).await;
    assert!(out.contains("configmap/a") && out.contains("configmap/b"), "{out}");
    let file = k.write_file("list.yaml", &list.replace("k: \"1\"", "k: \"3\"").replace("resourceVersion", "x-rv"));
    k.run(&["apply", "-f", &file]).await;
    assert_eq!(k.json(&["get", "configmap", "a"]).await["data"]["k"], "3");
    let (_, v2) = k.t.get("/openapi/v2").await;
    assert_eq!(v2["swagger"], "2.0");
}

#[tokio::test]
async fn kubectl_describe_shows_the_events_a_kube_recorder_wrote() {
    let k = Kubectl::start().await;
    k.run(&["create", "configmap", "c1", "--from-literal=k=v"]).await;
    let cm = k.t.configmaps().get("c1").await.unwrap();
    let reference: ObjectReference = cm.object_ref(&());
    let recorder =
        Recorder::new(k.t.client.clone(), Reporter { controller: "weft".into(), instance: Some("weft-0".into()) });
    let event = |type_, reason: &str| Event {
        type_,
        reason: reason.into(),
        note: Some(format!("{reason} happened")),
        action: reason.into(),
        secondary: None,
    };
    recorder.publish(&event(EventType::Normal, "Loaded"), &reference).await.unwrap();
    recorder.publish(&event(EventType::Warning, "Refused"), &reference).await.unwrap();
    // A repeat is a merge patch of `series` through events.k8s.io.
    recorder.publish(&event(EventType::Warning, "Refused"), &reference).await.unwrap();
    let described = k.run(&["describe", "configmap", "c1"]).await;
    assert!(described.contains("Loaded") && described.contains("Loaded happened"), "{described}");
    assert!(described.contains("Warning") && described.contains("Refused"), "{described}");
    let table = k.run(&["get", "events"]).await;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
    assert!(table.lines().any(|l| l.contains("Warning") && l.contains("configmap/c1")), "{table}");
    let events = k.run(&["events", "--for", "configmap/c1"]).await;
    assert!(events.contains("Refused happened"), "{events}");
    let warnings = k.json(&["get", "events", "--field-selector", "type=Warning"]).await;
    let reasons: Vec<&str> =
        warnings["items"].as_array().unwrap().iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["Refused"]);
    assert_eq!(warnings["items"][0]["involvedObject"]["name"], "c1");
    assert_eq!(warnings["items"][0]["reportingComponent"], "weft");
    assert_eq!(warnings["items"][0]["series"]["count"], 2, "{}", warnings["items"][0]);
    let err = k.run_fails(&["get", "events", "--field-selector", "regarding.name=c1"]).await;
    assert!(err.contains("field label not supported: regarding.name"), "{err}");
    let v1 = k.json(&["get", "events.v1.events.k8s.io", "--field-selector", "regarding.name=c1"]).await;
    assert_eq!(v1["items"].as_array().unwrap().len(), 2);
    assert_eq!(v1["items"][0]["regarding"]["kind"], "ConfigMap");
}

#[tokio::test]
async fn kubectl_create_generators_send_protobuf_for_every_kind() {
    let k = Kubectl::start().await;
    k.run(&["create", "deployment", "web", "--image=nginx", "--port=80"]).await;
    k.run(&["create", "service", "clusterip", "web", "--tcp=80:8080"]).await;
    k.run(&["create", "role", "reader", "--verb=get,list", "--resource=pods"]).await;
    k.run(&["create", "rolebinding", "reader", "--role=reader", "--user=bob", "--serviceaccount=default:default"])
        .await;
    k.run(&["create", "clusterrole", "ns-reader", "--verb=get", "--resource=namespaces"]).await;
    k.run(&["create", "clusterrolebinding", "ns-reader", "--clusterrole=ns-reader", "--group=devs"]).await;
    k.run(&["create", "job", "once", "--image=busybox"]).await;
    k.run(&["create", "secret", "generic", "s", "--from-literal=a=b"]).await;
    let token = k.run(&["create", "token", "default", "--duration=1h"]).await;
    assert_eq!(token.trim().split('.').count(), 3, "a JWT: {token}");

    let d = k.json(&["get", "deployment", "web"]).await;
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"], "TCP");
    assert!(d["metadata"].get("generateName").is_none(), "no empty strings from protobuf: {}", d["metadata"]);
    let svc = k.json(&["get", "service", "web"]).await;
    assert!(svc["spec"]["clusterIP"].as_str().unwrap().starts_with("10.96."), "{}", svc["spec"]);
    let table = k.run(&["get", "service", "web"]).await;
    assert!(table.contains(svc["spec"]["clusterIP"].as_str().unwrap()), "CLUSTER-IP is shown: {table}");
    let binding = k.json(&["get", "rolebinding", "reader"]).await;
    assert_eq!(
        binding["subjects"][1],
        serde_json::json!({"kind": "ServiceAccount", "name": "default", "namespace": "default"})
    );
    let secret = k.json(&["get", "secret", "s"]).await;
    assert_eq!(secret["type"], "Opaque");
    let job = k.json(&["get", "job", "once"]).await;
    assert_eq!(job["spec"]["backoffLimit"], 6);
    let uid = job["metadata"]["uid"].as_str().unwrap();
    assert_eq!(job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"], uid);
    assert_eq!(job["spec"]["template"]["metadata"]["labels"]["job-name"], "once");
}

#[tokio::test]
async fn kubectl_auth_answers_for_the_admin_when_everything_is_allowed() {
    let k = Kubectl::start().await;
    assert_eq!(k.run(&["auth", "can-i", "delete", "pods"]).await.trim(), "yes");
    let list = k.run(&["auth", "can-i", "--list"]).await;
    assert!(list.contains("*.*"), "{list}");
    let whoami = k.json(&["auth", "whoami"]).await;
    assert_eq!(whoami["status"]["userInfo"]["username"], "kubernetes-admin");
}

#[tokio::test]
async fn kubectl_apply_prune_deletes_what_the_manifest_no_longer_has() {
    let k = Kubectl::start().await;
    let manifest = |names: &[&str]| -> String {
        names
            .iter()
            .map(|n| {
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n  labels: {{app: p}}\ndata: {{k: v}}\n"
                )
            })
            .collect::<Vec<_>>()
            .join("---\n")
    };
    k.run(&["apply", "-f", &k.write_file("two.yaml", &manifest(&["p1", "p2"]))]).await;
    let out = k.run(&["apply", "--prune", "-l", "app=p", "-f", &k.write_file("one.yaml", &manifest(&["p1"]))]).await;
    assert!(out.contains("configmap/p2 pruned"), "{out}");
    let api = k.t.configmaps();
    assert!(api.get_opt("p2").await.unwrap().is_none());
    assert!(api.get_opt("p1").await.unwrap().is_some());
}

#[tokio::test]
async fn kubectl_scale_reads_the_selector_of_a_deployment() {
    let k = Kubectl::start().await;
    k.run(&["apply", "-f", &format!("{FIXTURES}/deployment.yaml")]).await;
    let scale: Value = k.t.get("/apis/apps/v1/namespaces/default/deployments/web/scale").await.1;
    assert_eq!(scale["status"], serde_json::json!({"replicas": 0, "selector": "app=web"}));
}

#[tokio::test]
async fn kubectl_get_prints_the_columns_of_the_api_servers_printers() {
    let k = Kubectl::start().await;
    k.run(&["run", "p", "--image=nginx"]).await;
    k.run(&["create", "service", "nodeport", "np", "--tcp=80:8080"]).await;
    k.run(&["create", "deployment", "web", "--image=nginx:1.27"]).await;
    k.run(&["create", "secret", "generic", "s", "--from-literal=a=b"]).await;
    let header = |table: &str| table.lines().next().unwrap().split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let row = |table: &str| table.lines().nth(1).unwrap().split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let pods = k.run(&["get", "pods"]).await;
    assert_eq!(header(&pods), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(row(&pods)[..4], ["p", "0/1", "Pending", "0"]);
    let svc = k.run(&["get", "service", "np"]).await;
    assert_eq!(header(&svc), ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
    let cells = row(&svc);
    assert_eq!((cells[1].as_str(), cells[3].as_str()), ("NodePort", "<none>"));
    assert!(cells[4].starts_with("80:3") && cells[4].ends_with("/TCP"), "{svc}");
    let deploy = k.run(&["get", "deployment", "web"]).await;
    assert_eq!(header(&deploy), ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    assert_eq!(row(&deploy)[..4], ["web", "0/1", "0", "0"]);
    let secret = k.run(&["get", "secret", "s"]).await;
    assert_eq!(header(&secret), ["NAME", "TYPE", "DATA", "AGE"]);
    assert_eq!(row(&secret)[..3], ["s", "Opaque", "1"]);
}
