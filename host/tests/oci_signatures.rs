//! Cosign key signatures: a Plugin (or the host) that requires one runs only signed modules, and
//! an unsigned or wrongly signed new version leaves the old one serving.

mod common;

use std::process::Command;

use base64::Engine as _;
use common::processes::variant;
use common::registry::{Auth, Registry, greeted, hello_spec, live_for};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;
use weft::oci::push::push_signature;
use weft::oci::signature::payload;
use weft::oci::{CosignKey, Reference};

/// A P-256 key pair, as `cosign generate-key-pair` makes.
struct Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Signer {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).expect("pair");
        Self { pair, rng }
    }

    fn key(&self) -> CosignKey {
        CosignKey::from_point(self.pair.public_key().as_ref())
    }

    /// Pushes `module` to `reference` and signs it; returns the manifest digest.
    async fn push_signed(&self, registry: &Registry, reference: &str, module: &[u8]) -> String {
        let digest = registry.push(reference, module).await;
        self.sign(registry, reference, &digest).await;
        digest
    }

    /// Signs `digest` in `reference`'s repository, as `cosign sign --key` does.
    async fn sign(&self, registry: &Registry, reference: &str, digest: &str) {
        self.sign_as(registry, reference, digest, digest).await;
    }

    /// Puts beside `digest` a signature whose payload names `named`.
    async fn sign_as(&self, registry: &Registry, reference: &str, digest: &str, named: &str) {
        let reference: Reference = reference.parse().expect("reference");
        let payload = payload(&reference, named);
        let signature = self.pair.sign(&self.rng, &payload).expect("signs");
        let signature = base64::engine::general_purpose::STANDARD.encode(signature.as_ref());
        push_signature(&registry.client(), &reference, digest, payload, &signature).await.expect("signature pushed");
    }
}

fn signed_by(reference: &str, key: &CosignKey) -> serde_json::Value {
    let mut spec = hello_spec(reference);
    spec["module"]["oci"]["signature"] = json!({ "publicKey": key.to_pem() });
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_requiring_a_signature_runs_signed_modules_and_keeps_the_old_one_otherwise() {
    let Some(registry) = Registry::start(Auth::Anonymous).await else { return };
    let (trusted, stranger) = (Signer::new(), Signer::new());
    let hello = common::example_bytes("hello");
    let v1 = registry.reference("signed/hello:v1");
    let d1 = trusted.push_signed(&registry, &v1, &hello).await;
    let unsigned = registry.reference("signed/hello:unsigned");
    registry.push(&unsigned, &variant(&hello, 1)).await;
    let forged = registry.reference("signed/hello:forged");
    stranger.push_signed(&registry, &forged, &variant(&hello, 2)).await;
    // v1's valid signature copied beside another artifact: it names v1's digest, not this one's.
    let replayed = registry.reference("signed/hello:replayed");
    let d4 = registry.push(&replayed, &variant(&hello, 3)).await;
    trusted.sign_as(&registry, &replayed, &d4, &d1).await;
    let key = trusted.key();

    let live = live_for(&registry, |_| {}).await;
    live.apply_plugin("hello", signed_by(&v1, &key)).await;
    live.wait_condition("hello", "Ready", "True", "Running").await;
    greeted(&live, "signed-v1").await;

    for (reference, expected) in [
        (&unsigned, "is not signed: there is no"),
        (&forged, &format!("no valid signature by the key {}", key.fingerprint())),
        (&replayed, "no valid signature by the key"),
    ] {
        live.apply_plugin("hello", signed_by(reference, &key)).await;
        let loaded = live.wait_condition("hello", "Loaded", "False", "SignatureInvalid").await;
        assert!(loaded.message.contains(expected), "{reference}: {}", loaded.message);
        assert!(loaded.message.contains("still running 0.1.0"), "{}", loaded.message);
        live.wait_condition("hello", "Ready", "True", "Running").await;
        let status = live.status("hello").await.expect("status");
        assert_eq!(status.resolved_reference, Some(registry.reference(&format!("signed/hello@{d1}"))));
        // Back to v1 so the next refusal is a change again.
        live.apply_plugin("hello", signed_by(&v1, &key)).await;
        live.wait_condition("hello", "Loaded", "True", "Loaded").await;
    }
    greeted(&live, "still-v1").await;
    live.stop().await;

    let pem = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(pem.path(), key.to_pem()).expect("key file");
    let check = |reference: &str| {
        Command::new(common::processes::weft_binary())
            .args(["check", &format!("oci://{reference}"), "--insecure-registry", &registry.addr, "--signature-key"])
            .arg(pem.path())
            .output()
            .expect("weft runs")
    };
    let verified = check(&v1);
    assert!(String::from_utf8_lossy(&verified.stdout).contains("verified: signed by"), "{verified:?}");
    let refused = check(&unsigned);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("SignatureInvalid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_wide_signature_key_refuses_unsigned_modules_and_other_sources() {
    let Some(registry) = Registry::start(Auth::Anonymous).await else { return };
    let signer = Signer::new();
    let hello = common::example_bytes("hello");
    let signed = registry.reference("policy/hello:signed");
    signer.push_signed(&registry, &signed, &hello).await;
    let unsigned = registry.reference("policy/hello:unsigned");
    registry.push(&unsigned, &variant(&hello, 5)).await;

    let key = signer.key();
    let live = live_for(&registry, |config| config.oci.required_keys = vec![key]).await;
    live.module_configmap("hello-module", "hello").await;
    live.apply_plugin("signed", hello_spec(&signed)).await;
    live.apply_plugin("unsigned", hello_spec(&unsigned)).await;
    let mut configmap = hello_spec(&signed);
    configmap["module"] =
        json!({ "configMap": { "namespace": "weft-system", "name": "hello-module", "key": "plugin.wasm" } });
    live.apply_plugin("configmap", configmap).await;

    live.wait_condition("signed", "Ready", "True", "Running").await;
    live.wait_condition("unsigned", "Ready", "False", "SignatureInvalid").await;
    let c = live.wait_condition("configmap", "Ready", "False", "SignatureInvalid").await;
    assert!(c.message.contains("only spec.module.oci modules can be signed"), "{}", c.message);
    assert_eq!(live.host.running_plugins(), ["signed"]);
    live.stop().await;
}
