//! `/openapi/v3`: the index of group/version documents, and per group/version documents with one
//! path per resource and a schema per kind.
//!
//! kubectl reads these to decide whether the server validates fields itself (the
//! `fieldValidation` query parameter on the write operations) and to find a kind's schema.
//! Built-in kinds get a permissive schema; CRDs publish their structural schema.
//!
//! `/openapi/v2` is an empty document: kubectl fetches it (in protobuf) to validate the items of a
//! `kind: List` client-side, and skips validation for kinds it has no definition for.

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

/// The media type kubectl asks `/openapi/v2` for, and the one the answer is labelled with.
const V2_PROTOBUF_REQUEST: [&str; 2] = [
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
];
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// A gnostic `openapi_v2.Document` with only `swagger: "2.0"` and `info {title, version}`.
const V2_DOCUMENT_PB: &[u8] = b"\x0a\x032.0\x12\x15\x0a\x0aKubernetes\x12\x07v1.35.0";

/// `/openapi/v2` for an `Accept` header: the content type and body, or `None` (406) when no
/// alternative is one kube-openapi serves.
pub fn v2(accept: &str) -> Option<(&'static str, Vec<u8>)> {
    let alternatives = accept.split(',').map(|a| a.split(';').next().unwrap_or_default().trim());
    for media in alternatives {
        if V2_PROTOBUF_REQUEST.contains(&media) {
            return Some((V2_PROTOBUF, V2_DOCUMENT_PB.to_vec()));
        }
        if matches!(media, "" | "application/json" | "*/*" | "application/*") {
            let doc = json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.35.0"}, "paths": {}, "definitions": {}});
            return Some(("application/json", serde_json::to_vec(&doc).expect("JSON values serialize")));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_v2_is_negotiated_like_kube_openapi() {
        let (ct, body) = v2("application/com.github.proto-openapi.spec.v2@v1.0+protobuf").unwrap();
        assert_eq!((ct, body.len()), (V2_PROTOBUF, 28));
        assert_eq!(v2("application/json, */*").unwrap().0, "application/json");
        assert_eq!(v2("").unwrap().0, "application/json");
        assert!(v2("text/html").is_none());
    }
}
