//! OCI manifests, indexes and descriptors, and the media types of wasm artifacts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Every manifest type a pull understands. Registries answer `MANIFEST_UNKNOWN` for an OCI
/// manifest that the request does not accept, and may convert Docker ones to schema 1.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// The config of the CNCF TAG Runtime wasm artifact layout, which `weft push` writes.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";

/// Layers that hold a module: the CNCF layout's, and the one Kubewarden and older Spin push.
pub const WASM_LAYER_MEDIA_TYPES: [&str; 2] = ["application/wasm", "application/vnd.wasm.content.layer.v1+wasm"];

/// `sha256:<hex>` of `bytes`, the form OCI digests take.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::runtime::Digest::of(bytes))
}

/// A manifest or an index: which one is told by `mediaType` (or the response's content type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Descriptor>,
    /// An index's entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    pub fn is_index(&self, content_type: Option<&str>) -> bool {
        let media_type = self.media_type.as_deref().or(content_type).unwrap_or_default();
        media_type.starts_with(OCI_INDEX) || media_type.starts_with(DOCKER_LIST)
    }
}

/// What a manifest says about a blob (or an index about a manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_told_by_its_media_type_or_the_content_type() {
        let index: Manifest = serde_json::from_str(r#"{"schemaVersion":2,"manifests":[]}"#).expect("parses");
        assert!(index.is_index(Some(OCI_INDEX)));
        assert!(!index.is_index(Some(OCI_MANIFEST)));
        let typed = Manifest { media_type: Some(DOCKER_LIST.into()), ..Manifest::default() };
        assert!(typed.is_index(None));
        assert!(MANIFEST_ACCEPT.contains("application/vnd.docker.distribution.manifest.v2+json"));
    }
}
