//! Cosign key signatures (cosign v2's tag layout, or v3 with `--new-bundle-format=false`): the
//! tag `sha256-<hex>.sig` beside the artifact holds a manifest whose simple-signing layers are
//! payloads naming the signed manifest digest, each with an ECDSA P-256 signature over the
//! payload's bytes in the `dev.cosignproject.cosign/signature` annotation.
//!
//! The payload's `docker-reference` is not checked (cosign's spec says it is ignored: registries
//! are renamed and mirrored); its `docker-manifest-digest` must be the digest being verified, so
//! a signature copied onto another artifact verifies nothing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};

use super::client::RegistryClient;
use super::pull::{blob, manifest};
use super::{Error, Reference, Result, digest_of};

pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const PAYLOAD_TYPE: &str = "cosign container image signature";
/// A payload is a few hundred bytes; anything much larger is not one.
const MAX_PAYLOAD: usize = 64 << 10;
/// Signature layers looked at per artifact.
const MAX_SIGNATURES: usize = 32;

/// The DER SubjectPublicKeyInfo header of every uncompressed P-256 key (id-ecPublicKey,
/// prime256v1); the 65-byte point follows it.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The tag that holds the signatures of the manifest with `digest`.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replace(':', "-"))
}

/// A cosign public key (`cosign.pub`): ECDSA P-256.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignKey {
    /// `04 ‖ X ‖ Y`.
    point: Vec<u8>,
}

impl std::fmt::Debug for CosignKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CosignKey({})", self.fingerprint())
    }
}

impl CosignKey {
    /// Reads a `-----BEGIN PUBLIC KEY-----` PEM block.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let invalid = |why: &str| Error::Invalid(format!("the signature public key {why}"));
        let body: String = pem
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != "-----BEGIN PUBLIC KEY-----")
            .skip(1)
            .take_while(|l| *l != "-----END PUBLIC KEY-----")
            .collect();
        if body.is_empty() {
            return Err(invalid("is not a PEM \"PUBLIC KEY\" block"));
        }
        let der = STANDARD.decode(body).map_err(|_| invalid("is not valid base64 PEM"))?;
        match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
            Some(point) if point.len() == 65 && point[0] == 0x04 => Ok(Self::from_point(point)),
            _ => Err(invalid("is not an ECDSA P-256 key (cosign generate-key-pair makes one)")),
        }
    }

    /// A key from its uncompressed point (`04 ‖ X ‖ Y`), as `ring` gives it.
    pub fn from_point(point: &[u8]) -> Self {
        Self { point: point.to_vec() }
    }

    /// The key as PEM, as `cosign.pub` holds it.
    pub fn to_pem(&self) -> String {
        let der = [&P256_SPKI_PREFIX[..], &self.point].concat();
        let encoded = STANDARD.encode(der);
        let lines: Vec<&str> =
            encoded.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
    }

    /// A short name for messages: the start of the sha256 of the key.
    pub fn fingerprint(&self) -> String {
        digest_of(&self.point)[7..19].to_owned()
    }

    /// Whether `signature` (base64 DER, as in the annotation) signs `payload` with this key.
    pub fn verifies(&self, payload: &[u8], signature: &str) -> bool {
        let Ok(der) = STANDARD.decode(signature.trim()) else { return false };
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.point).verify(payload, &der).is_ok()
    }
}

/// The simple-signing payload cosign signs for `digest` (what a signer signs; tests use it).
pub fn payload(reference: &Reference, digest: &str) -> Vec<u8> {
    let identity = format!("{}/{}", reference.registry, reference.repository);
    let payload = serde_json::json!({
        "critical": {
            "identity": { "docker-reference": identity },
            "image": { "docker-manifest-digest": digest },
            "type": PAYLOAD_TYPE,
        },
        "optional": null,
    });
    serde_json::to_vec(&payload).expect("JSON serializes")
}

/// Whether `payload` is a simple-signing payload for `digest`.
fn names(payload: &[u8], digest: &str) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(payload) else { return false };
    let critical = &value["critical"];
    critical["type"] == PAYLOAD_TYPE && critical["image"]["docker-manifest-digest"] == digest
}

/// Succeeds when, for each of `keys`, some signature of `digest` in `reference`'s repository is
/// by that key and names that digest.
pub(super) async fn verify(
    client: &RegistryClient,
    reference: &Reference,
    digest: &str,
    keys: &[CosignKey],
) -> Result<()> {
    let signatures = reference.at_tag(&signature_tag(digest));
    let (_, found) = match manifest(client, &signatures).await {
        Err(Error::ModuleNotFound(_)) => {
            return Err(Error::SignatureInvalid(format!(
                "{} is not signed: there is no {signatures}",
                reference.pinned(digest)
            )));
        }
        other => other?,
    };
    let mut unmet: Vec<&CosignKey> = keys.iter().collect();
    let layers = found.layers.iter().filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE).take(MAX_SIGNATURES);
    for layer in layers {
        let Some(signature) = layer.annotations.get(SIGNATURE_ANNOTATION) else { continue };
        let payload = blob(client, &signatures, layer, MAX_PAYLOAD).await?;
        if !names(&payload, digest) {
            tracing::debug!(layer = %layer.digest, "a signature payload for another digest");
            continue;
        }
        unmet.retain(|key| !key.verifies(&payload, signature));
        if unmet.is_empty() {
            return Ok(());
        }
    }
    let missing: Vec<String> = unmet.iter().map(|k| k.fingerprint()).collect();
    Err(Error::SignatureInvalid(format!(
        "{} has no valid signature by the key {} in {signatures}",
        reference.pinned(digest),
        missing.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sigstore-rs's cosign test vector: a real cosign key, payload and signature.
    const KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu
OSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==
-----END PUBLIC KEY-----";
    const PAYLOAD: &str = r#"{"critical":{"identity":{"docker-reference":"registry-testing.svc.lan/busybox"},"image":{"docker-manifest-digest":"sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"},"type":"cosign container image signature"},"optional":null}"#;
    const SIGNATURE: &str =
        "MEUCIQD6q/COgzOyW0YH1Dk+CCYSt4uAhm3FDHUwvPI55zwnlwIgE0ZK58ZOWpZw8YVmBapJhBqCfdPekIknimuO0xH8Jh8=";

    #[test]
    fn a_signature_made_by_cosign_verifies_with_its_key_only() {
        let key = CosignKey::from_pem(KEY).expect("a P-256 key");
        assert!(key.verifies(PAYLOAD.as_bytes(), SIGNATURE));
        assert!(!key.verifies(PAYLOAD.replace("busybox", "busyb0x").as_bytes(), SIGNATURE), "payload changed");
        let other = CosignKey::from_point(&[&[4u8][..], &[7u8; 64]].concat());
        assert!(!other.verifies(PAYLOAD.as_bytes(), SIGNATURE), "another key");
        assert!(names(PAYLOAD.as_bytes(), "sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"));
        assert!(!names(PAYLOAD.as_bytes(), "sha256:0000"), "another digest");
    }

    #[test]
    fn a_key_reads_back_from_the_pem_it_writes_and_other_keys_are_refused() {
        let key = CosignKey::from_pem(KEY).expect("a P-256 key");
        assert_eq!(CosignKey::from_pem(&key.to_pem()).expect("round trip"), key);
        assert_eq!(key.fingerprint().len(), 12);
        let error = CosignKey::from_pem("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----")
            .expect_err("not P-256");
        assert!(error.to_string().contains("not an ECDSA P-256 key"), "{error}");
        assert!(CosignKey::from_pem("ssh-ed25519 AAAA").is_err());
    }

    #[test]
    fn signatures_live_under_the_digest_tag() {
        assert_eq!(signature_tag("sha256:abc"), "sha256-abc.sig");
    }
}
