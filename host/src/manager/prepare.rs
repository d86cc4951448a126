//! The first half of bringing a plugin to its spec, done while any running version keeps
//! serving: check the settings, fetch and verify the module, compile and describe it, and check
//! its declared access against the grants.

use std::sync::Arc;
use std::time::SystemTime;

use super::Inner;
use super::failure::LoadFailure;
use super::identity;
use crate::crd::PluginSpec;
use crate::fetch::ModuleBytes;
use crate::runtime::{Grants, Limits, Module};

/// A module ready to run under a spec.
pub(super) struct Prepared {
    pub(super) module: Arc<Module>,
    pub(super) grants: Grants,
    pub(super) limits: Limits,
    pub(super) concurrency: usize,
    /// `spec.config` as JSON.
    pub(super) config: String,
    /// For `path` modules: the file's modification time when it was read.
    pub(super) modified: Option<SystemTime>,
    /// The client the plugin's writes go through.
    pub(super) writer: kube::Client,
    /// For `oci` modules: the reference pinned to the digest it resolved to.
    pub(super) resolved: Option<String>,
}

/// A module's bytes, fetched and verified, with the spec's settings checked.
pub(super) struct Fetched {
    /// Shared with every Plugin whose fetch of the same source joined this one.
    module: Arc<ModuleBytes>,
    limits: Limits,
    concurrency: usize,
    modified: Option<SystemTime>,
}

impl Fetched {
    /// Whether loading these bytes compiles them (rather than finding them loaded or cached).
    pub(super) fn needs_compile(&self, host: &Inner) -> bool {
        host.runtime.needs_compile(&self.module.bytes)
    }
}

pub(super) async fn fetch(host: &Inner, spec: &PluginSpec) -> Result<Fetched, LoadFailure> {
    let defaults = &host.config;
    let (limits, concurrency) =
        spec.limits.resolve(&defaults.limits, defaults.controller.concurrency).map_err(LoadFailure::InvalidSpec)?;
    let modified = spec.module.path.as_ref().and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let module = host.fetches.fetch(&host.client, spec, defaults.sources, &defaults.oci).await?;
    Ok(Fetched { module, limits, concurrency, modified })
}

pub(super) async fn load(host: &Inner, spec: &PluginSpec, fetched: Fetched) -> Result<Prepared, LoadFailure> {
    let Fetched { module: fetched, limits, concurrency, modified } = fetched;
    let resolved = fetched.resolved.clone();
    let runtime = host.runtime.clone();
    // Compiling is CPU-bound; plugin output during `describe` stays in the plugin's span.
    let span = tracing::Span::current();
    let module = tokio::task::spawn_blocking(move || span.in_scope(|| runtime.load(&fetched.bytes)))
        .await
        .map_err(|e| LoadFailure::Task(e.to_string()))??;
    let grants = Grants::new(spec.permissions.clone());
    let missing = grants.missing(&module.description().permissions, &spec.namespaces);
    if !missing.is_empty() {
        return Err(LoadFailure::PermissionDenied(missing));
    }
    let config = spec.config.as_ref().map_or_else(|| "{}".to_owned(), ToString::to_string);
    let writer = identity::writer(host, spec)?;
    Ok(Prepared { module, grants, limits, concurrency, config, modified, writer, resolved })
}
