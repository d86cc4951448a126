//! A loaded module: compiled code ready to instantiate, and what the plugin declared.

use std::time::Duration;

use weft_labels::Selector;

use super::bindings::{Description, ReconcilerPre, Watch};
use super::engine::StoreData;
use super::error::LoadError;
use super::module::{Digest, ModuleKind};

/// A compiled, validated plugin module, shared by every plugin that uses the same bytes.
pub struct Module {
    pub(crate) digest: Digest,
    pub(crate) kind: ModuleKind,
    pub(crate) size: usize,
    pub(crate) pre: ReconcilerPre<StoreData>,
    pub(crate) description: Description,
    pub(crate) selectors: WatchSelectors,
    pub(crate) from_cache: bool,
    pub(crate) load_time: Duration,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("digest", &self.digest)
            .field("kind", &self.kind)
            .field("name", &self.description.name)
            .field("version", &self.description.version)
            .finish_non_exhaustive()
    }
}

impl Module {
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
