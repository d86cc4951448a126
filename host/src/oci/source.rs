//! `spec.module.oci` for the host: the pull secret read through the cluster, the signature keys
//! the Plugin and the host require, and the pull.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::blob_cache::BlobCache;
use super::pull::{Pulled, pull_cached};
use super::{CosignKey, Credentials, Error, OciConfig, Reference, RegistryClient, Result, credentials_for};
use crate::crd::{OciModule, SecretReference};

const DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";

/// Pulls the module `module` names, with its pull secret's credentials, verified against every
/// key the host requires and the one the Plugin names.
pub async fn fetch(client: &kube::Client, module: &OciModule, config: &OciConfig) -> Result<Pulled> {
    let reference: Reference = module.reference.parse()?;
    let mut keys = config.required_keys.clone();
    if let Some(signature) = &module.signature {
        keys.push(
            CosignKey::from_pem(&signature.public_key)
                .map_err(|e| Error::Invalid(format!("spec.module.oci.signature: {e}")))?,
        );
    }
    let credentials = match &module.pull_secret {
        Some(secret) => pull_secret(client, secret, &reference).await?,
        None => None,
    };
    let registry = RegistryClient::new(&reference.registry, reference.endpoint(), credentials, config)?;
    let cache = config.cache_dir.as_deref().map(BlobCache::new);
    pull_cached(&registry, &reference, &keys, cache.as_ref()).await
}

/// The credentials in a pull secret for `reference`'s registry.
async fn pull_secret(
    client: &kube::Client,
    secret: &SecretReference,
    reference: &Reference,
) -> Result<Option<Credentials>> {
    let SecretReference { namespace, name } = secret;
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let found = api
        .get_opt(name)
        .await
        .map_err(|e| Error::FetchFailed(format!("reading pull secret {namespace}/{name}: {e}")))?
        .ok_or_else(|| Error::Unauthorized(format!("pull secret {namespace}/{name} does not exist")))?;
    if found.type_.as_deref() != Some(DOCKER_CONFIG_JSON) {
        return Err(Error::Unauthorized(format!(
            "pull secret {namespace}/{name} is of type {:?}, not {DOCKER_CONFIG_JSON}",
            found.type_.unwrap_or_default()
        )));
    }
    let json =
        found.data.as_ref().and_then(|data| data.get(".dockerconfigjson")).ok_or_else(|| {
            Error::Unauthorized(format!("pull secret {namespace}/{name} has no .dockerconfigjson key"))
        })?;
    let credentials = credentials_for(&json.0, &reference.registry)
        .map_err(|e| Error::Unauthorized(format!("pull secret {namespace}/{name}: {e}")))?;
    if credentials.is_none() {
        return Err(Error::Unauthorized(format!(
            "pull secret {namespace}/{name} has no credentials for {}",
            reference.registry
        )));
    }
    Ok(credentials)
}
