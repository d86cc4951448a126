//! The `/scale` subresource: an `autoscaling/v1` Scale view of an object's replica paths. Writes
//! change only the spec replicas path and go through the ordinary update rules.

use serde_json::{Value, json};

use super::commit::{Tracking, finish_update};
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

/// The Scale view of an object. `spec.replicas` and `status.selector` are omitted when empty,
/// `status.replicas` is always there (its Go field has no omitempty).
fn to_scale(paths: &ScalePaths, obj: &Value) -> Value {
    let read = |path: &str| obj.pointer(&pointer(path));
    let replicas = |path: &str| read(path).and_then(Value::as_i64).unwrap_or(0);
    let mut metadata = serde_json::Map::new();
    for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = object::meta_str(obj, field) {
            metadata.insert(field.into(), Value::String(v.to_owned()));
        }
    }
    let mut spec = json!({});
    let spec_replicas = replicas(&paths.spec_replicas);
    if spec_replicas != 0 {
        spec["replicas"] = json!(spec_replicas);
    }
    let mut status = json!({"replicas": replicas(&paths.status_replicas)});
    // A CRD's labelSelectorPath names a string; a Deployment's selector is a LabelSelector.
    let selector = match paths.label_selector.as_deref().and_then(read) {
        Some(Value::String(s)) => s.clone(),
        Some(selector @ Value::Object(_)) => crate::selector::label_selector_string(selector),
        _ => String::new(),
    };
    if !selector.is_empty() {
        status["selector"] = Value::String(selector);
    }
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": metadata, "spec": spec, "status": status})
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
                            format!(
                                "Invalid value: {}: must be greater than or equal to 0",
                                wanted.pointer("/spec/replicas").unwrap_or(&Value::Null)
                            ),
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
    fn a_deployment_scale_reports_its_selector_as_a_string() {
        let paths = ScalePaths {
            spec_replicas: ".spec.replicas".into(),
            status_replicas: ".status.replicas".into(),
            label_selector: Some(".spec.selector".into()),
        };
        let d = json!({"metadata": {"name": "d"}, "spec": {"replicas": 2, "selector": {
            "matchLabels": {"tier": "web", "app": "d"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}, {"key": "x", "operator": "DoesNotExist"}],
        }}});
        let scale = to_scale(&paths, &d);
        assert_eq!(scale["status"], json!({"replicas": 0, "selector": "app=d,env in (dev,prod),tier=web,!x"}));
        assert_eq!(scale["spec"], json!({"replicas": 2}));
        assert_eq!(scale["metadata"], json!({"name": "d"}));
    }

    #[test]
    fn set_path_creates_intermediate_objects() {
        let mut obj = json!({"metadata": {}});
        set_path(&mut obj, ".spec.replicas", json!(3));
        assert_eq!(obj["spec"]["replicas"], 3);
    }
}
