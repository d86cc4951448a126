//! The review APIs: SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview and
//! SelfSubjectRulesReview (what `kubectl auth can-i` sends), SelfSubjectReview (`kubectl auth
//! whoami`) and TokenReview. They are create-only, stored nowhere, and answer 201 with the
//! request plus a status.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::authz::{Decision, authorize};
use super::rbac::visit_rules;
use super::{Attributes, Authenticator, AuthorizationMode, UserInfo};
use crate::error::{ApiError, Cause, Result};
use crate::object;
use crate::store::Store;

/// `(group, resource, kind, namespaced)` of every review resource, all at version v1.
pub const REVIEWS: [(&str, &str, &str, bool); 6] = [
    ("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false),
    ("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview", false),
    ("authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview", true),
    ("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview", false),
    ("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview", false),
    ("authentication.k8s.io", "tokenreviews", "TokenReview", false),
];

/// The kind of the review served at `group/v1/resource`, if any.
pub fn review_kind(group: &str, version: &str, resource: &str) -> Option<&'static str> {
    REVIEWS.iter().find(|(g, r, _, _)| *g == group && *r == resource && version == "v1").map(|(_, _, k, _)| *k)
}

/// Everything a review is evaluated against.
#[derive(Debug)]
pub struct Reviewer<'a> {
    pub mode: AuthorizationMode,
    pub store: &'a Store,
    pub authenticator: &'a Authenticator,
    /// The user making the request (after impersonation).
    pub user: &'a UserInfo,
}

fn invalid(kind: &str, group: &str, field: &str, message: &str) -> ApiError {
    ApiError::invalid(kind, group, "", vec![Cause::new("FieldValueInvalid", field, message)])
}

impl Reviewer<'_> {
    /// Answers a review of `kind` posted in `namespace` (LocalSubjectAccessReview only).
    pub fn review(&self, kind: &str, namespace: Option<&str>, mut body: Value) -> Result<Value> {
        let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
        let status = match kind {
            "SelfSubjectAccessReview" => self.access(kind, &spec, self.user.clone(), None)?,
            "SubjectAccessReview" => self.access(kind, &spec, subject(kind, &spec)?, None)?,
            "LocalSubjectAccessReview" => self.access(kind, &spec, subject(kind, &spec)?, namespace)?,
            "SelfSubjectRulesReview" => self.rules(spec.get("namespace").and_then(Value::as_str).unwrap_or_default()),
            "SelfSubjectReview" => json!({"userInfo": user_json(self.user)}),
            "TokenReview" => self.token(&spec),
            _ => return Err(ApiError::BadRequest(format!("not a review kind: {kind}"))),
        };
        let group = REVIEWS.iter().find(|(_, _, k, _)| *k == kind).map_or("", |(g, _, _, _)| *g);
        body["apiVersion"] = json!(format!("{group}/v1"));
        body["kind"] = json!(kind);
        let mut metadata = body.get("metadata").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        metadata["creationTimestamp"] = Value::Null;
        if let Some(ns) = namespace {
            metadata["namespace"] = json!(ns);
        }
        body["metadata"] = metadata;
        body["status"] = status;
        Ok(body)
    }

    fn access(&self, kind: &str, spec: &Value, user: UserInfo, local_ns: Option<&str>) -> Result<Value> {
        let group = "authorization.k8s.io";
        let (resource, non_resource) = (spec.get("resourceAttributes"), spec.get("nonResourceAttributes"));
        let text = |v: Option<&Value>, f: &str| {
            v.and_then(|v| v.get(f)).and_then(Value::as_str).unwrap_or_default().to_owned()
        };
        let attrs = match (resource.filter(|v| !v.is_null()), non_resource.filter(|v| !v.is_null())) {
            (Some(_), None) => {
                let namespace = text(resource, "namespace");
                if let Some(ns) = local_ns
                    && ns != namespace
                {
                    return Err(ApiError::BadRequest(format!(
                        "spec.resourceAttributes.namespace must match namespace: {ns}"
                    )));
                }
                Attributes::resource(
                    user,
                    &text(resource, "verb"),
                    &namespace,
                    &text(resource, "group"),
                    &text(resource, "version"),
                    &text(resource, "resource"),
                    &text(resource, "subresource"),
                    &text(resource, "name"),
                )
            }
            (None, Some(_)) if local_ns.is_some() => {
                return Err(invalid(
                    kind,
                    group,
                    "spec.nonResourceAttributes",
                    "Invalid value: disallowed on this kind of request",
                ));
            }
            (None, Some(_)) => Attributes::non_resource(user, &text(non_resource, "verb"), &text(non_resource, "path")),
            _ => {
                return Err(invalid(
                    kind,
                    group,
                    "spec.resourceAttributes",
                    "Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
                ));
            }
        };
        let state = self.store.lock();
        Ok(match authorize(self.mode, &state, &attrs) {
            Decision::Allow(reason) if reason.is_empty() => json!({"allowed": true}),
            Decision::Allow(reason) => json!({"allowed": true, "reason": reason}),
            Decision::Deny(reason) if reason.is_empty() => json!({"allowed": false}),
            Decision::Deny(reason) => json!({"allowed": false, "reason": reason}),
        })
    }

    /// What the user may do in `namespace`, as rules.
    fn rules(&self, namespace: &str) -> Value {
        let everything = self.mode == AuthorizationMode::AlwaysAllow;
        if everything {
            return json!({
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": false,
            });
        }
        let (mut resource_rules, mut non_resource_rules) = (Vec::new(), Vec::new());
        let state = self.store.lock();
        let errors = visit_rules(&state, self.user, namespace, |_, rule| {
            let field = |f: &str| rule.get(f).filter(|v| v.as_array().is_some_and(|a| !a.is_empty())).cloned();
            if let Some(resources) = field("resources") {
                let mut r = json!({"verbs": field("verbs").unwrap_or(json!([])), "apiGroups": field("apiGroups").unwrap_or(json!([])), "resources": resources});
                if let Some(names) = field("resourceNames") {
                    r["resourceNames"] = names;
                }
                resource_rules.push(r);
            }
            if let Some(urls) = field("nonResourceURLs") {
                non_resource_rules.push(json!({"verbs": field("verbs").unwrap_or(json!([])), "nonResourceURLs": urls}));
            }
            false
        });
        let mut status = json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": !errors.is_empty()});
        if !errors.is_empty() {
            status["evaluationError"] = json!(errors.join(", "));
        }
        status
    }

    fn token(&self, spec: &Value) -> Value {
        let token = spec.get("token").and_then(Value::as_str).unwrap_or_default();
        let audiences = object::strings(spec, "audiences");
        match self.authenticator.user_for_token(token, self.store, &audiences) {
            Some(user) => {
                let shown = if audiences.is_empty() { vec![super::jwt::ISSUER.to_owned()] } else { audiences };
                json!({"authenticated": true, "user": user_json(&user), "audiences": shown})
            }
            None => json!({"user": {}, "error": "[invalid bearer token, token lookup failed]"}),
        }
    }
}

/// The user a (Local)SubjectAccessReview asks about.
fn subject(kind: &str, spec: &Value) -> Result<UserInfo> {
    let extra = spec.get("extra").cloned().unwrap_or_default();
    let keys = extra.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let user = UserInfo {
        name: spec.get("user").and_then(Value::as_str).unwrap_or_default().to_owned(),
        uid: spec.get("uid").and_then(Value::as_str).unwrap_or_default().to_owned(),
        groups: object::strings(spec, "groups"),
        extra: keys
            .into_iter()
            .map(|k| {
                let values = object::strings(&extra, &k);
                (k, values)
            })
            .collect::<BTreeMap<_, _>>(),
    };
    if user.name.is_empty() && user.groups.is_empty() {
        return Err(invalid(
            kind,
            "authorization.k8s.io",
            "spec.user",
            "Invalid value: \"\": at least one of user or group must be specified",
        ));
    }
    Ok(user)
}

fn user_json(user: &UserInfo) -> Value {
    let mut out = json!({"username": user.name, "groups": user.groups});
    if !user.uid.is_empty() {
        out["uid"] = json!(user.uid);
    }
    if !user.extra.is_empty() {
        out["extra"] = json!(user.extra);
    }
    out
}
