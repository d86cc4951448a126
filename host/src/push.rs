//! `weft push FILE REFERENCE`: check a plugin the way the host would, then push it as an OCI
//! artifact named after what its `describe` says.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::oci::push::{Artifact, push_module, world_of};
use crate::oci::{self, OciConfig, Reference, RegistryClient};
use crate::runtime::{LoadError, ModuleKind, Runtime, RuntimeConfig};

/// What `weft push` was asked for.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub file: PathBuf,
    pub reference: String,
    /// Plain HTTP to the reference's registry.
    pub insecure: bool,
    /// A Docker config file with credentials (default `~/.docker/config.json`).
    pub authfile: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a plugin this host would run.
    #[error("{path} is not a usable plugin: {source}")]
    NotAPlugin {
        path: String,
        #[source]
        source: LoadError,
    },
    /// The reference, credentials or registry failed.
    #[error(transparent)]
    Registry(#[from] oci::Error),
    /// The wasm or async runtime could not start.
    #[error("cannot start: {0}")]
    Runtime(String),
}

/// A module checked and described, ready to push.
#[derive(Debug)]
pub struct Checked {
    bytes: Bytes,
    artifact: Artifact,
}

/// Loads `file` with `runtime` (compiling it: this blocks) and describes the artifact.
pub fn prepare(runtime: &Runtime, file: &Path) -> Result<Checked, PushError> {
    let path = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|source| PushError::Read { path: path.clone(), source })?;
    let module = runtime.load(&bytes).map_err(|source| PushError::NotAPlugin { path, source })?;
    let description = module.description();
    let (os, (imports, exports)) = match module.kind() {
        ModuleKind::Component => ("wasip2", world_of(&bytes)),
        ModuleKind::CoreModule => ("wasip1", (Vec::new(), Vec::new())),
    };
    let artifact = Artifact {
        name: description.name.clone(),
        version: description.version.clone(),
        file_name: file.file_name().map_or_else(|| "plugin.wasm".into(), |n| n.to_string_lossy().into_owned()),
        created: created(),
        os,
        imports,
        exports,
    };
    Ok(Checked { bytes: Bytes::from(bytes), artifact })
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The manifest digest.
    pub digest: String,
    /// The reference pinned to it.
    pub pinned: String,
    /// `name version` from `describe`.
    pub summary: String,
}

/// `weft push`: checks the file (compiling it, which blocks) and pushes it on a runtime of its own.
pub fn run(options: &PushOptions) -> Result<Pushed, PushError> {
    let reference: Reference = options.reference.parse()?;
    let runtime = Runtime::new(RuntimeConfig::default()).map_err(|e| PushError::Runtime(e.to_string()))?;
    let checked = prepare(&runtime, &options.file)?;
    let summary = checked.summary();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PushError::Runtime(e.to_string()))?;
    let digest = tokio.block_on(push(checked, options))?;
    Ok(Pushed { pinned: reference.pinned(&digest).to_string(), digest, summary })
}

/// Pushes a checked module and returns the manifest digest.
pub async fn push(checked: Checked, options: &PushOptions) -> Result<String, PushError> {
    let reference: Reference = options.reference.parse()?;
    let credentials = oci::credentials_from_file(options.authfile.as_deref(), &reference.registry)?;
    let mut config = OciConfig::default();
    if options.insecure {
        config.insecure.insert(reference.registry.clone());
    }
    let client = RegistryClient::new(&reference.registry, reference.endpoint(), credentials, &config)?;
    Ok(push_module(&client, &reference, checked.bytes, &checked.artifact).await?)
}

impl Checked {
    /// `name version` from `describe`.
    pub fn summary(&self) -> String {
        format!("{} {}", self.artifact.name, self.artifact.version)
    }
}

/// Now, or `SOURCE_DATE_EPOCH` for a reproducible artifact.
fn created() -> String {
    let at = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or_else(jiff::Timestamp::now);
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
