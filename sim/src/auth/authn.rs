//! Who a request comes from: the admin token, static tokens, or a ServiceAccount token.

use http::HeaderMap;
use serde_json::{Value, json};

use super::jwt::{ISSUER, Key};
use super::{AuthConfig, AuthorizationMode, StaticToken, UserInfo};
use crate::error::ApiError;
use crate::object;
use crate::registry::GroupResource;
use crate::store::{ObjectKey, Store};

/// The credentials an emulator accepts.
#[derive(Debug)]
pub struct Authenticator {
    mode: AuthorizationMode,
    admin_token: String,
    static_tokens: Vec<StaticToken>,
    key: Key,
}

/// What a TokenRequest binds a token to, beside its ServiceAccount.
#[derive(Clone, Debug, Default)]
pub struct Binding {
    pub kind: String,
    pub name: String,
    pub uid: String,
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            mode: config.mode,
            admin_token: format!("weft-sim-admin-{}", uuid::Uuid::new_v4().simple()),
            static_tokens: config.static_tokens.clone(),
            key: Key::random(),
        }
    }

    /// The token the emulator's kubeconfig carries (`system:masters`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The user behind a request's bearer token. No token is the admin when everything is allowed,
    /// else `system:anonymous`; a token that authenticates nobody is 401, never anonymous.
    pub fn authenticate(&self, headers: &HeaderMap, store: &Store) -> Result<UserInfo, ApiError> {
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty());
        let Some(token) = bearer else {
            return Ok(match self.mode {
                AuthorizationMode::AlwaysAllow => UserInfo::admin(),
                AuthorizationMode::Rbac => UserInfo::anonymous(),
            });
        };
        self.user_for_token(token, store, &[]).ok_or(ApiError::Unauthorized)
    }

    /// The user a token authenticates as, for the API server (`audiences` empty) or for the given
    /// audiences (TokenReview).
    pub fn user_for_token(&self, token: &str, store: &Store, audiences: &[String]) -> Option<UserInfo> {
        if token == self.admin_token {
            return Some(UserInfo::admin());
        }
        if let Some(t) = self.static_tokens.iter().find(|t| t.token == token) {
            let user =
                UserInfo { name: t.user.clone(), uid: t.uid.clone(), groups: t.groups.clone(), ..UserInfo::default() };
            return Some(user.with_authenticated_group());
        }
        let claims = self.key.verify(token)?;
        let now = jiff::Timestamp::now().as_second();
        let number = |c: &str| claims.get(c).and_then(Value::as_i64);
        if number("exp").is_none_or(|exp| exp <= now) || number("nbf").is_some_and(|nbf| nbf > now + 60) {
            return None;
        }
        let wanted: Vec<String> = if audiences.is_empty() { vec![ISSUER.to_owned()] } else { audiences.to_vec() };
        let token_audiences: Vec<&str> =
            claims.get("aud").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        if !wanted.iter().any(|a| token_audiences.contains(&a.as_str())) {
            return None;
        }
        let k8s = claims.get("kubernetes.io")?;
        let text = |pointer: &str| k8s.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
        let (namespace, name, uid) = (text("/namespace"), text("/serviceaccount/name"), text("/serviceaccount/uid"));
        // A token outlives neither its ServiceAccount nor the object it is bound to.
        let state = store.lock();
        let live_uid = |resource: &str, name: &str| {
            state
                .get(&GroupResource::new("", resource), &ObjectKey::new(Some(namespace), name))
                .map(|o| object::uid(o).to_owned())
        };
        if live_uid("serviceaccounts", name).as_deref() != Some(uid) {
            return None;
        }
        let mut user = UserInfo::service_account(namespace, name, uid);
        if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
            user.extra.insert("authentication.kubernetes.io/credential-id".into(), vec![format!("JTI={jti}")]);
        }
        for (kind, resource) in [("pod", "pods"), ("secret", "secrets")] {
            if let Some(bound) = k8s.get(kind) {
                let bound_name = bound.get("name").and_then(Value::as_str).unwrap_or_default();
                let bound_uid = bound.get("uid").and_then(Value::as_str).unwrap_or_default();
                if live_uid(resource, bound_name).as_deref() != Some(bound_uid) {
                    return None;
                }
                if kind == "pod" {
                    user.extra.insert("authentication.kubernetes.io/pod-name".into(), vec![bound_name.to_owned()]);
                    user.extra.insert("authentication.kubernetes.io/pod-uid".into(), vec![bound_uid.to_owned()]);
                }
            }
        }
        Some(user.with_authenticated_group())
    }

    /// A signed ServiceAccount token with kube-apiserver's claims; returns it with its expiry
    /// (Unix seconds).
    pub fn issue(
        &self,
        namespace: &str,
        name: &str,
        sa_uid: &str,
        audiences: &[String],
        expiration_seconds: i64,
        bound: Option<&Binding>,
    ) -> (String, i64) {
        let now = jiff::Timestamp::now().as_second();
        let exp = now + expiration_seconds;
        let mut k8s = json!({"namespace": namespace, "serviceaccount": {"name": name, "uid": sa_uid}});
        if let Some(b) = bound {
            k8s[b.kind.to_lowercase()] = json!({"name": b.name, "uid": b.uid});
        }
        let claims = json!({
            "aud": audiences,
            "exp": exp,
            "iat": now,
            "iss": ISSUER,
            "jti": uuid::Uuid::new_v4().to_string(),
            "kubernetes.io": k8s,
            "nbf": now,
            "sub": format!("system:serviceaccount:{namespace}:{name}"),
        });
        (self.key.sign(&claims), exp)
    }
}
