//! The finalizer protocol for plugins that declare one: the host adds it to every primary before
//! the first reconcile, and when a primary is being deleted it calls `cleanup` and then removes it.

use kube::api::{Patch, PatchParams};

use super::cache::CachedObject;
use super::resource::dynamic_api;
use crate::runtime::ApiResource;

/// What a primary needs, given the plugin's finalizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Reconcile it.
    Reconcile,
    /// Write this finalizer list (ours added), then reconcile.
    AddThenReconcile(Vec<String>),
    /// It is being deleted and carries our finalizer: call `cleanup`, then write this list.
    CleanupThenRemove(Vec<String>),
    /// It is being deleted and is not ours to hold up: nothing to do.
    Nothing,
}

pub fn step(object: &CachedObject, finalizer: Option<&str>) -> Step {
    let ours = |f: &String| Some(f.as_str()) == finalizer;
    match (finalizer, object.deleting) {
        (_, true) if object.finalizers.iter().any(ours) => {
            Step::CleanupThenRemove(object.finalizers.iter().filter(|f| !ours(f)).cloned().collect())
        }
        (_, true) => Step::Nothing,
        (Some(finalizer), false) if !object.finalizers.iter().any(ours) => {
            let mut finalizers = object.finalizers.clone();
            finalizers.push(finalizer.to_owned());
            Step::AddThenReconcile(finalizers)
        }
        _ => Step::Reconcile,
    }
}

/// Replaces the finalizer list, guarded by the cached resourceVersion so a list read before
/// someone else's change is never written back over it.
pub async fn set_finalizers(
    client: kube::Client,
    api: &ApiResource,
    object: &CachedObject,
    finalizers: Vec<String>,
) -> Result<(), kube::Error> {
    let objects = dynamic_api(client, api, object.key.namespace.as_deref());
    let patch = serde_json::json!({
        "metadata": { "finalizers": finalizers, "resourceVersion": object.resource_version }
    });
    objects.patch(&object.key.name, &PatchParams::default(), &Patch::Merge(patch)).await.map(drop)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::controller::cache::ObjectKey;

    fn object(finalizers: &[&str], deleting: bool) -> CachedObject {
        CachedObject {
            json: String::new(),
            key: ObjectKey::new(Some("ns"), "a"),
            resource_version: "1".into(),
            generation: Some(1),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            finalizers: finalizers.iter().map(|f| (*f).to_owned()).collect(),
            deleting,
            owners: Vec::new(),
        }
    }

    #[test]
    fn the_finalizer_is_added_before_the_first_reconcile() {
        assert_eq!(
            step(&object(&["other"], false), Some("weft.dev/x")),
            Step::AddThenReconcile(vec!["other".into(), "weft.dev/x".into()])
        );
        assert_eq!(step(&object(&["weft.dev/x"], false), Some("weft.dev/x")), Step::Reconcile);
        assert_eq!(step(&object(&[], false), None), Step::Reconcile);
    }

    #[test]
    fn a_deleting_primary_is_cleaned_up_only_while_it_carries_our_finalizer() {
        assert_eq!(
            step(&object(&["other", "weft.dev/x"], true), Some("weft.dev/x")),
            Step::CleanupThenRemove(vec!["other".into()])
        );
        assert_eq!(step(&object(&["other"], true), Some("weft.dev/x")), Step::Nothing);
        assert_eq!(step(&object(&[], true), None), Step::Nothing);
    }
}
