//! `/openapi/v3`: the index of group/version documents, and per group/version documents with one
//! path per resource and a schema per kind.
//!
//! kubectl reads these to decide whether the server validates fields itself (the
//! `fieldValidation` query parameter on the write operations) and to find a kind's schema.
//! Built-in kinds get a permissive schema; CRDs publish their structural schema.

use serde_json::{Map, Value, json};

use crate::registry::{Registry, ResourceDef};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

pub fn index(registry: &Registry, revision: u64) -> Value {
    let mut paths = Map::new();
    let mut gvs: Vec<(String, String)> =
        registry.iter().flat_map(|d| d.versions.iter().map(|v| (d.gr.group.clone(), v.name.clone()))).collect();
    gvs.sort();
    gvs.dedup();
    for (group, version) in gvs {
        let path = gv_path(&group, &version);
        paths.insert(path.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={revision:016X}")}));
    }
    json!({"paths": paths})
}

fn schema_name(def: &ResourceDef, version: &str) -> String {
    let group = if def.gr.group.is_empty() { "core".to_owned() } else { def.gr.group.clone() };
    format!("io.weft.sim.{group}.{version}.{}", def.kind)
}

fn parameter(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn operation(def: &ResourceDef, version: &str, action: &str, writes: bool) -> Value {
    let mut params = vec![parameter("pretty")];
    if writes {
        params.extend(["dryRun", "fieldManager", "fieldValidation"].map(parameter));
    }
    json!({
        "operationId": format!("{action}{}", def.kind),
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", schema_name(def, version))}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": def.gr.group, "version": version, "kind": def.kind},
    })
}

pub fn group_version(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let defs: Vec<&ResourceDef> =
        registry.iter().map(AsRef::as_ref).filter(|d| d.gr.group == group && d.version(version).is_some()).collect();
    if defs.is_empty() {
        return None;
    }
    let prefix = format!("/{}", gv_path(group, version));
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for def in defs {
        let res = &def.gr.resource;
        let (collection, item) = if def.namespaced {
            (
                format!("{prefix}/namespaces/{{namespace}}/{res}"),
                format!("{prefix}/namespaces/{{namespace}}/{res}/{{name}}"),
            )
        } else {
            (format!("{prefix}/{res}"), format!("{prefix}/{res}/{{name}}"))
        };
        paths.insert(
            collection,
            json!({"get": operation(def, version, "list", false), "post": operation(def, version, "post", true)}),
        );
        paths.insert(
            item.clone(),
            json!({
                "get": operation(def, version, "get", false),
                "put": operation(def, version, "put", true),
                "patch": operation(def, version, "patch", true),
                "delete": operation(def, version, "delete", false),
            }),
        );
        if def.has_status(version) {
            paths.insert(format!("{item}/status"), json!({"get": operation(def, version, "get", false), "put": operation(def, version, "put", true), "patch": operation(def, version, "patch", true)}));
        }
        let mut schema = def
            .version(version)
            .and_then(|v| v.schema.clone())
            .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
        schema["x-kubernetes-group-version-kind"] =
            json!([{"group": def.gr.group, "version": version, "kind": def.kind}]);
        schemas.insert(schema_name(def, version), schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.35.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
