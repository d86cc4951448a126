//! The authorizer chain: `system:masters` first (always allowed), then RBAC; and the 403 a denied
//! request gets, worded as the API server words it.

use super::rbac::{rule_allows, visit_rules};
use super::{Attributes, AuthorizationMode, MASTERS};
use crate::error::ApiError;
use crate::registry::GroupResource;
use crate::store::State;

/// An authorizer's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed, with the reason an access review reports (empty for `system:masters`).
    Allow(String),
    /// No authorizer allowed it; the reason lists RBAC's errors, if any.
    Deny(String),
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

pub fn authorize(mode: AuthorizationMode, state: &State, attrs: &Attributes) -> Decision {
    if mode == AuthorizationMode::AlwaysAllow || attrs.user.groups.iter().any(|g| g == MASTERS) {
        return Decision::Allow(String::new());
    }
    let mut allowed_by = None;
    let errors = visit_rules(state, &attrs.user, &attrs.namespace, |source, rule| {
        let allows = rule_allows(rule, attrs);
        if allows {
            allowed_by = Some(format!("RBAC: allowed by {source}"));
        }
        allows
    });
    match allowed_by {
        Some(reason) => Decision::Allow(reason),
        None if errors.is_empty() => Decision::Deny(String::new()),
        None => Decision::Deny(format!("RBAC: {}", errors.join(", "))),
    }
}

/// The 403 for a denied request (`responsewriters.forbiddenMessage` + `NewForbidden`).
pub fn forbidden(attrs: &Attributes, reason: &str) -> ApiError {
    let user = &attrs.user.name;
    let mut why = if attrs.resource_request {
        let resource = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        let scope = if attrs.namespace.is_empty() {
            "at the cluster scope".to_owned()
        } else {
            format!("in the namespace \"{}\"", attrs.namespace)
        };
        format!(
            "User \"{user}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
            attrs.verb, attrs.api_group
        )
    } else {
        format!("User \"{user}\" cannot {} path \"{}\"", attrs.verb, attrs.path)
    };
    if !reason.is_empty() {
        why = format!("{why}: {reason}");
    }
    if !attrs.resource_request {
        return ApiError::Forbidden {
            message: format!("forbidden: {why}"),
            gr: GroupResource::new("", ""),
            name: String::new(),
        };
    }
    let gr = GroupResource::new(&attrs.api_group, &attrs.resource);
    let qualified = if attrs.name.is_empty() { gr.to_string() } else { format!("{gr} \"{}\"", attrs.name) };
    ApiError::Forbidden { message: format!("{qualified} is forbidden: {why}"), gr, name: attrs.name.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::UserInfo;

    fn bob() -> UserInfo {
        UserInfo { name: "bob".into(), ..UserInfo::default() }
    }

    #[test]
    fn forbidden_messages_read_like_the_api_servers() {
        let cases = [
            (
                Attributes::resource(bob(), "list", "default", "", "v1", "configmaps", "", ""),
                "configmaps is forbidden: User \"bob\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\"",
            ),
            (
                Attributes::resource(bob(), "get", "", "rbac.authorization.k8s.io", "v1", "clusterroles", "", "x"),
                "clusterroles.rbac.authorization.k8s.io \"x\" is forbidden: User \"bob\" cannot get resource \"clusterroles\" in API group \"rbac.authorization.k8s.io\" at the cluster scope",
            ),
            (
                Attributes::resource(bob(), "get", "default", "apps", "v1", "deployments", "scale", "dd"),
                "deployments.apps \"dd\" is forbidden: User \"bob\" cannot get resource \"deployments/scale\" in API group \"apps\" in the namespace \"default\"",
            ),
            (Attributes::non_resource(bob(), "get", "/apis"), "forbidden: User \"bob\" cannot get path \"/apis\""),
        ];
        for (attrs, message) in cases {
            assert_eq!(forbidden(&attrs, "").to_string(), message);
        }
        let status = forbidden(&Attributes::non_resource(bob(), "get", "/apis"), "").to_status();
        assert_eq!(status["details"], serde_json::json!({}));
    }
}
