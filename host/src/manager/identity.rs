//! Whose identity a plugin's writes carry: the host's, or the ServiceAccount its Plugin names,
//! by impersonation (the API server checks the host may impersonate it, then enforces the
//! ServiceAccount's own RBAC on every write).

use kube::Client;

use super::Inner;
use super::failure::LoadFailure;
use crate::crd::PluginSpec;

/// The client a plugin's writes go through.
pub(super) fn writer(host: &Inner, spec: &PluginSpec) -> Result<Client, LoadFailure> {
    let Some(account) = &spec.service_account else { return Ok(host.client.clone()) };
    let Some(base) = &host.config.cluster else {
        return Err(LoadFailure::InvalidSpec(
            "spec.serviceAccount needs a host that knows its cluster configuration to impersonate with".into(),
        ));
    };
    let mut config = base.clone();
    // The API server adds the ServiceAccount's groups itself when a ServiceAccount is impersonated.
    config.auth_info.impersonate = Some(account.user());
    config.auth_info.impersonate_groups = None;
    Client::try_from(config).map_err(|e| LoadFailure::InvalidSpec(format!("spec.serviceAccount: {e}")))
}
