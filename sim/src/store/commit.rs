//! What every write ends in: [`create_locked`] and [`finish_update`] hold the rules that make
//! controllers behave (generation only moves when the spec does, status is only written through
//! `/status`, a write that changes nothing is not stored, a deleting object whose last finalizer
//! goes away is deleted), with type checks and the composition of an update.

use std::sync::Arc;

use serde_json::Value;

use super::admission::admit;
use super::{State, Target, WriteOptions, WriteOutcome};
use crate::apply::{self, Shape, Writer};
use crate::error::{ApiError, Cause, Result};
use crate::object;
use crate::registry::GroupResource;
use crate::validation;

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

pub(super) fn set_managed(obj: &mut Value, managed: Option<Value>) {
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
/// status come from the existing object; through `/status` only the status changes, through a
/// namespace's `/finalize` only `spec.finalizers` (which an ordinary update keeps).
pub(super) fn compose(target: &Target, existing: &Value, mut incoming: Value, subresource: Option<&str>) -> Value {
    if subresource == Some("finalize") {
        // A namespace's `/finalize` changes only `spec.finalizers`.
        let mut new = existing.clone();
        new["spec"]["finalizers"] =
            incoming.pointer("/spec/finalizers").cloned().unwrap_or_else(|| Value::Array(Vec::new()));
        return new;
    }
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
    if target.gr() == &GroupResource::new("", "namespaces") {
        // Only `/finalize` changes a namespace's finalizers.
        match existing.pointer("/spec/finalizers") {
            Some(f) => incoming["spec"]["finalizers"] = f.clone(),
            None => {
                incoming.get_mut("spec").and_then(Value::as_object_mut).map(|s| s.remove("finalizers"));
            }
        }
    }
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
