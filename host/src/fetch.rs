//! Getting a Plugin's module bytes from its source, and checking them against `sha256`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use rustls_platform_verifier::ConfigVerifierExt;

use crate::crd::{ModuleSource, PluginSpec};
use crate::oci::{self, OciConfig};

/// Why a module could not be fetched. Each message says what was tried and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The source answered, and the module is not there.
    #[error("{0}")]
    ModuleNotFound(String),
    /// The source could not be read (network, API or file errors); worth retrying.
    #[error("{0}")]
    FetchFailed(String),
    /// The bytes are not the ones `spec.sha256` names.
    #[error("{0}")]
    DigestMismatch(String),
    /// The Plugin's module source is not usable as written.
    #[error("{0}")]
    InvalidSpec(String),
    /// The registry refused the credentials, or wanted some and had none.
    #[error("{0}")]
    Unauthorized(String),
    /// No signature by a required key covers the module.
    #[error("{0}")]
    SignatureInvalid(String),
}

impl FetchError {
    /// The condition reason, the variant's name.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::ModuleNotFound(_) => "ModuleNotFound",
            Self::FetchFailed(_) => "FetchFailed",
            Self::DigestMismatch(_) => "DigestMismatch",
            Self::InvalidSpec(_) => "InvalidSpec",
            Self::Unauthorized(_) => "Unauthorized",
            Self::SignatureInvalid(_) => "SignatureInvalid",
        }
    }
}

impl From<oci::Error> for FetchError {
    fn from(error: oci::Error) -> Self {
        match error {
            oci::Error::Invalid(m) => Self::InvalidSpec(m),
            oci::Error::ModuleNotFound(m) => Self::ModuleNotFound(m),
            oci::Error::Unauthorized(m) => Self::Unauthorized(m),
            oci::Error::DigestMismatch(m) => Self::DigestMismatch(m),
            oci::Error::SignatureInvalid(m) => Self::SignatureInvalid(m),
            oci::Error::FetchFailed(m) => Self::FetchFailed(m),
        }
    }
}

/// A module's bytes, and where they came from when the source names a moving target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleBytes {
    pub bytes: Vec<u8>,
    /// For `oci`: the reference pinned to the manifest digest it resolved to.
    pub resolved: Option<String>,
}

/// Where a host may load modules from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    /// `module.path`: only in `weft dev`, where the host and the files are the developer's.
    pub allow_path: bool,
}

/// The module bytes for `spec`, decompressed when gzip, verified against `spec.sha256` when it is set.
pub async fn fetch(
    client: &kube::Client,
    spec: &PluginSpec,
    sources: Sources,
    registries: &OciConfig,
) -> Result<ModuleBytes, FetchError> {
    if spec.module.oci.is_none() && !registries.required_keys.is_empty() {
        return Err(FetchError::SignatureInvalid(
            "this host requires signed modules (--signature-key), and only spec.module.oci modules can be signed"
                .into(),
        ));
    }
    let mut resolved = None;
    let bytes = match &spec.module {
        ModuleSource { oci: Some(module), config_map: None, url: None, path: None } => {
            let pulled = oci::source::fetch(client, module, registries).await?;
            resolved = Some(pulled.resolved.to_string());
            pulled.bytes
        }
        ModuleSource { config_map: Some(cm), url: None, path: None, oci: None } => {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), &cm.namespace);
            let found = api
                .get_opt(&cm.name)
                .await
                .map_err(|e| FetchError::FetchFailed(format!("reading ConfigMap {}/{}: {e}", cm.namespace, cm.name)))?;
            let found = found.ok_or_else(|| {
                FetchError::ModuleNotFound(format!("ConfigMap {}/{} does not exist", cm.namespace, cm.name))
            })?;
            let binary = found.binary_data.and_then(|mut data| data.remove(&cm.key));
            binary.map(|b| b.0).ok_or_else(|| {
                FetchError::ModuleNotFound(format!(
                    "ConfigMap {}/{} has no binaryData key {:?}",
                    cm.namespace, cm.name, cm.key
                ))
            })?
        }
        ModuleSource { path: Some(path), config_map: None, url: None, oci: None } => {
            if !sources.allow_path {
                return Err(FetchError::InvalidSpec("module.path is only allowed in weft dev".into()));
            }
            tokio::fs::read(path).await.map_err(|e| FetchError::FetchFailed(format!("reading {path}: {e}")))?
        }
        ModuleSource { url: Some(url), config_map: None, path: None, oci: None } => {
            if spec.sha256.is_none() {
                return Err(FetchError::InvalidSpec("module.url needs sha256".into()));
            }
            download(url).await?
        }
        _ => return Err(FetchError::InvalidSpec("module needs exactly one of configMap, url, oci or path".into())),
    };
    let bytes = crate::gzip::unpack_fetched(bytes, spec.sha256.clone()).await?;
    Ok(ModuleBytes { bytes, resolved })
}

/// The largest module a URL may serve.
const MAX_DOWNLOAD: usize = crate::gzip::MAX_MODULE_BYTES;
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// GETs a module over HTTPS (or plain HTTP: `sha256` is what vouches for the bytes), verifying
/// servers with the platform's trust store.
async fn download(url: &str) -> Result<Vec<u8>, FetchError> {
    let failed = |message: String| FetchError::FetchFailed(format!("downloading {url}: {message}"));
    let uri: http::Uri = url.parse().map_err(|e| FetchError::InvalidSpec(format!("module.url: {e}")))?;
    let tls = rustls::ClientConfig::with_platform_verifier().map_err(|e| failed(e.to_string()))?;
    let connector =
        hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let fetch = async {
        let response = client.get(uri).await.map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("HTTP {}", response.status())));
        }
        let body = Limited::new(response.into_body(), MAX_DOWNLOAD)
            .collect()
            .await
            .map_err(|e| failed(format!("{e} (the limit is {MAX_DOWNLOAD} bytes)")))?;
        Ok(body.to_bytes().to_vec())
    };
    tokio::time::timeout(DOWNLOAD_TIMEOUT, fetch)
        .await
        .map_err(|_| failed(format!("no answer within {DOWNLOAD_TIMEOUT:?}")))?
}
