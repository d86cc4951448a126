//! Why a module did not load, and why a call did not return.

use std::time::Duration;

use super::bindings::CONTROLLER_EXPORT;

/// A module that cannot run as a plugin. Each message is one line that says what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    #[error("not a WebAssembly file (it starts with {0:02x?}, not \\0asm)")]
    NotWasm(Vec<u8>),
    #[error("invalid WebAssembly: {0}")]
    Invalid(String),
    #[error(
        "a core WebAssembly module without the weft:plugin/reconciler world: build it with the weft-plugin SDK \
         (wit-bindgen) for wasm32-wasip2 or wasm32-wasip1"
    )]
    CoreWithoutWorld,
    #[error("could not turn the core module into a component: {0}")]
    Componentize(String),
    #[error("the component implements {found}, but this host speaks {CONTROLLER_EXPORT}")]
    WrongVersion { found: String },
    #[error("the component is not a weft plugin: it does not export {CONTROLLER_EXPORT} (its exports: {exports})")]
    WrongWorld { exports: String },
    #[error("the component needs imports this host does not provide: {0}")]
    Link(String),
    #[error("describe failed: {0}")]
    Describe(CallError),
    #[error("describe returned an invalid description: {0}")]
    BadDescription(String),
    #[error("compiling the component failed: {0}")]
    Compile(String),
    /// An evicted module whose compiled code is no longer in the disk cache.
    #[error("the compiled module is not in the disk cache")]
    NotCached,
}

/// A call that did not return a result from the plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("the plugin ran past its {0:?} deadline and was stopped")]
    Deadline(Duration),
    #[error("the plugin ran out of fuel ({0} units)")]
    OutOfFuel(u64),
    #[error("the plugin exceeded its memory limit of {limit} bytes")]
    MemoryLimit { limit: usize },
    #[error("the plugin trapped: {0}")]
    Trap(String),
    #[error("the object is {size} bytes, over the {limit}-byte limit for plugins")]
    ObjectTooLarge { size: usize, limit: usize },
    #[error("the plugin could not be instantiated: {0}")]
    Instantiate(String),
    #[error("the plugin's compiled code was released while idle and could not be reloaded: {0}")]
    Reload(String),
}

impl CallError {
    /// Whether the plugin broke a limit or crashed (as opposed to the host failing to start it).
    pub fn is_plugin_fault(&self) -> bool {
        !matches!(self, Self::Instantiate(_) | Self::Reload(_))
    }
}
