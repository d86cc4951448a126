//! Structural operations on objects addressed by field-set paths.

use serde_json::Value;

use super::fieldset::{key_element, value_element};
use super::shape::Shape;
use crate::builtins::ListMerge;

/// The value a path addresses, if present.
pub fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = object;
    for element in path {
        cur = step(cur, element)?;
    }
    Some(cur)
}

fn step<'a>(cur: &'a Value, element: &str) -> Option<&'a Value> {
    if let Some(name) = element.strip_prefix("f:") {
        cur.get(name)
    } else if element.starts_with("k:") {
        let items = cur.as_array()?;
        let keys = element_keys(element);
        items.iter().find(|item| key_element(item, &keys) == element)
    } else if element.starts_with("v:") {
        cur.as_array()?.iter().find(|item| value_element(item) == element)
    } else {
        None
    }
}

fn element_keys(element: &str) -> Vec<String> {
    element
        .strip_prefix("k:")
        .and_then(|k| serde_json::from_str::<serde_json::Map<String, Value>>(k).ok())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Removes what a path addresses; a missing path is left alone.
pub fn remove_path(object: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut cur = object;
    for element in parents {
        let next = if let Some(name) = element.strip_prefix("f:") {
            cur.get_mut(name)
        } else if element.starts_with("k:") {
            let keys = element_keys(element);
            cur.as_array_mut().and_then(|items| items.iter_mut().find(|item| key_element(item, &keys) == *element))
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(name) = last.strip_prefix("f:") {
        if let Some(map) = cur.as_object_mut() {
            map.remove(name);
        }
    } else if let Some(items) = cur.as_array_mut() {
        let keys = element_keys(last);
        items.retain(|item| {
            if last.starts_with("k:") { key_element(item, &keys) != *last } else { value_element(item) != *last }
        });
    }
}

/// Merges an applied configuration into `target`: maps recursively, lists by their strategy.
pub fn merge_applied(target: &mut Value, applied: &Value, shape: Shape<'_>) {
    let Value::Object(applied_map) = applied else {
        *target = applied.clone();
        return;
    };
    if !target.is_object() || shape.atomic_map() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(map) = target else { return };
    for (key, value) in applied_map {
        let child = if key == "metadata" { Shape::Builtin } else { shape.child(key) };
        match value {
            Value::Object(_) => merge_applied(map.entry(key.clone()).or_insert(Value::Null), value, child),
            Value::Array(items) => {
                let merged = merge_list(key, map.remove(key), items, child);
                map.insert(key.clone(), merged);
            }
            scalar => {
                map.insert(key.clone(), scalar.clone());
            }
        }
    }
}

fn merge_list(field: &str, current: Option<Value>, applied: &[Value], shape: Shape<'_>) -> Value {
    let mut list = match current {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    match shape.list_merge(field, applied.first().or(list.first())) {
        ListMerge::Atomic => return Value::Array(applied.to_vec()),
        ListMerge::Set => {
            for item in applied {
                if !list.contains(item) {
                    list.push(item.clone());
                }
            }
        }
        ListMerge::Map(keys) => {
            for item in applied {
                let element = key_element(item, &keys);
                match list.iter_mut().find(|existing| key_element(existing, &keys) == element) {
                    Some(existing) => merge_applied(existing, item, shape.items()),
                    None => list.push(item.clone()),
                }
            }
        }
    }
    Value::Array(list)
}
