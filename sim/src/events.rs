//! One Event store, two APIs: Events are stored in their core/v1 shape and served through
//! events.k8s.io/v1 by converting on the way in and out, as kube-apiserver does through its
//! internal type (`pkg/apis/events/v1/conversion.go`). So an Event kube-rs's Recorder writes
//! through events.k8s.io is what `kubectl describe` lists through core/v1, with one
//! resourceVersion stream and one watch history.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Cause, Result};

/// `(core/v1 field, events.k8s.io/v1 field)` pairs that are renamed; the rest keep their names.
const RENAMED: [(&str, &str); 8] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
];

fn rename(object: &Value, from_core: bool, api_version: &str) -> Value {
    let Value::Object(map) = object else { return object.clone() };
    let mut out = Map::new();
    for (k, v) in map {
        let renamed = RENAMED.iter().find(|(core, ev)| if from_core { core == k } else { ev == k });
        let key = match renamed {
            Some((core, ev)) => {
                if from_core {
                    *ev
                } else {
                    *core
                }
            }
            None => k.as_str(),
        };
        out.insert(key.to_owned(), v.clone());
    }
    out.insert("apiVersion".into(), Value::String(api_version.to_owned()));
    Value::Object(out)
}

/// A stored (core/v1) Event as events.k8s.io/v1 serves it.
pub fn to_events_v1(core: &Value) -> Value {
    let mut ev = rename(core, true, "events.k8s.io/v1");
    if let Some(map) = ev.as_object_mut() {
        map.entry("regarding").or_insert_with(|| json!({}));
        map.entry("deprecatedSource").or_insert_with(|| json!({}));
        for field in ["eventTime", "deprecatedFirstTimestamp", "deprecatedLastTimestamp"] {
            map.entry(field).or_insert(Value::Null);
        }
        // omitempty on the events.k8s.io side.
        for field in ["reportingController", "reportingInstance"] {
            if map.get(field).and_then(Value::as_str) == Some("") {
                map.remove(field);
            }
        }
        if map.get("deprecatedCount").and_then(Value::as_i64) == Some(0) {
            map.remove("deprecatedCount");
        }
    }
    ev
}

/// An events.k8s.io/v1 Event in its stored core/v1 shape.
pub fn to_core(events_v1: &Value) -> Value {
    let mut core = rename(events_v1, false, "v1");
    normalize_core(&mut core);
    core
}

/// The fields a core/v1 Event always shows (no omitempty in the Go type).
pub fn normalize_core(core: &mut Value) {
    if let Some(map) = core.as_object_mut() {
        map.entry("involvedObject").or_insert_with(|| json!({}));
        map.entry("source").or_insert_with(|| json!({}));
        for field in ["firstTimestamp", "lastTimestamp", "eventTime"] {
            map.entry(field).or_insert(Value::Null);
        }
        for field in ["reportingComponent", "reportingInstance"] {
            map.entry(field).or_insert_with(|| Value::String(String::new()));
        }
    }
}

/// The checks events.k8s.io/v1 adds on create (`ValidateEventCreate` for that group version);
/// paths use the core field names, as the real messages do.
pub fn validate_events_v1_create(ev: &Value, name: &str) -> Result<()> {
    let mut causes = Vec::new();
    let present = |f: &str| ev.get(f).is_some_and(|v| !v.is_null() && v != &json!({}) && v != &json!(0));
    if !present("eventTime") {
        causes.push(Cause::new("FieldValueRequired", "eventTime", "Required value"));
    }
    match ev.get("type").and_then(Value::as_str).unwrap_or_default() {
        "Normal" | "Warning" => {}
        other => causes.push(Cause::new(
            "FieldValueInvalid",
            "type",
            format!("Invalid value: \"{other}\": has invalid value: {other}"),
        )),
    }
    for (field, core) in [
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
        ("deprecatedSource", "source"),
    ] {
        if present(field) {
            causes.push(Cause::new("FieldValueInvalid", core, "Invalid value: needs to be unset"));
        }
    }
    for field in ["reportingController", "reportingInstance", "action", "reason"] {
        if ev.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
            let core = if field == "reportingController" { "reportingComponent" } else { field };
            causes.push(Cause::new("FieldValueRequired", core, "Required value"));
        }
    }
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid("Event", "events.k8s.io", name, causes)) }
}

/// The core fields an update through events.k8s.io/v1 may not change (only `series` and
/// metadata may), checked on the stored shapes.
const IMMUTABLE_IN_EVENTS_V1: [&str; 13] = [
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "type",
    "eventTime",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
];

/// `ValidateEventUpdate` for events.k8s.io/v1 requests.
pub fn validate_events_v1_update(old: &Value, new: &Value, name: &str) -> Result<()> {
    let causes: Vec<Cause> = IMMUTABLE_IN_EVENTS_V1
        .iter()
        .filter(|f| old.get(**f).unwrap_or(&Value::Null) != new.get(**f).unwrap_or(&Value::Null))
        .map(|f| {
            Cause::new(
                "FieldValueInvalid",
                *f,
                format!("Invalid value: {}: field is immutable", new.get(*f).unwrap_or(&Value::Null)),
            )
        })
        .collect();
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid("Event", "events.k8s.io", name, causes)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorder_event_reads_the_same_through_both_apis() {
        let ev = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e", "namespace": "default"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "regarding": {"kind": "ConfigMap", "name": "c"},
            "note": "hello", "reason": "Loaded", "type": "Normal", "action": "Load",
            "reportingController": "weft", "reportingInstance": "weft-1",
        });
        let core = to_core(&ev);
        assert_eq!(core["involvedObject"]["name"], "c");
        assert_eq!(core["message"], "hello");
        assert_eq!(core["reportingComponent"], "weft");
        assert_eq!(
            (&core["source"], &core["firstTimestamp"], &core["apiVersion"]),
            (&json!({}), &Value::Null, &json!("v1"))
        );
        let back = to_events_v1(&core);
        assert_eq!(back["regarding"], ev["regarding"]);
        assert_eq!(back["note"], "hello");
        assert_eq!(back["deprecatedSource"], json!({}));
        assert!(validate_events_v1_create(&ev, "e").is_ok());
    }

    #[test]
    fn an_events_v1_update_may_change_only_series_and_metadata() {
        let old = to_core(&json!({"metadata": {"name": "e"}, "note": "a", "reason": "R"}));
        let mut new = old.clone();
        new["series"] = json!({"count": 2, "lastObservedTime": "2026-01-01T00:00:00.000000Z"});
        assert!(validate_events_v1_update(&old, &new, "e").is_ok());
        new["message"] = json!("b");
        let err = validate_events_v1_update(&old, &new, "e").unwrap_err();
        assert!(err.to_string().contains("message: Invalid value: \"b\": field is immutable"), "{err}");
    }

    #[test]
    fn events_v1_creates_need_an_event_time_and_a_known_type() {
        let err = validate_events_v1_create(&json!({"type": "Odd"}), "e").unwrap_err();
        assert!(err.to_string().contains("eventTime: Required value"), "{err}");
        assert!(err.to_string().contains("has invalid value: Odd"), "{err}");
    }
}
