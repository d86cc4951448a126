//! How the host reaches registries, what it requires of their modules, and the bounds on a pull.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{CosignKey, Error};
use crate::backoff::Backoff;

/// How the host talks to registries. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct OciConfig {
    /// `HOST:PORT`s reached over plain HTTP (`--insecure-registry`); every other registry over
    /// HTTPS verified against the platform's trust store.
    pub insecure: BTreeSet<String>,
    /// Keys every OCI module must be signed by (`--signature-key`); with any set, modules from
    /// other sources are refused, since they cannot carry a signature.
    pub required_keys: Vec<CosignKey>,
    /// Pulled module layers by digest, so a restart or another Plugin with the same module does
    /// not download it again.
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
}

/// Bounds on what one pull may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest manifest (or index) accepted.
    pub manifest_bytes: usize,
    /// Largest module layer accepted.
    pub layer_bytes: usize,
    /// One request, from sending it to the end of its body.
    pub request_timeout: Duration,
    /// A whole pull or push, signatures included.
    pub deadline: Duration,
    /// Tries of one request that fails to connect or gets 429 or 5xx.
    pub attempts: u32,
    /// Waits between those tries (a `Retry-After` up to `backoff.max` wins).
    pub backoff: Backoff,
    /// Redirects followed for one request.
    pub redirects: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            manifest_bytes: 4 << 20,
            layer_bytes: 64 << 20,
            request_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(120),
            attempts: 4,
            backoff: Backoff { base: Duration::from_millis(200), max: Duration::from_secs(10) },
            redirects: 5,
        }
    }
}

impl OciConfig {
    /// Whether `registry` (`HOST:PORT` as written in references) is reached over plain HTTP.
    pub fn is_insecure(&self, registry: &str) -> bool {
        self.insecure.contains(registry)
    }

    /// The configuration `--insecure-registry` and `--signature-key` ask for: plain HTTP to
    /// `insecure`, and a signature by the key in each PEM file of `key_files`.
    pub fn from_flags(insecure: &[String], key_files: &[PathBuf]) -> Result<Self, Error> {
        let mut config = Self { insecure: insecure.iter().cloned().collect(), ..Self::default() };
        for path in key_files {
            config.required_keys.push(read_key(path)?);
        }
        Ok(config)
    }
}

fn read_key(path: &Path) -> Result<CosignKey, Error> {
    let pem =
        std::fs::read_to_string(path).map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))?;
    CosignKey::from_pem(&pem).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}
