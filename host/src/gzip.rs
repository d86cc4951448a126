//! Gzip-compressed modules, from any source (a ConfigMap key, a URL, a file).
//!
//! A Go, Python or JavaScript plugin is megabytes where a Rust one is hundreds of kilobytes, and a
//! ConfigMap holds at most 1 MiB: gzip brings the QuickJS hello from 1.8 MB to 0.65 MB, so it
//! fits. Bytes that start with the gzip magic number are decompressed here, once, before anything
//! else sees them: the runtime, its compiled-code cache and `status.moduleDigest` all deal in the
//! decompressed module.
//!
//! Decompressing is bounded by [`MAX_MODULE_BYTES`], the most the host accepts for a module in
//! any form, so a small "gzip bomb" cannot make the host allocate gigabytes.
//!
//! `spec.sha256` may name either form: the bytes as stored (what `sha256sum plugin.wasm.gz`
//! prints) or the decompressed module (what `status.moduleDigest` reports).

use std::io::Read;

use crate::fetch::FetchError;
use crate::runtime::Digest;

/// The largest module the host accepts: what a URL may serve, and what a compressed module may
/// decompress to. The biggest example, a Python plugin, is about 20 MB.
pub const MAX_MODULE_BYTES: usize = 64 << 20;

/// What starts every gzip stream (RFC 1952).
const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A gzip-compressed module that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes start like gzip but are not a complete gzip stream.
    #[error("the module is gzip-compressed but does not decompress")]
    Corrupt(#[source] std::io::Error),
    /// The stream decompresses to more than [`MAX_MODULE_BYTES`].
    #[error("the module decompresses to more than {limit} bytes, the most a module may have")]
    TooLarge { limit: usize },
}

/// Whether `bytes` are gzip-compressed.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The module in `bytes`: decompressed when they are gzip, else `bytes` as they are.
pub fn decompress(bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
    decompress_within(bytes, MAX_MODULE_BYTES)
}

fn decompress_within(bytes: Vec<u8>, limit: usize) -> Result<Vec<u8>, Error> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    // The trailer records the size (modulo 4 GiB); it is only a hint for the first allocation.
    let hinted = bytes
        .len()
        .checked_sub(4)
        .and_then(|at| bytes.get(at..))
        .map_or(0, |tail| u32::from_le_bytes(tail.try_into().unwrap_or_default()) as usize);
    let mut module = Vec::with_capacity(hinted.min(limit));
    // One byte over the limit tells "exactly the limit" from "more".
    let read = flate2::read::GzDecoder::new(bytes.as_slice())
        .take(limit as u64 + 1)
        .read_to_end(&mut module)
        .map_err(Error::Corrupt)?;
    if read > limit {
        return Err(Error::TooLarge { limit });
    }
    Ok(module)
}

/// The module in the fetched bytes `stored`, decompressed if need be, checked against
/// `sha256` (either form's digest is accepted). Decompressing a large module takes tens of
/// milliseconds, so it runs off the async runtime.
pub async fn unpack_fetched(stored: Vec<u8>, sha256: Option<String>) -> Result<Vec<u8>, FetchError> {
    let unpack = move || unpack(stored, sha256.as_deref());
    tokio::task::spawn_blocking(unpack)
        .await
        .map_err(|e| FetchError::FetchFailed(format!("decompressing the module: {e}")))?
}

fn unpack(stored: Vec<u8>, sha256: Option<&str>) -> Result<Vec<u8>, FetchError> {
    let stored_digest = sha256.is_some().then(|| Digest::of(&stored));
    let compressed = is_gzip(&stored);
    let module = decompress(stored).map_err(|e| FetchError::InvalidSpec(chain(&e)))?;
    let (Some(expected), Some(stored_digest)) = (sha256, stored_digest) else { return Ok(module) };
    let expected = expected.trim();
    let matches = |digest: &Digest| digest.to_string().eq_ignore_ascii_case(expected);
    if matches(&stored_digest) {
        return Ok(module);
    }
    if !compressed {
        return Err(FetchError::DigestMismatch(format!("module sha256 is {stored_digest}, spec.sha256 is {expected}")));
    }
    let module_digest = Digest::of(&module);
    if matches(&module_digest) {
        return Ok(module);
    }
    Err(FetchError::DigestMismatch(format!(
        "module sha256 is {stored_digest} gzip-compressed and {module_digest} decompressed, spec.sha256 is {expected}"
    )))
}

/// An error and its causes on one line.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("compress")
    }

    /// The start of a component: magic, version 0xd, layer 1.
    const WASM: &[u8] = b"\0asm\x0d\0\x01\0 and then the rest of the component";

    #[test]
    fn a_module_that_is_not_gzip_is_passed_through_untouched() {
        assert_eq!(decompress(WASM.to_vec()).expect("plain"), WASM);
        assert_eq!(decompress(Vec::new()).expect("empty"), b"");
    }

    #[test]
    fn a_gzip_module_is_recognised_by_its_magic_bytes_and_decompressed() {
        let compressed = gzip(WASM);
        assert!(is_gzip(&compressed));
        assert!(!is_gzip(WASM));
        assert_eq!(decompress(compressed).expect("decompresses"), WASM);
    }

    #[test]
    fn decompression_stops_at_the_bound() {
        let module = vec![0u8; 4096];
        assert_eq!(decompress_within(gzip(&module), 4096).expect("exactly at the bound").len(), 4096);
        let error = decompress_within(gzip(&module), 4095).expect_err("over the bound");
        assert!(matches!(error, Error::TooLarge { limit: 4095 }), "{error:?}");
        assert_eq!(error.to_string(), "the module decompresses to more than 4095 bytes, the most a module may have");
    }

    #[test]
    fn a_bomb_is_refused_at_the_bound_whatever_its_trailer_claims() {
        // A MiB of zeros compresses to about a KB; the trailer is made to claim 4 GiB.
        let mut bomb = gzip(&vec![0u8; 1 << 20]);
        let trailer = bomb.len() - 4;
        bomb[trailer..].copy_from_slice(&u32::MAX.to_le_bytes());
        let error = decompress_within(bomb, 64 << 10).expect_err("refused");
        assert!(matches!(error, Error::TooLarge { limit: 65536 }), "{error:?}");
    }

    #[test]
    fn a_truncated_gzip_stream_is_corrupt() {
        let compressed = gzip(&[7u8; 10_000]);
        let error = decompress(compressed[..compressed.len() / 2].to_vec()).expect_err("truncated");
        assert!(matches!(error, Error::Corrupt(_)), "{error:?}");
        let FetchError::InvalidSpec(message) = unpack(compressed[..20].to_vec(), None).expect_err("refused") else {
            panic!("a corrupt module is an unusable module source");
        };
        assert!(message.starts_with("the module is gzip-compressed but does not decompress: "), "{message}");
    }

    #[test]
    fn sha256_may_name_the_stored_or_the_decompressed_bytes() {
        let compressed = gzip(WASM);
        let of_stored = Digest::of(&compressed).to_string();
        let of_module = Digest::of(WASM).to_string();
        for expected in [&of_stored, &of_module, &of_module.to_uppercase()] {
            assert_eq!(unpack(compressed.clone(), Some(expected)).expect("accepted"), WASM, "{expected}");
        }
        assert_eq!(unpack(WASM.to_vec(), Some(&of_module)).expect("plain module, its digest"), WASM);
        assert_eq!(unpack(compressed, None).expect("no digest to check"), WASM);
    }

    #[test]
    fn a_wrong_sha256_names_every_digest_it_could_have_been() {
        let compressed = gzip(WASM);
        let wrong = "ab".repeat(32);
        let FetchError::DigestMismatch(message) = unpack(compressed.clone(), Some(&wrong)).expect_err("refused") else {
            panic!("a mismatch");
        };
        assert_eq!(
            message,
            format!(
                "module sha256 is {} gzip-compressed and {} decompressed, spec.sha256 is {wrong}",
                Digest::of(&compressed),
                Digest::of(WASM)
            )
        );
        let FetchError::DigestMismatch(message) = unpack(WASM.to_vec(), Some(&wrong)).expect_err("refused") else {
            panic!("a mismatch");
        };
        assert_eq!(message, format!("module sha256 is {}, spec.sha256 is {wrong}", Digest::of(WASM)));
    }
}
