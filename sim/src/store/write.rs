//! Create, update, patch and server-side apply; each ends in `commit.rs`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::admission::FieldValidation;
use super::commit::{Tracking, check_type, compose, create_locked, finish_update, set_managed};
use super::{Store, Target};
use crate::apply::{self, Shape, Writer};
use crate::error::{ApiError, Cause, Result};
use crate::object;
use crate::patch::{self, PatchError};
use crate::strategy;

/// The patch formats, chosen by Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Strategic,
    Apply,
}

/// Query options shared by every write.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    /// `fieldManager`; required for apply.
    pub field_manager: Option<String>,
    /// Manager recorded when the client names none (derived from its User-Agent).
    pub default_manager: String,
    pub force: bool,
    pub field_validation: FieldValidation,
}

impl WriteOptions {
    pub(super) fn manager(&self) -> &str {
        self.field_manager.as_deref().unwrap_or(&self.default_manager)
    }
}

/// The result of a write.
#[derive(Clone, Debug)]
pub struct WriteOutcome {
    pub object: Arc<Value>,
    /// True when the write created the object (HTTP 201).
    pub created: bool,
    /// `Warning` headers for the client.
    pub warnings: Vec<String>,
}

impl Store {
    /// POST: create an object.
    pub fn create(&self, target: &Target, body: Value, opts: &WriteOptions) -> Result<WriteOutcome> {
        check_type(target, &body)?;
        if target.view.is_some() {
            crate::events::validate_events_v1_create(&body, object::name(&body))?;
        }
        let body = target.to_stored(body);
        let mut state = self.lock();
        let outcome = create_locked(&mut state, target, body, opts, None)?;
        drop(state);
        self.after_write(target, &outcome.object);
        Ok(outcome)
    }

    /// PUT on the object or its `/status`.
    pub fn update(
        &self,
        target: &Target,
        name: &str,
        body: Value,
        subresource: Option<&str>,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome> {
        check_type(target, &body)?;
        if !object::name(&body).is_empty() && object::name(&body) != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                object::name(&body)
            )));
        }
        let body = target.to_stored(body);
        let mut state = self.lock();
        let Some(existing) = state.get(target.gr(), &target.key(name)).cloned() else {
            if subresource.is_none() && strategy::allows_create_on_update(target.gr()) {
                let mut body = body;
                object::meta_mut(&mut body).insert("name".into(), Value::String(name.to_owned()));
                let outcome = create_locked(&mut state, target, body, opts, None)?;
                drop(state);
                self.after_write(target, &outcome.object);
                return Ok(outcome);
            }
            return Err(ApiError::not_found(target.gr(), name));
        };
        if target.view.is_some() {
            crate::events::validate_events_v1_update(&existing, &body, name)?;
        }
        match object::meta_str(&body, "resourceVersion").filter(|rv| !rv.is_empty()) {
            Some(rv) if Some(rv) != object::meta_str(&existing, "resourceVersion") => {
                return Err(ApiError::modified(target.gr(), name));
            }
            Some(_) => {}
            // The generic store names the plural resource here, not the kind.
            None if !strategy::allows_unconditional_update(&target.def) => {
                return Err(ApiError::invalid(
                    &target.gr().resource,
                    &target.gr().group,
                    name,
                    vec![Cause::new(
                        "FieldValueInvalid",
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                    )],
                ));
            }
            None => {}
        }
        let new = compose(target, &existing, body, subresource);
        let outcome = finish_update(&mut state, target, &existing, new, subresource, opts, Tracking::Update)?;
        drop(state);
        self.after_write(target, &outcome.object);
        Ok(outcome)
    }

    /// PATCH on the object or its `/status`, in any of the four formats.
    pub fn patch(
        &self,
        target: &Target,
        name: &str,
        kind: PatchKind,
        body: Value,
        subresource: Option<&str>,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome> {
        if kind == PatchKind::Apply {
            return self.apply(target, name, body, subresource, opts);
        }
        if opts.force {
            return Err(ApiError::BadRequest("force is not allowed for non-apply patches".into()));
        }
        if kind == PatchKind::Strategic && target.def.is_crd() {
            return Err(ApiError::UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into(),
            ));
        }
        let mut state = self.lock();
        let existing =
            state.get(target.gr(), &target.key(name)).cloned().ok_or_else(|| ApiError::not_found(target.gr(), name))?;
        // Patches apply to the object as served at the requested version.
        let mut patched = target.to_served(&existing);
        patched["apiVersion"] = Value::String(target.served_api_version());
        let applied = match kind {
            PatchKind::Merge => {
                if !body.is_object() {
                    return Err(ApiError::BadRequest("merge patch must be a JSON object".into()));
                }
                patch::apply_merge_patch(&mut patched, &body);
                Ok(())
            }
            PatchKind::Json => patch::apply_json_patch(&mut patched, &body),
            PatchKind::Strategic => patch::apply_strategic_merge_patch(&mut patched, &body),
            PatchKind::Apply => unreachable!("apply returned above"),
        };
        applied.map_err(|e| match e {
            PatchError::Malformed(m) => ApiError::BadRequest(m),
            PatchError::OperationFailed(m) => ApiError::invalid(
                &target.def.kind,
                &target.def.gr.group,
                name,
                vec![Cause::new("FieldValueInvalid", "", m)],
            ),
        })?;
        check_type(target, &patched)?;
        let patched = target.to_stored(patched);
        if target.view.is_some() {
            crate::events::validate_events_v1_update(&existing, &patched, name)?;
        }
        if object::name(&patched) != name {
            return Err(ApiError::invalid(
                &target.def.kind,
                &target.def.gr.group,
                name,
                vec![Cause::new(
                    "FieldValueInvalid",
                    "metadata.name",
                    format!("Invalid value: {:?}: field is immutable", object::name(&patched)),
                )],
            ));
        }
        // A resourceVersion the patch sets is a precondition; one it removes makes it unconditional.
        if let Some(rv) = object::meta_str(&patched, "resourceVersion")
            && Some(rv) != object::meta_str(&existing, "resourceVersion")
        {
            return Err(ApiError::modified(target.gr(), name));
        }
        let new = compose(target, &existing, patched, subresource);
        let outcome = finish_update(&mut state, target, &existing, new, subresource, opts, Tracking::Update)?;
        drop(state);
        self.after_write(target, &outcome.object);
        Ok(outcome)
    }

    /// Server-side apply (`application/apply-patch+yaml`); creates the object if missing.
    fn apply(
        &self,
        target: &Target,
        name: &str,
        applied: Value,
        subresource: Option<&str>,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome> {
        let manager = opts.field_manager.as_deref().filter(|m| !m.is_empty()).ok_or_else(|| {
            ApiError::BadRequest("PATCH, application/apply-patch+yaml requires fieldManager to be set".into())
        })?;
        if !applied.is_object() {
            return Err(ApiError::BadRequest("apply patch must be an object".into()));
        }
        for field in ["apiVersion", "kind"] {
            if applied.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(ApiError::BadRequest(format!("{field} must be set for apply requests")));
            }
        }
        check_type(target, &applied)?;
        let mut applied = target.to_stored(applied);
        if object::meta(&applied).is_some_and(|m| m.get("managedFields").is_some_and(|f| !f.is_null())) {
            return Err(ApiError::BadRequest("metadata.managedFields must be nil".into()));
        }
        match object::meta_str(&applied, "name") {
            Some(n) if n != name => {
                return Err(ApiError::BadRequest(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            _ => {
                object::meta_mut(&mut applied).insert("name".into(), Value::String(name.to_owned()));
            }
        }
        let has_status = target.def.has_status(&target.version);
        if subresource == Some("status") {
            if let Some(m) = applied.as_object_mut() {
                m.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
            }
        } else if has_status {
            applied.as_object_mut().map(|m| m.remove("status"));
        }
        let now = object::now();
        let api_version = target.api_version();
        let writer = Writer { manager, api_version: &api_version, subresource, now: &now };
        let shape = Shape::for_schema(target.schema());
        let mut state = self.lock();
        let existing = state.get(target.gr(), &target.key(name)).cloned();
        let conflict = |causes: Vec<Cause>| ApiError::Conflict {
            message: apply::conflict_message(&causes),
            gr: target.gr().clone(),
            name: name.to_owned(),
            causes,
        };
        let outcome = match existing {
            None if subresource.is_some() => return Err(ApiError::not_found(target.gr(), name)),
            None => {
                let merged =
                    apply::apply(&Value::Object(Map::new()), &applied, shape, &writer, opts.force).map_err(conflict)?;
                let managed = object::meta(&merged).and_then(|m| m.get("managedFields")).cloned();
                create_locked(&mut state, target, merged, opts, managed)?
            }
            Some(existing) => {
                let merged = apply::apply(&existing, &applied, shape, &writer, opts.force).map_err(conflict)?;
                let managed = object::meta(&merged).and_then(|m| m.get("managedFields")).cloned();
                let mut new = compose(target, &existing, merged, subresource);
                set_managed(&mut new, managed);
                finish_update(&mut state, target, &existing, new, subresource, opts, Tracking::AlreadyTracked)?
            }
        };
        drop(state);
        self.after_write(target, &outcome.object);
        Ok(outcome)
    }

    /// Wakes the in-process controllers when a write may concern them.
    pub(crate) fn after_write(&self, target: &Target, obj: &Value) {
        let res = target.gr().resource.as_str();
        if res == "customresourcedefinitions"
            || res == "namespaces"
            || res == "clusterroles"
            || object::is_deleting(obj)
            || !object::owner_uids(obj).is_empty()
        {
            self.controllers.notify_one();
        }
    }
}
