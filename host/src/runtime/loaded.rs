//! A loaded module: compiled code ready to instantiate, and what the plugin declared.

use std::sync::Arc;
use std::time::Duration;

use weft_labels::Selector;

use super::Shared;
use super::bindings::{Description, ReconcilerPre, Watch};
use super::engine::StoreData;
use super::error::LoadError;
use super::module::{Digest, ModuleKind};

/// What a module is and declares: small, and kept while its compiled code may be evicted.
#[derive(Debug)]
pub struct ModuleInfo {
    pub(crate) digest: Digest,
    pub(crate) kind: ModuleKind,
    pub(crate) size: usize,
    pub(crate) description: Description,
    pub(crate) selectors: WatchSelectors,
}

impl ModuleInfo {
    /// The sha256 of the bytes the module was loaded from.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    pub fn kind(&self) -> ModuleKind {
        self.kind
    }

    /// The size of the bytes the module was loaded from.
    pub fn size(&self) -> usize {
        self.size
    }

    /// What the plugin declared in `describe`.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// The label selectors of its watches, parsed.
    pub fn selectors(&self) -> &WatchSelectors {
        &self.selectors
    }
}

/// A compiled, validated plugin module ready to instantiate, shared by every plugin that uses
/// the same bytes; dropping the last handle frees its code.
pub struct Module {
    pub(crate) info: Arc<ModuleInfo>,
    pub(crate) pre: ReconcilerPre<StoreData>,
    /// The runtime it was loaded into, for instance slots and for reloading after eviction.
    pub(crate) runtime: Arc<Shared>,
    pub(crate) from_cache: bool,
    pub(crate) load_time: Duration,
}

impl Drop for Module {
    fn drop(&mut self) {
        super::trim::note_freed();
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("digest", &self.info.digest)
            .field("kind", &self.info.kind)
            .field("name", &self.info.description.name)
            .field("version", &self.info.description.version)
            .finish_non_exhaustive()
    }
}

impl Module {
    pub fn info(&self) -> &Arc<ModuleInfo> {
        &self.info
    }

    pub fn digest(&self) -> Digest {
        self.info.digest
    }

    pub fn kind(&self) -> ModuleKind {
        self.info.kind
    }

    pub fn size(&self) -> usize {
        self.info.size
    }

    pub fn description(&self) -> &Description {
        &self.info.description
    }

    /// Whether the compiled code came from the disk cache (or memory) rather than a compile.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// Time from bytes to a described, ready-to-instantiate module.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }
}

/// The label selectors of a description's watches, in its order: parsed when the module loads, so
/// a selector that does not parse refuses the module instead of matching everything.
#[derive(Debug, Clone, Default)]
pub struct WatchSelectors {
    pub primary: Selector,
    pub owns: Vec<Selector>,
    pub related: Vec<Selector>,
}

impl WatchSelectors {
    pub(crate) fn parse(description: &Description) -> Result<Self, LoadError> {
        let parse = |watch: &Watch| {
            watch.label_selector.as_deref().unwrap_or_default().parse::<Selector>().map_err(|e| {
                LoadError::BadDescription(format!("the label selector of its {} watch: {e}", watch.api.plural))
            })
        };
        Ok(Self {
            primary: parse(&description.primary)?,
            owns: description.owns.iter().map(parse).collect::<Result<_, _>>()?,
            related: description.related.iter().map(|related| parse(&related.watch)).collect::<Result<_, _>>()?,
        })
    }
}
