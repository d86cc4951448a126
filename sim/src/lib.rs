//! An embedded Kubernetes API server emulator.
//!
//! [`Sim::start`] serves the Kubernetes REST API over plain HTTP on a local address. The real kube
//! client, kube-runtime's watchers and kubectl work against it unchanged, so tests and `weft dev`
//! need no cluster. Every resource type, built-in or defined by a CRD, goes through the same
//! generic storage ([`store::Store`]), which reproduces the behaviours controllers depend on:
//! resourceVersion semantics, watch resumption and `410 Expired`, bookmarks and
//! `sendInitialEvents`, no-op writes, generation and the status subresource, optimistic
//! concurrency, merge / JSON / strategic / server-side-apply patches with field ownership,
//! finalizers, garbage collection, and CRD establishment and deletion.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = weft_sim::Sim::start(weft_sim::SimConfig::default()).await?;
//! sim.write_kubeconfig(std::path::Path::new("sim.kubeconfig"))?;
//! println!("API server at {}", sim.url());
//! sim.faults().fail_next(None, 1, 503, "injected outage");
//! sim.compact_history(); // the next watch resume gets 410 Expired
//! sim.stop().await;
//! # Ok(()) }
//! ```
//!
//! # Known differences from a real API server
//! The emulator aims to be indistinguishable for controllers; where it knowingly is not:
//! - No authentication, authorization or admission webhooks; every request is allowed.
//! - Responses are always JSON. Protobuf request bodies are decoded for ConfigMap, Secret,
//!   Namespace and ServiceAccount (what kubectl's `create` generators send for them); other kinds
//!   and CBOR answer 415 Unsupported Media Type.
//! - Built-in kinds have no compiled-in schemas: their unknown fields are kept rather than
//!   dropped or rejected, and `fieldValidation=Strict` only checks CRD objects. Associative lists
//!   of built-ins (containers by name, ports, conditions, ...) come from a fixed table.
//! - CRD schemas: `type`, `required`, `enum`, numeric bounds, string and list lengths, defaults,
//!   pruning and `x-kubernetes-preserve-unknown-fields` are enforced; `pattern`, `format`,
//!   CEL `x-kubernetes-validations` and conversion webhooks are not. Several served versions
//!   share storage with only `apiVersion` rewritten (conversion strategy `None`).
//! - Server-side apply: field sets follow `fieldsV1`; list elements keep their live order rather
//!   than being reordered to the applied configuration's order.
//! - No kubelet, scheduler or workload controllers: Pods stay `Pending`, Deployments never roll
//!   out. Only the API server's own controllers run (CRD establishment and cleanup, garbage
//!   collection, namespace termination), asynchronously right after the write that needs them.
//! - One global resourceVersion counter and one bounded event history (default 10,000 events)
//!   stand in for etcd; `StoreConfig::history_capacity` sets it.
//! - Deleting an object never waits for a grace period (`gracePeriodSeconds` is ignored).
//! - Aggregated discovery (`apidiscovery.k8s.io`) is not served; clients use legacy discovery.
//! - `/openapi/v3` documents describe paths and CRD schemas; built-in kinds get an open schema.
//! - Field selectors support `metadata.name` and `metadata.namespace` only; per-kind fields such as
//!   `involvedObject.kind` on Events are rejected with 400.
//! - core/v1 Events and events.k8s.io/v1 Events are stored apart: each API sees only the Events
//!   created through it, where a real server serves one set through both.

mod apply;
pub mod auth;
mod base64;
mod builtins;
mod controllers;
mod crd;
mod defaults;
mod discovery;
mod error;
mod events;
mod faults;
mod fields;
mod http;
mod kubeconfig;
mod object;
mod openapi;
mod patch;
mod protobuf;
mod registry;
mod schema;
pub mod selector;
mod server;
pub mod store;
mod strategy;
mod table;
mod tls;
mod validation;

pub use auth::{AuthConfig, AuthorizationMode, StaticToken, UserInfo};
pub use error::{ApiError, Cause};
pub use faults::Faults;
pub use registry::GroupResource;
pub use server::{Sim, SimConfig, StartError};
pub use store::{Store, StoreConfig};
