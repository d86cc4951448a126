//! What happens to an object between the request and storage: kind-specific defaulting, CRD
//! schema pruning, defaulting and validation, and name and metadata validation.

use serde_json::Value;

use super::{State, Target};
use crate::error::{ApiError, Cause, Result};
use crate::object;
use crate::schema;
use crate::validation::{self, NameRule};
use crate::{crd, defaults};

/// `fieldValidation`: what to do with fields a CRD schema does not declare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

/// Runs every admission step on an object about to be stored; returns warnings for the client.
pub fn admit(
    state: &State,
    target: &Target,
    obj: &mut Value,
    old: Option<&Value>,
    validation: FieldValidation,
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    defaults::normalize_metadata(obj);
    if !target.def.is_crd() {
        defaults::apply(state, &target.def.kind, obj, old)?;
    }
    if let Some(schema) = target.schema() {
        let pruned = schema::prune(obj, schema);
        if !pruned.is_empty() {
            let fields =
                pruned.iter().map(|p| format!("unknown field \"{}\"", p.trim_start_matches('.'))).collect::<Vec<_>>();
            match validation {
                FieldValidation::Strict => {
                    return Err(ApiError::BadRequest(format!("strict decoding error: {}", fields.join(", "))));
                }
                FieldValidation::Warn => warnings.extend(fields),
                FieldValidation::Ignore => {}
            }
        }
        schema::apply_defaults(obj, schema);
    }
    let mut causes = Vec::new();
    let name = object::name(obj).to_owned();
    if let Err(msg) = NameRule::for_kind(&target.def.kind).check(&name) {
        causes.push(Cause::new("FieldValueInvalid", "metadata.name", format!("Invalid value: \"{name}\": {msg}")));
    }
    causes.extend(validation::metadata_causes(obj));
    if matches!(target.def.kind.as_str(), "ConfigMap" | "Secret") {
        causes.extend(data_size_cause(obj));
    }
    if let Some(schema) = target.schema() {
        causes.extend(schema::validate(obj, schema));
    }
    if target.def.gr.resource == "customresourcedefinitions" {
        causes.extend(crd::validate(obj));
        if let Some(old) = old {
            for field in ["/spec/group", "/spec/names/plural"] {
                if old.pointer(field) != obj.pointer(field) {
                    causes.push(Cause::new(
                        "FieldValueInvalid",
                        field.trim_start_matches('/').replace('/', "."),
                        "Invalid value: field is immutable",
                    ));
                }
            }
        }
    }
    if let Some(old) = old
        && matches!(target.def.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
        && old.get("roleRef") != obj.get("roleRef")
    {
        let text =
            |f: &str| obj.pointer(&format!("/roleRef/{f}")).and_then(Value::as_str).unwrap_or_default().to_owned();
        causes.push(Cause::new(
            "FieldValueInvalid",
            "roleRef",
            format!(
                "Invalid value: rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}: cannot change roleRef",
                text("apiGroup"),
                text("kind"),
                text("name")
            ),
        ));
    }
    if let Some(old) = old
        && object::is_deleting(old)
    {
        let before = object::finalizers(old);
        let added: Vec<String> = object::finalizers(obj).into_iter().filter(|f| !before.contains(f)).collect();
        if !added.is_empty() {
            causes.push(Cause::new(
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    format!("Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"),
                ));
        }
    }
    if causes.is_empty() {
        Ok(warnings)
    } else {
        Err(ApiError::invalid(&target.def.kind, &target.def.gr.group, &name, causes))
    }
}

/// ConfigMaps and Secrets hold at most 1 MiB of data (binary values counted decoded).
const MAX_DATA_BYTES: usize = 1024 * 1024;

fn data_size_cause(obj: &Value) -> Option<Cause> {
    let size = |field: &str, base64: bool| -> usize {
        obj.get(field).and_then(Value::as_object).map_or(0, |m| {
            m.iter()
                .map(|(k, v)| {
                    let len = v.as_str().map_or(0, str::len);
                    k.len() + if base64 { len / 4 * 3 } else { len }
                })
                .sum()
        })
    };
    let secret = obj.get("kind").and_then(Value::as_str) == Some("Secret");
    let total = size("data", secret) + size("binaryData", true);
    (total > MAX_DATA_BYTES)
        .then(|| Cause::new("FieldValueTooLong", "", format!("Too long: must have at most {MAX_DATA_BYTES} bytes")))
}
