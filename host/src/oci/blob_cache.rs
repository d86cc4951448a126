//! Pulled module layers on disk by digest. A file is checked against its name when read, so a
//! damaged one is dropped and downloaded again rather than trusted.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::digest_of;

#[derive(Debug, Clone)]
pub(super) struct BlobCache {
    dir: PathBuf,
}

impl BlobCache {
    pub(super) fn new(dir: &Path) -> Self {
        Self { dir: dir.to_owned() }
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(digest.replace(':', "-"))
    }

    /// The blob with this digest, if it is here and intact.
    pub(super) fn get(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.path(digest);
        let bytes = std::fs::read(&path).ok()?;
        if digest_of(&bytes) == digest {
            return Some(bytes);
        }
        tracing::warn!(path = %path.display(), "discarding a cached blob that does not match its digest");
        let _ = std::fs::remove_file(&path);
        None
    }

    /// Keeps a verified blob; a failure only costs a later download, so it is logged.
    pub(super) fn put(&self, digest: &str, bytes: &[u8]) {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
            file.write_all(bytes)?;
            file.persist(self.path(digest)).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not cache a pulled module");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_blob_is_returned_only_while_it_matches_its_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = BlobCache::new(&dir.path().join("blobs"));
        let digest = digest_of(b"module");
        assert_eq!(cache.get(&digest), None);
        cache.put(&digest, b"module");
        assert_eq!(cache.get(&digest).as_deref(), Some(&b"module"[..]));
        std::fs::write(cache.path(&digest), b"tampered").expect("write");
        assert_eq!(cache.get(&digest), None, "a damaged file is not trusted");
        assert!(!cache.path(&digest).exists(), "and is removed");
    }
}
