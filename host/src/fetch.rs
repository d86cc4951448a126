//! Getting a Plugin's module bytes from its source, and checking them against `sha256`.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use crate::crd::{ModuleSource, PluginSpec};
use crate::runtime::Digest;

/// Why a module could not be fetched; `reason` becomes the condition reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub reason: &'static str,
    pub message: String,
}

impl FetchError {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self { reason, message: message.into() }
    }
}

/// Where a host may load modules from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    /// `module.path`: only in `weft dev`, where the host and the files are the developer's.
    pub allow_path: bool,
}

/// The module bytes for `spec`, verified against `spec.sha256` when it is set.
pub async fn fetch(client: &kube::Client, spec: &PluginSpec, sources: Sources) -> Result<Vec<u8>, FetchError> {
    let bytes = match &spec.module {
        ModuleSource { config_map: Some(cm), url: None, path: None } => {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), &cm.namespace);
            let found = api.get_opt(&cm.name).await.map_err(|e| {
                FetchError::new("FetchFailed", format!("reading ConfigMap {}/{}: {e}", cm.namespace, cm.name))
            })?;
            let found = found.ok_or_else(|| {
                FetchError::new("ModuleNotFound", format!("ConfigMap {}/{} does not exist", cm.namespace, cm.name))
            })?;
            let binary = found.binary_data.and_then(|mut data| data.remove(&cm.key));
            binary.map(|b| b.0).ok_or_else(|| {
                FetchError::new(
                    "ModuleNotFound",
                    format!("ConfigMap {}/{} has no binaryData key {:?}", cm.namespace, cm.name, cm.key),
                )
            })?
        }
        ModuleSource { path: Some(path), config_map: None, url: None } => {
            if !sources.allow_path {
                return Err(FetchError::new("InvalidSpec", "module.path is only allowed in weft dev"));
            }
            tokio::fs::read(path).await.map_err(|e| FetchError::new("FetchFailed", format!("reading {path}: {e}")))?
        }
        ModuleSource { url: Some(url), config_map: None, path: None } => {
            if spec.sha256.is_none() {
                return Err(FetchError::new("InvalidSpec", "module.url needs sha256"));
            }
            return Err(FetchError::new("UnsupportedSource", format!("this host cannot fetch URLs yet ({url})")));
        }
        _ => return Err(FetchError::new("InvalidSpec", "module needs exactly one of configMap, url or path")),
    };
    if let Some(expected) = &spec.sha256 {
        let actual = Digest::of(&bytes).to_string();
        if !actual.eq_ignore_ascii_case(expected.trim()) {
            return Err(FetchError::new(
                "DigestMismatch",
                format!("module sha256 is {actual}, spec.sha256 is {expected}"),
            ));
        }
    }
    Ok(bytes)
}
