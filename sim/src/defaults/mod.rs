//! Defaulting of built-in kinds, from the API's own defaults (`pkg/apis/*/v1/defaults.go`), the
//! registry strategies, the service allocator and the admission plugins a real server enables by
//! default. A controller that compares what it wrote with what it reads must see what a real
//! cluster shows. Declarative defaults run on every write (so a PUT that omits them is a no-op);
//! what strategies and admission add runs on create only.

mod pod;
mod service;
mod workloads;

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Result};
use crate::object;
use crate::registry::GroupResource;
use crate::store::{ObjectKey, State};

/// Sets `field` when it is missing, null or an empty string.
fn set_default(map: &mut Map<String, Value>, field: &str, value: Value) {
    if map.get(field).is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
        map.insert(field.to_owned(), value);
    }
}

/// Sets a numeric `field` when it is missing, null or 0 (the Go zero value means unset).
fn set_if_unset(map: &mut Map<String, Value>, field: &str, value: Value) {
    if map.get(field).is_none_or(|v| v.is_null() || v.as_i64() == Some(0)) {
        map.insert(field.to_owned(), value);
    }
}

/// The list at `field`, created if absent (to add to it).
fn array_mut<'a>(map: &'a mut Map<String, Value>, field: &str) -> &'a mut Vec<Value> {
    if !map.get(field).is_some_and(Value::is_array) {
        map.insert(field.to_owned(), json!([]));
    }
    map.get_mut(field).and_then(Value::as_array_mut).expect("made an array above")
}

/// The elements of the list at `field`, if there is one (to change them).
fn items_mut<'a>(map: &'a mut Map<String, Value>, field: &str) -> std::slice::IterMut<'a, Value> {
    match map.get_mut(field).and_then(Value::as_array_mut) {
        Some(items) => items.iter_mut(),
        None => [].iter_mut(),
    }
}

fn spec_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    obj.get_mut("spec").and_then(Value::as_object_mut)
}

/// Defaults `obj` of `kind`, being created (`old` is `None`) or updated, in `state`.
pub fn apply(state: &State, kind: &str, obj: &mut Value, old: Option<&Value>) -> Result<()> {
    let creating = old.is_none();
    match kind {
        "Secret" => {
            if let Some(Value::Object(string_data)) = obj.as_object_mut().and_then(|m| m.remove("stringData")) {
                let data = obj.as_object_mut().map(|m| m.entry("data").or_insert_with(|| json!({})));
                if let Some(Value::Object(data)) = data {
                    for (k, v) in string_data {
                        data.insert(k, Value::String(crate::base64::encode(v.as_str().unwrap_or_default().as_bytes())));
                    }
                }
            }
            if let Some(secret) = obj.as_object_mut() {
                set_default(secret, "type", json!("Opaque"));
            }
        }
        "Namespace" => {
            let name = object::name(obj).to_owned();
            let labels = object::meta_mut(obj).entry("labels").or_insert_with(|| json!({}));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert("kubernetes.io/metadata.name".into(), Value::String(name));
            }
            if creating {
                let spec = obj.as_object_mut().map(|m| m.entry("spec").or_insert_with(|| json!({})));
                if let Some(Value::Object(spec)) = spec {
                    let finalizers = array_mut(spec, "finalizers");
                    if !finalizers.iter().any(|f| f == "kubernetes") {
                        finalizers.push(json!("kubernetes"));
                    }
                }
                obj["status"] = json!({"phase": "Active"});
            }
        }
        "Event" => crate::events::normalize_core(obj),
        "Pod" => {
            if let Some(spec) = spec_mut(obj) {
                pod::pod_spec(spec);
                if creating {
                    pod::requests_from_limits(spec);
                }
            }
            if creating {
                let sa = service_account(state, obj)?;
                pod::new_pod(obj, &sa);
            }
        }
        "Service" => {
            let held = service::Allocated::of(
                state
                    .objects_of(&GroupResource::new("", "services"))
                    .filter(|(k, _)| {
                        old.is_none_or(|o| {
                            k.name != object::name(o) || Some(k.namespace.as_str()) != object::meta_str(o, "namespace")
                        })
                    })
                    .map(|(_, v)| v.as_ref()),
            );
            let name = object::name(obj).to_owned();
            service::service(obj, old, &held, &name)?;
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" => {
            if let Some(spec) = spec_mut(obj) {
                match kind {
                    "Deployment" => workloads::deployment(spec),
                    "ReplicaSet" => workloads::replica_set(spec),
                    "StatefulSet" => workloads::stateful_set(spec),
                    "DaemonSet" => workloads::daemon_set(spec),
                    "Job" => workloads::job(spec),
                    _ => workloads::cron_job(spec),
                }
            }
            if creating && kind == "Job" {
                workloads::job_selector(obj);
            }
            if creating && obj.get("status").is_none() {
                obj["status"] = json!({});
            }
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            if let Some(role_ref) = obj.get_mut("roleRef").and_then(Value::as_object_mut) {
                set_default(role_ref, "apiGroup", json!("rbac.authorization.k8s.io"));
            }
            if let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) {
                for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
                    if matches!(s.get("kind").and_then(Value::as_str), Some("User" | "Group")) {
                        set_default(s, "apiGroup", json!("rbac.authorization.k8s.io"));
                    }
                }
            }
        }
        "CustomResourceDefinition" if creating => {
            let mut finalizers = object::finalizers(obj);
            if !finalizers.iter().any(|f| f == crate::crd::CLEANUP_FINALIZER) {
                finalizers.push(crate::crd::CLEANUP_FINALIZER.to_owned());
            }
            object::set_finalizers(obj, &finalizers);
        }
        _ => {}
    }
    Ok(())
}

/// The ServiceAccount a new Pod runs as; 403 when it does not exist (ServiceAccount admission).
fn service_account(state: &State, pod: &Value) -> Result<Value> {
    let namespace = object::meta_str(pod, "namespace").unwrap_or_default();
    let name =
        pod.pointer("/spec/serviceAccountName").and_then(Value::as_str).filter(|n| !n.is_empty()).unwrap_or("default");
    let sa_gr = GroupResource::new("", "serviceaccounts");
    match state.get(&sa_gr, &ObjectKey::new(Some(namespace), name)) {
        Some(sa) => Ok((**sa).clone()),
        None => Err(ApiError::forbidden(
            &GroupResource::new("", "pods"),
            object::name(pod),
            &format!("error looking up service account {namespace}/{name}: serviceaccount \"{name}\" not found"),
        )),
    }
}

/// Empty `labels`, `annotations`, `finalizers`, `ownerReferences` and empty metadata strings do
/// not survive a write: real objects go through typed metadata with `omitempty`.
pub fn normalize_metadata(obj: &mut Value) {
    let meta = object::meta_mut(obj);
    meta.retain(|k, v| {
        let empty = match v {
            Value::Object(m) => m.is_empty() && k != "managedFields",
            Value::Array(a) => a.is_empty(),
            Value::String(s) => s.is_empty(),
            Value::Null => k != "creationTimestamp",
            _ => false,
        };
        !empty
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_keeps_no_empty_members() {
        let mut o = json!({"metadata": {"name": "a", "generateName": "", "labels": {}, "annotations": {}, "finalizers": [], "uid": "u"}});
        normalize_metadata(&mut o);
        assert_eq!(o, json!({"metadata": {"name": "a", "uid": "u"}}));
    }

    #[test]
    fn a_deployment_gets_its_strategy_and_limits() {
        let mut spec =
            json!({"strategy": {}, "template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}});
        workloads::deployment(spec.as_object_mut().unwrap());
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(
            (&spec["replicas"], &spec["revisionHistoryLimit"], &spec["progressDeadlineSeconds"]),
            (&json!(1), &json!(10), &json!(600))
        );
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
    }
}
