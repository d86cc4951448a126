//! From a change in a cache to the primaries it concerns: pure functions of the change, in the
//! manner of kube-runtime's `trigger_*`, tested without a server.

use std::sync::Arc;

use weft_labels::Selector;

use super::cache::{CachedObject, Change, ObjectKey};
use crate::runtime::{ApiResource, Trigger};

/// Why a change to a primary should reconcile it, or `None` when it should not: it is not
/// selected, it was deleted (the finalizer protocol handles that), or only its status changed and
/// the plugin did not opt in.
pub fn primary(change: &Change, selector: &Selector, reconcile_on_status_change: bool) -> Option<(ObjectKey, Trigger)> {
    let Change::Applied { old, new } = change else { return None };
    if !selector.matches_labels(&new.labels) {
        return None;
    }
    let trigger = match old {
        None => Trigger::Added,
        Some(old) if !reconcile_on_status_change && status_only(old, new) => return None,
        Some(_) => Trigger::Modified,
    };
    Some((new.key.clone(), trigger))
}

/// Whether only the status (or nothing the plugin looks at) changed: same generation, labels,
/// annotations, finalizers and deletion state. Objects without a generation never qualify.
pub fn status_only(old: &CachedObject, new: &CachedObject) -> bool {
    old.generation.is_some()
        && old.generation == new.generation
        && old.labels == new.labels
        && old.annotations == new.annotations
        && old.finalizers == new.finalizers
        && old.deleting == new.deleting
}

/// The primaries that own the changed objects (through ownerReferences of the primary's kind, in
/// the object's namespace).
pub fn owners(change: &Change, selector: &Selector, primary: &ApiResource) -> Vec<ObjectKey> {
    let api_version = primary.api_version();
    changed_objects(change, selector)
        .iter()
        .flat_map(|object| {
            object
                .owners
                .iter()
                .filter(|owner| owner.kind == primary.kind && owner.api_version == api_version)
                .map(|owner| ObjectKey { namespace: object.key.namespace.clone(), name: owner.name.clone() })
        })
        .collect()
}

/// The primaries the changed objects name in `label` (in the object's namespace).
pub fn labelled(change: &Change, selector: &Selector, label: &str) -> Vec<ObjectKey> {
    changed_objects(change, selector)
        .iter()
        .filter_map(|object| {
            let name = object.labels.get(label)?;
            Some(ObjectKey { namespace: object.key.namespace.clone(), name: name.clone() })
        })
        .collect()
}

/// The states of a change that a secondary watch's selector admits: the new state and, when its
/// labels or owners differ, the old one too (so the primary it no longer relates to hears of
/// it), or the deleted state.
pub fn changed_objects(change: &Change, selector: &Selector) -> Vec<Arc<CachedObject>> {
    let states = match change {
        Change::Applied { old: Some(old), new } if old.labels != new.labels || old.owners != new.owners => {
            vec![Arc::clone(new), Arc::clone(old)]
        }
        Change::Applied { new, .. } => vec![Arc::clone(new)],
        Change::Deleted(gone) => vec![Arc::clone(gone)],
    };
    states.into_iter().filter(|object| selector.matches_labels(&object.labels)).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::controller::cache::Owner;

    fn object(name: &str, labels: &[(&str, &str)]) -> CachedObject {
        CachedObject {
            json: String::new(),
            key: ObjectKey::new(Some("ns"), name),
            resource_version: "1".into(),
            generation: Some(1),
            labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            annotations: BTreeMap::new(),
            finalizers: Vec::new(),
            deleting: false,
            owners: Vec::new(),
        }
    }

    fn applied(old: Option<CachedObject>, new: CachedObject) -> Change {
        Change::Applied { old: old.map(Arc::new), new: Arc::new(new) }
    }

    fn selector(s: &str) -> Selector {
        s.parse().expect("a selector")
    }

    fn api() -> ApiResource {
        ApiResource {
            group: "examples.weft.dev".into(),
            version: "v1".into(),
            kind: "Fleet".into(),
            plural: "fleets".into(),
            namespaced: true,
        }
    }

    #[test]
    fn primaries_are_added_modified_or_left_alone() {
        let all = selector("");
        let added = applied(None, object("a", &[]));
        assert_eq!(primary(&added, &all, false), Some((ObjectKey::new(Some("ns"), "a"), Trigger::Added)));

        let mut relabelled = object("a", &[("x", "y")]);
        relabelled.resource_version = "2".into();
        let modified = applied(Some(object("a", &[])), relabelled);
        assert_eq!(primary(&modified, &all, false).map(|(_, t)| t), Some(Trigger::Modified));

        assert_eq!(primary(&added, &selector("app=web"), false), None, "not selected");
        assert_eq!(primary(&Change::Deleted(Arc::new(object("a", &[]))), &all, false), None, "deleted");
    }

    #[test]
    fn status_only_changes_reconcile_only_when_the_plugin_opts_in() {
        let mut status_write = object("a", &[]);
        status_write.resource_version = "2".into();
        let change = applied(Some(object("a", &[])), status_write);
        assert_eq!(primary(&change, &selector(""), false), None);
        assert_eq!(primary(&change, &selector(""), true).map(|(_, t)| t), Some(Trigger::Modified));

        let mut spec_write = object("a", &[]);
        spec_write.generation = Some(2);
        assert!(!status_only(&object("a", &[]), &spec_write));
        let mut no_generation = object("a", &[]);
        no_generation.generation = None;
        assert!(!status_only(&no_generation, &no_generation), "without a generation every change counts");
    }

    #[test]
    fn owned_objects_map_to_owners_of_the_primary_kind() {
        let mut child = object("child", &[]);
        child.owners = vec![
            Owner { api_version: "examples.weft.dev/v1".into(), kind: "Fleet".into(), name: "edge".into() },
            Owner { api_version: "apps/v1".into(), kind: "Deployment".into(), name: "web".into() },
        ];
        let change = applied(None, child);
        assert_eq!(owners(&change, &selector(""), &api()), [ObjectKey::new(Some("ns"), "edge")]);
    }

    #[test]
    fn relabelled_objects_reach_both_the_old_and_the_new_primary() {
        let change = applied(Some(object("m", &[("fleet", "old")])), object("m", &[("fleet", "new")]));
        assert_eq!(
            labelled(&change, &selector("fleet"), "fleet"),
            [ObjectKey::new(Some("ns"), "new"), ObjectKey::new(Some("ns"), "old")]
        );
    }

    #[test]
    fn a_secondary_watchs_selector_filters_what_it_maps() {
        let change = applied(None, object("m", &[("fleet", "edge")]));
        assert!(labelled(&change, &selector("tier=db"), "fleet").is_empty());
        let left = applied(Some(object("m", &[("fleet", "edge"), ("tier", "db")])), object("m", &[("fleet", "edge")]));
        assert_eq!(
            labelled(&left, &selector("tier=db"), "fleet"),
            [ObjectKey::new(Some("ns"), "edge")],
            "the state that matched still reaches its primary"
        );
    }
}
