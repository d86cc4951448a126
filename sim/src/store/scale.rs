//! The `/scale` subresource: an `autoscaling/v1` Scale view of an object's replica paths. Writes
//! change only the spec replicas path and go through the ordinary update rules.

use serde_json::{Value, json};

use super::write::{Tracking, finish_update};
use super::{Store, Target, WriteOptions};
use crate::error::{ApiError, Cause, Result};
use crate::object;
use crate::patch::{self, PatchError};
use crate::registry::ScalePaths;

/// How a scale write arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleWrite {
    /// PUT of a whole Scale.
    Replace,
    /// PATCH; apply patches are merged like merge patches (a Scale has no lists).
    Patch(super::PatchKind),
}

fn paths(target: &Target) -> Result<ScalePaths> {
    target.def.version(&target.version).and_then(|v| v.scale.clone()).ok_or_else(|| ApiError::NotFound {
        message: format!("the server could not find the requested resource (scale of {})", target.gr()),
        gr: target.gr().clone(),
        name: String::new(),
    })
}

fn pointer(path: &str) -> String {
    path.replace('.', "/")
}

/// The Scale view of an object.
fn to_scale(paths: &ScalePaths, obj: &Value) -> Value {
    let read = |path: Option<&str>| path.and_then(|p| obj.pointer(&pointer(p))).cloned().unwrap_or(Value::Null);
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": object::name(obj),
            "namespace": object::meta_str(obj, "namespace"),
            "uid": object::uid(obj),
            "resourceVersion": object::meta_str(obj, "resourceVersion"),
            "creationTimestamp": object::meta_str(obj, "creationTimestamp"),
        },
        "spec": {"replicas": read(Some(&paths.spec_replicas))},
        "status": {"replicas": read(Some(&paths.status_replicas)), "selector": read(paths.label_selector.as_deref())},
    })
}

/// Sets a dotted path like `.spec.replicas`, creating intermediate objects.
fn set_path(obj: &mut Value, path: &str, value: Value) {
    let mut cur = obj;
    let segments: Vec<&str> = path.trim_start_matches('.').split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let map = cur.as_object_mut().expect("made an object above");
        if i + 1 == segments.len() {
            map.insert((*segment).to_owned(), value);
            return;
        }
        cur = map.entry(*segment).or_insert_with(|| json!({}));
    }
}

impl Store {
    pub fn get_scale(&self, target: &Target, name: &str) -> Result<Value> {
        let paths = paths(target)?;
        Ok(to_scale(&paths, &*self.get(target, name)?))
    }

    pub fn write_scale(
        &self,
        target: &Target,
        name: &str,
        how: ScaleWrite,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Value> {
        let paths = paths(target)?;
        let mut state = self.lock();
        let existing =
            state.get(target.gr(), &target.key(name)).cloned().ok_or_else(|| ApiError::not_found(target.gr(), name))?;
        let current = to_scale(&paths, &existing);
        let wanted = match how {
            ScaleWrite::Replace => {
                if let Some(rv) = object::meta_str(&body, "resourceVersion").filter(|rv| !rv.is_empty())
                    && Some(rv) != object::meta_str(&existing, "resourceVersion")
                {
                    return Err(ApiError::modified(target.gr(), name));
                }
                body
            }
            ScaleWrite::Patch(kind) => {
                let mut patched = current.clone();
                let applied = match kind {
                    super::PatchKind::Json => patch::apply_json_patch(&mut patched, &body),
                    _ => {
                        patch::apply_merge_patch(&mut patched, &body);
                        Ok(())
                    }
                };
                applied.map_err(|e| match e {
                    PatchError::Malformed(m) => ApiError::BadRequest(m),
                    PatchError::OperationFailed(m) => {
                        ApiError::invalid("Scale", "autoscaling", name, vec![Cause::new("FieldValueInvalid", "", m)])
                    }
                })?;
                patched
            }
        };
        let replicas =
            wanted.pointer("/spec/replicas").filter(|r| r.as_i64().is_some_and(|n| n >= 0)).cloned().ok_or_else(
                || {
                    ApiError::invalid(
                        "Scale",
                        "autoscaling",
                        name,
                        vec![Cause::new(
                            "FieldValueInvalid",
                            "spec.replicas",
                            "Invalid value: must be a non-negative integer",
                        )],
                    )
                },
            )?;
        let mut new = (*existing).clone();
        set_path(&mut new, &paths.spec_replicas, replicas);
        let outcome = finish_update(&mut state, target, &existing, new, None, opts, Tracking::Update)?;
        Ok(to_scale(&paths, &outcome.object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_path_creates_intermediate_objects() {
        let mut obj = json!({"metadata": {}});
        set_path(&mut obj, ".spec.replicas", json!(3));
        assert_eq!(obj["spec"]["replicas"], 3);
    }
}
