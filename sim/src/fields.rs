//! Selectable fields: the labels each kind accepts in a `fieldSelector` and the value an object
//! has for each (`ToSelectableFields` and the field label conversion funcs of kube-apiserver).

use serde_json::Value;

use crate::registry::GroupResource;

const METADATA: &[&str] = &["metadata.name", "metadata.namespace"];
const POD: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "spec.host",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
];
const EVENT: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// The label a request may use, in the spelling values are looked up by; `None` when the kind
/// does not support it. events.k8s.io/v1 spells the core Event labels its own way.
pub fn resolve(gr: &GroupResource, label: &str) -> Option<String> {
    let supported: &[&str] = match (gr.group.as_str(), gr.resource.as_str()) {
        ("", "pods") => POD,
        ("", "events") => EVENT,
        ("", "secrets") => &["metadata.name", "metadata.namespace", "type"],
        ("", "services") => &["metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"],
        ("", "namespaces") => &["metadata.name", "status.phase"],
        ("events.k8s.io", "events") => {
            let core = match label {
                "reportingController" => "reportingComponent".to_owned(),
                l if l.starts_with("regarding.") => l.replacen("regarding.", "involvedObject.", 1),
                "metadata.name" | "metadata.namespace" | "reason" | "type" | "source" => label.to_owned(),
                _ => return None,
            };
            return Some(core);
        }
        _ => METADATA,
    };
    supported.contains(&label).then(|| label.to_owned())
}

/// The values an object has for a (resolved) label; a term matches when one of them is equal.
pub fn values(object: &Value, label: &str) -> Vec<String> {
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned();
    match label {
        "spec.host" => vec![text("/spec/nodeName")],
        "spec.hostNetwork" => {
            vec![object.pointer("/spec/hostNetwork").and_then(Value::as_bool).unwrap_or(false).to_string()]
        }
        "status.podIPs" => object
            .pointer("/status/podIPs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|ip| ip.get("ip").and_then(Value::as_str).unwrap_or_default().to_owned())
            .collect(),
        "source" => {
            let component = text("/source/component");
            vec![if component.is_empty() { text("/reportingComponent") } else { component }]
        }
        _ => vec![text(&format!("/{}", label.replace('.', "/")))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_labels_are_spelled_per_api_group() {
        let core = GroupResource::new("", "events");
        let events = GroupResource::new("events.k8s.io", "events");
        assert_eq!(resolve(&core, "involvedObject.name").as_deref(), Some("involvedObject.name"));
        assert_eq!(resolve(&events, "regarding.name").as_deref(), Some("involvedObject.name"));
        assert_eq!(resolve(&events, "reportingController").as_deref(), Some("reportingComponent"));
        assert_eq!(resolve(&events, "involvedObject.name"), None);
        assert_eq!(resolve(&core, "regarding.name"), None);
        assert_eq!(resolve(&GroupResource::new("", "configmaps"), "data.x"), None);
        assert_eq!(resolve(&GroupResource::new("", "namespaces"), "metadata.namespace"), None);
    }

    #[test]
    fn values_fall_back_like_the_api_server() {
        let ev = json!({"reportingComponent": "weft", "source": {}});
        assert_eq!(values(&ev, "source"), ["weft"]);
        assert_eq!(values(&json!({"spec": {}}), "spec.hostNetwork"), ["false"]);
        let pod = json!({"status": {"podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}});
        assert_eq!(values(&pod, "status.podIPs"), ["10.0.0.1", "fd00::1"]);
    }
}
