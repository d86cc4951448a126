//! [`Sim`]: a running emulator on a local address, with its library API for tests.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::auth::{AuthConfig, Authenticator, AuthorizationMode, bootstrap};
use crate::faults::Faults;
use crate::http::{AppState, router};
use crate::store::{Store, StoreConfig};
use crate::tls::Tls;
use crate::{controllers, kubeconfig};

/// How to start an emulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    pub store: StoreConfig,
    /// How often watches that asked for bookmarks get one.
    pub bookmark_interval: Duration,
    /// Authentication and authorization (`--authorization-mode`, `--token-auth-file`).
    pub auth: AuthConfig,
    /// Serve HTTPS with a certificate made at start (the kubeconfig carries its CA). kubectl
    /// sends tokens only over TLS, so authenticated kubectl needs it.
    pub tls: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            store: StoreConfig::default(),
            bookmark_interval: Duration::from_secs(10),
            auth: AuthConfig::default(),
            tls: false,
        }
    }
}

/// Errors starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificates could not be made.
    #[error("cannot set up TLS")]
    Tls(#[from] crate::tls::TlsError),
    /// A bootstrap RBAC object could not be stored.
    #[error("cannot store the bootstrap RBAC policy")]
    Bootstrap(#[source] crate::ApiError),
}

/// A running emulator. Dropping it without [`Sim::stop`] also stops it.
#[derive(Debug)]
pub struct Sim {
    addr: SocketAddr,
    store: Arc<Store>,
    faults: Arc<Faults>,
    authenticator: Arc<Authenticator>,
    tls: Option<Tls>,
    shutdown: CancellationToken,
    server: Option<JoinHandle<()>>,
}

impl Sim {
    /// Binds the address and starts serving.
    pub async fn start(config: SimConfig) -> Result<Self, StartError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: config.listen, source })?;
        let store = Arc::new(Store::new(config.store));
        if config.auth.mode == AuthorizationMode::Rbac {
            seed_bootstrap_policy(&store).map_err(StartError::Bootstrap)?;
        }
        let faults = Arc::new(Faults::default());
        let authenticator = Arc::new(Authenticator::new(&config.auth));
        let shutdown = CancellationToken::new();
        let state = AppState {
            store: store.clone(),
            faults: faults.clone(),
            authenticator: authenticator.clone(),
            mode: config.auth.mode,
            bookmark_interval: config.bookmark_interval,
            shutdown: shutdown.clone(),
            server_address: addr.to_string(),
        };
        tokio::spawn(controllers::run(store.clone(), shutdown.clone()));
        let app = router(state);
        let tls = if config.tls { Some(Tls::generate()?) } else { None };
        let server = match &tls {
            Some(tls) => serve(tls.listen(listener, shutdown.clone()), app, shutdown.clone()),
            None => serve(listener, app, shutdown.clone()),
        };
        tracing::info!(%addr, tls = tls.is_some(), "Kubernetes API emulator listening");
        Ok(Self { addr, store, faults, authenticator, tls, shutdown, server: Some(server) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://` when serving TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// PEM of the CA that signed the serving certificate, when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// A kubeconfig document pointing at this emulator (context `weft-sim`, namespace `default`),
    /// authenticating as the admin (`system:masters`).
    pub fn kubeconfig(&self) -> String {
        self.kubeconfig_with_token(self.admin_token())
    }

    /// The same kubeconfig with another bearer token (a ServiceAccount's, or one from the token
    /// file), or with none when `token` is empty.
    pub fn kubeconfig_with_token(&self, token: &str) -> String {
        kubeconfig::render(&self.url(), token, self.ca_pem())
    }

    /// The bearer token of the admin user (`system:masters`).
    pub fn admin_token(&self) -> &str {
        self.authenticator.admin_token()
    }

    /// A token for ServiceAccount `namespace/name`, as the TokenRequest API issues it
    /// (`kubectl create token`); the ServiceAccount must exist.
    pub fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        expiration: Duration,
    ) -> Result<String, crate::ApiError> {
        let seconds = i64::try_from(expiration.as_secs()).unwrap_or(i64::MAX);
        let body = serde_json::json!({"spec": {"expirationSeconds": seconds}});
        let response =
            crate::auth::token_request::create_token(&self.store, &self.authenticator, namespace, name, &body)?;
        Ok(response.pointer("/status/token").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned())
    }

    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// The storage and semantics layer, for direct inspection and fault injection.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Injected request failures and latency.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Closes every open watch; clients resume from their last resourceVersion.
    pub fn close_watches(&self) {
        self.store.close_watches();
    }

    /// Compacts history so that any resume from a resourceVersion seen so far gets 410.
    pub fn compact_history(&self) {
        self.store.compact_history();
    }

    /// Stops serving: open watches end, in-flight requests finish.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// Serves `app` on `listener` until `stop`, letting in-flight requests finish.
fn serve<L>(listener: L, app: axum::Router, stop: CancellationToken) -> JoinHandle<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "emulator server failed");
        }
    })
}

/// Stores the ClusterRoles and bindings a real cluster starts with.
fn seed_bootstrap_policy(store: &Store) -> Result<(), crate::ApiError> {
    let opts = crate::store::WriteOptions { default_manager: "kube-apiserver".into(), ..Default::default() };
    let roles = store.target("rbac.authorization.k8s.io", "v1", "clusterroles", None)?;
    for role in bootstrap::cluster_roles() {
        store.create(&roles, role, &opts)?;
    }
    let bindings = store.target("rbac.authorization.k8s.io", "v1", "clusterrolebindings", None)?;
    for binding in bootstrap::cluster_role_bindings() {
        store.create(&bindings, binding, &opts)?;
    }
    store.reconcile_once();
    Ok(())
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
