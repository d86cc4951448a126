//! The `Plugin` custom resource (`plugins.weft.dev/v1alpha1`, cluster-scoped): how admins install,
//! configure and grant a reconciler, and how the host reports on it.

use std::time::Duration;

use kube::CustomResource;
use kube::core::crd::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runtime::{Limits, Rule};

/// A reconciler plugin the host should run.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "weft.dev",
    version = "v1alpha1",
    kind = "Plugin",
    plural = "plugins",
    status = "PluginStatus",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.version"}"#,
    printcolumn = r#"{"name":"Digest","type":"string","jsonPath":".status.moduleDigest"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PluginSpec {
    /// Where the WebAssembly module comes from.
    pub module: ModuleSource,
    /// Expected sha256 of the module (hex); required for `url`, checked for every source. For a
    /// gzip-compressed module either digest is accepted: of the bytes as stored, or of the
    /// decompressed module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Free-form configuration handed to every call of the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form")]
    pub config: Option<serde_json::Value>,
    /// API access granted to the plugin. It must cover what the plugin declares.
    #[serde(default)]
    pub permissions: Vec<Rule>,
    #[serde(default)]
    pub limits: PluginLimits,
    /// Watch and reconcile only in these namespaces (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Stop the plugin without deleting it.
    #[serde(default)]
    pub suspend: bool,
    /// Send the plugin's writes (create, apply, patch, patch status, delete, Events) as this
    /// ServiceAccount, by impersonation, so that the API server enforces its RBAC. Reads still
    /// come from the host's caches, limited by `permissions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountRef>,
}

/// A ServiceAccount, by namespace and name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct ServiceAccountRef {
    pub namespace: String,
    pub name: String,
}

impl ServiceAccountRef {
    /// The user name the API server knows the ServiceAccount by.
    pub fn user(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// Exactly one of `configMap`, `url`, `oci` or `path`. The module may be gzip-compressed from
/// any of them (recognised by its magic bytes); it may decompress to at most 64 MiB.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModuleSource {
    /// An artifact in an OCI registry (pushed with `weft push`, oras, or any tool that writes
    /// one wasm layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<OciModule>,
    /// A key of a ConfigMap (`binaryData`, or `data` holding base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapModule>,
    /// An HTTPS (or HTTP) URL; `sha256` is required and is what vouches for the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A file on the host's filesystem; `weft dev` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A module in an OCI registry.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OciModule {
    /// `registry/repository:tag` or `registry/repository@sha256:<hex>`. A tag is resolved to a
    /// digest when the Plugin changes (a new generation), not when the tag moves.
    pub reference: String,
    /// A `kubernetes.io/dockerconfigjson` Secret with credentials for the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<SecretReference>,
    /// Require a cosign signature on the module's manifest digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureRequirement>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct SecretReference {
    pub namespace: String,
    pub name: String,
}

/// Whose signature a module must carry.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureRequirement {
    /// The signer's ECDSA P-256 public key as PEM (`cosign.pub`).
    pub public_key: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct ConfigMapModule {
    pub namespace: String,
    pub name: String,
    pub key: String,
}

/// Per-plugin limits; unset fields take the host's defaults.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginLimits {
    /// Memory per call, as a quantity (`64Mi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Wall-clock time per call (`500ms`, `10s`, `1m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Reconciles of this plugin running at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Fuel per call (roughly, WebAssembly instructions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
}

/// What the host reports about a plugin.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginStatus {
    #[serde(default)]
    pub conditions: Vec<PluginCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// sha256 of the module that is running (of the decompressed module, when it was stored
    /// gzip-compressed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_digest: Option<String>,
    /// For an `oci` module: the reference pinned to the manifest digest it resolved to
    /// (`registry/repository@sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_reference: Option<String>,
    /// The running plugin's name and version, from `describe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Resources watched for this plugin (`plural.group/version`).
    #[serde(default)]
    pub watched: Vec<String>,
    #[serde(default)]
    pub reconciles: u64,
    #[serde(default)]
    pub errors: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The host replica running the plugin (its identity), when the host has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A condition in the usual Kubernetes shape.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginCondition {
    /// `Ready`, `Loaded`, `Watching` or `Idle`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

fn free_form(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// The CRD as YAML, as `weft crd` prints it and `deploy/crds/` holds it.
pub fn crd_yaml() -> String {
    serde_saphyr::to_string(&Plugin::crd()).expect("a CRD always serializes")
}

impl PluginLimits {
    /// These limits over the host's defaults (call limits and concurrency); errors name the field
    /// that does not parse.
    pub fn resolve(&self, defaults: &Limits, default_concurrency: usize) -> Result<(Limits, usize), String> {
        let mut limits = defaults.clone();
        if let Some(memory) = &self.memory {
            limits.memory_bytes =
                parse_quantity(memory).ok_or_else(|| format!("limits.memory {memory:?} is not a quantity"))?;
        }
        if let Some(timeout) = &self.timeout {
            limits.timeout =
                parse_duration(timeout).ok_or_else(|| format!("limits.timeout {timeout:?} is not a duration"))?;
        }
        if self.fuel.is_some() {
            limits.fuel = self.fuel;
        }
        let concurrency = self.concurrency.map_or(default_concurrency, |c| c.max(1) as usize);
        Ok((limits, concurrency))
    }
}

/// `64Mi`, `1Gi`, `500k`, `1048576`.
fn parse_quantity(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: usize = number.parse().ok()?;
    let factor: usize = match unit {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// `250ms`, `10s`, `2m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => Some(Duration::from_secs(number * 60)),
        _ => None,
    }
}
