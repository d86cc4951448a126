//! The ServiceAccount tokens the emulator issues: JWTs with the claims kube-apiserver puts in
//! them, signed with HMAC-SHA256 under a key each emulator makes at start. Clients never check
//! the signature; the emulator checks it on every request that presents one.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::base64;

/// The issuer and default audience of kind and kubeadm clusters.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// A signing key.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self(key)
    }

    fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.0);
        let pad = |byte: u8| block.map(|b| b ^ byte);
        let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
        Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
    }

    /// `header.claims.signature`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "HS256", "kid": "weft-sim", "typ": "JWT"});
        let signing_input = format!(
            "{}.{}",
            base64::encode_url(header.to_string().as_bytes()),
            base64::encode_url(claims.to_string().as_bytes())
        );
        let signature = base64::encode_url(&self.mac(signing_input.as_bytes()));
        format!("{signing_input}.{signature}")
    }

    /// The claims of a token this key signed; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<Value> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (_, claims) = signing_input.split_once('.')?;
        let expected = base64::encode_url(&self.mac(signing_input.as_bytes()));
        // Not secret-grade constant time, but no early exit on the first differing byte either.
        let same = expected.len() == signature.len()
            && expected.bytes().zip(signature.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !same {
            return None;
        }
        serde_json::from_slice(&base64::decode(claims)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_under_their_key_and_unchanged() {
        let key = Key::random();
        let token = key.sign(&json!({"sub": "system:serviceaccount:default:sa"}));
        assert_eq!(key.verify(&token).unwrap()["sub"], "system:serviceaccount:default:sa");
        assert!(Key::random().verify(&token).is_none());
        let tampered = token.replacen('.', ".x", 1);
        assert!(key.verify(&tampered).is_none());
    }
}
