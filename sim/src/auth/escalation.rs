//! RBAC's escalation check on writes of Roles and bindings (the RBAC REST storage, not the
//! authorizer): a user may only create or update a Role or ClusterRole whose rules it already
//! holds, unless it may `escalate` that role; and may only bind a role whose rules it holds,
//! unless it may `bind` that role. `system:masters` is exempt.

use serde_json::Value;

use super::authz::authorize;
use super::rbac::{rule_allows, visit_rules};
use super::{Attributes, AuthorizationMode, MASTERS, UserInfo};
use crate::error::{ApiError, Result};
use crate::object::{self, strings};
use crate::registry::GroupResource;
use crate::store::{ObjectKey, State};

const GROUP: &str = "rbac.authorization.k8s.io";

/// Whether an RBAC write of `gr` needs the check at all.
pub fn applies(mode: AuthorizationMode, user: &UserInfo, gr: &GroupResource) -> bool {
    mode == AuthorizationMode::Rbac
        && gr.group == GROUP
        && matches!(gr.resource.as_str(), "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings")
        && !user.groups.iter().any(|g| g == MASTERS)
}

/// Refuses `obj` (the object the write would store) when it grants more than `user` holds.
pub fn check(state: &State, user: &UserInfo, gr: &GroupResource, obj: &Value) -> Result<()> {
    let namespace = object::meta_str(obj, "namespace").unwrap_or_default();
    let name = object::name(obj);
    let may = |verb: &str, resource: &str, name: &str| {
        let attrs = Attributes::resource(user.clone(), verb, namespace, GROUP, "v1", resource, "", name);
        authorize(AuthorizationMode::Rbac, state, &attrs).allowed()
    };
    let granted: Vec<Value> = match gr.resource.as_str() {
        "roles" | "clusterroles" => {
            if may("escalate", &gr.resource, name) {
                return Ok(());
            }
            obj.get("rules").and_then(Value::as_array).cloned().unwrap_or_default()
        }
        _ => {
            let kind = obj.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or_default();
            let role = obj.pointer("/roleRef/name").and_then(Value::as_str).unwrap_or_default();
            let (resource, role_ns) = if kind == "Role" { ("roles", Some(namespace)) } else { ("clusterroles", None) };
            if may("bind", resource, role) {
                return Ok(());
            }
            let role_gr = GroupResource::new(GROUP, resource);
            let Some(role_obj) = state.get(&role_gr, &ObjectKey::new(role_ns, role)) else {
                return Err(ApiError::not_found(&role_gr, role));
            };
            role_obj.get("rules").and_then(Value::as_array).cloned().unwrap_or_default()
        }
    };
    let mut held = Vec::new();
    visit_rules(state, user, namespace, |_, rule| {
        held.push(rule.clone());
        false
    });
    let missing: Vec<String> = granted
        .iter()
        .flat_map(simple_rules)
        .filter(|(attrs, _)| !held.iter().any(|rule| rule_allows(rule, attrs)))
        .map(|(_, shown)| shown)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let groups = user.groups.iter().map(|g| format!("{g:?}")).collect::<Vec<_>>().join(" ");
    Err(ApiError::forbidden(
        gr,
        name,
        &format!(
            "user {:?} (groups=[{groups}]) is attempting to grant RBAC permissions not currently held:\n{}",
            user.name,
            missing.join("\n")
        ),
    ))
}

/// A rule broken into one request per verb, group, resource and name (or URL), each with the
/// compact form the real error prints.
fn simple_rules(rule: &Value) -> Vec<(Attributes, String)> {
    let user = UserInfo::default();
    let names = strings(rule, "resourceNames");
    let mut out = Vec::new();
    for verb in strings(rule, "verbs") {
        for url in strings(rule, "nonResourceURLs") {
            let shown = format!("{{NonResourceURLs:[{url:?}], Verbs:[{verb:?}]}}");
            out.push((Attributes::non_resource(user.clone(), &verb, &url), shown));
        }
        for group in strings(rule, "apiGroups") {
            for resource in strings(rule, "resources") {
                let (res, sub) = resource.split_once('/').unwrap_or((&resource, ""));
                let targets = if names.is_empty() { vec![String::new()] } else { names.clone() };
                for name in targets {
                    let shown = if name.is_empty() {
                        format!("{{APIGroups:[{group:?}], Resources:[{resource:?}], Verbs:[{verb:?}]}}")
                    } else {
                        format!(
                            "{{APIGroups:[{group:?}], Resources:[{resource:?}], ResourceNames:[{name:?}], Verbs:[{verb:?}]}}"
                        )
                    };
                    out.push((Attributes::resource(user.clone(), &verb, "", &group, "", res, sub, &name), shown));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rule_breaks_into_one_request_per_verb_and_resource() {
        let rule = json!({"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]});
        let shown: Vec<String> = simple_rules(&rule).into_iter().map(|(_, s)| s).collect();
        assert_eq!(shown.len(), 4);
        assert_eq!(shown[0], "{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"get\"]}");
    }
}
