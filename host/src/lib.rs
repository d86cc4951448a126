//! The weft host: loads WebAssembly reconciler plugins and runs them against a cluster.

pub mod check;
pub mod runtime;
