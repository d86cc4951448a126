//! The `weft` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Runs Kubernetes reconcilers compiled to WebAssembly.
#[derive(Debug, Parser)]
#[command(name = "weft", version, about)]
struct Cli {
    /// Log lines as text, or as JSON objects (one per line) with their fields.
    #[arg(long, global = true, env = "WEFT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the embedded Kubernetes API emulator until SIGINT or SIGTERM.
    ///
    /// Plain HTTP, no authentication; writes a kubeconfig so kubectl and kube clients can use it.
    Sim(SimArgs),
    /// Load plugin files the way the host would and print what each declares.
    ///
    /// Exits non-zero, with one line per file saying what is wrong, when any file is not a
    /// usable plugin.
    Check(CheckArgs),
    /// Run the host against a cluster: follow Plugin resources and run their reconcilers.
    ///
    /// Uses the kubeconfig (KUBECONFIG, ~/.kube/config) or, inside a pod, the in-cluster
    /// configuration. The Plugin CRD must be installed (`weft crd`).
    Run(RunArgs),
    /// The API emulator and the host in one process, for developing plugins without a cluster.
    ///
    /// Writes a kubeconfig for kubectl, installs the Plugin CRD, applies the given manifests
    /// (CRDs, Plugins, objects) and reloads `module.path` plugins when their file changes. With no
    /// manifests it runs a demo with the `hello` example.
    Dev(DevArgs),
    /// Print the Plugin CustomResourceDefinition as YAML.
    Crd,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Directory for compiled plugins, so restarts skip compiling.
    #[arg(long, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Reconcile every primary this often (seconds) even without changes; 0 turns it off.
    #[arg(long, env = "WEFT_RESYNC_SECONDS", default_value_t = 0)]
    resync: u64,
    /// Where to serve /metrics, /healthz and /readyz.
    #[arg(long, env = "WEFT_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Run only while holding a Lease, so several replicas can run with one active.
    #[arg(long, env = "WEFT_LEADER_ELECT")]
    leader_elect: bool,
    /// Namespace of the leader election Lease.
    #[arg(long, env = "WEFT_LEASE_NAMESPACE", default_value = "weft-system")]
    lease_namespace: String,
    /// Name of the leader election Lease.
    #[arg(long, env = "WEFT_LEASE_NAME", default_value = "weft-host")]
    lease_name: String,
    /// This replica's identity in the Lease; defaults to POD_NAME, else the host name and pid.
    #[arg(long, env = "WEFT_IDENTITY")]
    identity: Option<String>,
}

#[derive(Debug, clap::Args)]
struct DevArgs {
    /// YAML manifests to apply once the host runs.
    manifests: Vec<PathBuf>,
    /// Address for the emulator (port 0 picks a free port).
    #[arg(long, env = "WEFT_DEV_LISTEN", default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Where to write the kubeconfig.
    #[arg(long, env = "WEFT_DEV_KUBECONFIG", default_value = "weft-dev.kubeconfig")]
    kubeconfig: PathBuf,
    /// Directory for compiled plugins.
    #[arg(long, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Reconcile every primary this often (seconds) even without changes; 0 turns it off.
    #[arg(long, env = "WEFT_RESYNC_SECONDS", default_value_t = 0)]
    resync: u64,
    /// Where to serve /metrics, /healthz and /readyz (off unless given).
    #[arg(long, env = "WEFT_DEV_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Plugin files: wasm32-wasip2 components or wasm32-wasip1 modules built with the SDK.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct SimArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "WEFT_SIM_LISTEN", default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Where to write a kubeconfig for this emulator.
    #[arg(long, env = "WEFT_SIM_KUBECONFIG", default_value = "weft-sim.kubeconfig")]
    kubeconfig: PathBuf,
    /// Events kept for watch resumption; older resourceVersions get 410 Expired.
    #[arg(long, env = "WEFT_SIM_HISTORY", default_value_t = 10_000)]
    history: usize,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    // `check` reports problems itself; plugin output would only repeat them.
    let default_filter = if matches!(cli.command, Command::Check(_)) { "warn" } else { "info" };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match cli.command {
        Command::Sim(args) => {
            tokio::runtime::Runtime::new()?.block_on(sim(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => check(&args),
        Command::Run(args) => {
            tokio::runtime::Runtime::new()?.block_on(run(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dev(args) => {
            tokio::runtime::Runtime::new()?.block_on(dev(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Crd => {
            print!("{}", weft::crd::crd_yaml());
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = kube::Client::try_default().await.context("no cluster configuration")?;
    let mut config = weft::manager::HostConfig::default();
    config.runtime.cache_dir = args.cache_dir;
    config.controller.resync = resync(args.resync);
    let host = weft::manager::Host::new(client.clone(), config)?;
    let shutdown = CancellationToken::new();
    let stopping = shutdown.clone();
    tokio::spawn(async move {
        let _ = shutdown_signal().await;
        stopping.cancel();
    });
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.metrics_addr))?;
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics, /healthz and /readyz");
    let endpoints = tokio::spawn(weft::serve::serve(listener, host.clone(), shutdown.clone()));
    if args.leader_elect {
        let identity = args.identity.or_else(|| std::env::var("POD_NAME").ok()).unwrap_or_else(default_identity);
        let lease = weft::leader::LeaseConfig::new(&args.lease_namespace, &args.lease_name, &identity);
        host.set_standby(true);
        weft::leader::run_elected(client, lease, shutdown, |term| {
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
    } else {
        host.run(shutdown).await?;
    }
    endpoints.await??;
    Ok(())
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    format!("{host}-{}", std::process::id())
}

async fn dev(args: DevArgs) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let stopping = shutdown.clone();
    tokio::spawn(async move {
        let _ = shutdown_signal().await;
        stopping.cancel();
    });
    let options = weft::dev::DevOptions {
        listen: args.listen,
        kubeconfig: args.kubeconfig,
        manifests: args.manifests,
        cache_dir: args.cache_dir,
        resync: resync(args.resync),
        metrics_addr: args.metrics_addr,
    };
    weft::dev::run(options, shutdown).await
}

fn resync(seconds: u64) -> Option<std::time::Duration> {
    (seconds > 0).then(|| std::time::Duration::from_secs(seconds))
}

/// Plugin calls block their thread, so `check` runs without an async runtime.
fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let runtime = weft::runtime::Runtime::new(weft::runtime::RuntimeConfig::default())?;
    let mut ok = true;
    for file in &args.files {
        match weft::check::check(&runtime, file) {
            Ok(report) => print!("{report}"),
            Err(reason) => {
                ok = false;
                eprintln!("{}: {reason}", file.display());
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn sim(args: SimArgs) -> anyhow::Result<()> {
    let config = weft_sim::SimConfig {
        listen: args.listen,
        store: weft_sim::StoreConfig { history_capacity: args.history, ..Default::default() },
        ..Default::default()
    };
    let sim = weft_sim::Sim::start(config).await?;
    sim.write_kubeconfig(&args.kubeconfig)
        .with_context(|| format!("cannot write kubeconfig to {}", args.kubeconfig.display()))?;
    println!("Kubernetes API emulator serving at {}", sim.url());
    println!(
        "kubeconfig written to {}; try: kubectl --kubeconfig {} get namespaces",
        args.kubeconfig.display(),
        args.kubeconfig.display()
    );
    shutdown_signal().await?;
    sim.stop().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot listen for SIGINT"),
        _ = term.recv() => Ok(()),
    }
}
