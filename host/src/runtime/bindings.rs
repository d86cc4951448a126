//! Host bindings for the `weft:plugin/reconciler` world: the only `bindgen!` site.

#![allow(missing_debug_implementations)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "weft:plugin/reconciler",
    additional_derives: [PartialEq, Eq, Hash],
});

pub use self::exports::weft::plugin::controller;
pub use self::weft::plugin::logging::Level;
pub use self::weft::plugin::types::{
    Action, ApiError, ApiResource, Description, ErrorKind, Event, EventType, Failure, ObjectRef, PolicyRule, Related,
    RelatedMapping, Request, Trigger, Watch,
};

/// The component export every plugin must provide; its version is the contract's version.
pub const CONTROLLER_EXPORT: &str = "weft:plugin/controller@0.1.0";
