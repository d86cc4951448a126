//! Sets of field paths, as tracked in `metadata.managedFields[].fieldsV1`.
//!
//! A path is a list of elements: `f:name` (a map member), `k:{"name":"a"}` (the element of an
//! associative list with those key values) and `v:"x"` (a member of a set list).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::shape::Shape;
use crate::builtins::ListMerge;

pub type Path = Vec<String>;

/// Metadata members whose ownership is tracked; the rest are server-managed identity.
const TRACKED_METADATA: [&str; 4] = ["labels", "annotations", "finalizers", "ownerReferences"];

/// The owned paths of one manager.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(pub BTreeSet<Path>);

impl FieldSet {
    /// Every field an object sets: leaves, and elements of associative and set lists.
    pub fn of_object(object: &Value, shape: Shape<'_>) -> Self {
        let mut out = BTreeSet::new();
        if let Value::Object(map) = object {
            for (key, value) in map {
                match key.as_str() {
                    "apiVersion" | "kind" => {}
                    "metadata" => {
                        if let Value::Object(meta) = value {
                            for (mk, mv) in meta.iter().filter(|(k, _)| TRACKED_METADATA.contains(&k.as_str())) {
                                walk_member(mk, mv, Shape::Builtin, &mut vec!["f:metadata".to_owned()], &mut out);
                            }
                        }
                    }
                    _ => walk_member(key, value, shape.child(key), &mut Vec::new(), &mut out),
                }
            }
        }
        Self(out)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, path: &Path) -> bool {
        self.0.contains(path)
    }

    /// Whether any path in the set lies strictly below `path`.
    pub fn has_descendant(&self, path: &Path) -> bool {
        self.0.range(path.clone()..).skip_while(|p| *p == path).take_while(|p| p.starts_with(path)).next().is_some()
    }

    /// Paths with nothing below them in this set: the ones whose values can conflict.
    pub fn leaves(&self) -> impl Iterator<Item = &Path> {
        self.0.iter().filter(|p| !self.has_descendant(p))
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    /// The `fieldsV1` tree: a path owned with children gets a `"."` member.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut node = &mut root;
            for element in path {
                node = node
                    .entry(element.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("fieldsV1 nodes are objects");
            }
        }
        for path in &self.0 {
            if self.has_descendant(path) {
                let mut node = &mut root;
                for element in path {
                    node = node.get_mut(element).and_then(Value::as_object_mut).expect("path was inserted above");
                }
                node.insert(".".to_owned(), Value::Object(Map::new()));
            }
        }
        Value::Object(root)
    }

    pub fn from_fields_v1(value: &Value) -> Self {
        fn walk(node: &Map<String, Value>, prefix: &mut Path, out: &mut BTreeSet<Path>) {
            for (key, child) in node {
                if key == "." {
                    out.insert(prefix.clone());
                    continue;
                }
                prefix.push(key.clone());
                match child.as_object() {
                    Some(c) if !c.is_empty() => walk(c, prefix, out),
                    _ => {
                        out.insert(prefix.clone());
                    }
                }
                prefix.pop();
            }
        }
        let mut out = BTreeSet::new();
        if let Some(map) = value.as_object() {
            walk(map, &mut Vec::new(), &mut out);
        }
        Self(out)
    }
}

fn walk_member(key: &str, value: &Value, shape: Shape<'_>, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    prefix.push(format!("f:{key}"));
    match value {
        Value::Object(map) if !map.is_empty() && !shape.atomic_map() => {
            for (k, v) in map {
                walk_member(k, v, shape.child(k), prefix, out);
            }
        }
        Value::Array(items) if !items.is_empty() => match shape.list_merge(key, items.first()) {
            ListMerge::Atomic => {
                out.insert(prefix.clone());
            }
            ListMerge::Set => {
                for item in items {
                    out.insert(child_path(prefix, value_element(item)));
                }
            }
            ListMerge::Map(keys) => {
                for item in items {
                    let element = key_element(item, &keys);
                    prefix.push(element);
                    out.insert(prefix.clone());
                    if let Value::Object(fields) = item {
                        for (k, v) in fields {
                            walk_member(k, v, shape.items().child(k), prefix, out);
                        }
                    }
                    prefix.pop();
                }
            }
        },
        _ => {
            out.insert(prefix.clone());
        }
    }
    prefix.pop();
}

fn child_path(prefix: &Path, element: String) -> Path {
    let mut p = prefix.clone();
    p.push(element);
    p
}

/// `k:{...}` with the key members in name order, as the API server writes them.
pub fn key_element(item: &Value, keys: &[String]) -> String {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort_unstable();
    let mut key = Map::new();
    for k in sorted {
        if let Some(v) = item.get(k.as_str()) {
            key.insert(k.clone(), v.clone());
        }
    }
    format!("k:{}", Value::Object(key))
}

pub fn value_element(item: &Value) -> String {
    format!("v:{item}")
}

/// `.spec.containers[name="a"].image`, the form conflict messages use.
pub fn display_path(path: &Path) -> String {
    let mut out = String::new();
    for element in path {
        if let Some(name) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(key) = element.strip_prefix("k:") {
            let pairs = serde_json::from_str::<Map<String, Value>>(key)
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
                .unwrap_or_else(|_| key.to_owned());
            out.push_str(&format!("[{pairs}]"));
        } else if let Some(v) = element.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_sets_round_trip_through_fields_v1() {
        let obj = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"a": "1"}, "finalizers": ["f"]},
            "spec": {"containers": [{"name": "c", "image": "i"}], "args": ["x"], "empty": {}},
        });
        let set = FieldSet::of_object(&obj, Shape::Builtin);
        let v1 = set.to_fields_v1();
        assert_eq!(
            v1,
            json!({
                "f:metadata": {"f:labels": {"f:a": {}}, "f:finalizers": {"v:\"f\"": {}}},
                "f:spec": {
                    "f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:name": {}, "f:image": {}}},
                    "f:args": {}, "f:empty": {},
                },
            })
        );
        assert_eq!(FieldSet::from_fields_v1(&v1), set);
    }

    #[test]
    fn paths_display_like_conflict_messages() {
        let path = vec!["f:spec".into(), "f:containers".into(), "k:{\"name\":\"c\"}".into(), "f:image".into()];
        assert_eq!(display_path(&path), ".spec.containers[name=\"c\"].image");
    }
}
