//! Turning bytes into a plugin component: recognise the format, componentize wasm32-wasip1 core
//! modules, and check that the component is a `weft:plugin/reconciler` of our version.

use std::borrow::Cow;
use std::fmt;

use sha2::{Digest as _, Sha256};
use wasmparser::{Parser, Payload};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::bindings::CONTROLLER_EXPORT;
use super::error::LoadError;

/// The sha256 of a module's bytes, as written in a Plugin's `sha256` and `status.moduleDigest`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// What the module was when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// A component, as wasm32-wasip2 builds produce.
    Component,
    /// A core module with component metadata (wasm32-wasip1 with wit-bindgen), componentized on
    /// load with the WASI preview1 adapter.
    CoreModule,
}

impl fmt::Display for ModuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Component => "component",
            Self::CoreModule => "core module, componentized with the WASI preview1 adapter",
        })
    }
}

/// What `bytes` are: a component, or a core module carrying the world it implements.
pub(crate) fn kind_of(bytes: &[u8]) -> Result<ModuleKind, LoadError> {
    if bytes.get(..4) != Some(b"\0asm".as_slice()) {
        return Err(LoadError::NotWasm(bytes.iter().take(4).copied().collect()));
    }
    if Parser::is_component(bytes) {
        return Ok(ModuleKind::Component);
    }
    if !Parser::is_core_wasm(bytes) {
        return Err(LoadError::Invalid("unknown WebAssembly version or layer".to_owned()));
    }
    if !has_component_metadata(bytes)? {
        return Err(LoadError::CoreWithoutWorld);
    }
    Ok(ModuleKind::CoreModule)
}

/// The component bytes for `bytes` of `kind`, componentizing a core module with the WASI
/// preview1 reactor adapter.
pub(crate) fn to_component(bytes: &[u8], kind: ModuleKind) -> Result<Cow<'_, [u8]>, LoadError> {
    if kind == ModuleKind::Component {
        return Ok(Cow::Borrowed(bytes));
    }
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(bytes)
        .and_then(|encoder| {
            encoder.adapter(
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .and_then(|mut encoder| encoder.encode())
        .map_err(|e| LoadError::Componentize(format!("{e:#}")))?;
    Ok(Cow::Owned(component))
}

/// wit-bindgen leaves the world a core module implements in `component-type*` custom sections.
fn has_component_metadata(bytes: &[u8]) -> Result<bool, LoadError> {
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CustomSection(section) = payload.map_err(|e| LoadError::Invalid(e.to_string()))?
            && section.name().starts_with("component-type")
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Compiles component bytes; errors name the first problem on one line.
pub(crate) fn compile(engine: &Engine, component: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, component).map_err(|e| {
        let message = one_line(&e);
        if message.contains("failed to parse") || message.contains("WebAssembly") || message.contains("invalid") {
            LoadError::Invalid(message)
        } else {
            LoadError::Compile(message)
        }
    })
}

/// Checks the component exports the controller interface of this host's contract version.
pub(crate) fn check_world(engine: &Engine, component: &Component) -> Result<(), LoadError> {
    let exports: Vec<String> = component.component_type().exports(engine).map(|(name, _)| name.to_owned()).collect();
    if exports.iter().any(|name| name == CONTROLLER_EXPORT) {
        return Ok(());
    }
    let unversioned = CONTROLLER_EXPORT.split_once('@').map_or(CONTROLLER_EXPORT, |(name, _)| name);
    if let Some(found) = exports.iter().find(|name| name.split_once('@').is_some_and(|(n, _)| n == unversioned)) {
        return Err(LoadError::WrongVersion { found: found.clone() });
    }
    let exports = if exports.is_empty() { "none".to_owned() } else { exports.join(", ") };
    Err(LoadError::WrongWorld { exports })
}

/// An error chain on one line: `outer: inner: root`.
pub(crate) fn one_line(e: &wasmtime::Error) -> String {
    e.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ").replace('\n', " ")
}
