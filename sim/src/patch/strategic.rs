//! Strategic merge patch for built-in kinds: a merge patch where lists with a merge key merge by
//! element, primitive lists with a merge strategy union, and `$patch`, `$retainKeys`,
//! `$deleteFromPrimitiveList` and `$setElementOrder` directives are honoured.

use serde_json::{Map, Value};

use super::PatchError;
use crate::builtins::{ListMerge, builtin_list_merge};

const DELETE_FROM_PRIMITIVE: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

pub fn apply_strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let patch =
        patch.as_object().ok_or_else(|| PatchError::Malformed("strategic merge patch must be a JSON object".into()))?;
    merge_map(target, patch)
}

fn merge_map(target: &mut Value, patch: &Map<String, Value>) -> Result<(), PatchError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replaced = patch.clone();
            replaced.remove("$patch");
            *target = Value::Object(strip_directives(replaced));
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return Ok(());
        }
        Some(other) => return Err(PatchError::Malformed(format!("unknown patch type: {other}"))),
        None => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else { return Ok(()) };
    for (key, value) in patch {
        if key == "$retainKeys" || key.starts_with(SET_ELEMENT_ORDER) {
            continue;
        }
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE) {
            let doomed = value.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = map.get_mut(field) {
                list.retain(|v| !doomed.contains(v));
            }
            continue;
        }
        match value {
            Value::Null => {
                map.remove(key);
            }
            Value::Object(sub) => merge_map(map.entry(key.clone()).or_insert(Value::Null), sub)?,
            Value::Array(items) => {
                let current = map.remove(key);
                map.insert(key.clone(), merge_list(key, current, items)?);
            }
            scalar => {
                map.insert(key.clone(), scalar.clone());
            }
        }
    }
    if let Some(Value::Array(retain)) = patch.get("$retainKeys") {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        map.retain(|k, _| keep.contains(&k.as_str()));
    }
    Ok(())
}

fn merge_list(field: &str, current: Option<Value>, patch: &[Value]) -> Result<Value, PatchError> {
    let mut list = match current {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    let sample = patch.iter().chain(list.iter()).find(|v| v.is_object());
    match builtin_list_merge(field, sample) {
        ListMerge::Atomic => Ok(Value::Array(patch.iter().cloned().map(strip_value).collect())),
        ListMerge::Set => {
            for item in patch {
                if !list.contains(item) {
                    list.push(item.clone());
                }
            }
            Ok(Value::Array(list))
        }
        ListMerge::Map(keys) => {
            if patch.iter().any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace")) {
                let rest = patch.iter().filter(|p| p.get("$patch").is_none()).cloned().map(strip_value);
                return Ok(Value::Array(rest.collect()));
            }
            for item in patch {
                let obj = item
                    .as_object()
                    .ok_or_else(|| PatchError::Malformed(format!("list {field} must contain objects")))?;
                let position = list.iter().position(|existing| same_key(existing, item, &keys));
                match (obj.get("$patch").and_then(Value::as_str), position) {
                    (Some("delete"), Some(i)) => {
                        list.remove(i);
                    }
                    (Some("delete"), None) => {}
                    (_, Some(i)) => merge_map(&mut list[i], obj)?,
                    (_, None) => list.push(strip_value(item.clone())),
                }
            }
            Ok(Value::Array(list))
        }
    }
}

fn same_key(a: &Value, b: &Value, keys: &[String]) -> bool {
    keys.iter().all(|k| key_value(a, k) == key_value(b, k))
}

/// A missing `protocol` defaults to TCP, as the server's defaulting would have set it.
fn key_value<'a>(item: &'a Value, key: &str) -> Option<&'a Value> {
    static TCP: Value = Value::Null;
    match item.get(key) {
        None if key == "protocol" => Some(&TCP),
        Some(Value::String(s)) if key == "protocol" && s == "TCP" => Some(&TCP),
        other => other,
    }
}

fn strip_directives(mut map: Map<String, Value>) -> Map<String, Value> {
    map.retain(|k, _| !k.starts_with('$'));
    for v in map.values_mut() {
        *v = strip_value(std::mem::take(v));
    }
    map
}

fn strip_value(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(strip_directives(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_value).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name() {
        let mut pod = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let patch = json!({"spec": {"containers": [{"name": "b", "image": "z"}, {"name": "c", "image": "w"}]}});
        apply_strategic_merge_patch(&mut pod, &patch).unwrap();
        assert_eq!(
            pod["spec"]["containers"],
            json!([{"name": "a", "image": "x"}, {"name": "b", "image": "z"}, {"name": "c", "image": "w"}])
        );
    }

    #[test]
    fn directives_delete_replace_and_retain() {
        let mut doc = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}], "m": {"x": 1, "y": 2}}, "metadata": {"finalizers": ["f1", "f2"]}});
        let patch = json!({
            "spec": {
                "containers": [{"name": "a", "$patch": "delete"}],
                "$setElementOrder/containers": [{"name": "b"}],
                "m": {"$patch": "replace", "z": 3},
            },
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]},
        });
        apply_strategic_merge_patch(&mut doc, &patch).unwrap();
        assert_eq!(
            doc,
            json!({"spec": {"containers": [{"name": "b"}], "m": {"z": 3}}, "metadata": {"finalizers": ["f2"]}})
        );
    }

    #[test]
    fn unknown_lists_are_replaced_and_maps_merge() {
        let mut cm = json!({"data": {"a": "1", "b": "2"}, "args": ["x"]});
        apply_strategic_merge_patch(&mut cm, &json!({"data": {"a": null, "c": "3"}, "args": ["y"]})).unwrap();
        assert_eq!(cm, json!({"data": {"b": "2", "c": "3"}, "args": ["y"]}));
    }
}
