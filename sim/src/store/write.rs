//! Create, update, patch and server-side apply.
//!
//! Every write ends in [`finish_update`] or [`create_locked`], which hold the rules that make
//! controllers behave: generation only moves when the spec does, status is only written through
//! `/status`, a write that changes nothing is not stored, and a deleting object whose last
//! finalizer goes away is deleted.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::admission::{FieldValidation, admit};
use super::{State, Store, Target};
use crate::apply::{self, Shape, Writer};
use crate::error::{ApiError, Cause, Result};
use crate::object;
use crate::patch::{self, PatchError};
use crate::registry::GroupResource;
use crate::{strategy, validation};

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
    fn manager(&self) -> &str {
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

/// Members of `metadata` that only the server sets.
const SERVER_METADATA: [&str; 7] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

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

/// How `managedFields` is maintained by [`finish_update`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tracking {
    /// Record the changed fields under the request's manager (operation Update).
    Update,
    /// Apply already computed ownership.
    AlreadyTracked,
    /// An internal write by the server's own controllers.
    Server,
}

fn set_managed(obj: &mut Value, managed: Option<Value>) {
    let meta = object::meta_mut(obj);
    match managed {
        Some(m) => meta.insert("managedFields".into(), m),
        None => meta.remove("managedFields"),
    };
}

/// Records an ordinary write's changed fields under `manager` (operation Update).
fn track_update(target: &Target, old: Option<&Value>, new: &mut Value, manager: &str, subresource: Option<&str>) {
    let now = object::now();
    let api_version = target.api_version();
    let writer = Writer { manager, api_version: &api_version, subresource, now: &now };
    apply::track_update(old, new, Shape::for_schema(target.schema()), &writer);
}

/// 400 when the body names another apiVersion or kind than the URL.
pub(crate) fn check_type(target: &Target, body: &Value) -> Result<()> {
    if !body.is_object() {
        return Err(ApiError::BadRequest("the body of the request must be a JSON object".into()));
    }
    let expected = target.served_api_version();
    if let Some(v) = body.get("apiVersion").and_then(Value::as_str).filter(|v| !v.is_empty())
        && v != expected
    {
        return Err(ApiError::BadRequest(format!(
            "the API version in the data ({v}) does not match the expected API version ({expected})"
        )));
    }
    if let Some(k) = body.get("kind").and_then(Value::as_str).filter(|k| !k.is_empty())
        && k != target.served_def().kind
    {
        return Err(ApiError::BadRequest(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            target.served_def().kind
        )));
    }
    Ok(())
}

/// The object an update would store: server-owned metadata and (unless writing `/status`) the
/// status come from the existing object; through `/status` only the status changes.
fn compose(target: &Target, existing: &Value, mut incoming: Value, subresource: Option<&str>) -> Value {
    if subresource == Some("status") {
        let mut new = existing.clone();
        match incoming.get_mut("status").map(Value::take) {
            Some(status) if !status.is_null() => new["status"] = status,
            _ => {
                new.as_object_mut().map(|m| m.remove("status"));
            }
        }
        return new;
    }
    let old_meta = object::meta(existing).cloned().unwrap_or_default();
    let meta = object::meta_mut(&mut incoming);
    for field in SERVER_METADATA.iter().chain(&["name", "namespace"]) {
        match old_meta.get(*field) {
            Some(v) => meta.insert((*field).to_owned(), v.clone()),
            None => meta.remove(*field),
        };
    }
    incoming["apiVersion"] = Value::String(target.api_version());
    incoming["kind"] = Value::String(target.def.kind.clone());
    if target.def.has_status(&target.version) {
        match existing.get("status") {
            Some(status) => incoming["status"] = status.clone(),
            None => {
                incoming.as_object_mut().map(|m| m.remove("status"));
            }
        }
    }
    incoming
}

/// Admits, versions and stores a create. `managed` carries the field ownership an apply computed.
pub(crate) fn create_locked(
    state: &mut State,
    target: &Target,
    mut obj: Value,
    opts: &WriteOptions,
    managed: Option<Value>,
) -> Result<WriteOutcome> {
    if target.def.terminating {
        return Err(ApiError::MethodNotAllowed(format!(
            "create not allowed while custom resource definition is terminating: {}",
            target.gr()
        )));
    }
    let meta = object::meta_mut(&mut obj);
    for field in SERVER_METADATA.iter().chain(&["managedFields"]) {
        meta.remove(*field);
    }
    if target.def.namespaced {
        let namespace = target
            .namespace
            .clone()
            .ok_or_else(|| ApiError::BadRequest("the namespace of the object must be set".into()))?;
        match meta.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() && ns != namespace => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
            _ => {
                meta.insert("namespace".into(), Value::String(namespace.clone()));
            }
        }
        state.check_namespace(&namespace, true)?;
    } else {
        meta.remove("namespace");
    }
    let name = match (meta.get("name").and_then(Value::as_str), meta.get("generateName").and_then(Value::as_str)) {
        (Some(n), _) if !n.is_empty() => n.to_owned(),
        (_, Some(prefix)) if !prefix.is_empty() => validation::generate_name(prefix),
        _ => {
            return Err(ApiError::invalid(
                &target.def.kind,
                &target.def.gr.group,
                "",
                vec![Cause::new(
                    "FieldValueRequired",
                    "metadata.name",
                    "Required value: name or generateName is required",
                )],
            ));
        }
    };
    meta.insert("name".into(), Value::String(name.clone()));
    meta.insert("uid".into(), Value::String(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), Value::String(object::now()));
    if target.def.tracks_generation {
        meta.insert("generation".into(), Value::from(1));
    }
    obj["apiVersion"] = Value::String(target.api_version());
    obj["kind"] = Value::String(target.def.kind.clone());
    if target.def.has_status(&target.version) {
        obj.as_object_mut().map(|m| m.remove("status"));
    }
    let warnings = admit(state, target, &mut obj, None, opts.field_validation)?;
    let key = target.key(&name);
    if state.get(target.gr(), &key).is_some() {
        return Err(ApiError::already_exists(target.gr(), &name));
    }
    match managed {
        Some(m) => set_managed(&mut obj, Some(m)),
        None => track_update(target, None, &mut obj, opts.manager(), None),
    }
    let object = if opts.dry_run { Arc::new(obj) } else { state.put(target.gr(), key, obj) };
    if !opts.dry_run && target.gr() == &GroupResource::new("", "namespaces") {
        state.add_default_service_account(&name);
    }
    Ok(WriteOutcome { object, created: true, warnings })
}

/// Admits and stores an update of `existing` to `new`, applying the generation, no-op and
/// finalizer rules.
pub(crate) fn finish_update(
    state: &mut State,
    target: &Target,
    existing: &Arc<Value>,
    mut new: Value,
    subresource: Option<&str>,
    opts: &WriteOptions,
    tracking: Tracking,
) -> Result<WriteOutcome> {
    let warnings = admit(state, target, &mut new, Some(existing), opts.field_validation)?;
    if target.def.tracks_generation {
        let status_sub = target.def.has_status(&target.version);
        let spec_changed =
            object::generation_relevant(&new, status_sub) != object::generation_relevant(existing, status_sub);
        let generation = object::generation(existing) + i64::from(spec_changed);
        object::meta_mut(&mut new).insert("generation".into(), Value::from(generation));
    }
    match tracking {
        Tracking::Update => track_update(target, Some(existing), &mut new, opts.manager(), subresource),
        Tracking::Server => {
            let managed = object::meta(existing).and_then(|m| m.get("managedFields")).cloned();
            set_managed(&mut new, managed);
        }
        Tracking::AlreadyTracked => {}
    }
    if object::comparable(&new) == object::comparable(existing) {
        return Ok(WriteOutcome { object: existing.clone(), created: false, warnings });
    }
    if opts.dry_run {
        return Ok(WriteOutcome { object: Arc::new(new), created: false, warnings });
    }
    let key = target.key(object::name(existing));
    let object = if object::is_deleting(&new) && object::finalized(&new) {
        state.remove(target.gr(), &key, Some(new)).unwrap_or_else(|| existing.clone())
    } else {
        state.put(target.gr(), key, new)
    };
    Ok(WriteOutcome { object, created: false, warnings })
}
