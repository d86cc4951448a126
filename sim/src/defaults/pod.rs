//! Pod and PodSpec defaults: the declarative defaults of `core/v1` (for Pods and every pod
//! template), and what the admission plugins a real server enables by default add to a new Pod
//! (ServiceAccount, Priority, DefaultTolerationSeconds), plus its initial status.

use serde_json::{Map, Value, json};

use super::{array_mut, items_mut, set_default, set_if_unset};

/// Defaults of a PodSpec, wherever it appears (Pods, Deployments, Jobs, ...).
pub fn pod_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in items_mut(spec, list) {
            if let Some(c) = c.as_object_mut() {
                container(c, host_network);
            }
        }
    }
    for v in items_mut(spec, "volumes") {
        if let Some(v) = v.as_object_mut() {
            volume(v);
        }
    }
}

fn container(c: &mut Map<String, Value>, host_network: bool) {
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    let image = c.get("image").and_then(Value::as_str).unwrap_or_default().to_owned();
    set_default(c, "imagePullPolicy", json!(pull_policy(&image)));
    set_default(c, "resources", json!({}));
    for p in items_mut(c, "ports") {
        if let Some(p) = p.as_object_mut() {
            set_default(p, "protocol", json!("TCP"));
            if host_network && let Some(port) = p.get("containerPort").cloned() {
                set_if_unset(p, "hostPort", port);
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            for (field, value) in
                [("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)]
            {
                set_if_unset(p, field, json!(value));
            }
            if let Some(get) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                set_default(get, "path", json!("/"));
                set_default(get, "scheme", json!("HTTP"));
            }
        }
    }
    for env in items_mut(c, "env") {
        if let Some(field_ref) = env.pointer_mut("/valueFrom/fieldRef").and_then(Value::as_object_mut) {
            set_default(field_ref, "apiVersion", json!("v1"));
        }
    }
}

/// `Always` for `:latest` or an image without tag or digest, else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.split_once(':').is_some_and(|(_, tag)| tag != "latest") {
        "IfNotPresent"
    } else {
        "Always"
    }
}

fn volume(v: &mut Map<String, Value>) {
    let sources = ["secret", "configMap", "downwardAPI", "projected"];
    let has_source = v.keys().any(|k| k != "name");
    if !has_source {
        v.insert("emptyDir".into(), json!({}));
    }
    for source in sources {
        if let Some(s) = v.get_mut(source).and_then(Value::as_object_mut) {
            set_if_unset(s, "defaultMode", json!(420));
        }
    }
    if let Some(projected) = v.get_mut("projected").and_then(Value::as_object_mut) {
        for s in items_mut(projected, "sources") {
            if let Some(token) = s.get_mut("serviceAccountToken").and_then(Value::as_object_mut) {
                set_if_unset(token, "expirationSeconds", json!(3600));
            }
        }
    }
}

/// What a new Pod gets beyond its spec defaults: `enableServiceLinks`, the ServiceAccount and its
/// token volume (`sa` is the ServiceAccount it runs as), priority, the not-ready/unreachable
/// tolerations, and status `Pending` with its QoS class.
pub fn new_pod(pod: &mut Value, sa: &Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else { return };
    set_default(spec, "enableServiceLinks", json!(true));
    let sa_name = spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("default").to_owned();
    spec.insert("serviceAccountName".into(), json!(sa_name));
    spec.insert("serviceAccount".into(), json!(sa_name));
    if spec.get("imagePullSecrets").is_none()
        && let Some(secrets) = sa.get("imagePullSecrets").filter(|s| s.as_array().is_some_and(|a| !a.is_empty()))
    {
        spec.insert("imagePullSecrets".into(), secrets.clone());
    }
    let automount = spec
        .get("automountServiceAccountToken")
        .or_else(|| sa.get("automountServiceAccountToken"))
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if automount {
        mount_token(spec);
    }
    set_default(spec, "priority", json!(0));
    set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    let tolerations = array_mut(spec, "tolerations");
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        let tolerated = tolerations.iter().any(|t| {
            let text = |f: &str| t.get(f).and_then(Value::as_str).unwrap_or_default();
            let effect_ok = text("effect").is_empty() || text("effect") == "NoExecute";
            let key_ok = text("key") == key || (text("key").is_empty() && text("operator") == "Exists");
            effect_ok && key_ok
        });
        if !tolerated {
            tolerations
                .push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    let qos = qos_class(pod.get("spec").unwrap_or(&Value::Null));
    let mut status = json!({"phase": "Pending", "qosClass": qos});
    if pod.pointer("/spec/schedulingGates").and_then(Value::as_array).is_some_and(|g| !g.is_empty()) {
        status["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated", "message": "Scheduling is blocked due to non-empty scheduling gates", "lastProbeTime": null, "lastTransitionTime": null}]);
    }
    pod["status"] = status;
}

const TOKEN_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The projected `kube-api-access-xxxxx` volume and its mount in every (init) container.
fn mount_token(spec: &mut Map<String, Value>) {
    let name = crate::validation::generate_name("kube-api-access-");
    let volume = json!({"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}});
    let mut mounted = false;
    for list in ["initContainers", "containers"] {
        for c in items_mut(spec, list) {
            let Some(c) = c.as_object_mut() else { continue };
            let mounts = array_mut(c, "volumeMounts");
            if !mounts.iter().any(|m| m.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT)) {
                mounts.push(json!({"name": name, "mountPath": TOKEN_MOUNT, "readOnly": true}));
                mounted = true;
            }
        }
    }
    if mounted {
        array_mut(spec, "volumes").push(volume);
    }
}

/// `BestEffort` without requests or limits, `Guaranteed` when every container's cpu and memory
/// limits equal its requests (requests default to limits), else `Burstable`.
fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .flat_map(|l| spec.get(*l).and_then(Value::as_array).into_iter().flatten())
        .collect();
    let resources = |c: &Value, kind: &str| {
        c.pointer(&format!("/resources/{kind}")).and_then(Value::as_object).cloned().unwrap_or_default()
    };
    if containers.iter().all(|c| resources(c, "requests").is_empty() && resources(c, "limits").is_empty()) {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = resources(c, "limits");
        let mut requests = resources(c, "requests");
        for (k, v) in &limits {
            requests.entry(k.clone()).or_insert_with(|| v.clone());
        }
        ["cpu", "memory"].iter().all(|r| limits.get(*r).is_some() && limits.get(*r) == requests.get(*r))
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}

/// A Pod's containers get requests copied from limits where missing (Pods only, not templates).
pub fn requests_from_limits(spec: &mut Map<String, Value>) {
    for list in ["initContainers", "containers"] {
        for c in items_mut(spec, list) {
            let Some(limits) = c.pointer("/resources/limits").and_then(Value::as_object).cloned() else { continue };
            if let Some(resources) = c.get_mut("resources").and_then(Value::as_object_mut) {
                let requests = resources.entry("requests").or_insert_with(|| json!({}));
                if let Some(requests) = requests.as_object_mut() {
                    for (k, v) in limits {
                        requests.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_without_a_tag_or_with_latest_are_always_pulled() {
        assert_eq!(pull_policy("nginx"), "Always");
        assert_eq!(pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(pull_policy("nginx:latest"), "Always");
        assert_eq!(pull_policy("nginx:1.27"), "IfNotPresent");
        assert_eq!(pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn a_new_pod_looks_like_kubectl_run_on_a_real_cluster() {
        let mut pod = json!({"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}});
        pod_spec(pod["spec"].as_object_mut().unwrap());
        new_pod(&mut pod, &json!({}));
        let spec = &pod["spec"];
        assert_eq!(
            (&spec["restartPolicy"], &spec["dnsPolicy"], &spec["serviceAccountName"]),
            (&json!("Always"), &json!("ClusterFirst"), &json!("default"))
        );
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(spec["containers"][0]["volumeMounts"][0]["mountPath"], TOKEN_MOUNT);
        assert!(spec["volumes"][0]["name"].as_str().unwrap().starts_with("kube-api-access-"));
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(pod["status"], json!({"phase": "Pending", "qosClass": "BestEffort"}));
    }
}
