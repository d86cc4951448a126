//! The generated bindings for the `weft:plugin/reconciler` world: the only `generate!` site.
//!
//! Plugin code never touches these; the typed API in the rest of the crate wraps them.

#![allow(unsafe_code, missing_docs, missing_debug_implementations, clippy::all)]

wit_bindgen::generate!({
    path: "../wit",
    world: "weft:plugin/reconciler",
    runtime_path: "::weft_plugin::__private::wit_bindgen::rt",
    default_bindings_module: "::weft_plugin::__private::bindings",
    export_macro_name: "export_reconciler",
    pub_export_macro: true,
});
