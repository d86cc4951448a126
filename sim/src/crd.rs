//! CustomResourceDefinitions: validation, the [`ResourceDef`] a CRD defines, and its status.

use serde_json::{Value, json};

use crate::error::Cause;
use crate::object;
use crate::registry::{GroupResource, Origin, PrinterColumn, ResourceDef, ScalePaths, VersionDef};

/// Finalizer the API server puts on every CRD so its custom resources are removed first.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn spec_str<'a>(crd: &'a Value, pointer: &str) -> &'a str {
    crd.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The checks the apiextensions validation makes that matter for serving.
pub fn validate(crd: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let group = spec_str(crd, "/spec/group");
    let plural = spec_str(crd, "/spec/names/plural");
    let kind = spec_str(crd, "/spec/names/kind");
    let name = object::name(crd);
    if group.is_empty() {
        causes.push(Cause::new("FieldValueRequired", "spec.group", "Required value"));
    } else if !group.contains('.') {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "spec.group",
            format!("Invalid value: \"{group}\": should be a domain with at least one dot"),
        ));
    }
    if plural.is_empty() {
        causes.push(Cause::new("FieldValueRequired", "spec.names.plural", "Required value"));
    }
    if kind.is_empty() {
        causes.push(Cause::new("FieldValueRequired", "spec.names.kind", "Required value"));
    }
    if !plural.is_empty() && !group.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    match spec_str(crd, "/spec/scope") {
        "Namespaced" | "Cluster" => {}
        other => causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.scope",
            format!("Unsupported value: \"{other}\": supported values: \"Cluster\", \"Namespaced\""),
        )),
    }
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array).cloned().unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.versions",
            "Required value: must have exactly one version marked as storage version",
        ));
    }
    let storage = versions.iter().filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true)).count();
    if !versions.is_empty() && storage != 1 {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "spec.versions",
            format!("Invalid value: {storage}: must have exactly one version marked as storage version"),
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        match v.pointer("/schema/openAPIV3Schema") {
            None => causes.push(Cause::new(
                "FieldValueRequired",
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "Required value: schemas are required",
            )),
            Some(s) if s.get("type").and_then(Value::as_str) != Some("object") => causes.push(Cause::new(
                "FieldValueRequired",
                format!("spec.versions[{i}].schema.openAPIV3Schema.type"),
                "Required value: must be object at the root",
            )),
            Some(_) => {}
        }
    }
    causes
}

/// The resource type a (valid) CRD defines.
pub fn to_def(crd: &Value) -> ResourceDef {
    let names = crd.pointer("/spec/names").cloned().unwrap_or_default();
    let name_list = |field: &str| -> Vec<String> {
        names
            .get(field)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let kind = names.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut versions: Vec<VersionDef> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
        .map(version_def)
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(crate::registry::version_priority(&v.name)));
    ResourceDef {
        gr: GroupResource::new(
            spec_str(crd, "/spec/group"),
            names.get("plural").and_then(Value::as_str).unwrap_or_default(),
        ),
        list_kind: names.get("listKind").and_then(Value::as_str).map_or_else(|| format!("{kind}List"), str::to_owned),
        singular: names.get("singular").and_then(Value::as_str).map_or_else(|| kind.to_lowercase(), str::to_owned),
        kind,
        short_names: name_list("shortNames"),
        categories: name_list("categories"),
        namespaced: spec_str(crd, "/spec/scope") == "Namespaced",
        versions,
        tracks_generation: true,
        origin: Origin::Crd { name: object::name(crd).to_owned() },
        terminating: object::is_deleting(crd),
    }
}

fn version_def(v: &Value) -> VersionDef {
    let scale = v.pointer("/subresources/scale").map(|s| ScalePaths {
        spec_replicas: s.get("specReplicasPath").and_then(Value::as_str).unwrap_or(".spec.replicas").to_owned(),
        status_replicas: s.get("statusReplicasPath").and_then(Value::as_str).unwrap_or(".status.replicas").to_owned(),
        label_selector: s.get("labelSelectorPath").and_then(Value::as_str).map(str::to_owned),
    });
    VersionDef {
        name: v.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
        schema: v.pointer("/schema/openAPIV3Schema").cloned(),
        printer_columns: v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| PrinterColumn {
                name: c.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                type_: c.get("type").and_then(Value::as_str).unwrap_or("string").to_owned(),
                format: c.get("format").and_then(Value::as_str).unwrap_or_default().to_owned(),
                description: c.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(),
                json_path: c.get("jsonPath").and_then(Value::as_str).unwrap_or_default().to_owned(),
                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            })
            .collect(),
        status_subresource: v.pointer("/subresources/status").is_some(),
        scale,
    }
}

/// Accepted names plus the conditions of an established (or terminating) CRD.
pub fn established_status(crd: &Value, now: &str) -> Value {
    let mut accepted = crd.pointer("/spec/names").cloned().unwrap_or_else(|| json!({}));
    if accepted.get("singular").is_none() {
        let singular = accepted.get("kind").and_then(Value::as_str).unwrap_or_default().to_lowercase();
        accepted["singular"] = Value::String(singular);
    }
    if accepted.get("listKind").is_none() {
        let list_kind = format!("{}List", accepted.get("kind").and_then(Value::as_str).unwrap_or_default());
        accepted["listKind"] = Value::String(list_kind);
    }
    let condition = |type_: &str, status: &str, reason: &str, message: &str| json!({"type": type_, "status": status, "lastTransitionTime": now, "reason": reason, "message": message});
    let mut conditions = vec![
        condition("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
        condition("Established", "True", "InitialNamesAccepted", "the initial names have been accepted"),
    ];
    if object::is_deleting(crd) {
        conditions.push(condition(
            "Terminating",
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        ));
    }
    let stored: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    json!({"acceptedNames": accepted, "conditions": conditions, "storedVersions": stored})
}
