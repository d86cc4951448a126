//! Running until the process is told to stop.

use anyhow::Context;
use tokio_util::sync::CancellationToken;

/// Runs `body` on a new async runtime with a token cancelled on SIGINT or SIGTERM.
pub fn until_signal<F, Fut>(body: F) -> anyhow::Result<()>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    tokio::runtime::Runtime::new()?.block_on(async {
        let shutdown = CancellationToken::new();
        let stopping = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = shutdown_signal().await {
                tracing::error!(error = %e, "cannot listen for signals");
            }
            stopping.cancel();
        });
        body(shutdown).await
    })
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
