//! Pushing a module as an OCI artifact in the CNCF TAG Runtime wasm layout (config
//! `application/vnd.wasm.config.v0+json`, one `application/wasm` layer), and pushing a cosign
//! signature for one.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{Method, StatusCode};

use super::client::{RegistryClient, Request};
use super::manifest::{CONFIG_MEDIA_TYPE, Descriptor, Manifest, OCI_MANIFEST, WASM_LAYER_MEDIA_TYPES};
use super::signature::{SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, signature_tag};
use super::{Error, Reference, Result, digest_of};

/// What the artifact says about the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// `org.opencontainers.image.title`: the plugin's name from `describe`.
    pub name: String,
    /// `org.opencontainers.image.version`, from `describe`.
    pub version: String,
    /// The layer's title: the file name.
    pub file_name: String,
    /// `org.opencontainers.image.created` and the config's `created` (RFC 3339).
    pub created: String,
    /// `wasip2` for a component, `wasip1` for a core module.
    pub os: &'static str,
    /// A component's world: its imports and exports by name.
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// The config blob of the CNCF layout.
fn config(artifact: &Artifact, layer_digest: &str) -> Vec<u8> {
    let mut config = serde_json::json!({
        "created": artifact.created,
        "architecture": "wasm",
        "os": artifact.os,
        "layerDigests": [layer_digest],
    });
    if artifact.os == "wasip2" {
        config["component"] = serde_json::json!({ "exports": artifact.exports, "imports": artifact.imports });
    }
    serde_json::to_vec(&config).expect("JSON serializes")
}

/// Pushes `module` to `reference` (its tag, or its digest) and returns the manifest digest.
pub async fn push_module(
    client: &RegistryClient,
    reference: &Reference,
    module: Bytes,
    artifact: &Artifact,
) -> Result<String> {
    let deadline = client.limits().deadline;
    let push = async {
        let layer_digest = digest_of(&module);
        let config = config(artifact, &layer_digest);
        let mut layer = push_blob(client, reference, module, WASM_LAYER_MEDIA_TYPES[0]).await?;
        layer.annotations.insert("org.opencontainers.image.title".into(), artifact.file_name.clone());
        let config = push_blob(client, reference, Bytes::from(config), CONFIG_MEDIA_TYPE).await?;
        let annotations = BTreeMap::from([
            ("org.opencontainers.image.title".to_owned(), artifact.name.clone()),
            ("org.opencontainers.image.version".to_owned(), artifact.version.clone()),
            ("org.opencontainers.image.created".to_owned(), artifact.created.clone()),
        ]);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: Some(CONFIG_MEDIA_TYPE.into()),
            config: Some(config),
            layers: vec![layer],
            manifests: Vec::new(),
            annotations,
        };
        push_manifest(client, reference, &manifest).await
    };
    tokio::time::timeout(deadline, push)
        .await
        .map_err(|_| Error::FetchFailed(format!("pushing to {reference} took longer than {deadline:?}")))?
}

/// Pushes a cosign signature: `signature` (base64 DER) over `payload`, which names `digest`, as
/// the `sha256-<hex>.sig` tag beside it. Replaces any signatures there.
pub async fn push_signature(
    client: &RegistryClient,
    reference: &Reference,
    digest: &str,
    payload: Vec<u8>,
    signature: &str,
) -> Result<String> {
    let mut layer = push_blob(client, reference, Bytes::from(payload), SIMPLE_SIGNING_MEDIA_TYPE).await?;
    layer.annotations.insert(SIGNATURE_ANNOTATION.into(), signature.to_owned());
    // Verifiers ignore the config; an empty one is what sigstore-rs writes.
    let config =
        push_blob(client, reference, Bytes::from_static(b"{}"), "application/vnd.oci.image.config.v1+json").await?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        config: Some(config),
        layers: vec![layer],
        ..Manifest::default()
    };
    push_manifest(client, &reference.at_tag(&signature_tag(digest)), &manifest).await
}

fn push_scope(reference: &Reference) -> String {
    format!("repository:{}:pull,push", reference.repository)
}

/// Uploads a blob unless the repository has it: POST for an upload location, then one PUT with
/// the bytes (single-request uploads are not honoured by every registry).
pub async fn push_blob(
    client: &RegistryClient,
    reference: &Reference,
    bytes: Bytes,
    media_type: &str,
) -> Result<Descriptor> {
    let digest = digest_of(&bytes);
    let descriptor = Descriptor {
        media_type: media_type.to_owned(),
        digest: digest.clone(),
        size: bytes.len() as u64,
        annotations: BTreeMap::new(),
        platform: None,
    };
    let scope = push_scope(reference);
    let repository = &reference.repository;
    let head =
        client.send(&Request::new(Method::HEAD, format!("/v2/{repository}/blobs/{digest}"), scope.clone())).await?;
    if head.status == StatusCode::OK {
        return Ok(descriptor);
    }
    let start =
        client.send(&Request::new(Method::POST, format!("/v2/{repository}/blobs/uploads/"), scope.clone())).await?;
    if start.status != StatusCode::ACCEPTED {
        return Err(failed(reference, "starting an upload", &start.explain()));
    }
    let location = start.header("location").ok_or_else(|| failed(reference, "starting an upload", "no Location"))?;
    let mut target = client.resolve(&start.url, location)?;
    target.query_pairs_mut().append_pair("digest", &digest);
    let mut put = Request::new(Method::PUT, target.to_string(), scope);
    // Without a content type, some registries read the body as a form and lose it.
    put.body = Some((bytes, "application/octet-stream"));
    let done = client.send(&put).await?;
    if done.status != StatusCode::CREATED {
        return Err(failed(reference, &format!("uploading blob {digest}"), &done.explain()));
    }
    Ok(descriptor)
}

/// PUTs `manifest` at `reference`'s tag (or digest) and returns its digest.
async fn push_manifest(client: &RegistryClient, reference: &Reference, manifest: &Manifest) -> Result<String> {
    let bytes = serde_json::to_vec(manifest).expect("JSON serializes");
    let digest = digest_of(&bytes);
    let path = format!("/v2/{}/manifests/{}", reference.repository, reference.target());
    let mut put = Request::new(Method::PUT, path, push_scope(reference));
    put.body = Some((Bytes::from(bytes), OCI_MANIFEST));
    let done = client.send(&put).await?;
    if done.status != StatusCode::CREATED {
        return Err(failed(reference, "pushing the manifest", &done.explain()));
    }
    Ok(digest)
}

fn failed(reference: &Reference, doing: &str, why: &str) -> Error {
    Error::FetchFailed(format!("{reference}: {doing}: {why}"))
}

/// What `weft push` describes from a component's bytes: its world's imports and exports.
pub fn world_of(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    match wit_component::decode(bytes) {
        Ok(wit_component::DecodedWasm::Component(resolve, world)) => {
            let world = &resolve.worlds[world];
            let imports = world.imports.keys().map(|key| resolve.name_world_key(key)).collect();
            let exports = world.exports.keys().map(|key| resolve.name_world_key(key)).collect();
            (imports, exports)
        }
        _ => (Vec::new(), Vec::new()),
    }
}
