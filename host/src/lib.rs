//! The weft host: runs Kubernetes reconcilers compiled to WebAssembly.
//!
//! [`runtime`] loads and calls plugins in a sandbox; [`controller`] runs one plugin against the
//! cluster (shared informers, work queue, workers); [`manager`] follows `Plugin` resources and
//! loads, swaps and unloads plugins live; [`dev`] is `weft dev`.

pub mod check;
pub mod controller;
pub mod crd;
pub mod dev;
pub mod fetch;
pub mod leader;
pub mod manager;
pub mod metrics;
pub mod runtime;
pub mod serve;
