//! `weft run`: the host against a cluster, with its endpoints and optional leader election.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::leader::{self, LeaseConfig};
use crate::manager::{Host, HostConfig};
use crate::oci::OciConfig;

/// What `weft run` was asked for.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Compiled plugins are kept here across restarts; see [`cache_dir_or_default`].
    pub cache_dir: Option<PathBuf>,
    /// Periodic resync of every plugin's primaries.
    pub resync: Option<Duration>,
    /// How long a plugin may be idle before it releases its compiled code.
    pub idle_after: Option<Duration>,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub metrics_addr: SocketAddr,
    /// Run only while holding this Lease.
    pub leader_election: Option<LeaseConfig>,
    /// Registries: plain-HTTP ones and required signatures.
    pub oci: OciConfig,
}

/// Runs the host against the cluster of `client` until `shutdown`, then stops every plugin.
pub async fn run(client: kube::Client, options: RunOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut config = HostConfig::default();
    config.runtime.cache_dir = cache_dir_or_default(options.cache_dir);
    config.controller.resync = options.resync;
    config.controller.idle_after = options.idle_after;
    config.oci = with_blob_cache(options.oci, config.runtime.cache_dir.as_deref());
    let host = Host::new(client.clone(), config)?;
    let listener = tokio::net::TcpListener::bind(options.metrics_addr)
        .await
        .with_context(|| format!("cannot listen on {}", options.metrics_addr))?;
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics, /healthz and /readyz");
    let endpoints = tokio::spawn(crate::serve(listener, host.clone(), shutdown.clone()));
    match options.leader_election {
        Some(lease) => {
            host.set_standby(true);
            leader::run_elected(client, lease, shutdown, |term| {
                let host = host.clone();
                async move {
                    host.set_standby(false);
                    if let Err(e) = host.run(term).await {
                        tracing::error!(error = %e, "host stopped");
                    }
                    host.set_standby(true);
                }
            })
            .await;
        }
        None => host.run(shutdown).await?,
    }
    endpoints.await??;
    Ok(())
}

/// `oci` keeping pulled modules under `cache_dir/blobs`, unless it names a place of its own.
pub(crate) fn with_blob_cache(mut oci: OciConfig, cache_dir: Option<&std::path::Path>) -> OciConfig {
    if oci.cache_dir.is_none() {
        oci.cache_dir = cache_dir.map(|dir| dir.join("blobs"));
    }
    oci
}

/// The compiled-plugin cache to use: `dir`, else `weft-compiled` in the temporary directory.
/// Without one, restarts compile every module again and idle plugins cannot release their code,
/// so the host goes without only when the directory cannot be made.
pub fn cache_dir_or_default(dir: Option<PathBuf>) -> Option<PathBuf> {
    let dir = dir.unwrap_or_else(|| std::env::temp_dir().join("weft-compiled"));
    match std::fs::create_dir_all(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "no compiled-plugin cache: every load compiles");
            None
        }
    }
}
