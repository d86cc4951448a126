//! The controllers that run inside a real API server process (or next to it in
//! kube-controller-manager) and that clients can observe: CRD establishment and cleanup,
//! namespace termination, ownerReference garbage collection, and ClusterRole aggregation
//! ([`crate::auth::aggregation`]).
//!
//! They run asynchronously, like the real ones: a write wakes them, and each wake-up repeats
//! passes until nothing changes.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::crd;
use crate::object;
use crate::registry::{GroupResource, Origin, ResourceDef};
use crate::store::{
    FOREGROUND_FINALIZER, ORPHAN_FINALIZER, ObjectKey, State, Store, Target, Tracking, WriteOptions, delete_locked,
    finish_update,
};

/// Safety bound on passes per wake-up; real convergence takes a handful.
const MAX_PASSES: usize = 64;

/// Runs the controllers until `shutdown` is cancelled.
pub async fn run(store: Arc<Store>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = store.controllers.notified() => {}
        }
        store.reconcile_once();
    }
}

impl Store {
    /// Runs controller passes until the state is stable.
    pub fn reconcile_once(&self) {
        let mut state = self.lock();
        for _ in 0..MAX_PASSES {
            let changed = crds(&mut state)
                | namespaces(&mut state)
                | garbage_collect(&mut state)
                | crate::auth::aggregation::aggregate(&mut state);
            if !changed {
                return;
            }
        }
        tracing::warn!("controllers did not converge within {MAX_PASSES} passes");
    }
}

fn gr_crd() -> GroupResource {
    GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions")
}

fn target_of(def: &Arc<ResourceDef>, namespace: &str) -> Target {
    Target::new(def.clone(), def.preferred_version(), Some(namespace).filter(|ns| !ns.is_empty()))
}

fn server_opts(manager: &str) -> WriteOptions {
    WriteOptions { default_manager: manager.to_owned(), ..WriteOptions::default() }
}

/// Stores `new` as an update of `existing` by a server controller. Returns whether it changed.
pub(crate) fn server_update(
    state: &mut State,
    gr: &GroupResource,
    key: &ObjectKey,
    new: Value,
    subresource: Option<&str>,
    manager: &str,
) -> bool {
    let Some(def) = state.registry.get(gr).cloned() else { return false };
    let Some(existing) = state.get(gr, key).cloned() else { return false };
    let target = target_of(&def, &key.namespace);
    match finish_update(state, &target, &existing, new, subresource, &server_opts(manager), Tracking::Server) {
        Ok(outcome) => !Arc::ptr_eq(&outcome.object, &existing),
        Err(e) => {
            tracing::warn!(%gr, name = %key.name, error = %e, "{manager} could not update object");
            false
        }
    }
}

fn server_delete(state: &mut State, gr: &GroupResource, key: &ObjectKey, propagation: Option<&str>) -> bool {
    let Some(def) = state.registry.get(gr).cloned() else { return false };
    match state.get(gr, key) {
        Some(obj) if object::is_deleting(obj) => false,
        Some(_) => delete_locked(state, &def, key, propagation, false).is_ok(),
        None => false,
    }
}

fn remove_finalizer(state: &mut State, gr: &GroupResource, key: &ObjectKey, finalizer: &str, manager: &str) -> bool {
    let Some(existing) = state.get(gr, key) else { return false };
    let mut new = (**existing).clone();
    let remaining: Vec<String> = object::finalizers(&new).into_iter().filter(|f| f != finalizer).collect();
    object::set_finalizers(&mut new, &remaining);
    server_update(state, gr, key, new, None, manager)
}

/// Establishes new CRDs, updates served definitions, and cascades CRD deletion.
fn crds(state: &mut State) -> bool {
    let mut changed = false;
    let crd_objects: Vec<(ObjectKey, Arc<Value>)> =
        state.objects_of(&gr_crd()).map(|(k, v)| (k.clone(), v.clone())).collect();
    let live_names: HashSet<String> = crd_objects.iter().map(|(k, _)| k.name.clone()).collect();

    // Resources whose CRD vanished entirely stop being served.
    let orphaned: Vec<GroupResource> = state
        .registry
        .iter()
        .filter(|d| matches!(&d.origin, Origin::Crd { name } if !live_names.contains(name)))
        .map(|d| d.gr.clone())
        .collect();
    for gr in orphaned {
        unserve(state, &gr);
        changed = true;
    }

    for (key, crd_obj) in crd_objects {
        let cleaned_up =
            object::is_deleting(&crd_obj) && !object::finalizers(&crd_obj).iter().any(|f| f == crd::CLEANUP_FINALIZER);
        if cleaned_up || !crd::validate(&crd_obj).is_empty() {
            continue; // Its objects are gone and it waits only for other finalizers.
        }
        let def = crd::to_def(&crd_obj);
        let gr = def.gr.clone();
        if state.registry.get(&gr).is_some_and(|d| !matches!(&d.origin, Origin::Crd { name } if *name == key.name)) {
            continue; // A built-in or another CRD already serves this resource.
        }
        if state.registry.get(&gr).map(|d| d.as_ref()) != Some(&def) {
            state.registry.insert(def);
            changed = true;
        }
        let now = object::now();
        let mut status = crd::established_status(&crd_obj, &now);
        keep_transition_times(&mut status, crd_obj.get("status"));
        if crd_obj.get("status") != Some(&status) {
            let mut new = (*crd_obj).clone();
            new["status"] = status;
            changed |= server_update(state, &gr_crd(), &key, new, Some("status"), "apiextensions-apiserver");
        }
        if object::is_deleting(&crd_obj) {
            changed |= cleanup_custom_resources(state, &gr, &key);
        }
    }
    changed
}

/// Deletes every object of a terminating CRD; once none is left, stops serving it and lets the
/// CRD go.
fn cleanup_custom_resources(state: &mut State, gr: &GroupResource, crd_key: &ObjectKey) -> bool {
    let keys: Vec<ObjectKey> = state.objects_of(gr).map(|(k, _)| k.clone()).collect();
    if keys.is_empty() {
        unserve(state, gr);
        remove_finalizer(state, &gr_crd(), crd_key, crd::CLEANUP_FINALIZER, "apiextensions-apiserver");
        return true;
    }
    let mut changed = false;
    for key in keys {
        changed |= server_delete(state, gr, &key, None);
    }
    changed
}

fn unserve(state: &mut State, gr: &GroupResource) {
    state.close_resource_watches(gr);
    state.drop_resource(gr);
    state.registry.remove(gr);
}

/// Condition times only move when a condition's status changes.
fn keep_transition_times(status: &mut Value, old: Option<&Value>) {
    let old_conditions = old.and_then(|o| o.get("conditions")).and_then(Value::as_array).cloned().unwrap_or_default();
    if let Some(conditions) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conditions {
            if let Some(prev) =
                old_conditions.iter().find(|p| p.get("type") == c.get("type") && p.get("status") == c.get("status"))
            {
                c["lastTransitionTime"] = prev.get("lastTransitionTime").cloned().unwrap_or(Value::Null);
            }
        }
    }
}

/// Empties terminating namespaces, then removes them.
fn namespaces(state: &mut State) -> bool {
    let ns_gr = GroupResource::new("", "namespaces");
    let terminating: Vec<ObjectKey> =
        state.objects_of(&ns_gr).filter(|(_, v)| object::is_deleting(v)).map(|(k, _)| k.clone()).collect();
    let mut changed = false;
    for ns_key in terminating {
        let contents: Vec<(GroupResource, ObjectKey)> = state
            .all_objects()
            .filter(|(_, k, _)| k.namespace == ns_key.name)
            .map(|(gr, k, _)| (gr.clone(), k.clone()))
            .collect();
        if contents.is_empty() {
            // The `kubernetes` finalizer is done; metadata finalizers may still hold the namespace.
            if let Some(ns) = state.get(&ns_gr, &ns_key).cloned()
                && ns.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty())
            {
                let mut new = (*ns).clone();
                new["spec"]["finalizers"] = Value::Array(Vec::new());
                changed |= server_update(state, &ns_gr, &ns_key, new, None, "namespace-controller");
            }
            continue;
        }
        for (gr, key) in contents {
            changed |= server_delete(state, &gr, &key, None);
        }
    }
    changed
}

/// Collects dependents whose owners are gone, and runs the orphan and foreground finalizers.
fn garbage_collect(state: &mut State) -> bool {
    let mut changed = false;
    let owners_deleting: Vec<(GroupResource, ObjectKey, String, Vec<String>)> = state
        .all_objects()
        .filter(|(_, _, v)| object::is_deleting(v))
        .map(|(gr, k, v)| (gr.clone(), k.clone(), object::uid(v).to_owned(), object::finalizers(v)))
        .filter(|(_, _, _, f)| f.iter().any(|f| f == ORPHAN_FINALIZER || f == FOREGROUND_FINALIZER))
        .collect();
    for (gr, key, uid, finalizers) in owners_deleting {
        let dependents: Vec<(GroupResource, ObjectKey, Arc<Value>)> = state
            .all_objects()
            .filter(|(_, _, v)| object::owner_uids(v).contains(&uid))
            .map(|(g, k, v)| (g.clone(), k.clone(), v.clone()))
            .collect();
        if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
            for (dgr, dkey, dep) in &dependents {
                let mut new = (**dep).clone();
                if let Some(refs) = object::meta_mut(&mut new).get_mut("ownerReferences").and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid.as_str()));
                    if refs.is_empty() {
                        object::meta_mut(&mut new).remove("ownerReferences");
                    }
                }
                changed |= server_update(state, dgr, dkey, new, None, "garbage-collector");
            }
            changed |= remove_finalizer(state, &gr, &key, ORPHAN_FINALIZER, "garbage-collector");
        } else {
            let mut blocking = false;
            for (dgr, dkey, dep) in &dependents {
                changed |= server_delete(state, dgr, dkey, Some("Foreground"));
                blocking |= blocks_owner(dep, &uid);
            }
            if !blocking {
                changed |= remove_finalizer(state, &gr, &key, FOREGROUND_FINALIZER, "garbage-collector");
            }
        }
    }
    let orphans: Vec<(GroupResource, ObjectKey)> = state
        .all_objects()
        .filter(|(_, _, v)| !object::is_deleting(v))
        .filter(|(_, _, v)| {
            let owners = object::owner_uids(v);
            !owners.is_empty() && owners.iter().all(|uid| state.by_uid(uid).is_none())
        })
        .map(|(gr, k, _)| (gr.clone(), k.clone()))
        .collect();
    for (gr, key) in orphans {
        changed |= server_delete(state, &gr, &key, None);
    }
    changed
}

fn blocks_owner(dependent: &Value, owner_uid: &str) -> bool {
    object::meta(dependent).and_then(|m| m.get("ownerReferences")).and_then(Value::as_array).into_iter().flatten().any(
        |r| {
            r.get("uid").and_then(Value::as_str) == Some(owner_uid)
                && r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true)
        },
    )
}
