//! What a request asks to do, in authorization terms: kube-apiserver's `RequestInfo`
//! (`endpoints/request/requestinfo.go`), from the method, the path and the query.

use super::UserInfo;

/// The attributes an authorizer decides on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    pub user: UserInfo,
    pub verb: String,
    /// False for discovery, `/version`, `/openapi/...`, health and the like.
    pub resource_request: bool,
    /// The path of a non-resource request.
    pub path: String,
    pub namespace: String,
    pub api_group: String,
    pub api_version: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

/// Subresources of a namespace that follow its name directly (`/api/v1/namespaces/x/status`).
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

impl Attributes {
    /// A resource request's attributes, for access reviews.
    #[allow(clippy::too_many_arguments)]
    pub fn resource(
        user: UserInfo,
        verb: &str,
        namespace: &str,
        group: &str,
        version: &str,
        resource: &str,
        subresource: &str,
        name: &str,
    ) -> Self {
        Self {
            user,
            verb: verb.to_owned(),
            resource_request: true,
            namespace: namespace.to_owned(),
            api_group: group.to_owned(),
            api_version: version.to_owned(),
            resource: resource.to_owned(),
            subresource: subresource.to_owned(),
            name: name.to_owned(),
            path: String::new(),
        }
    }

    /// A non-resource request's attributes.
    pub fn non_resource(user: UserInfo, verb: &str, path: &str) -> Self {
        Self { user, verb: verb.to_owned(), path: path.to_owned(), ..Self::default() }
    }

    /// The attributes of an HTTP request. `query` yields `(name, value)` pairs.
    pub fn of_request<'a>(
        user: UserInfo,
        method: &http::Method,
        path: &str,
        query: impl Fn(&str) -> Option<&'a str>,
    ) -> Self {
        let method_verb = method.as_str().to_lowercase();
        let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        let (group, version, mut parts) = match segments.as_slice() {
            ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
            ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
            _ => return Self::non_resource(user, &method_verb, path),
        };
        let mut verb = match *method {
            http::Method::POST => "create",
            http::Method::GET | http::Method::HEAD => "get",
            http::Method::PUT => "update",
            http::Method::PATCH => "patch",
            http::Method::DELETE => "delete",
            _ => "",
        }
        .to_owned();
        if let [special @ ("watch" | "proxy"), rest @ ..] = parts {
            verb = (*special).to_owned();
            parts = rest;
        }
        let mut namespace = "";
        if let ["namespaces", ns, rest @ ..] = parts {
            namespace = ns;
            if !rest.is_empty() && !NAMESPACE_SUBRESOURCES.contains(&rest[0]) {
                parts = rest;
            }
        }
        let mut attrs = Self::resource(user, &verb, namespace, group, version, "", "", "");
        if let Some(resource) = parts.first() {
            attrs.resource = (*resource).to_owned();
        }
        if let Some(name) = parts.get(1) {
            attrs.name = (*name).to_owned();
        }
        if let Some(sub) = parts.get(2).filter(|_| verb != "proxy") {
            attrs.subresource = (*sub).to_owned();
        }
        if attrs.name.is_empty() && attrs.verb == "get" {
            let truthy = |v: &str| v != "0" && !v.eq_ignore_ascii_case("false");
            attrs.verb = if query("watch").is_some_and(truthy) { "watch" } else { "list" }.to_owned();
        }
        // A list or watch of one object by field selector names it (single-object informers).
        if attrs.name.is_empty() && matches!(attrs.verb.as_str(), "list" | "watch") {
            attrs.name = exact_name(query("fieldSelector").unwrap_or_default()).unwrap_or_default();
        }
        if attrs.name.is_empty() && attrs.verb == "delete" {
            attrs.verb = "deletecollection".into();
        }
        attrs
    }
}

/// The `metadata.name` a field selector requires, if it requires exactly one valid name.
fn exact_name(selector: &str) -> Option<String> {
    let names: Vec<&str> = selector
        .split(',')
        .filter_map(|t| t.trim().strip_prefix("metadata.name"))
        .filter_map(|rest| rest.strip_prefix("==").or_else(|| rest.strip_prefix('=')))
        .collect();
    match names.as_slice() {
        [name] if !name.is_empty() && !name.contains('/') && !name.contains('%') && *name != "." && *name != ".." => {
            Some((*name).to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn attrs(method: Method, path: &str, query: &[(&str, &str)]) -> (String, String, String, String, String, String) {
        let a = Attributes::of_request(UserInfo::default(), &method, path, |k| {
            query.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
        });
        let kind = if a.resource_request { a.resource } else { format!("path {}", a.path) };
        (a.verb, a.namespace, a.api_group, kind, a.subresource, a.name)
    }

    fn t(v: &str, ns: &str, g: &str, r: &str, s: &str, n: &str) -> (String, String, String, String, String, String) {
        (v.into(), ns.into(), g.into(), r.into(), s.into(), n.into())
    }

    #[test]
    fn methods_and_paths_map_to_the_real_verbs() {
        let cases = [
            (
                attrs(Method::GET, "/api/v1/namespaces/default/configmaps", &[]),
                t("list", "default", "", "configmaps", "", ""),
            ),
            (attrs(Method::GET, "/api/v1/configmaps", &[("watch", "")]), t("watch", "", "", "configmaps", "", "")),
            (
                attrs(Method::GET, "/api/v1/namespaces/d/pods/p", &[("watch", "true")]),
                t("get", "d", "", "pods", "", "p"),
            ),
            (attrs(Method::GET, "/api/v1/watch/namespaces/d/pods/p", &[]), t("watch", "d", "", "pods", "", "p")),
            (
                attrs(Method::GET, "/apis/apps/v1/namespaces/d/deployments", &[("fieldSelector", "metadata.name=w")]),
                t("list", "d", "apps", "deployments", "", "w"),
            ),
            (
                attrs(Method::PUT, "/apis/apps/v1/namespaces/d/deployments/w/scale", &[]),
                t("update", "d", "apps", "deployments", "scale", "w"),
            ),
            (
                attrs(Method::DELETE, "/api/v1/namespaces/d/secrets", &[]),
                t("deletecollection", "d", "", "secrets", "", ""),
            ),
            (attrs(Method::GET, "/api/v1/namespaces/foo", &[]), t("get", "foo", "", "namespaces", "", "foo")),
            (
                attrs(Method::PUT, "/api/v1/namespaces/foo/finalize", &[]),
                t("update", "foo", "", "namespaces", "finalize", "foo"),
            ),
            (
                attrs(Method::POST, "/api/v1/namespaces/d/serviceaccounts/sa/token", &[]),
                t("create", "d", "", "serviceaccounts", "token", "sa"),
            ),
            (attrs(Method::GET, "/apis/apps/v1", &[]), t("get", "", "", "path /apis/apps/v1", "", "")),
            (attrs(Method::GET, "/version", &[]), t("get", "", "", "path /version", "", "")),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
