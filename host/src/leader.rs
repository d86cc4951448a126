//! Leader election on a `coordination.k8s.io` Lease, so several replicas can run with one active.
//!
//! A candidate takes the Lease when it is free or expired; the leader renews it every retry
//! period. A leader that cannot renew within the renew deadline, or finds another holder, stops
//! its work at once and becomes a candidate again. On shutdown the leader releases the Lease so a
//! standby takes over without waiting for it to expire.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use tokio_util::sync::CancellationToken;

use crate::lease;

/// Timing and identity of one candidate.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// Unique per replica (the pod name in a cluster).
    pub identity: String,
    /// How long a Lease stays valid without renewal; a standby waits this long for a silent
    /// leader.
    pub lease_duration: Duration,
    /// A leader that has not renewed for this long stops its work.
    pub renew_deadline: Duration,
    /// How often candidates try to acquire and leaders renew.
    pub retry_period: Duration,
}

impl LeaseConfig {
    pub fn new(namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Runs `lead` whenever this candidate holds the Lease, until `shutdown`. `lead` gets a token that
/// is cancelled when leadership ends and must return promptly after it is.
pub async fn run_elected<F, Fut>(client: kube::Client, config: LeaseConfig, shutdown: CancellationToken, lead: F)
where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let leases: Api<Lease> = Api::namespaced(client, &config.namespace);
    loop {
        // Candidate: try until the Lease is ours.
        loop {
            match try_acquire_or_renew(&leases, &config).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => tracing::debug!(error = %e, "lease attempt failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(config.retry_period) => {}
            }
        }
        tracing::info!(identity = %config.identity, lease = %config.name, "became leader");
        let term = CancellationToken::new();
        let work = tokio::spawn(lead(term.clone()));
        let mut last_renewal = tokio::time::Instant::now();
        let lost = loop {
            tokio::select! {
                () = shutdown.cancelled() => break false,
                () = tokio::time::sleep(config.retry_period) => {}
            }
            match try_acquire_or_renew(&leases, &config).await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => break true,
                Err(e) if last_renewal.elapsed() >= config.renew_deadline => {
                    tracing::warn!(error = %e, "could not renew the lease in time");
                    break true;
                }
                Err(e) => tracing::debug!(error = %e, "lease renewal failed; retrying"),
            }
        };
        term.cancel();
        if lost {
            tracing::warn!(identity = %config.identity, "lost the lease; stopped reconciling");
        }
        let _ = work.await;
        if !lost {
            release(&leases, &config).await;
            return;
        }
    }
}

/// Gives the Lease up so a standby can take it at once.
async fn release(leases: &Api<Lease>, config: &LeaseConfig) {
    match lease::release(leases, &config.name, &config.identity).await {
        Ok(()) => tracing::info!(identity = %config.identity, "released the lease"),
        Err(e) => tracing::warn!(error = %e, "could not release the lease"),
    }
}

async fn try_acquire_or_renew(leases: &Api<Lease>, config: &LeaseConfig) -> Result<bool, kube::Error> {
    let labels = Default::default();
    let claim = lease::try_hold(leases, &config.name, &config.identity, config.lease_duration, &labels).await?;
    Ok(claim == lease::Claim::Ours)
}
