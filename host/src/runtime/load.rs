//! Loading modules: one load per digest at a time (later callers wait for it and share the
//! result), compiles bounded host-wide, compiled code made file-backed through the disk cache,
//! and reloads of evicted modules from it.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::Component;

use super::bindings::{Description, ReconcilerPre};
use super::engine::StoreData;
use super::error::LoadError;
use super::host_calls::PluginEnv;
use super::limits::Limits;
use super::loaded::{Module, ModuleInfo, WatchSelectors};
use super::module::{self, Digest, ModuleKind};
use super::permissions::Grants;
use super::{CompileIn, Shared, bound, cluster, compiler_process, priority};

/// `describe` only builds a record; it gets a small, fixed budget.
fn describe_limits() -> Limits {
    Limits { timeout: std::time::Duration::from_secs(2), ..Limits::default() }
}

impl Shared {
    /// The live module for `digest`, or the result of `load`, which runs once however many
    /// callers ask for the same digest at the same time.
    fn single_flight(
        &self,
        digest: Digest,
        load: impl FnOnce() -> Result<Arc<Module>, LoadError>,
    ) -> Result<Arc<Module>, LoadError> {
        let in_flight = {
            let mut loading = self.loading.lock();
            if let Some(module) = self.loaded.lock().get(&digest).and_then(std::sync::Weak::upgrade) {
                return Ok(module);
            }
            Arc::clone(loading.entry(digest).or_default())
        };
        let result = in_flight.get_or_init(load).clone();
        let mut loading = self.loading.lock();
        if loading.get(&digest).is_some_and(|current| Arc::ptr_eq(current, &in_flight)) {
            loading.remove(&digest);
            if let Ok(module) = &result {
                let mut loaded = self.loaded.lock();
                loaded.retain(|_, module| module.strong_count() > 0);
                loaded.insert(digest, Arc::downgrade(module));
            }
        }
        result
    }

    pub(super) fn needs_compile(&self, digest: &Digest) -> bool {
        let live = self.loaded.lock().get(digest).is_some_and(|m| m.strong_count() > 0);
        !live && !self.disk.as_ref().is_some_and(|disk| disk.contains(digest))
    }

    pub(super) fn load(self: &Arc<Self>, bytes: &[u8]) -> Result<Arc<Module>, LoadError> {
        let digest = Digest::of(bytes);
        let loaded = self.single_flight(digest, || self.load_new(bytes, digest));
        // The fetched bytes and the load's temporaries are about to be free; after a burst of
        // loads glibc would otherwise keep them resident.
        super::trim::note_freed();
        loaded
    }

    fn load_new(self: &Arc<Self>, bytes: &[u8], digest: Digest) -> Result<Arc<Module>, LoadError> {
        let started = Instant::now();
        let kind = module::kind_of(bytes)?;
        let cached = self.disk.as_ref().and_then(|disk| disk.load(&self.engine, &digest));
        let from_cache = cached.is_some();
        let component = match cached {
            Some(component) => component,
            None => self.compile(bytes, kind, &digest)?,
        };
        module::check_world(&self.engine, &component)?;
        let pre = self.instantiate_pre(&component)?;
        let description = self.describe(&pre)?;
        let selectors = WatchSelectors::parse(&description)?;
        let info = ModuleInfo { digest, kind, size: bytes.len(), description, selectors };
        Ok(Arc::new(Module {
            info: Arc::new(info),
            pre,
            runtime: Arc::clone(self),
            from_cache,
            load_time: started.elapsed(),
        }))
    }

    /// Compiles `bytes`, waiting for a turn, where the configuration says.
    fn compile(&self, bytes: &[u8], kind: ModuleKind, digest: &Digest) -> Result<Component, LoadError> {
        let _turn = self.compiles.enter();
        self.compiled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let (CompileIn::Subprocess(program), Some(disk)) = (&self.compile_in, &self.disk) {
            compiler_process::compile(program, &self.engine_config, disk.dir(), bytes)?;
            return disk.load(&self.engine, digest).ok_or_else(|| {
                LoadError::Compile("the compiler process left no usable module in the cache".to_owned())
            });
        }
        let component_bytes = module::to_component(bytes, kind)?;
        let compiled = priority::compile_apart(|| module::compile(&self.engine, &component_bytes))
            .map_err(|e| LoadError::Compile(format!("no thread to compile on: {e}")))??;
        // Stored and mapped back, the code is file-backed rather than heap.
        Ok(match &self.disk {
            Some(disk) if disk.store(digest, &compiled) => disk.load(&self.engine, digest).unwrap_or(compiled),
            _ => compiled,
        })
    }

    /// Compiles into the disk cache only, on this thread (this is the compiler process).
    pub(super) fn precompile(&self, bytes: &[u8]) -> Result<Digest, LoadError> {
        let digest = Digest::of(bytes);
        let disk = self.disk.as_ref().ok_or(LoadError::NotCached)?;
        let component_bytes = module::to_component(bytes, module::kind_of(bytes)?)?;
        let compiled = module::compile(&self.engine, &component_bytes)?;
        if !disk.store(&digest, &compiled) {
            return Err(LoadError::Compile(format!(
                "could not write the compiled module into {}",
                disk.dir().display()
            )));
        }
        Ok(digest)
    }

    /// Whether an evicted module with this digest can come back from the disk cache.
    pub(crate) fn can_reload(&self, digest: &Digest) -> bool {
        self.disk.as_ref().is_some_and(|disk| disk.contains(digest))
    }

    /// The compiled code of an evicted module again: the live one if another plugin holds it,
    /// else from the disk cache, without describing it again.
    pub(crate) fn reload(self: &Arc<Self>, info: &Arc<ModuleInfo>) -> Result<Arc<Module>, LoadError> {
        self.single_flight(info.digest, || {
            let started = Instant::now();
            let disk = self.disk.as_ref().ok_or(LoadError::NotCached)?;
            let component = disk.load(&self.engine, &info.digest).ok_or(LoadError::NotCached)?;
            let pre = self.instantiate_pre(&component)?;
            Ok(Arc::new(Module {
                info: Arc::clone(info),
                pre,
                runtime: Arc::clone(self),
                from_cache: true,
                load_time: started.elapsed(),
            }))
        })
    }

    fn instantiate_pre(
        &self,
        component: &wasmtime::component::Component,
    ) -> Result<ReconcilerPre<StoreData>, LoadError> {
        let instance_pre = self.linker.instantiate_pre(component).map_err(|e| LoadError::Link(module::one_line(&e)))?;
        ReconcilerPre::new(instance_pre).map_err(|e| LoadError::Link(module::one_line(&e)))
    }

    fn describe(&self, pre: &ReconcilerPre<StoreData>) -> Result<Description, LoadError> {
        let env = Arc::new(PluginEnv {
            name: Arc::from("describe"),
            grants: Grants::default(),
            cluster: Arc::new(cluster::NoCluster),
            config: String::new(),
            limits: describe_limits(),
        });
        let description =
            bound::call(self, pre, env, |guest, store| guest.call_describe(store)).map_err(LoadError::Describe)?;
        validate(&description)?;
        Ok(description)
    }
}

/// Checks what the host relies on: a name, and complete resource identities.
fn validate(description: &Description) -> Result<(), LoadError> {
    let bad = |what: String| Err(LoadError::BadDescription(what));
    if description.name.is_empty() {
        return bad("the plugin name is empty".to_owned());
    }
    let watches = std::iter::once(&description.primary)
        .chain(&description.owns)
        .chain(description.related.iter().map(|related| &related.watch));
    for watch in watches {
        let api = &watch.api;
        if api.version.is_empty() || api.kind.is_empty() || api.plural.is_empty() {
            return bad(format!("incomplete resource {api:?}"));
        }
    }
    Ok(())
}
