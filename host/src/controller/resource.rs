//! Naming a resource type and reaching it through the kube client.

use kube::Client;
use kube::api::{Api, DynamicObject};

use crate::runtime::ApiResource;

/// `plural.group/version`, or `plural/version` for the core group, as status and metrics name it.
pub fn resource_name(api: &ApiResource) -> String {
    if api.group.is_empty() {
        format!("{}/{}", api.plural, api.version)
    } else {
        format!("{}.{}/{}", api.plural, api.group, api.version)
    }
}

/// A dynamic client for `api`, in `namespace` when it is namespaced and one is given.
pub fn dynamic_api(client: Client, api: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    let resource = kube::api::ApiResource {
        group: api.group.clone(),
        version: api.version.clone(),
        api_version: api.api_version(),
        kind: api.kind.clone(),
        plural: api.plural.clone(),
    };
    match namespace {
        Some(ns) if api.namespaced => Api::namespaced_with(client, ns, &resource),
        _ => Api::all_with(client, &resource),
    }
}
