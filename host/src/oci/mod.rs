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
mod config;
mod error;
mod manifest;
pub mod pull;
pub mod push;
mod reference;
pub mod signature;
pub mod source;

pub use auth::{Credentials, credentials_for, credentials_from_file};
pub use client::RegistryClient;
pub use config::{Limits, OciConfig};
pub use error::Error;
pub use manifest::{CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPES, digest_of};
pub use reference::Reference;
pub use signature::{CosignKey, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, signature_tag};

pub type Result<T, E = Error> = std::result::Result<T, E>;
