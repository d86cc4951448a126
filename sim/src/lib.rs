//! An embedded Kubernetes API server emulator.
//!
//! [`Sim::start`] serves the Kubernetes REST API on a local address, over plain HTTP or (with
//! [`SimConfig::tls`]) HTTPS with a certificate it makes at start. The real kube client,
//! kube-runtime's watchers, kubectl and the Python client work against it unchanged, so tests and
//! `weft dev` need no cluster. Every resource type, built-in or defined by a CRD, goes through the
//! same generic storage ([`store::Store`]), which reproduces the behaviours controllers depend on:
//! resourceVersion semantics, watch resumption and `410 Expired`, bookmarks and
//! `sendInitialEvents`, no-op writes, generation and the status subresource, optimistic
//! concurrency, merge / JSON / strategic / server-side-apply patches with field ownership,
//! finalizers, garbage collection, CRD establishment and deletion, and the defaults a real server
//! fills in for built-in kinds.
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
//! # Authentication and RBAC
//! By default every request is allowed ([`AuthorizationMode::AlwaysAllow`]). With
//! [`AuthorizationMode::Rbac`] in [`SimConfig::auth`] the emulator authorizes as kube-apiserver
//! does ([`auth`]): the kubeconfig it writes carries an admin token (`system:masters`),
//! [`AuthConfig::static_tokens`] are kube-apiserver's `--token-auth-file` entries, ServiceAccount
//! tokens come from the TokenRequest API (`kubectl create token`, [`Sim::service_account_token`]),
//! and RBAC is evaluated over the stored Roles and bindings with the bootstrap roles seeded, and
//! a user may grant only what it holds (or may `escalate` or `bind`).
//! kubectl sends tokens only over TLS, so set [`SimConfig::tls`] too; [`Sim::kubeconfig_with_token`]
//! writes a kubeconfig for another identity.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use weft_sim::{AuthConfig, AuthorizationMode, Sim, SimConfig};
//! let auth = AuthConfig { mode: AuthorizationMode::Rbac, ..AuthConfig::default() };
//! let sim = Sim::start(SimConfig { auth, tls: true, ..SimConfig::default() }).await?;
//! // ... create ServiceAccount `default/runner` and its RoleBindings as the admin, then:
//! let token = sim.service_account_token("default", "runner", std::time::Duration::from_secs(3600))?;
//! std::fs::write("runner.kubeconfig", sim.kubeconfig_with_token(&token))?;
//! # Ok(()) }
//! ```
//!
//! # Known differences from a real API server
//! The emulator aims to be indistinguishable for controllers; where it knowingly is not:
//! - Authentication is by bearer token only: no client certificates, OIDC, webhook
//!   authenticators or legacy Secret-based ServiceAccount tokens. ServiceAccount tokens are JWTs
//!   with kube-apiserver's claims, signed with HS256 under a key made at start (no JWKS or issuer
//!   discovery). Without RBAC, a request without credentials acts as the admin.
//! - Authorization is `system:masters` then RBAC (with its escalation checks on writes of Roles
//!   and bindings); no Node or webhook authorizer, no admission webhooks. Denial reasons lack the
//!   union authorizer's per-authorizer prefix.
//! - Admission: the defaults of the ServiceAccount (including the token volume and the 403 for
//!   a missing ServiceAccount), Priority and DefaultTolerationSeconds plugins and namespace
//!   lifecycle are applied, but PriorityClasses are not served or checked; LimitRanger,
//!   ResourceQuota and Pod Security are not. Services get IPv4 cluster IPs only (a dual-stack
//!   headless Service lists both families).
//! - Responses are always JSON (clients decode by the response's Content-Type). Protobuf request
//!   bodies are decoded for every built-in kind served, the review kinds, TokenRequest and
//!   DeleteOptions; CBOR answers 415 Unsupported Media Type.
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
//!   out, and ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs, Ingresses, Endpoints and
//!   volumes are stored and defaulted but nothing acts on them. Only the API server's own
//!   controllers and a few of kube-controller-manager's run (CRD establishment and cleanup,
//!   garbage collection, namespace termination, ClusterRole aggregation), asynchronously right
//!   after the write that needs them; each namespace's `default` ServiceAccount is made with the
//!   namespace. There is no `default/kubernetes` Service and no `kube-root-ca.crt` ConfigMap.
//! - One global resourceVersion counter and one bounded event history (default 10,000 events)
//!   stand in for etcd; `StoreConfig::history_capacity` sets it.
//! - Deleting an object never waits for a grace period (`gracePeriodSeconds` is ignored); a Pod
//!   is marked (MODIFIED) and removed (DELETED) at once, as an unscheduled Pod is.
//! - Aggregated discovery (`apidiscovery.k8s.io`) is not served; clients use legacy discovery.
//! - `/openapi/v3` documents describe paths and CRD schemas, built-in kinds get an open schema;
//!   `/openapi/v2` is an empty document (kubectl then skips client-side validation of List items).
//! - Field selectors support the fields kube-apiserver supports for Pods, Events (in both APIs'
//!   spellings), Secrets, Services and Namespaces, and `metadata.name`/`metadata.namespace`
//!   elsewhere; CRD `selectableFields` are not supported.
//! - `kubectl get` tables of built-in kinds have the main columns of kube-apiserver's printers
//!   (Pods, Services, Deployments, Secrets, ServiceAccounts, Events, bindings) but few `-o wide`
//!   columns, and a Pod's STATUS is its phase; `/version` reports 1.35.

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
