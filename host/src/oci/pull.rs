//! Pulling a module: resolve the reference to a manifest digest, check signatures on that
//! digest, then download the one wasm layer, each step verified against its digest.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{Method, StatusCode};

use super::blob_cache::BlobCache;
use super::client::{RegistryClient, Request};
use super::manifest::{Descriptor, MANIFEST_ACCEPT, Manifest, WASM_LAYER_MEDIA_TYPES};
use super::signature::{self, CosignKey};
use super::{Error, Reference, Result, digest_of};

/// A module as pulled.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The reference pinned to the manifest digest it resolved to: what runs, exactly.
    pub resolved: Reference,
    pub bytes: Vec<u8>,
    /// The wasm layer's descriptor.
    pub layer: Descriptor,
    /// The manifest's annotations (`org.opencontainers.image.version`, …).
    pub annotations: BTreeMap<String, String>,
}

/// Pulls `reference`, requiring a signature by each of `keys` on its manifest digest, all within
/// the client's deadline. With a cache, a layer already pulled is read from it.
pub async fn pull(client: &RegistryClient, reference: &Reference, keys: &[CosignKey]) -> Result<Pulled> {
    pull_cached(client, reference, keys, None).await
}

pub(super) async fn pull_cached(
    client: &RegistryClient,
    reference: &Reference,
    keys: &[CosignKey],
    cache: Option<&BlobCache>,
) -> Result<Pulled> {
    let deadline = client.limits().deadline;
    let pull = async {
        let (digest, top) = manifest(client, reference).await?;
        // A signature covers what the reference resolves to: the index, when it is one.
        let manifest = if top.is_index(None) {
            let entry = wasm_entry(&top, reference)?;
            manifest(client, &reference.pinned(&entry.digest)).await?.1
        } else {
            top
        };
        if !keys.is_empty() {
            signature::verify(client, reference, &digest, keys).await?;
        }
        let layer = wasm_layer(&manifest, reference)?.clone();
        let bytes = match cache.and_then(|cache| cache.get(&layer.digest)) {
            Some(bytes) => bytes,
            None => {
                let bytes = blob(client, reference, &layer, client.limits().layer_bytes).await?.to_vec();
                if let Some(cache) = cache {
                    cache.put(&layer.digest, &bytes);
                }
                bytes
            }
        };
        Ok(Pulled { resolved: reference.pinned(&digest), bytes, layer, annotations: manifest.annotations })
    };
    tokio::time::timeout(deadline, pull)
        .await
        .map_err(|_| Error::FetchFailed(format!("pulling {reference} took longer than {deadline:?}")))?
}

/// The manifest (or index) `reference` names and its digest, checked against the digest asked
/// for and the one the registry names.
pub(super) async fn manifest(client: &RegistryClient, reference: &Reference) -> Result<(String, Manifest)> {
    let mut request = Request::new(
        Method::GET,
        format!("/v2/{}/manifests/{}", reference.repository, reference.target()),
        pull_scope(reference),
    );
    request.accept = Some(MANIFEST_ACCEPT);
    request.max_bytes = client.limits().manifest_bytes;
    let response = client.send(&request).await?;
    if response.status == StatusCode::NOT_FOUND {
        return Err(Error::ModuleNotFound(format!("{reference} is not in the registry: {}", response.explain())));
    }
    if !response.status.is_success() {
        return Err(Error::FetchFailed(format!("GET {}: {}", response.url, response.explain())));
    }
    let digest = digest_of(&response.body);
    if let Some(pinned) = &reference.digest
        && *pinned != digest
    {
        return Err(Error::DigestMismatch(format!("the manifest of {reference} has digest {digest}")));
    }
    if let Some(named) = response.header("docker-content-digest")
        && named != digest
    {
        return Err(Error::DigestMismatch(format!(
            "the registry says the manifest of {reference} is {named}, but its bytes have digest {digest}"
        )));
    }
    let mut manifest: Manifest = serde_json::from_slice(&response.body)
        .map_err(|e| Error::FetchFailed(format!("{reference}: the manifest is not OCI JSON: {e}")))?;
    if manifest.media_type.is_none() {
        manifest.media_type = response.header("content-type").map(str::to_owned);
    }
    Ok((digest, manifest))
}

/// A blob, checked against its descriptor's size and digest; larger than `max` is refused.
pub(super) async fn blob(
    client: &RegistryClient,
    reference: &Reference,
    descriptor: &Descriptor,
    max: usize,
) -> Result<Bytes> {
    let size = usize::try_from(descriptor.size).unwrap_or(usize::MAX);
    if size > max {
        return Err(Error::FetchFailed(format!(
            "{reference}: layer {} is {size} bytes, more than the {max} allowed",
            descriptor.digest
        )));
    }
    let mut request = Request::new(
        Method::GET,
        format!("/v2/{}/blobs/{}", reference.repository, descriptor.digest),
        pull_scope(reference),
    );
    // One byte over the size shows a body that is too long without reading all of it.
    request.max_bytes = size + 1;
    let response = match client.send(&request).await {
        Err(Error::FetchFailed(why)) if why.contains("bytes allowed") => {
            return Err(Error::DigestMismatch(format!(
                "{reference}: blob {} is longer than its {size} bytes",
                descriptor.digest
            )));
        }
        other => other?,
    };
    if response.status == StatusCode::NOT_FOUND {
        return Err(Error::ModuleNotFound(format!(
            "{reference}: blob {} is not in the registry: {}",
            descriptor.digest,
            response.explain()
        )));
    }
    if !response.status.is_success() {
        return Err(Error::FetchFailed(format!("GET {}: {}", response.url, response.explain())));
    }
    let actual = digest_of(&response.body);
    if response.body.len() != size || actual != descriptor.digest {
        return Err(Error::DigestMismatch(format!(
            "{reference}: blob {} arrived as {} bytes with digest {actual}",
            descriptor.digest,
            response.body.len()
        )));
    }
    Ok(response.body)
}

pub(super) fn pull_scope(reference: &Reference) -> String {
    format!("repository:{}:pull", reference.repository)
}

/// The index entry for wasm: the one whose platform is `wasm`, else the only one.
fn wasm_entry<'a>(index: &'a Manifest, reference: &Reference) -> Result<&'a Descriptor> {
    let wasm = index.manifests.iter().find(|d| d.platform.as_ref().is_some_and(|p| p.architecture == "wasm"));
    match (wasm, index.manifests.as_slice()) {
        (Some(entry), _) | (None, [entry]) => Ok(entry),
        _ => Err(Error::ModuleNotFound(format!("{reference} is an index without a wasm entry"))),
    }
}

/// The manifest's one module layer.
fn wasm_layer<'a>(manifest: &'a Manifest, reference: &Reference) -> Result<&'a Descriptor> {
    let layers: Vec<&Descriptor> =
        manifest.layers.iter().filter(|l| WASM_LAYER_MEDIA_TYPES.contains(&l.media_type.as_str())).collect();
    match layers.as_slice() {
        [layer] => Ok(layer),
        [] => {
            let found: Vec<&str> = manifest.layers.iter().map(|l| l.media_type.as_str()).collect();
            Err(Error::ModuleNotFound(format!(
                "{reference} has no wasm layer ({} or {}); its layers are [{}]",
                WASM_LAYER_MEDIA_TYPES[0],
                WASM_LAYER_MEDIA_TYPES[1],
                found.join(", ")
            )))
        }
        more => Err(Error::ModuleNotFound(format!("{reference} has {} wasm layers; a module has one", more.len()))),
    }
}
