//! Turns a request path into what it addresses.

/// What a path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Version,
    Health,
    CoreVersions,
    Groups,
    Group(String),
    ResourceList { group: String, version: String },
    OpenApiV2,
    OpenApiIndex,
    OpenApiGroupVersion { group: String, version: String },
    Resource(ResourcePath),
    NotFound,
}

/// A path under a group/version that names a resource, maybe an object, maybe a subresource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The legacy `/watch/` path prefix.
    pub watch_prefix: bool,
}

/// Parses a path; `is_namespaced(group, version, resource)` disambiguates
/// `/api/v1/namespaces/{x}/{y}` (a namespaced resource `y`, or subresource `y` of namespace `x`).
pub fn parse(path: &str, is_namespaced: impl Fn(&str, &str, &str) -> bool) -> Route {
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group((*group).to_owned()),
        ["api", version] => Route::ResourceList { group: String::new(), version: (*version).to_owned() },
        ["apis", group, version] => Route::ResourceList { group: (*group).to_owned(), version: (*version).to_owned() },
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiIndex,
        ["openapi", "v3", "api", version] => {
            Route::OpenApiGroupVersion { group: String::new(), version: (*version).to_owned() }
        }
        ["openapi", "v3", "apis", group, version] => {
            Route::OpenApiGroupVersion { group: (*group).to_owned(), version: (*version).to_owned() }
        }
        ["api", version, rest @ ..] => resource("", version, rest, &is_namespaced),
        ["apis", group, version, rest @ ..] => resource(group, version, rest, &is_namespaced),
        _ => Route::NotFound,
    }
}

fn resource(group: &str, version: &str, rest: &[&str], is_namespaced: &impl Fn(&str, &str, &str) -> bool) -> Route {
    let (watch_prefix, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, res, tail @ ..] if is_namespaced(group, version, res) => {
            (Some((*ns).to_owned()), &[&[*res][..], tail].concat())
        }
        _ => (None, &rest.to_vec()),
    };
    let owned = |s: Option<&&str>| s.map(|s| (*s).to_owned());
    match rest.as_slice() {
        [res, tail @ ..] if tail.len() <= 2 => Route::Resource(ResourcePath {
            group: group.to_owned(),
            version: version.to_owned(),
            resource: (*res).to_owned(),
            namespace,
            name: owned(tail.first()),
            subresource: owned(tail.get(1)),
            watch_prefix,
        }),
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(_: &str, _: &str, res: &str) -> bool {
        res == "configmaps"
    }

    #[test]
    fn namespaced_and_cluster_paths_are_told_apart() {
        let Route::Resource(p) = parse("/api/v1/namespaces/default/configmaps/a", ns) else { panic!() };
        assert_eq!(
            (p.namespace.as_deref(), p.resource.as_str(), p.name.as_deref()),
            (Some("default"), "configmaps", Some("a"))
        );
        let Route::Resource(p) = parse("/api/v1/namespaces/default/status", ns) else { panic!() };
        assert_eq!(
            (p.namespace, p.resource.as_str(), p.name.as_deref(), p.subresource.as_deref()),
            (None, "namespaces", Some("default"), Some("status"))
        );
        let Route::Resource(p) = parse("/apis/apps/v1/watch/namespaces/x/configmaps", ns) else { panic!() };
        assert!(p.watch_prefix);
        assert_eq!(parse("/apis/a/v1/x/y/z/w", ns), Route::NotFound);
        assert_eq!(
            parse("/openapi/v3/apis/apps/v1", ns),
            Route::OpenApiGroupVersion { group: "apps".into(), version: "v1".into() }
        );
    }
}
