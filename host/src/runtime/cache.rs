//! Compiled plugins on disk, keyed by the module's digest and the engine's compatibility hash,
//! so a restart, a second host or an evicted plugin loads them in about a millisecond instead of
//! compiling again.
//!
//! Loaded files are mapped, not read: compiled code then lives in clean, file-backed pages that
//! the kernel shares between plugins and processes and can drop under pressure, instead of in the
//! heap. That is safe because the host never rewrites a file in place: a new file lands by
//! atomic rename, and a mapping keeps the old inode alive. The directory must belong to the host
//! (an `emptyDir` in a pod); a file truncated by someone else under a running host would fault it.

#![allow(unsafe_code)]

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::module::Digest;

#[derive(Debug)]
pub(crate) struct DiskCache {
    dir: PathBuf,
    /// Changes with the wasmtime version, every setting that affects compiled code, and the
    /// preview1 adapter that componentizes core modules.
    engine_key: String,
}

impl DiskCache {
    pub(crate) fn new(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER.hash(&mut hasher);
        Ok(Self { dir: dir.to_owned(), engine_key: format!("{:016x}", hasher.finish()) })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// Whether a compiled file for `digest` is here (it may still turn out unusable).
    pub(crate) fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).exists()
    }

    /// The compiled component, if this cache holds a usable one; an unusable file is removed.
    pub(crate) fn load(&self, engine: &Engine, digest: &Digest) -> Option<Component> {
        let path = self.path(digest);
        if !path.exists() {
            return None;
        }
        // SAFETY: files in the cache directory are written only by `store` below, from
        // `Component::serialize` with this engine's configuration (the file name carries its
        // compatibility hash), and land by atomic rename, so a reader never sees a partial file
        // and a mapped file is never changed in place (see the module docs). wasmtime still
        // checks the header and engine compatibility, and we fall back to compiling when it
        // refuses.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled plugin");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Saves a compiled component; a failure only costs a later compile, so it is logged.
    pub(crate) fn store(&self, digest: &Digest, component: &Component) -> bool {
        let path = self.path(digest);
        let write = || -> anyhow::Result<()> {
            let bytes = component.serialize()?;
            let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
            file.write_all(&bytes)?;
            file.persist(&path)?;
            Ok(())
        };
        match write() {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not cache compiled plugin");
                false
            }
        }
    }
}
