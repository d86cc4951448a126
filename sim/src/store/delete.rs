//! DELETE: preconditions, finalizers, propagation policy, and namespace protection.

use std::sync::Arc;

use serde_json::Value;

use super::{ObjectKey, State, Store, Target};
use crate::builtins::UNDELETABLE_NAMESPACES;
use crate::error::{ApiError, Result};
use crate::object;
use crate::registry::ResourceDef;

pub const ORPHAN_FINALIZER: &str = "orphan";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// A repeated DELETE of a namespace still being emptied (two spaces after the first period, as
/// the real message has).
const NAMESPACE_TERMINATING: &str = "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.";

/// Options of a DELETE (query parameters and the DeleteOptions body).
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub dry_run: bool,
    /// `Background` (default), `Foreground` or `Orphan`.
    pub propagation: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

/// What a DELETE did.
#[derive(Clone, Debug)]
pub enum DeleteOutcome {
    /// The object is gone; this is its last state.
    Deleted(Arc<Value>),
    /// The object is marked for deletion and waits for its finalizers.
    Pending(Arc<Value>),
}

impl Store {
    pub fn delete(&self, target: &Target, name: &str, opts: &DeleteOptions) -> Result<DeleteOutcome> {
        let mut state = self.lock();
        let key = target.key(name);
        let existing = state.get(target.gr(), &key).cloned().ok_or_else(|| ApiError::not_found(target.gr(), name))?;
        if let Some(uid) = &opts.precondition_uid
            && uid != object::uid(&existing)
        {
            let why = format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                object::uid(&existing)
            );
            return Err(ApiError::conflict(target.gr(), name, &why, Vec::new()));
        }
        if let Some(rv) = &opts.precondition_rv {
            let actual = object::meta_str(&existing, "resourceVersion").unwrap_or_default();
            if rv != actual {
                let why = format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
                );
                return Err(ApiError::conflict(target.gr(), name, &why, Vec::new()));
            }
        }
        if target.gr().resource == "namespaces"
            && target.gr().group.is_empty()
            && UNDELETABLE_NAMESPACES.contains(&name)
        {
            return Err(ApiError::forbidden(target.gr(), name, "this namespace may not be deleted"));
        }
        let outcome = delete_locked(&mut state, &target.def, &key, opts.propagation.as_deref(), opts.dry_run)?;
        drop(state);
        self.controllers.notify_one();
        Ok(outcome)
    }
}

/// Deletes now, or marks for deletion when finalizers (including the policy's) must run first.
pub(crate) fn delete_locked(
    state: &mut State,
    def: &ResourceDef,
    key: &ObjectKey,
    propagation: Option<&str>,
    dry_run: bool,
) -> Result<DeleteOutcome> {
    let existing = state.get(&def.gr, key).cloned().ok_or_else(|| ApiError::not_found(&def.gr, &key.name))?;
    let namespace_pending = def.gr.resource == "namespaces" && def.gr.group.is_empty();
    if object::is_deleting(&existing) {
        if namespace_pending
            && existing.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty())
        {
            return Err(ApiError::conflict(&def.gr, &key.name, NAMESPACE_TERMINATING, Vec::new()));
        }
        return Ok(DeleteOutcome::Pending(existing));
    }
    let mut finalizers = object::finalizers(&existing);
    let policy_finalizer = match propagation {
        Some("Orphan") => Some(ORPHAN_FINALIZER),
        Some("Foreground") => Some(FOREGROUND_FINALIZER),
        Some("Background") | None => None,
        Some(other) => {
            return Err(ApiError::invalid(
                "DeleteOptions",
                "meta.k8s.io",
                "",
                vec![crate::error::Cause::new(
                    "FieldValueNotSupported",
                    "propagationPolicy",
                    format!(
                        "Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
                    ),
                )],
            ));
        }
    };
    if let Some(f) = policy_finalizer
        && !finalizers.iter().any(|x| x == f)
    {
        finalizers.push(f.to_owned());
    }
    if finalizers.is_empty() && !namespace_pending {
        if dry_run {
            return Ok(DeleteOutcome::Deleted(existing));
        }
        if def.gr.group.is_empty() && def.gr.resource == "pods" {
            // An unscheduled pod has grace period 0: the store persists the deletionTimestamp
            // (MODIFIED), then deletes (DELETED), and answers the last state.
            let marked = mark_deleting(def, &existing, &finalizers);
            state.put(&def.gr, key.clone(), marked);
        }
        let last = state.remove(&def.gr, key, None).unwrap_or(existing);
        return Ok(DeleteOutcome::Deleted(last));
    }
    let mut marked = mark_deleting(def, &existing, &finalizers);
    if namespace_pending {
        marked["status"] = serde_json::json!({"phase": "Terminating"});
    }
    if dry_run {
        return Ok(DeleteOutcome::Pending(Arc::new(marked)));
    }
    Ok(DeleteOutcome::Pending(state.put(&def.gr, key.clone(), marked)))
}

/// The object with deletionTimestamp, a zero grace period, the finalizers and (where tracked) the
/// next generation.
fn mark_deleting(def: &ResourceDef, existing: &Value, finalizers: &[String]) -> Value {
    let mut marked = existing.clone();
    object::set_finalizers(&mut marked, finalizers);
    let meta = object::meta_mut(&mut marked);
    meta.insert("deletionTimestamp".into(), Value::String(object::now()));
    meta.insert("deletionGracePeriodSeconds".into(), Value::from(0));
    if def.tracks_generation {
        let generation = object::generation(existing) + 1;
        object::meta_mut(&mut marked).insert("generation".into(), Value::from(generation));
    }
    marked
}
