//! The weft host: runs Kubernetes reconcilers compiled to WebAssembly.
//!
//! [`Host`] follows `Plugin` resources and runs each plugin live: [`runtime`] loads and calls
//! plugins in a sandbox, the controller runs one plugin against the cluster (shared informers,
//! work queue, workers), and the manager loads, swaps and unloads plugins. [`run`] is `weft run`;
//! [`dev`] (feature `dev`, on by default) is `weft dev` and `weft sim`, built on the `weft-sim`
//! emulator, which the host itself never needs.

mod backoff;
pub mod check;
mod controller;
pub mod crd;
#[cfg(feature = "dev")]
pub mod dev;
mod events;
mod fetch;
pub mod gzip;
mod histogram;
pub mod leader;
mod lease;
mod manager;
mod metrics;
pub mod oci;
mod producers;
pub mod push;
mod run;
pub mod runtime;
mod serve;
pub mod shard;
mod signal;

pub use backoff::Backoff;
pub use controller::{ControllerConfig, InformerKey, Stats};
pub use fetch::Sources;
pub use manager::{Host, HostConfig, Placement};
pub use run::{Coordination, RunOptions, cache_dir_or_default, run};
pub use serve::serve;
pub use signal::until_signal;
