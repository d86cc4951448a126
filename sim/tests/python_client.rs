//! The official Python `kubernetes` client against the emulator: each call that used to fail to
//! parse its own success, or read `None` where a real cluster has a value.

#![allow(clippy::unwrap_used)]

mod common;

use common::python::Python;
use common::start;
use serde_json::json;

#[tokio::test]
async fn replace_namespaced_custom_object_with_the_current_resource_version_succeeds() {
    let t = start().await;
    t.install_widgets().await.create(&Default::default(), &common::widget("w1", 1)).await.unwrap();
    let py = Python::new(&t.sim);
    let replaced = py
        .run(
            r#"
w = co.get_namespaced_custom_object("examples.weft.dev", "v1", "default", "widgets", "w1")
w["spec"]["size"] = 5
out(co.replace_namespaced_custom_object("examples.weft.dev", "v1", "default", "widgets", "w1", w))
"#,
        )
        .await;
    assert_eq!(replaced["spec"]["size"], 5);
    assert_eq!(replaced["metadata"]["generation"], 2);
}

#[tokio::test]
async fn deleting_a_pod_a_service_and_a_service_account_returns_the_object() {
    let t = start().await;
    let py = Python::new(&t.sim);
    let deleted = py
        .run(
            r#"
pod = {"metadata": {"name": "p1"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
v1.create_namespaced_pod("default", pod)
v1.create_namespaced_service("default", {"metadata": {"name": "s1"}, "spec": {"ports": [{"port": 80}]}})
v1.create_namespaced_service_account("default", {"metadata": {"name": "sa1"}})
p = v1.delete_namespaced_pod("p1", "default")
s = v1.delete_namespaced_service("s1", "default")
a = v1.delete_namespaced_service_account("sa1", "default")
c = v1.create_namespaced_config_map("default", {"metadata": {"name": "c1"}})
status = v1.delete_namespaced_config_map("c1", "default")
out({"pod": [p.kind, p.metadata.name, p.metadata.deletion_timestamp is not None], "service": [s.kind, s.metadata.name],
     "sa": [a.kind, a.metadata.name], "configmap": status})
"#,
        )
        .await;
    assert_eq!(deleted["pod"], json!(["Pod", "p1", true]));
    assert_eq!(deleted["service"], json!(["Service", "s1"]));
    assert_eq!(deleted["sa"], json!(["ServiceAccount", "sa1"]));
    assert_eq!(deleted["configmap"]["kind"], "Status");
    assert!(deleted["configmap"]["details"].get("group").is_none(), "no empty group: {}", deleted["configmap"]);
}

#[tokio::test]
async fn a_deployment_scale_reads_and_patches() {
    let t = start().await;
    let py = Python::new(&t.sim);
    let scale = py
        .run(
            r#"
labels = {"app": "web"}
d = {"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": labels}, "template": {
    "metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}
apps.create_namespaced_deployment("default", d)
before = apps.read_namespaced_deployment_scale("web", "default")
after = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
out([before, after])
"#,
        )
        .await;
    assert_eq!(scale[0]["spec"], json!({"replicas": 1}));
    assert_eq!(scale[0]["status"], json!({"replicas": 0, "selector": "app=web"}));
    assert_eq!(scale[1]["spec"]["replicas"], 3);
}

#[tokio::test]
async fn events_written_through_events_v1_are_listed_by_core_v1_with_field_selectors() {
    let t = start().await;
    let py = Python::new(&t.sim);
    let listed = py
        .run(
            r#"
from datetime import datetime, timezone
cm = v1.create_namespaced_config_map("default", {"metadata": {"name": "c1"}})
ref = {"kind": "ConfigMap", "namespace": "default", "name": "c1", "uid": cm.metadata.uid, "apiVersion": "v1"}
ev.create_namespaced_event("default", {"metadata": {"name": "e1"}, "eventTime": datetime.now(timezone.utc).isoformat(),
    "regarding": ref, "note": "through events.k8s.io", "reason": "Loaded", "type": "Normal", "action": "Load",
    "reportingController": "weft", "reportingInstance": "weft-0"})
v1.create_namespaced_event("default", {"metadata": {"name": "e2"}, "involvedObject": ref, "message": "through core",
    "reason": "Saved", "type": "Warning", "source": {"component": "kubectl"}})
core = v1.list_namespaced_event("default", field_selector="involvedObject.name=c1,involvedObject.kind=ConfigMap")
warn = v1.list_namespaced_event("default", field_selector="type=Warning")
by_source = v1.list_namespaced_event("default", field_selector="source=weft")
# The client cannot parse an events.k8s.io Event without eventTime (e2, written through core),
# on a real cluster too, so this selects only e1.
new = ev.list_namespaced_event("default", field_selector="regarding.uid=" + cm.metadata.uid + ",reportingController=weft")
out({"core": sorted((e.metadata.name, e.message) for e in core.items), "warn": [e.metadata.name for e in warn.items],
     "source": [e.metadata.name for e in by_source.items], "new": sorted((e.metadata.name, e.note) for e in new.items)})
"#,
        )
        .await;
    assert_eq!(listed["core"], json!([["e1", "through events.k8s.io"], ["e2", "through core"]]));
    assert_eq!(listed["warn"], json!(["e2"]));
    assert_eq!(listed["source"], json!(["e1"]), "source falls back to reportingComponent");
    assert_eq!(listed["new"], json!([["e1", "through events.k8s.io"]]));
}

#[tokio::test]
async fn built_in_objects_read_back_with_the_defaults_a_real_cluster_fills_in() {
    let t = start().await;
    let py = Python::new(&t.sim);
    let read = py
        .run(
            r#"
v1.create_namespaced_pod("default", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
v1.create_namespaced_service("default", {"metadata": {"name": "s"}, "spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}})
labels = {"app": "web"}
apps.create_namespaced_deployment("default", {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": labels},
    "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}})
v1.create_namespaced_secret("default", {"metadata": {"name": "sec"}, "stringData": {"k": "v"}})
v1.create_namespace({"metadata": {"name": "team"}})
p = v1.read_namespaced_pod("p", "default")
s = v1.read_namespaced_service("s", "default")
d = apps.read_namespaced_deployment("d", "default")
sec = v1.read_namespaced_secret("sec", "default")
ns = v1.read_namespace("team")
sa = v1.read_namespaced_service_account("default", "team")
out({"pod": [p.spec.restart_policy, p.spec.dns_policy, p.spec.service_account_name, p.spec.scheduler_name,
             p.spec.termination_grace_period_seconds, p.spec.containers[0].image_pull_policy, p.status.phase, p.status.qos_class],
     "service": [s.spec.type, s.spec.cluster_ip, s.spec.session_affinity, s.spec.ports[0].protocol, s.spec.ports[0].target_port,
                 s.spec.ip_families, s.status.load_balancer is not None],
     "deployment": [d.spec.replicas, d.spec.strategy.type, d.spec.strategy.rolling_update.max_surge, d.spec.revision_history_limit,
                    d.spec.progress_deadline_seconds, d.spec.template.spec.restart_policy],
     "secret": [sec.type, sec.data], "namespace": [ns.status.phase, ns.spec.finalizers, ns.metadata.labels], "sa": sa.metadata.name})
"#,
        )
        .await;
    assert_eq!(
        read["pod"],
        json!(["Always", "ClusterFirst", "default", "default-scheduler", 30, "Always", "Pending", "BestEffort"])
    );
    assert_eq!(read["service"], json!(["ClusterIP", "10.96.0.2", "None", "TCP", 80, ["IPv4"], true]));
    assert_eq!(read["deployment"], json!([1, "RollingUpdate", "25%", 10, 600, "Always"]));
    assert_eq!(read["secret"], json!(["Opaque", {"k": "dg=="}]));
    assert_eq!(read["namespace"], json!(["Active", ["kubernetes"], {"kubernetes.io/metadata.name": "team"}]));
    assert_eq!(read["sa"], "default");
}

#[tokio::test]
async fn a_service_account_token_is_created_through_the_token_request_api() {
    let t = start().await;
    let py = Python::new(&t.sim);
    let token = py
        .run(
            r#"
v1.create_namespaced_service_account("default", {"metadata": {"name": "runner"}})
tr = v1.create_namespaced_service_account_token("runner", "default", {"spec": {"expirationSeconds": 3600}})
out([tr.status.token.count("."), tr.spec.audiences, tr.metadata.name])
"#,
        )
        .await;
    assert_eq!(token, json!([2, ["https://kubernetes.default.svc.cluster.local"], "runner"]));
}
