//! Plugin modules in OCI registries: pulling them for `spec.module.oci`, checking cosign key
//! signatures, and pushing them with `weft push`.
//!
//! The entry points are [`source::fetch`] (what the host does for a Plugin), [`pull::pull`] and
//! [`push::push_module`]. One [`RegistryClient`] talks to one registry: it answers Bearer-token
//! and Basic challenges, follows redirects (never sending credentials to another host), retries
//! 429 and 5xx answers with backoff, and bounds every body and request.
//!
//! # Why a client of our own
//! A pull is four kinds of request (manifest, index hop, blob, the signature's manifest and blobs)
//! and a push three more. Written on the hyper and rustls stack the host already has, it brings no
//! new TLS stack or crypto provider, and its limits, retries and errors are the ones a Plugin's
//! status needs; `oci-client` would add reqwest and about two dozen crates and still lack
//! retries, a manifest size bound and a total deadline.
//!
//! # Trust
//! Every manifest is checked against the digest it was asked by (or the one the registry names)
//! and every blob against its descriptor, so a registry, proxy or redirect target can only make a
//! pull fail, not change what runs. Signatures are checked on the resolved manifest digest before
//! the module is downloaded, so nothing unsigned is ever compiled.

mod auth;
mod blob_cache;
mod client;
mod error;
mod manifest;
pub mod pull;
pub mod push;
mod reference;
pub mod signature;
pub mod source;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

pub use auth::{Credentials, credentials_for, credentials_from_file};
pub use client::RegistryClient;
pub use error::Error;
pub use manifest::{CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPES};
pub use reference::Reference;
pub use signature::{CosignKey, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, signature_tag};

use crate::backoff::Backoff;

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
}

/// `sha256:<hex>` of `bytes`, the form OCI digests take.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::runtime::Digest::of(bytes))
}
