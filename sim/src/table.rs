//! `as=Table` responses (`kubectl get`): column definitions from printer columns, one row per
//! object with its metadata embedded.

use std::sync::Arc;

use jsonpath_rust::JsonPath;
use serde_json::{Value, json};

use crate::registry::{PrinterColumn, ResourceDef};

/// The columns a resource is printed with, Name first (core Events: last, and only in `-o wide`).
fn columns(def: &ResourceDef, version: &str) -> Vec<PrinterColumn> {
    let declared = def.version(version).map(|v| v.printer_columns.clone()).unwrap_or_default();
    let column = |name: &str, type_: &str, json_path: &str, description: &str| PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        format: String::new(),
        description: description.into(),
        json_path: json_path.into(),
        priority: 0,
    };
    let name = PrinterColumn {
        format: "name".into(),
        ..column("Name", "string", ".metadata.name", "Name must be unique within a namespace.")
    };
    let age = column(
        "Age",
        "date",
        ".metadata.creationTimestamp",
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    );
    if !def.is_crd() && def.kind == "Event" && def.gr.group.is_empty() {
        return declared.into_iter().chain([PrinterColumn { priority: 1, ..name }]).collect();
    }
    let mut cols = vec![name];
    if def.is_crd() {
        let custom = !declared.is_empty();
        cols.extend(declared);
        if !custom {
            cols.push(age);
        }
        return cols;
    }
    if def.kind == "ConfigMap" {
        cols.push(column("Data", "integer", "=data", ""));
    }
    cols.extend(declared);
    cols.push(age);
    cols
}

fn cell(object: &Value, column: &PrinterColumn) -> Value {
    let value = raw_cell(object, column);
    match (column.type_.as_str(), value.as_str()) {
        ("date", Some(timestamp)) => timestamp
            .parse::<jiff::Timestamp>()
            .map_or(value.clone(), |t| Value::String(human_age(jiff::Timestamp::now().as_second() - t.as_second()))),
        _ => value,
    }
}

/// The API server's rendering of an age (`5m12s`, `3h`, `2d4h`, `3y20d`).
fn human_age(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    let pair = |a: i64, ua: &str, b: i64, ub: &str| if b == 0 { format!("{a}{ua}") } else { format!("{a}{ua}{b}{ub}") };
    match () {
        () if s < 120 => format!("{s}s"),
        () if m < 10 => pair(m, "m", s % 60, "s"),
        () if m < 180 => format!("{m}m"),
        () if h < 8 => pair(h, "h", m % 60, "m"),
        () if h < 48 => format!("{h}h"),
        () if h < 24 * 8 => pair(d, "d", h % 24, "h"),
        () if d < 365 * 2 => format!("{d}d"),
        () if d < 365 * 8 => pair(d / 365, "y", d % 365, "d"),
        () => format!("{}y", d / 365),
    }
}

fn raw_cell(object: &Value, column: &PrinterColumn) -> Value {
    if let Some(name) = column.json_path.strip_prefix('=') {
        return computed(object, name);
    }
    let path = format!("${}", column.json_path);
    match object.query(&path) {
        Ok(found) => match found.as_slice() {
            [] => Value::Null,
            [one] => (*one).clone(),
            many => Value::String(
                many.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        },
        Err(_) => Value::Null,
    }
}

/// The cells kube-apiserver's printers compute for built-in kinds (a `=name` column path).
fn computed(object: &Value, name: &str) -> Value {
    let int = |pointer: &str| object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0);
    let list = |pointer: &str| object.pointer(pointer).and_then(Value::as_array).cloned().unwrap_or_default();
    let count = |field: &str| object.get(field).and_then(Value::as_object).map_or(0, serde_json::Map::len);
    match name {
        "data" => json!(count("data") + count("binaryData")),
        "secrets" => json!(list("/secrets").len()),
        "pod-ready" => {
            let statuses = list("/status/containerStatuses");
            let ready = statuses.iter().filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true)).count();
            json!(format!("{ready}/{}", list("/spec/containers").len()))
        }
        "restarts" => {
            json!(list("/status/containerStatuses").iter().filter_map(|s| s.get("restartCount")?.as_i64()).sum::<i64>())
        }
        "replicas-ready" => json!(format!("{}/{}", int("/status/readyReplicas"), int("/spec/replicas"))),
        "updated" => json!(int("/status/updatedReplicas")),
        "available" => json!(int("/status/availableReplicas")),
        "external-ips" => {
            let mut ips: Vec<String> =
                list("/spec/externalIPs").iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
            ips.extend(
                list("/status/loadBalancer/ingress")
                    .iter()
                    .filter_map(|i| i.get("ip").or_else(|| i.get("hostname"))?.as_str().map(str::to_owned)),
            );
            let pending = object.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer");
            json!(if !ips.is_empty() {
                ips.join(",")
            } else if pending {
                "<pending>".into()
            } else {
                "<none>".to_owned()
            })
        }
        "service-ports" => {
            let ports: Vec<String> = list("/spec/ports")
                .iter()
                .map(|p| {
                    let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                    let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(node) => format!("{port}:{node}/{protocol}"),
                        None => format!("{port}/{protocol}"),
                    }
                })
                .collect();
            json!(if ports.is_empty() { "<none>".to_owned() } else { ports.join(",") })
        }
        // The newest of series, lastTimestamp and eventTime (the printer's order of preference).
        "last-seen" => ["/series/lastObservedTime", "/lastTimestamp", "/eventTime", "/firstTimestamp"]
            .iter()
            .find_map(|p| object.pointer(p).filter(|v| v.is_string()).cloned())
            .unwrap_or(Value::Null),
        "event-object" => {
            let text =
                |f: &str| object.pointer(&format!("/involvedObject/{f}")).and_then(Value::as_str).unwrap_or_default();
            json!(format!("{}/{}", text("kind").to_lowercase(), text("name")))
        }
        "role-ref" => {
            let text = |f: &str| object.pointer(&format!("/roleRef/{f}")).and_then(Value::as_str).unwrap_or_default();
            json!(format!("{}/{}", text("kind"), text("name")))
        }
        _ => Value::Null,
    }
}

/// Renders objects as a `meta.k8s.io/v1` Table. `include_object` follows the `includeObject`
/// parameter: `None`, `Metadata` (default) or `Object`.
pub fn table(
    def: &ResourceDef,
    version: &str,
    objects: &[Arc<Value>],
    include_object: &str,
    list_meta: Value,
) -> Value {
    let cols = columns(def, version);
    let definitions: Vec<Value> = cols
        .iter()
        .map(|c| json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority}))
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let cells: Vec<Value> = cols.iter().map(|c| cell(o, c)).collect();
            let embedded = match include_object {
                "None" => Value::Null,
                "Object" => (**o).clone(),
                _ => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o.get("metadata").cloned().unwrap_or_else(|| json!({})),
                }),
            };
            json!({"cells": cells, "object": embedded})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtins::builtin_defs;

    #[test]
    fn configmaps_print_name_data_and_age() {
        let def = builtin_defs().into_iter().find(|d| d.kind == "ConfigMap").unwrap();
        let cm = Arc::new(
            json!({"metadata": {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"}, "data": {"x": "1", "y": "2"}}),
        );
        let t = table(&def, "v1", &[cm], "Metadata", json!({}));
        let names: Vec<&str> =
            t["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Name", "Data", "Age"]);
        assert_eq!((&t["rows"][0]["cells"][0], &t["rows"][0]["cells"][1]), (&json!("a"), &json!(2)));
        assert!(t["rows"][0]["cells"][2].as_str().unwrap().ends_with('d'), "age is rendered as a duration");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    #[test]
    fn ages_render_like_the_api_server() {
        let cases = [
            (5, "5s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (30 * 3600, "30h"),
            (3 * 86_400, "3d"),
            (800 * 86_400, "2y70d"),
        ];
        for (secs, expected) in cases {
            assert_eq!(human_age(secs), expected);
        }
    }

    #[test]
    fn printer_columns_support_filters() {
        let col = PrinterColumn {
            name: "Ready".into(),
            type_: "string".into(),
            format: String::new(),
            description: String::new(),
            json_path: ".status.conditions[?(@.type==\"Ready\")].status".into(),
            priority: 0,
        };
        let obj = json!({"status": {"conditions": [{"type": "Loaded", "status": "True"}, {"type": "Ready", "status": "False"}]}});
        assert_eq!(cell(&obj, &col), json!("False"));
    }
}
