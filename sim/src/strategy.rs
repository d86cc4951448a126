//! Per-resource decisions that kube-apiserver leaves to each registry strategy, and that clients
//! can observe: whether a PUT needs a resourceVersion, whether a PUT may create, and whether a
//! DELETE answers with the deleted object or with a `Status`.

use crate::registry::{GroupResource, ResourceDef};

/// False for custom resources and CRDs: a PUT without `metadata.resourceVersion` is a 422 there
/// (apiextensions' `AllowUnconditionalUpdate`); every built-in strategy served here allows it.
pub fn allows_unconditional_update(def: &ResourceDef) -> bool {
    let is_crd_resource = def.gr.group == "apiextensions.k8s.io" && def.gr.resource == "customresourcedefinitions";
    !(def.is_crd() || is_crd_resource)
}

/// Kinds whose `AllowCreateOnUpdate` is true: a PUT to a missing object creates it (201).
pub fn allows_create_on_update(gr: &GroupResource) -> bool {
    matches!(
        (gr.group.as_str(), gr.resource.as_str()),
        ("coordination.k8s.io", "leases")
            | ("", "events" | "endpoints")
            | ("events.k8s.io", "events")
            | ("rbac.authorization.k8s.io", "roles" | "rolebindings" | "clusterroles" | "clusterrolebindings")
    )
}

/// Registries built with `ReturnDeletedObject: true` answer a DELETE with the object's last state;
/// the rest answer a `Status`.
pub fn returns_deleted_object(gr: &GroupResource) -> bool {
    gr.group.is_empty()
        && matches!(
            gr.resource.as_str(),
            "pods"
                | "services"
                | "serviceaccounts"
                | "namespaces"
                | "persistentvolumes"
                | "persistentvolumeclaims"
                | "podtemplates"
                | "resourcequotas"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_core_registries_that_say_so_return_the_deleted_object() {
        assert!(returns_deleted_object(&GroupResource::new("", "pods")));
        assert!(!returns_deleted_object(&GroupResource::new("", "configmaps")));
        assert!(!returns_deleted_object(&GroupResource::new("apps", "deployments")));
    }

    #[test]
    fn leases_events_and_rbac_are_created_by_put() {
        assert!(allows_create_on_update(&GroupResource::new("coordination.k8s.io", "leases")));
        assert!(allows_create_on_update(&GroupResource::new("rbac.authorization.k8s.io", "roles")));
        assert!(!allows_create_on_update(&GroupResource::new("", "configmaps")));
    }
}
