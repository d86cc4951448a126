//! Response encodings: plain JSON objects and lists, `as=Table`, `as=PartialObjectMetadata`, and
//! watch event lines. Objects are serialized straight from storage without copying them.

use std::sync::Arc;

use http::HeaderMap;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

use crate::store::{EventKind, Target};
use crate::table;

/// How the client asked to see objects (the `Accept` header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Representation {
    Json,
    Table { include_object: String },
    Metadata,
}

impl Representation {
    /// The first JSON alternative of `Accept` decides; protobuf alternatives are skipped.
    pub fn from_request(headers: &HeaderMap, include_object: Option<&str>) -> Self {
        let accept = headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
        for alternative in accept.split(',') {
            let mut parts = alternative.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            if !(media == "application/json" || media == "*/*" || media == "application/*") {
                continue;
            }
            let params: Vec<&str> = parts.collect();
            if params.contains(&"as=Table") {
                return Self::Table { include_object: include_object.unwrap_or("Metadata").to_owned() };
            }
            if params.iter().any(|p| *p == "as=PartialObjectMetadata" || *p == "as=PartialObjectMetadataList") {
                return Self::Metadata;
            }
            return Self::Json;
        }
        Self::Json
    }
}

/// An object as stored, served at the requested apiVersion, optionally without its type fields
/// (items of built-in lists carry none).
struct Served<'a> {
    object: &'a Value,
    api_version: &'a str,
    with_type: bool,
}

impl Serialize for Served<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.object else { return self.object.serialize(serializer) };
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            match k.as_str() {
                "apiVersion" if self.with_type => out.serialize_entry(k, self.api_version)?,
                "apiVersion" | "kind" if !self.with_type => {}
                _ => out.serialize_entry(k, v)?,
            }
        }
        out.end()
    }
}

fn partial_metadata(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// One object in the requested representation.
pub fn object(target: &Target, repr: &Representation, object: &Arc<Value>) -> Vec<u8> {
    if target.view.is_some() {
        let served = Arc::new(target.to_served(object));
        let plain = Target { view: None, def: target.served_def().clone(), ..target.clone() };
        return self::object(&plain, repr, &served);
    }
    match repr {
        Representation::Json => to_vec(&Served { object, api_version: &target.api_version(), with_type: true }),
        Representation::Metadata => to_vec(&partial_metadata(object)),
        Representation::Table { include_object } => {
            let rv = object.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
            to_vec(&table::table(
                &target.def,
                &target.version,
                std::slice::from_ref(object),
                include_object,
                json!({"resourceVersion": rv}),
            ))
        }
    }
}

/// A list in the requested representation.
pub fn list(target: &Target, repr: &Representation, items: &[Arc<Value>], list_meta: Value) -> Vec<u8> {
    if target.view.is_some() {
        let served: Vec<Arc<Value>> = items.iter().map(|o| Arc::new(target.to_served(o))).collect();
        let plain = Target { view: None, def: target.served_def().clone(), ..target.clone() };
        return list(&plain, repr, &served, list_meta);
    }
    match repr {
        Representation::Table { include_object } => {
            to_vec(&table::table(&target.def, &target.version, items, include_object, list_meta))
        }
        Representation::Metadata => to_vec(&json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": list_meta,
            "items": items.iter().map(|o| partial_metadata(o)).collect::<Vec<_>>(),
        })),
        Representation::Json => {
            struct List<'a> {
                target: &'a Target,
                items: &'a [Arc<Value>],
                meta: Value,
            }
            impl Serialize for List<'_> {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    let api_version = self.target.api_version();
                    let with_type = self.target.def.is_crd();
                    let mut out = serializer.serialize_map(Some(4))?;
                    out.serialize_entry("kind", &self.target.def.list_kind)?;
                    out.serialize_entry("apiVersion", &api_version)?;
                    out.serialize_entry("metadata", &self.meta)?;
                    let items: Vec<Served<'_>> =
                        self.items.iter().map(|o| Served { object: o, api_version: &api_version, with_type }).collect();
                    out.serialize_entry("items", &items)?;
                    out.end()
                }
            }
            to_vec(&List { target, items, meta: list_meta })
        }
    }
}

/// One watch event line: `{"type":...,"object":...}\n`.
pub fn event(target: &Target, repr: &Representation, kind: EventKind, object: &Arc<Value>) -> Vec<u8> {
    let body = self::object(target, repr, object);
    let mut line = Vec::with_capacity(body.len() + 32);
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(kind.as_str().as_bytes());
    line.extend_from_slice(b"\",\"object\":");
    line.extend_from_slice(&body);
    line.extend_from_slice(b"}\n");
    line
}

/// A BOOKMARK line carrying only type fields and the resourceVersion.
pub fn bookmark(target: &Target, repr: &Representation, rv: u64, initial_events_end: bool) -> Vec<u8> {
    let (kind, api_version) = match repr {
        Representation::Json => (target.served_def().kind.clone(), target.served_api_version()),
        Representation::Metadata => ("PartialObjectMetadata".into(), "meta.k8s.io/v1".into()),
        Representation::Table { .. } => ("Table".into(), "meta.k8s.io/v1".into()),
    };
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let mut line =
        to_vec(&json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version, "metadata": metadata}}));
    line.push(b'\n');
    line
}

/// An ERROR line carrying a Status.
pub fn error_event(status: &Value) -> Vec<u8> {
    let mut line = to_vec(&json!({"type": "ERROR", "object": status}));
    line.push(b'\n');
    line
}

pub fn to_vec(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON values always serialize")
}
