//! RBAC as the real authorizer evaluates it (`plugin/pkg/auth/authorizer/rbac`): the rules that
//! apply to a user in a namespace, from ClusterRoleBindings and the namespace's RoleBindings, and
//! whether one of them allows a request. RBAC only allows; it never denies.

use serde_json::Value;

use super::{Attributes, UserInfo};
use crate::object::{self, strings};
use crate::registry::GroupResource;
use crate::store::{ObjectKey, State};

const GROUP: &str = "rbac.authorization.k8s.io";

/// Where a rule came from, described as the real authorizer's reasons describe it.
#[derive(Clone, Debug)]
pub struct Source {
    /// `ClusterRoleBinding "x"` or `RoleBinding "x/ns"`.
    binding: String,
    /// `ClusterRole "x"` or `Role "x"`.
    role: String,
    /// `User "bob"`, `Group "g"`, `ServiceAccount "sa/ns"`.
    subject: String,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} to {}", self.binding, self.role, self.subject)
    }
}

/// Visits every rule that applies to `user` for a request in `namespace` (`""`: cluster scope)
/// until `visit` returns true. Returns the errors met on the way (missing roles).
pub fn visit_rules(
    state: &State,
    user: &UserInfo,
    namespace: &str,
    mut visit: impl FnMut(&Source, &Value) -> bool,
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut bindings: Vec<(String, &Value)> = state
        .objects_of(&GroupResource::new(GROUP, "clusterrolebindings"))
        .map(|(_, b)| (String::new(), b.as_ref()))
        .collect();
    if !namespace.is_empty() {
        bindings.extend(
            state
                .objects_of(&GroupResource::new(GROUP, "rolebindings"))
                .filter(|(k, _)| k.namespace == namespace)
                .map(|(k, b)| (k.namespace.clone(), b.as_ref())),
        );
    }
    for (binding_ns, binding) in bindings {
        let Some(subject) = applies_to(binding, &binding_ns, user) else { continue };
        let role_kind = binding.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or_default();
        let role_name = binding.pointer("/roleRef/name").and_then(Value::as_str).unwrap_or_default();
        let (resource, role_ns) = match role_kind {
            "ClusterRole" => ("clusterroles", None),
            "Role" if !binding_ns.is_empty() => ("roles", Some(binding_ns.as_str())),
            other => {
                errors.push(format!("unsupported role reference kind: {other:?}"));
                continue;
            }
        };
        let Some(role) = state.get(&GroupResource::new(GROUP, resource), &ObjectKey::new(role_ns, role_name)) else {
            let singular = resource.trim_end_matches('s');
            errors.push(format!("{singular}.{GROUP} \"{role_name}\" not found"));
            continue;
        };
        let source = Source {
            binding: if binding_ns.is_empty() {
                format!("ClusterRoleBinding {:?}", object::name(binding))
            } else {
                format!("RoleBinding {:?}", format!("{}/{binding_ns}", object::name(binding)))
            },
            role: format!("{role_kind} {role_name:?}"),
            subject,
        };
        for rule in role.get("rules").and_then(Value::as_array).into_iter().flatten() {
            if visit(&source, rule) {
                return errors;
            }
        }
    }
    errors
}

/// The description of the first subject of `binding` that is `user`, if any.
fn applies_to(binding: &Value, binding_ns: &str, user: &UserInfo) -> Option<String> {
    binding.get("subjects").and_then(Value::as_array).into_iter().flatten().find_map(|s| {
        let text = |f: &str| s.get(f).and_then(Value::as_str).unwrap_or_default();
        let (kind, name) = (text("kind"), text("name"));
        let matches = match kind {
            "User" => user.name == name,
            "Group" => user.groups.iter().any(|g| g == name),
            "ServiceAccount" => {
                // An SA subject without a namespace means the RoleBinding's; in a
                // ClusterRoleBinding it matches nobody.
                let ns = if text("namespace").is_empty() { binding_ns } else { text("namespace") };
                !ns.is_empty() && user.name == format!("system:serviceaccount:{ns}:{name}")
            }
            _ => false,
        };
        let shown = if kind == "ServiceAccount" {
            let ns = if text("namespace").is_empty() { binding_ns } else { text("namespace") };
            format!("{name}/{ns}")
        } else {
            name.to_owned()
        };
        matches.then(|| format!("{kind} {shown:?}"))
    })
}

/// `RuleAllows`: whether one PolicyRule covers the request.
pub fn rule_allows(rule: &Value, attrs: &Attributes) -> bool {
    let has = |field: &str, value: &str| strings(rule, field).iter().any(|v| v == "*" || v == value);
    if !has("verbs", &attrs.verb) {
        return false;
    }
    if !attrs.resource_request {
        return strings(rule, "nonResourceURLs").iter().any(|url| {
            url == "*" || *url == attrs.path || url.strip_suffix('*').is_some_and(|p| attrs.path.starts_with(p))
        });
    }
    let combined = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let resource_matches = strings(rule, "resources").iter().any(|r| {
        r == "*"
            || *r == combined
            || (!attrs.subresource.is_empty() && r.strip_prefix("*/") == Some(attrs.subresource.as_str()))
    });
    let names = strings(rule, "resourceNames");
    has("apiGroups", &attrs.api_group) && resource_matches && (names.is_empty() || names.contains(&attrs.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(verb: &str, resource: &str, sub: &str, name: &str) -> Attributes {
        Attributes::resource(UserInfo::default(), verb, "default", "", "v1", resource, sub, name)
    }

    #[test]
    fn rules_match_verbs_resources_subresources_and_names() {
        let rule = json!({"apiGroups": [""], "resources": ["pods", "*/status"], "verbs": ["get", "list"], "resourceNames": []});
        assert!(rule_allows(&rule, &request("get", "pods", "", "p")));
        assert!(!rule_allows(&rule, &request("get", "pods", "log", "p")), "pods does not cover pods/log");
        assert!(rule_allows(&rule, &request("get", "deployments", "status", "d")));
        assert!(!rule_allows(&rule, &request("delete", "pods", "", "p")));
        let named = json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"], "resourceNames": ["cm1"]});
        assert!(rule_allows(&named, &request("update", "configmaps", "", "cm1")));
        assert!(!rule_allows(&named, &request("create", "configmaps", "", "")), "resourceNames never cover create");
        assert!(!rule_allows(&named, &request("list", "configmaps", "", "")));
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_a_trailing_star() {
        let rule = json!({"nonResourceURLs": ["/apis/*", "/version"], "verbs": ["get"]});
        let get = |path: &str| Attributes::non_resource(UserInfo::default(), "get", path);
        assert!(rule_allows(&rule, &get("/apis/apps/v1")));
        assert!(!rule_allows(&rule, &get("/apis")));
        assert!(rule_allows(&rule, &get("/version")));
        assert!(!rule_allows(&rule, &request("get", "pods", "", "")), "URL rules never cover resources");
    }
}
