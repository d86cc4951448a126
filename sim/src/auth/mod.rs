//! Authentication and authorization as kube-apiserver does them, when the emulator is started
//! with [`AuthorizationMode::Rbac`].
//!
//! A request is authenticated (`authn`: the admin token the kubeconfig carries, static tokens in
//! kube-apiserver's token file format, ServiceAccount tokens from the TokenRequest API), may
//! impersonate another user (`impersonation`), and is then described by the real method + path →
//! verb mapping (`request_info`) and authorized (`authz`: `system:masters`, then RBAC over the
//! stored Roles and bindings, `rbac`). Writes of RBAC objects grant no more than their writer holds
//! (`escalation`). The bootstrap ClusterRoles and bindings a cluster starts with (`bootstrap`),
//! aggregated ClusterRoles (`aggregation`), the access and token reviews (`reviews`) and
//! TokenRequest (`token_request`) complete it.
//!
//! With [`AuthorizationMode::AlwaysAllow`] (the default) tokens are still authenticated, a
//! request without credentials is the admin, and everything is allowed.

pub(crate) mod aggregation;
mod authn;
pub(crate) mod authz;
pub(crate) mod bootstrap;
pub(crate) mod escalation;
mod impersonation;
mod jwt;
mod rbac;
mod request_info;
pub(crate) mod reviews;
mod token_file;
pub(crate) mod token_request;

use std::collections::BTreeMap;

pub use authn::Authenticator;
pub(crate) use authz::{authorize, forbidden};
pub(crate) use impersonation::impersonate;
pub(crate) use request_info::Attributes;
pub use token_file::{StaticToken, TokenFileError, parse_token_file, read_token_file};

/// How requests are authorized (`--authorization-mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthorizationMode {
    /// Every request is allowed; requests without credentials act as the admin.
    #[default]
    AlwaysAllow,
    /// `system:masters` may do anything; everyone else gets what RBAC grants.
    Rbac,
}

/// Authentication and authorization settings of an emulator.
#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    pub mode: AuthorizationMode,
    /// Bearer tokens, as `--token-auth-file` lists them.
    pub static_tokens: Vec<StaticToken>,
}

/// Who a request acts as (`user.Info`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

pub const MASTERS: &str = "system:masters";
pub const AUTHENTICATED: &str = "system:authenticated";
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
pub const ANONYMOUS: &str = "system:anonymous";

impl UserInfo {
    /// The user an emulator's kubeconfig authenticates as.
    pub fn admin() -> Self {
        Self { name: "kubernetes-admin".into(), groups: vec![MASTERS.into(), AUTHENTICATED.into()], ..Self::default() }
    }

    pub fn anonymous() -> Self {
        Self { name: ANONYMOUS.into(), groups: vec![UNAUTHENTICATED.into()], ..Self::default() }
    }

    /// `system:serviceaccount:NS:NAME` with the ServiceAccount groups.
    pub fn service_account(namespace: &str, name: &str, uid: &str) -> Self {
        Self {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            uid: uid.to_owned(),
            groups: vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{namespace}")],
            ..Self::default()
        }
    }

    /// Appends `system:authenticated` unless the user is anonymous or already carries it (or
    /// `system:unauthenticated`), as the authenticated-group adder does.
    pub fn with_authenticated_group(mut self) -> Self {
        let has = self.groups.iter().any(|g| g == AUTHENTICATED || g == UNAUTHENTICATED);
        if self.name != ANONYMOUS && !has {
            self.groups.push(AUTHENTICATED.into());
        }
        self
    }

    /// The namespace and name of a ServiceAccount user.
    pub fn service_account_parts(&self) -> Option<(&str, &str)> {
        let rest = self.name.strip_prefix("system:serviceaccount:")?;
        rest.split_once(':').filter(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains(':'))
    }
}
