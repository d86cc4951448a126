//! Server-side apply and field ownership (`metadata.managedFields`).
//!
//! Every write records which manager set which fields. An apply merges the applied configuration
//! into the live object, refuses to change a field another manager owns with a different value
//! unless forced, and removes fields the applier owned before, stopped applying, and nobody else
//! owns. Updates (PUT and non-apply PATCH) move the fields they change to their manager.

mod fieldset;
mod merge;
mod shape;

pub use fieldset::{FieldSet, display_path};
pub use shape::Shape;

use serde_json::{Map, Value, json};

use crate::error::Cause;

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedEntry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub time: String,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// Who writes, and through which endpoint.
#[derive(Clone, Debug)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub now: &'a str,
}

impl Writer<'_> {
    fn owns(&self, e: &ManagedEntry, operation: Operation) -> bool {
        e.manager == self.manager && e.operation == operation && e.subresource.as_deref() == self.subresource
    }
}

/// Reads `metadata.managedFields` of an object.
pub fn managed_entries(object: &Value) -> Vec<ManagedEntry> {
    let Some(entries) = crate::object::meta(object).and_then(|m| m.get("managedFields")).and_then(Value::as_array)
    else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            Some(ManagedEntry {
                manager: e.get("manager")?.as_str()?.to_owned(),
                operation: if e.get("operation").and_then(Value::as_str) == Some("Apply") {
                    Operation::Apply
                } else {
                    Operation::Update
                },
                api_version: e.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned(),
                time: e.get("time").and_then(Value::as_str).unwrap_or_default().to_owned(),
                subresource: e.get("subresource").and_then(Value::as_str).map(str::to_owned),
                fields: FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
            })
        })
        .collect()
}

/// Writes entries back into `metadata.managedFields`, dropping empty ones.
pub fn set_managed_entries(object: &mut Value, entries: &[ManagedEntry]) {
    let encoded: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation.as_str(),
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": e.fields.to_fields_v1(),
            });
            if let Some(sub) = &e.subresource {
                v["subresource"] = Value::String(sub.clone());
            }
            v
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if encoded.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(encoded));
        }
    }
}

/// Records an ordinary write: the fields it changed now belong to `writer` (operation Update).
pub fn track_update(old: Option<&Value>, new: &mut Value, shape: Shape<'_>, writer: &Writer<'_>) {
    let mut entries = old.map(managed_entries).unwrap_or_default();
    let old_fields = old.map(|o| FieldSet::of_object(o, shape)).unwrap_or_default();
    let new_fields = FieldSet::of_object(new, shape);
    let changed = FieldSet(
        new_fields
            .0
            .iter()
            .filter(|p| {
                !old_fields.contains(p)
                    || (!new_fields.has_descendant(p)
                        && merge::value_at(old.unwrap_or(&Value::Null), p) != merge::value_at(new, p))
            })
            .cloned()
            .collect(),
    );
    let removed = old_fields.difference(&new_fields);
    if changed.is_empty() && removed.is_empty() {
        set_managed_entries(new, &entries);
        return;
    }
    for e in &mut entries {
        e.fields = e.fields.difference(&changed).difference(&removed);
    }
    match entries.iter_mut().find(|e| writer.owns(e, Operation::Update)) {
        Some(mine) => {
            mine.fields = mine.fields.union(&changed);
            mine.time = writer.now.to_owned();
            mine.api_version = writer.api_version.to_owned();
        }
        None => entries.push(ManagedEntry {
            manager: writer.manager.to_owned(),
            operation: Operation::Update,
            api_version: writer.api_version.to_owned(),
            time: writer.now.to_owned(),
            subresource: writer.subresource.map(str::to_owned),
            fields: changed,
        }),
    }
    set_managed_entries(new, &entries);
}

/// A server-side apply of `applied` onto `live` (an empty object when creating).
///
/// Returns the merged object with updated `managedFields`, or the conflicts when another manager
/// owns a field the apply would change and `force` is false.
pub fn apply(
    live: &Value,
    applied: &Value,
    shape: Shape<'_>,
    writer: &Writer<'_>,
    force: bool,
) -> Result<Value, Vec<Cause>> {
    let mut entries = managed_entries(live);
    let applied_fields = FieldSet::of_object(applied, shape);

    let mut conflicts = Vec::new();
    let mut taken = FieldSet::default();
    for entry in entries.iter().filter(|e| !writer.owns(e, Operation::Apply)) {
        for path in applied_fields.leaves().filter(|p| entry.fields.contains(p)) {
            if merge::value_at(live, path) != merge::value_at(applied, path) {
                taken.0.insert(path.clone());
                conflicts.push(Cause::new(
                    "FieldManagerConflict",
                    display_path(path),
                    format!(
                        "conflict with \"{}\"{}",
                        entry.manager,
                        if entry.operation == Operation::Update {
                            format!(" using {}", entry.api_version)
                        } else {
                            String::new()
                        }
                    ),
                ));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }

    let previous =
        entries.iter().find(|e| writer.owns(e, Operation::Apply)).map(|e| e.fields.clone()).unwrap_or_default();
    let others = entries
        .iter()
        .filter(|e| !writer.owns(e, Operation::Apply))
        .fold(FieldSet::default(), |acc, e| acc.union(&e.fields.difference(&taken)));

    let mut merged = live.clone();
    let wanted = |path: &[String]| {
        let path = path.to_vec();
        others.contains(&path)
            || others.has_descendant(&path)
            || applied_fields.contains(&path)
            || applied_fields.has_descendant(&path)
    };
    for path in previous.difference(&applied_fields).0.iter().rev() {
        if wanted(path) {
            continue;
        }
        merge::remove_path(&mut merged, path);
        // A map or list emptied by the removal goes too (structured-merge-diff leaves it null,
        // and null non-nullable fields are dropped), unless someone still owns or applies it.
        for depth in (1..path.len()).rev() {
            let parent = &path[..depth];
            if wanted(parent) || !merge::value_at(&merged, parent).is_some_and(is_empty_collection) {
                break;
            }
            merge::remove_path(&mut merged, parent);
        }
    }
    merge::merge_applied(&mut merged, applied, shape);

    for e in &mut entries {
        e.fields = e.fields.difference(&taken);
    }
    match entries.iter_mut().find(|e| writer.owns(e, Operation::Apply)) {
        Some(mine) => {
            if mine.fields != applied_fields {
                mine.time = writer.now.to_owned();
            }
            mine.fields = applied_fields;
            mine.api_version = writer.api_version.to_owned();
        }
        None => entries.push(ManagedEntry {
            manager: writer.manager.to_owned(),
            operation: Operation::Apply,
            api_version: writer.api_version.to_owned(),
            time: writer.now.to_owned(),
            subresource: writer.subresource.map(str::to_owned),
            fields: applied_fields,
        }),
    }
    if merged.get("metadata").is_none() {
        merged["metadata"] = Value::Object(Map::new());
    }
    set_managed_entries(&mut merged, &entries);
    Ok(merged)
}

fn is_empty_collection(value: &Value) -> bool {
    value.as_object().is_some_and(Map::is_empty) || value.as_array().is_some_and(Vec::is_empty)
}

/// The one-line summary of apply conflicts, as the API server words it.
pub fn conflict_message(causes: &[Cause]) -> String {
    let plural = if causes.len() == 1 { "conflict" } else { "conflicts" };
    let list = causes.iter().map(|c| format!("{}: {}", c.message, c.field)).collect::<Vec<_>>().join("\n- ");
    format!("Apply failed with {} {plural}: {list}", causes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(manager: &str) -> Writer<'_> {
        Writer { manager, api_version: "v1", subresource: None, now: "2026-01-01T00:00:00Z" }
    }

    #[test]
    fn apply_merges_and_records_ownership() {
        let live = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        let out =
            apply(&live, &json!({"metadata": {"name": "c"}, "data": {"b": "2"}}), Shape::Builtin, &writer("m"), false)
                .unwrap();
        assert_eq!(out["data"], json!({"a": "1", "b": "2"}));
        let entries = managed_entries(&out);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].fields.to_fields_v1(), json!({"f:data": {"f:b": {}}}));
    }

    #[test]
    fn a_field_its_sole_manager_stops_applying_is_removed() {
        let first =
            apply(&json!({}), &json!({"data": {"a": "1", "b": "2"}}), Shape::Builtin, &writer("m"), false).unwrap();
        let second = apply(&first, &json!({"data": {"a": "1"}}), Shape::Builtin, &writer("m"), false).unwrap();
        assert_eq!(second["data"], json!({"a": "1"}));
        let third =
            apply(&second, &json!({"metadata": {"labels": {"x": "y"}}}), Shape::Builtin, &writer("m"), false).unwrap();
        assert!(third.get("data").is_none(), "a map emptied by the removal goes too: {third}");
    }

    #[test]
    fn an_emptied_parent_stays_when_another_manager_owns_it() {
        let first = apply(&json!({}), &json!({"data": {}}), Shape::Builtin, &writer("m1"), false).unwrap();
        let both = apply(&first, &json!({"data": {"a": "1"}}), Shape::Builtin, &writer("m2"), false).unwrap();
        let after = apply(&both, &json!({}), Shape::Builtin, &writer("m2"), false).unwrap();
        assert_eq!(after["data"], json!({}), "m1 applied the empty map itself");
    }

    #[test]
    fn shared_fields_survive_when_one_manager_leaves() {
        let first = apply(&json!({}), &json!({"data": {"a": "1"}}), Shape::Builtin, &writer("m1"), false).unwrap();
        let both = apply(&first, &json!({"data": {"a": "1"}}), Shape::Builtin, &writer("m2"), false).unwrap();
        let after = apply(&both, &json!({}), Shape::Builtin, &writer("m1"), false).unwrap();
        assert_eq!(after["data"], json!({"a": "1"}));
    }

    #[test]
    fn conflicting_values_are_refused_unless_forced() {
        let first = apply(&json!({}), &json!({"data": {"a": "1"}}), Shape::Builtin, &writer("m1"), false).unwrap();
        let causes = apply(&first, &json!({"data": {"a": "2"}}), Shape::Builtin, &writer("m2"), false).unwrap_err();
        assert_eq!(causes[0].field, ".data.a");
        assert_eq!(conflict_message(&causes), "Apply failed with 1 conflict: conflict with \"m1\": .data.a");
        let forced = apply(&first, &json!({"data": {"a": "2"}}), Shape::Builtin, &writer("m2"), true).unwrap();
        assert_eq!(forced["data"]["a"], "2");
        let entries = managed_entries(&forced);
        assert_eq!(entries.len(), 1, "m1 lost its only field: {entries:?}");
        assert_eq!(entries[0].manager, "m2");
    }

    #[test]
    fn updates_take_ownership_of_what_they_change() {
        let first = apply(&json!({}), &json!({"data": {"a": "1"}}), Shape::Builtin, &writer("m1"), false).unwrap();
        let mut updated = first.clone();
        updated["data"]["a"] = json!("9");
        track_update(Some(&first), &mut updated, Shape::Builtin, &writer("editor"));
        let entries = managed_entries(&updated);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].manager, "editor");
        assert_eq!(entries[0].operation, Operation::Update);
    }

    #[test]
    fn associative_lists_merge_by_key() {
        let first = apply(
            &json!({}),
            &json!({"spec": {"containers": [{"name": "a", "image": "x"}]}}),
            Shape::Builtin,
            &writer("m1"),
            false,
        )
        .unwrap();
        let second = apply(
            &first,
            &json!({"spec": {"containers": [{"name": "b", "image": "y"}]}}),
            Shape::Builtin,
            &writer("m2"),
            false,
        )
        .unwrap();
        assert_eq!(second["spec"]["containers"].as_array().unwrap().len(), 2);
    }
}
