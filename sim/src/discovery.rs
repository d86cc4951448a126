//! Legacy discovery documents: `/api`, `/api/v1`, `/apis`, `/apis/{group}[/{version}]`, `/version`.

use serde_json::{Value, json};

use std::collections::BTreeMap;

use crate::auth::reviews::REVIEWS;
use crate::registry::{Registry, ResourceDef};

const VERBS: [&str; 8] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "35",
        "emulationMajor": "1",
        "emulationMinor": "35",
        "gitVersion": concat!("v1.35.0-weft-sim+", env!("CARGO_PKG_VERSION")),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "n/a",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    })
}

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let gvs: Vec<Value> =
        versions.iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
    json!({"name": group, "versions": gvs, "preferredVersion": gvs.first().cloned().unwrap_or(Value::Null)})
}

/// Served groups and versions: the registry's, plus the create-only review APIs.
fn groups(registry: &Registry) -> BTreeMap<String, Vec<String>> {
    let mut groups = registry.groups();
    for (group, ..) in REVIEWS {
        groups.entry(group.to_owned()).or_insert_with(|| vec!["v1".to_owned()]);
    }
    groups
}

pub fn group_list(registry: &Registry) -> Value {
    let groups: Vec<Value> = groups(registry).iter().map(|(g, v)| group_json(g, v)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(registry: &Registry, group: &str) -> Option<Value> {
    let groups = groups(registry);
    let versions = groups.get(group)?;
    let mut doc = group_json(group, versions);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `APIResourceList` for one group/version; `None` if nothing is served there.
pub fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let defs: Vec<&ResourceDef> =
        registry.iter().map(AsRef::as_ref).filter(|d| d.gr.group == group && d.version(version).is_some()).collect();
    let reviews: Vec<Value> = REVIEWS
        .iter()
        .filter(|(g, ..)| *g == group && version == "v1")
        .map(|(_, resource, kind, namespaced)| {
            json!({"name": resource, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["create"]})
        })
        .collect();
    if defs.is_empty() && reviews.is_empty() {
        return None;
    }
    let mut resources = reviews;
    for def in defs {
        let mut main = json!({
            "name": def.gr.resource,
            "singularName": def.singular,
            "namespaced": def.namespaced,
            "kind": def.kind,
            "verbs": VERBS,
        });
        if !def.short_names.is_empty() {
            main["shortNames"] = json!(def.short_names);
        }
        if !def.categories.is_empty() {
            main["categories"] = json!(def.categories);
        }
        resources.push(main);
        let v = def.version(version).expect("filtered on served version");
        if v.status_subresource {
            resources.push(json!({"name": format!("{}/status", def.gr.resource), "singularName": "", "namespaced": def.namespaced, "kind": def.kind, "verbs": ["get", "patch", "update"]}));
        }
        if def.gr.group.is_empty() && def.gr.resource == "serviceaccounts" {
            resources.push(json!({"name": "serviceaccounts/token", "singularName": "", "namespaced": true, "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]}));
        }
        if v.scale.is_some() {
            resources.push(json!({"name": format!("{}/scale", def.gr.resource), "singularName": "", "namespaced": def.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
    }
    let gv = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}
