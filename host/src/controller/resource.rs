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

fn kube_resource(api: &ApiResource) -> kube::api::ApiResource {
    kube::api::ApiResource {
        group: api.group.clone(),
        version: api.version.clone(),
        api_version: api.api_version(),
        kind: api.kind.clone(),
        plural: api.plural.clone(),
    }
}

/// The namespace a request about `api` goes to: `namespace` when the resource is namespaced.
fn scope<'a>(api: &ApiResource, namespace: Option<&'a str>) -> Option<&'a str> {
    namespace.filter(|_| api.namespaced)
}

/// A dynamic client for `api`, in `namespace` when it is namespaced and one is given.
pub fn dynamic_api(client: Client, api: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    let resource = kube_resource(api);
    match scope(api, namespace) {
        Some(ns) => Api::namespaced_with(client, ns, &resource),
        None => Api::all_with(client, &resource),
    }
}

/// A request builder for `api` in `namespace`, for calls whose answer is wanted as raw JSON.
pub fn raw_request(api: &ApiResource, namespace: Option<&str>) -> kube::core::Request {
    kube::core::Request::new(<DynamicObject as kube::Resource>::url_path(&kube_resource(api), scope(api, namespace)))
}
