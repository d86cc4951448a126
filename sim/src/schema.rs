//! Structural schemas of CRDs: pruning of unknown fields, defaulting, and validation.

use serde_json::{Map, Value};

use crate::error::Cause;

/// Removes fields the schema does not declare (unless `x-kubernetes-preserve-unknown-fields`) and
/// returns their paths, so `fieldValidation=Strict|Warn` can report them.
pub fn prune(object: &mut Value, schema: &Value) -> Vec<String> {
    let mut pruned = Vec::new();
    if let Value::Object(map) = object {
        for (key, value) in map.iter_mut() {
            if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if let Some(child) = property(schema, key) {
                prune_node(value, child, &format!(".{key}"), &mut pruned);
            }
        }
        let unknown: Vec<String> = map
            .keys()
            .filter(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") && property(schema, k).is_none())
            .cloned()
            .collect();
        if !preserves(schema) {
            for key in unknown {
                map.remove(&key);
                pruned.push(format!(".{key}"));
            }
        }
    }
    pruned
}

fn preserves(schema: &Value) -> bool {
    schema.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true)
}

fn property<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    schema
        .get("properties")
        .and_then(|p| p.get(key))
        .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
}

fn prune_node(value: &mut Value, schema: &Value, path: &str, pruned: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let embedded = schema.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true);
            let open =
                preserves(schema) || schema.get("additionalProperties").is_some_and(|a| a.as_bool() == Some(true));
            let mut unknown = Vec::new();
            for (key, child_value) in map.iter_mut() {
                match property(schema, key) {
                    Some(child) => prune_node(child_value, child, &format!("{path}.{key}"), pruned),
                    None if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") => {}
                    None if !open => unknown.push(key.clone()),
                    None => {}
                }
            }
            for key in unknown {
                map.remove(&key);
                pruned.push(format!("{path}.{key}"));
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune_node(item, item_schema, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

/// Fills in `default` values for absent properties, recursively.
pub fn apply_defaults(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (key, child) in props {
                    if !map.contains_key(key)
                        && let Some(default) = child.get("default")
                    {
                        map.insert(key.clone(), default.clone());
                    }
                    if let Some(v) = map.get_mut(key) {
                        apply_defaults(v, child);
                    }
                }
            } else if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for v in map.values_mut() {
                    apply_defaults(v, additional);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply_defaults(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// Validates an object against its schema; metadata is validated elsewhere.
pub fn validate(object: &Value, schema: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(map) = object.as_object() {
        let mut root = map.clone();
        for k in ["apiVersion", "kind", "metadata"] {
            root.remove(k);
        }
        let mut root_schema = schema.clone();
        if let Some(props) = root_schema.get_mut("properties").and_then(Value::as_object_mut) {
            for k in ["apiVersion", "kind", "metadata"] {
                props.remove(k);
            }
        }
        if let Some(required) = root_schema.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|r| !matches!(r.as_str(), Some("apiVersion" | "kind" | "metadata")));
        }
        validate_node(&Value::Object(root), &root_schema, "", &mut causes);
    }
    causes
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn invalid(path: &str, value: &Value, why: String) -> Cause {
    let field = path.trim_start_matches('.');
    Cause::new("FieldValueInvalid", field, format!("Invalid value: {}: {why}", short(value)))
}

fn short(value: &Value) -> String {
    match value {
        Value::Object(_) => "\"object\"".into(),
        Value::Array(_) => "\"array\"".into(),
        other => other.to_string(),
    }
}

fn validate_node(value: &Value, schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    let field = if path.is_empty() { "<root>" } else { path.trim_start_matches('.') };
    if value.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) != Some(true)
            && let Some(expected) = schema.get("type").and_then(Value::as_str)
        {
            causes.push(invalid(path, value, format!("{field} in body must be of type {expected}: \"null\"")));
        }
        return;
    }
    let int_or_string = schema.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let ok = actual == expected
            || (expected == "number" && actual == "integer")
            || (int_or_string && matches!(actual, "integer" | "string"));
        if !ok {
            causes.push(invalid(path, value, format!("{field} in body must be of type {expected}: \"{actual}\"")));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let list = allowed.iter().map(Value::to_string).collect::<Vec<_>>().join(", ");
        causes.push(Cause::new(
            "FieldValueNotSupported",
            field,
            format!("Unsupported value: {}: supported values: {list}", short(value)),
        ));
    }
    match value {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or_default();
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && x < min
            {
                causes.push(invalid(path, value, format!("{field} in body should be greater than or equal to {min}")));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && x > max
            {
                causes.push(invalid(path, value, format!("{field} in body should be less than or equal to {max}")));
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                causes.push(invalid(path, value, format!("{field} in body should be at least {min} chars long")));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                causes.push(Cause::new(
                    "FieldValueTooLong",
                    field,
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && len < min
            {
                causes.push(invalid(path, value, format!("{field} in body should have at least {min} items")));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && len > max
            {
                causes.push(Cause::new(
                    "FieldValueTooMany",
                    field,
                    format!("Too many: {len}: must have at most {max} items"),
                ));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate_node(item, item_schema, &format!("{path}[{i}]"), causes);
                }
            }
        }
        Value::Object(map) => validate_object(map, schema, path, causes),
        _ => {}
    }
}

fn validate_object(map: &Map<String, Value>, schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    if let Some(Value::Array(required)) = schema.get("required") {
        for r in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(r) {
                causes.push(Cause::new(
                    "FieldValueRequired",
                    format!("{}.{r}", path.trim_start_matches('.')).trim_start_matches('.'),
                    "Required value",
                ));
            }
        }
    }
    for (key, v) in map {
        if let Some(child) = property(schema, key) {
            validate_node(v, child, &format!("{path}.{key}"), causes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["size"],
                    "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    },
                },
                "status": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
            },
        })
    }

    #[test]
    fn unknown_fields_are_pruned_unless_preserved() {
        let mut o = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a"}, "spec": {"size": 1, "junk": 1, "free": {"any": 1}}, "top": 1});
        let pruned = prune(&mut o, &schema());
        assert_eq!(pruned, [".spec.junk", ".top"]);
        assert_eq!(o["spec"], json!({"size": 1, "free": {"any": 1}}));
    }

    #[test]
    fn defaults_fill_absent_fields() {
        let mut o = json!({"spec": {"size": 2}});
        apply_defaults(&mut o, &schema());
        assert_eq!(o["spec"]["mode"], "a");
    }

    #[test]
    fn violations_are_reported_per_field() {
        let causes = validate(&json!({"spec": {"mode": "c", "size": 0}, "status": {"ok": "yes"}}), &schema());
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["spec.mode", "spec.size", "status.ok"]);
        let missing = validate(&json!({"spec": {}}), &schema());
        assert_eq!(missing[0].field, "spec.size");
        assert_eq!(missing[0].reason, "FieldValueRequired");
    }
}
