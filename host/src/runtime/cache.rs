//! Compiled plugins on disk, keyed by the component's digest and the engine's compatibility hash,
//! so a restart or a second host loads them in milliseconds instead of compiling again.

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
    /// Changes with the wasmtime version and every setting that affects compiled code.
    engine_key: String,
}

impl DiskCache {
    pub(crate) fn new(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self { dir: dir.to_owned(), engine_key: format!("{:016x}", hasher.finish()) })
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// The compiled component, if this cache holds a usable one.
    pub(crate) fn load(&self, engine: &Engine, digest: &Digest) -> Option<Component> {
        let path = self.path(digest);
        // Read rather than map the file: a mapped cache file that is truncated or rewritten
        // behind our back would crash the host (SIGBUS); a copy costs well under a millisecond.
        let bytes = fs::read(&path).ok()?;
        // SAFETY: files in the cache directory are written only by `store` below, from
        // `Component::serialize` with this engine's configuration (the file name carries its
        // compatibility hash), and land by atomic rename, so a reader never sees a partial file.
        // wasmtime still checks the header and engine compatibility, and we fall back to
        // compiling when it refuses.
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled plugin");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Saves a compiled component; a failure only costs a later compile, so it is logged.
    pub(crate) fn store(&self, digest: &Digest, component: &Component) {
        let path = self.path(digest);
        let write = || -> anyhow::Result<()> {
            let bytes = component.serialize()?;
            let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
            file.write_all(&bytes)?;
            file.persist(&path)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::warn!(path = %path.display(), error = %e, "could not cache compiled plugin");
        }
    }
}
