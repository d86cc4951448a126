//! What the server knows about an object's structure when merging: which lists merge by key and
//! which maps are atomic. CRDs answer from their structural schema, built-ins from a fixed table.

use serde_json::Value;

use crate::builtins::{ListMerge, builtin_list_merge};

/// A position in an object's structure.
#[derive(Clone, Copy, Debug)]
pub enum Shape<'a> {
    /// A built-in kind (or `metadata` of any kind): list strategies come from the built-in table.
    Builtin,
    /// A CRD schema node; `None` where the schema says nothing (preserved unknown fields).
    Schema(Option<&'a Value>),
}

impl<'a> Shape<'a> {
    /// The shape of the root of an object of a CRD with the given `openAPIV3Schema`.
    pub fn for_schema(schema: Option<&'a Value>) -> Self {
        match schema {
            Some(s) => Shape::Schema(Some(s)),
            None => Shape::Builtin,
        }
    }

    /// The shape of member `key` of an object at this shape.
    pub fn child(self, key: &str) -> Shape<'a> {
        match self {
            Shape::Builtin => Shape::Builtin,
            Shape::Schema(node) => Shape::Schema(node.and_then(|n| {
                n.get("properties")
                    .and_then(|p| p.get(key))
                    .or_else(|| n.get("additionalProperties").filter(|a| a.is_object()))
            })),
        }
    }

    /// The shape of the elements of a list at this shape.
    pub fn items(self) -> Shape<'a> {
        match self {
            Shape::Builtin => Shape::Builtin,
            Shape::Schema(node) => Shape::Schema(node.and_then(|n| n.get("items"))),
        }
    }

    /// How the list stored under `field` (this shape) merges.
    pub fn list_merge(self, field: &str, sample: Option<&Value>) -> ListMerge {
        match self {
            Shape::Builtin => builtin_list_merge(field, sample),
            Shape::Schema(node) => {
                let node = node.unwrap_or(&Value::Null);
                match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
                    Some("set") => ListMerge::Set,
                    Some("map") => {
                        let keys = node
                            .get("x-kubernetes-list-map-keys")
                            .and_then(Value::as_array)
                            .map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                            .unwrap_or_default();
                        ListMerge::Map(keys)
                    }
                    _ => ListMerge::Atomic,
                }
            }
        }
    }

    /// Whether a map at this shape is replaced as a whole.
    pub fn atomic_map(self) -> bool {
        match self {
            Shape::Builtin => false,
            Shape::Schema(node) => {
                node.and_then(|n| n.get("x-kubernetes-map-type")).and_then(Value::as_str) == Some("atomic")
            }
        }
    }
}
