//! The `weft` command line: flags to options, tracing, then the library's entry points.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Plain HTTP (HTTPS under `--authorization-mode=RBAC`, which authorizes as kube-apiserver does;
    /// otherwise everything is allowed); writes an admin kubeconfig for kubectl and kube clients.
    #[cfg(feature = "dev")]
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
    #[cfg(feature = "dev")]
    Dev(DevArgs),
    /// Print the Plugin CustomResourceDefinition as YAML.
    Crd,
    /// Push a plugin module to an OCI registry and print its manifest digest.
    ///
    /// The module is checked as `weft check` does, then pushed in the CNCF TAG Runtime wasm
    /// layout (config application/vnd.wasm.config.v0+json, one application/wasm layer) with the
    /// name and version from its describe as annotations. Credentials come from a Docker config
    /// file (--authfile, else ~/.docker/config.json). Use the printed digest to pin the reference
    /// (REFERENCE@DIGEST) in spec.module.oci.
    Push(PushArgs),
    /// Compile plugin modules into a compiled-plugin cache, so that hosts using the cache load
    /// them in milliseconds. The host also runs this itself for every module it compiles, so the
    /// compiler's memory is never the host's.
    Compile(CompileArgs),
}

#[derive(Debug, clap::Args)]
struct CompileArgs {
    /// Plugin files, or `-` for standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The compiled-plugin cache [default: weft-compiled in the temporary directory]
    #[arg(long, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Engine settings as JSON, from the host that runs this, so the result fits its engine.
    #[arg(long, hide = true)]
    engine: Option<String>,
}

/// Flags `weft run` and `weft dev` share.
#[derive(Debug, clap::Args)]
struct HostArgs {
    /// Directory for compiled plugins, so restarts skip compiling and idle plugins can release
    /// their code [default: weft-compiled in the temporary directory]
    #[arg(long, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Reconcile every primary this often (seconds) even without changes; 0 turns it off.
    #[arg(long, env = "WEFT_RESYNC_SECONDS", default_value_t = 0)]
    resync: u64,
    /// A plugin with no work for this long (seconds) releases its compiled code until its next
    /// event; 0 keeps every plugin loaded.
    #[arg(long, env = "WEFT_IDLE_AFTER_SECONDS", default_value_t = 60)]
    idle_after: u64,
    #[command(flatten)]
    registries: RegistryArgs,
}

/// How the host reaches registries and what it requires of their modules.
#[derive(Debug, clap::Args)]
struct RegistryArgs {
    /// Reach this registry (HOST:PORT, as written in references) over plain HTTP instead of
    /// HTTPS; repeatable, or comma-separated in the environment.
    #[arg(long = "insecure-registry", value_name = "HOST:PORT", env = "WEFT_INSECURE_REGISTRY", value_delimiter = ',')]
    insecure: Vec<String>,
    /// Require every plugin module to be an OCI artifact with a cosign signature by the public
    /// key in this PEM file (cosign.pub); repeatable (a signature by each is required).
    #[arg(long = "signature-key", value_name = "FILE", env = "WEFT_SIGNATURE_KEY", value_delimiter = ',')]
    signature_keys: Vec<PathBuf>,
}

impl RegistryArgs {
    fn config(&self) -> anyhow::Result<weft::oci::OciConfig> {
        Ok(weft::oci::OciConfig::from_flags(&self.insecure, &self.signature_keys)?)
    }
}

impl HostArgs {
    fn resync(&self) -> Option<Duration> {
        seconds(self.resync)
    }

    fn idle_after(&self) -> Option<Duration> {
        seconds(self.idle_after)
    }
}

/// `None` for 0.
fn seconds(seconds: u64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    host: HostArgs,
    /// Where to serve /metrics, /healthz and /readyz.
    #[arg(long, env = "WEFT_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Run only while holding a Lease, so several replicas can run with one active.
    #[arg(long, env = "WEFT_LEADER_ELECT", conflicts_with = "shards")]
    leader_elect: bool,
    /// Share the plugins among the replicas started with the same number: each runs the plugins
    /// of the buckets (of this many) it holds a Lease for. 0 turns sharding off.
    #[arg(long, env = "WEFT_SHARDS", default_value_t = 0)]
    shards: u32,
    /// Namespace of the leader election, membership and bucket Leases.
    #[arg(long, env = "WEFT_LEASE_NAMESPACE", default_value = "weft-system")]
    lease_namespace: String,
    /// Name of the leader election Lease.
    #[arg(long, env = "WEFT_LEASE_NAME", default_value = "weft-host")]
    lease_name: String,
    /// How long a Lease stays valid without renewal (`15s`, `500ms`).
    #[arg(long, env = "WEFT_LEASE_DURATION", default_value = "15s", value_parser = duration)]
    lease_duration: Duration,
    /// A replica that has not renewed its Lease for this long stops reconciling; it must be
    /// shorter than the lease duration, by more than clocks may differ between replicas.
    #[arg(long, env = "WEFT_RENEW_DEADLINE", default_value = "10s", value_parser = duration)]
    renew_deadline: Duration,
    /// How often Leases are tried and renewed.
    #[arg(long, env = "WEFT_RETRY_PERIOD", default_value = "2s", value_parser = duration)]
    retry_period: Duration,
    /// This replica's identity in the Leases; defaults to POD_NAME, else the host name and pid.
    #[arg(long, env = "WEFT_IDENTITY")]
    identity: Option<String>,
}

fn duration(text: &str) -> Result<Duration, String> {
    weft::crd::parse_duration(text).ok_or_else(|| format!("{text:?} is not a duration such as 500ms, 15s or 1m"))
}

#[cfg(feature = "dev")]
#[derive(Debug, clap::Args)]
struct DevArgs {
    /// YAML manifests to apply once the host runs.
    manifests: Vec<PathBuf>,
    #[command(flatten)]
    host: HostArgs,
    /// Address for the emulator (port 0 picks a free port).
    #[arg(long, env = "WEFT_DEV_LISTEN", default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Where to write the kubeconfig.
    #[arg(long, env = "WEFT_DEV_KUBECONFIG", default_value = "weft-dev.kubeconfig")]
    kubeconfig: PathBuf,
    /// Where to serve /metrics, /healthz and /readyz (off unless given).
    #[arg(long, env = "WEFT_DEV_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Plugin files (wasm32-wasip2 components or wasm32-wasip1 modules built with an SDK, either
    /// of them optionally gzip-compressed), or oci://REFERENCE for a module in a registry, pulled
    /// as the host pulls it.
    #[arg(required = true)]
    files: Vec<String>,
    /// Keep compiled plugins here between runs (a Python plugin takes seconds to compile).
    #[arg(long, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    #[command(flatten)]
    registries: RegistryArgs,
    /// A Docker config file with registry credentials [default: ~/.docker/config.json]
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    authfile: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct PushArgs {
    /// The plugin module (.wasm).
    file: PathBuf,
    /// Where to push it: REGISTRY/REPOSITORY:TAG.
    reference: String,
    /// Plain HTTP to the registry instead of HTTPS.
    #[arg(long)]
    insecure: bool,
    /// A Docker config file with registry credentials [default: ~/.docker/config.json]
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    authfile: Option<PathBuf>,
}

#[cfg(feature = "dev")]
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
    /// AlwaysAllow, or RBAC: authorize every request by the stored Roles and bindings, as
    /// kube-apiserver does (the kubeconfig's admin token is in system:masters); RBAC serves HTTPS
    /// with a CA made at start, which the kubeconfig carries.
    #[arg(long, env = "WEFT_SIM_AUTHORIZATION_MODE", default_value = "AlwaysAllow", value_parser = ["AlwaysAllow", "RBAC"])]
    authorization_mode: String,
    /// Bearer tokens in kube-apiserver's token file format: `token,user,uid[,"group1,group2"]`.
    #[arg(long, env = "WEFT_SIM_TOKEN_AUTH_FILE")]
    token_auth_file: Option<PathBuf>,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    // `check`, `push` and `compile` report problems themselves.
    let default_filter =
        if matches!(cli.command, Command::Check(_) | Command::Push(_) | Command::Compile(_)) { "warn" } else { "info" };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match cli.command {
        Command::Check(args) => return check(&args),
        Command::Push(args) => return push(args),
        Command::Compile(args) => return compile(args),
        Command::Crd => print!("{}", weft::crd::crd_yaml()),
        Command::Run(args) => weft::until_signal(|shutdown| async move {
            let cluster = kube::Config::infer().await.context("no cluster configuration")?;
            weft::run(cluster, run_options(args)?, shutdown).await
        })?,
        #[cfg(feature = "dev")]
        Command::Dev(args) => {
            let options = dev_options(args)?;
            weft::until_signal(|shutdown| weft::dev::run(options, shutdown))?;
        }
        #[cfg(feature = "dev")]
        Command::Sim(args) => weft::until_signal(|shutdown| {
            let authorization = match args.authorization_mode.as_str() {
                "RBAC" => weft_sim::AuthorizationMode::Rbac,
                _ => weft_sim::AuthorizationMode::AlwaysAllow,
            };
            let options = weft::dev::SimOptions {
                listen: args.listen,
                kubeconfig: args.kubeconfig,
                history: args.history,
                authorization,
                token_auth_file: args.token_auth_file,
            };
            weft::dev::sim(options, shutdown)
        })?,
    }
    Ok(ExitCode::SUCCESS)
}

fn run_options(args: RunArgs) -> anyhow::Result<weft::RunOptions> {
    anyhow::ensure!(
        args.retry_period < args.renew_deadline && args.renew_deadline < args.lease_duration,
        "--retry-period ({:?}) must be shorter than --renew-deadline ({:?}), and that shorter than --lease-duration ({:?})",
        args.retry_period,
        args.renew_deadline,
        args.lease_duration
    );
    let identity = args.identity.or_else(|| std::env::var("POD_NAME").ok()).unwrap_or_else(default_identity);
    let coordination = if args.shards > 0 {
        weft::Coordination::Shards(weft::shard::ShardConfig {
            shards: args.shards,
            namespace: args.lease_namespace,
            identity,
            lease_duration: args.lease_duration,
            renew_deadline: args.renew_deadline,
            retry_period: args.retry_period,
        })
    } else if args.leader_elect {
        weft::Coordination::LeaderElection(weft::leader::LeaseConfig {
            lease_duration: args.lease_duration,
            renew_deadline: args.renew_deadline,
            retry_period: args.retry_period,
            ..weft::leader::LeaseConfig::new(&args.lease_namespace, &args.lease_name, &identity)
        })
    } else {
        weft::Coordination::Alone
    };
    Ok(weft::RunOptions {
        resync: args.host.resync(),
        idle_after: args.host.idle_after(),
        oci: args.host.registries.config()?,
        cache_dir: args.host.cache_dir,
        metrics_addr: args.metrics_addr,
        coordination,
    })
}

#[cfg(feature = "dev")]
fn dev_options(args: DevArgs) -> anyhow::Result<weft::dev::DevOptions> {
    Ok(weft::dev::DevOptions {
        resync: args.host.resync(),
        idle_after: args.host.idle_after(),
        oci: args.host.registries.config()?,
        cache_dir: args.host.cache_dir,
        listen: args.listen,
        kubeconfig: args.kubeconfig,
        manifests: args.manifests,
        metrics_addr: args.metrics_addr,
    })
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    format!("{host}-{}", std::process::id())
}

/// Compiles at a lower priority into the cache, and reports its peak memory last (the host
/// reads it).
fn compile(args: CompileArgs) -> anyhow::Result<ExitCode> {
    let engine = match &args.engine {
        Some(json) => serde_json::from_str(json).context("--engine is not engine settings")?,
        None => weft::runtime::EngineConfig::default(),
    };
    let cache_dir = weft::cache_dir_or_default(args.cache_dir).context("no compiled-plugin cache to write to")?;
    let ok = weft::runtime::compile_into_cache(&args.files, engine, cache_dir)?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Plugin calls block their thread, so `check` runs without an async runtime (a pull gets one of
/// its own).
fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let config = weft::runtime::RuntimeConfig { cache_dir: args.cache_dir.clone(), ..Default::default() };
    let runtime = weft::runtime::Runtime::new(config)?;
    let registries = args.registries.config()?;
    let mut ok = true;
    for file in &args.files {
        let checked = match file.strip_prefix("oci://") {
            Some(reference) => weft::check::check_oci(&runtime, reference, &registries, args.authfile.as_deref()),
            None => weft::check::check(&runtime, Path::new(file)),
        };
        match checked {
            Ok(report) => print!("{report}"),
            Err(reason) => {
                ok = false;
                eprintln!("{file}: {reason}");
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The digest on stdout, so scripts can pin it; the rest on stderr.
fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let options = weft::push::PushOptions {
        file: args.file,
        reference: args.reference,
        insecure: args.insecure,
        authfile: args.authfile,
    };
    match weft::push::run(&options) {
        Ok(pushed) => {
            eprintln!("pushed {} to {}; pin it as {}", pushed.summary, options.reference, pushed.pinned);
            println!("{}", pushed.digest);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}: {e}", options.reference);
            Ok(ExitCode::FAILURE)
        }
    }
}
