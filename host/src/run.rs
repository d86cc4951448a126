//! `weft run`: the host against a cluster, with its endpoints, alone, as one of several replicas
//! of which one is active (leader election), or as one of several that share the plugins
//! (sharding).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::leader::{self, LeaseConfig};
use crate::manager::{Host, HostConfig};
use crate::oci::OciConfig;
use crate::runtime::CompileIn;
use crate::shard::{self, ShardConfig};

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
    /// Registries: plain-HTTP ones and required signatures.
    pub oci: OciConfig,
    pub coordination: Coordination,
}

/// How this replica relates to others.
#[derive(Debug, Clone)]
pub enum Coordination {
    /// It runs every plugin.
    Alone,
    /// It runs every plugin while it holds this Lease.
    LeaderElection(LeaseConfig),
    /// It runs the plugins of the buckets it holds.
    Shards(ShardConfig),
}

impl Coordination {
    /// The identity this replica goes by, if it has one.
    fn identity(&self) -> Option<&str> {
        match self {
            Self::Alone => None,
            Self::LeaderElection(lease) => Some(&lease.identity),
            Self::Shards(shards) => Some(&shards.identity),
        }
    }
}

/// Runs the host against the cluster `cluster` describes until `shutdown`, then stops every
/// plugin.
pub async fn run(cluster: kube::Config, options: RunOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let client = kube::Client::try_from(cluster.clone()).context("cannot make a client for the cluster")?;
    let mut config = host_config(cluster, options.cache_dir, options.resync, options.idle_after, options.oci);
    config.identity = options.coordination.identity().map(str::to_owned);
    let host = Host::new(client.clone(), config)?;
    let listener = tokio::net::TcpListener::bind(options.metrics_addr)
        .await
        .with_context(|| format!("cannot listen on {}", options.metrics_addr))?;
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics, /healthz and /readyz");
    let endpoints = tokio::spawn(crate::serve(listener, host.clone(), shutdown.clone()));
    match options.coordination {
        Coordination::LeaderElection(lease) => {
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
        Coordination::Shards(shards) => shard::run_sharded(client, host, shards, shutdown).await?,
        Coordination::Alone => host.run(shutdown).await?,
    }
    endpoints.await??;
    Ok(())
}

/// The settings `weft run` and `weft dev` share: the compiled-plugin cache (and pulled modules
/// under it), compiles in a child process, resync and idle eviction.
pub(crate) fn host_config(
    cluster: kube::Config,
    cache_dir: Option<PathBuf>,
    resync: Option<Duration>,
    idle_after: Option<Duration>,
    oci: OciConfig,
) -> HostConfig {
    let mut config = HostConfig { cluster: Some(cluster), ..HostConfig::default() };
    config.runtime.cache_dir = cache_dir_or_default(cache_dir);
    config.runtime.compile_in = compile_in_child();
    config.controller.resync = resync;
    config.controller.idle_after = idle_after;
    config.oci = with_blob_cache(oci, config.runtime.cache_dir.as_deref());
    config
}

/// `oci` keeping pulled modules under `cache_dir/blobs`, unless it names a place of its own.
fn with_blob_cache(mut oci: OciConfig, cache_dir: Option<&std::path::Path>) -> OciConfig {
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

/// Compiles in child processes running this program, when it can be found.
fn compile_in_child() -> CompileIn {
    match std::env::current_exe() {
        Ok(program) => CompileIn::Subprocess(program),
        Err(e) => {
            tracing::warn!(error = %e, "cannot find this program to compile in a child process; compiling in the host");
            CompileIn::ThisProcess
        }
    }
}
