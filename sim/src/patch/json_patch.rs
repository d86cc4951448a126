//! JSON patch (RFC 6902) with the API server's one leniency: `test` of a missing member against
//! `null` succeeds, which kube-runtime's finalizer helper relies on.

use serde_json::Value;

use super::PatchError;

pub fn apply_json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops =
        patch.as_array().ok_or_else(|| PatchError::Malformed("json patch must be an array of operations".into()))?;
    for (index, op) in ops.iter().enumerate() {
        apply_op(target, op).map_err(|e| match e {
            PatchError::OperationFailed(m) => PatchError::OperationFailed(format!(
                "the server rejected our request due to an error in our request: operation {index}: {m}"
            )),
            other => other,
        })?;
    }
    Ok(())
}

fn field<'a>(op: &'a Value, name: &str) -> Result<&'a Value, PatchError> {
    op.get(name).ok_or_else(|| PatchError::Malformed(format!("operation missing \"{name}\" string")))
}

fn path_of(op: &Value, name: &str) -> Result<Vec<String>, PatchError> {
    let raw = field(op, name)?.as_str().ok_or_else(|| PatchError::Malformed(format!("\"{name}\" must be a string")))?;
    parse_pointer(raw)
}

fn parse_pointer(raw: &str) -> Result<Vec<String>, PatchError> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let rest = raw.strip_prefix('/').ok_or_else(|| PatchError::Malformed(format!("invalid JSON pointer {raw:?}")))?;
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

fn apply_op(target: &mut Value, op: &Value) -> Result<(), PatchError> {
    let kind = field(op, "op")?.as_str().unwrap_or_default();
    let path = path_of(op, "path")?;
    match kind {
        "add" => add(target, &path, field(op, "value")?.clone()),
        "remove" => remove(target, &path).map(drop),
        "replace" => {
            let value = field(op, "value")?.clone();
            let slot = resolve_mut(target, &path)?;
            *slot = value;
            Ok(())
        }
        "move" => {
            let from = path_of(op, "from")?;
            if path.len() > from.len() && path[..from.len()] == from[..] {
                return Err(PatchError::OperationFailed("cannot move a value into one of its children".into()));
            }
            let value = remove(target, &from)?;
            add(target, &path, value)
        }
        "copy" => {
            let from = path_of(op, "from")?;
            let value = resolve(target, &from)?.clone();
            add(target, &path, value)
        }
        "test" => {
            let expected = field(op, "value")?;
            match resolve(target, &path) {
                Ok(actual) if actual == expected => Ok(()),
                // A missing member tests equal to null on a real API server.
                Err(_) if expected.is_null() => Ok(()),
                Ok(actual) => Err(PatchError::OperationFailed(format!(
                    "testing value /{} failed: expected {expected}, found {actual}",
                    path.join("/")
                ))),
                Err(e) => Err(e),
            }
        }
        other => Err(PatchError::Malformed(format!("unexpected json patch operation {other:?}"))),
    }
}

fn missing(path: &[String]) -> PatchError {
    PatchError::OperationFailed(format!("doc is missing path: \"/{}\"", path.join("/")))
}

fn resolve<'a>(target: &'a Value, path: &[String]) -> Result<&'a Value, PatchError> {
    let mut cur = target;
    for token in path {
        cur = match cur {
            Value::Object(m) => m.get(token),
            Value::Array(a) => token.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(|| missing(path))?;
    }
    Ok(cur)
}

fn resolve_mut<'a>(target: &'a mut Value, path: &[String]) -> Result<&'a mut Value, PatchError> {
    let mut cur = target;
    for token in path {
        cur = match cur {
            Value::Object(m) => m.get_mut(token),
            Value::Array(a) => token.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| missing(path))?;
    }
    Ok(cur)
}

fn add(target: &mut Value, path: &[String], value: Value) -> Result<(), PatchError> {
    let Some((last, parent_path)) = path.split_last() else {
        *target = value;
        return Ok(());
    };
    match resolve_mut(target, parent_path)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let index = if last == "-" { a.len() } else { last.parse().map_err(|_| missing(path))? };
            if index > a.len() {
                return Err(PatchError::OperationFailed(format!("add operation index {index} out of bounds")));
            }
            a.insert(index, value);
            Ok(())
        }
        _ => Err(missing(path)),
    }
}

fn remove(target: &mut Value, path: &[String]) -> Result<Value, PatchError> {
    let (last, parent_path) =
        path.split_last().ok_or_else(|| PatchError::OperationFailed("cannot remove the whole document".into()))?;
    match resolve_mut(target, parent_path)? {
        Value::Object(m) => m.remove(last).ok_or_else(|| missing(path)),
        Value::Array(a) => {
            let index: usize = last.parse().map_err(|_| missing(path))?;
            if index < a.len() { Ok(a.remove(index)) } else { Err(missing(path)) }
        }
        _ => Err(missing(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn test_of_a_missing_member_against_null_passes() {
        let mut doc = json!({"metadata": {}});
        let patch = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["f"]},
        ]);
        apply_json_patch(&mut doc, &patch).unwrap();
        assert_eq!(doc, json!({"metadata": {"finalizers": ["f"]}}));
    }

    #[test]
    fn failed_test_is_an_operation_failure() {
        let mut doc = json!({"a": 1});
        let err = apply_json_patch(&mut doc, &json!([{"op": "test", "path": "/a", "value": 2}])).unwrap_err();
        assert!(matches!(err, PatchError::OperationFailed(_)));
    }

    #[test]
    fn all_operations_follow_rfc_6902() {
        let mut doc = json!({"a": {"b": [1, 2]}, "c": "x", "k~/": 0});
        let patch = json!([
            {"op": "add", "path": "/a/b/1", "value": 9},
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "remove", "path": "/a/b/0"},
            {"op": "replace", "path": "/c", "value": "y"},
            {"op": "copy", "from": "/c", "path": "/d"},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "replace", "path": "/k~0~1", "value": 1},
        ]);
        apply_json_patch(&mut doc, &patch).unwrap();
        assert_eq!(doc, json!({"a": {"b": [9, 2, 3]}, "c": "y", "k~/": 1, "e": "y"}));
    }

    #[test]
    fn operations_on_missing_paths_fail() {
        let mut doc = json!({});
        assert!(apply_json_patch(&mut doc, &json!([{"op": "replace", "path": "/x", "value": 1}])).is_err());
        assert!(apply_json_patch(&mut doc, &json!([{"op": "remove", "path": "/x"}])).is_err());
        assert!(apply_json_patch(&mut doc, &json!({"op": "add"})).is_err());
    }
}
