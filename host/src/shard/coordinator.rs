//! The loop that keeps one replica's buckets: renew its membership, compute its buckets, give up
//! those no longer its own (after draining), take the ones that are, renew what it holds, and
//! drop at once what it could not renew in time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{MEMBER_LABEL, ShardConfig, ShardStats, assign, bucket_lease, member_lease};
use crate::lease::{self, Claim};
use crate::manager::{Host, Placement};

/// Runs `host` as one replica of a sharded installation until `shutdown`, then hands its
/// buckets over.
pub async fn run_sharded(
    client: kube::Client,
    host: Host,
    config: ShardConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let stats = host.shard_stats();
    let mut coordinator = Coordinator {
        leases: Api::namespaced(client, &config.namespace),
        host: host.clone(),
        held: BTreeMap::new(),
        draining: BTreeSet::new(),
        drains: JoinSet::new(),
        stats,
        config,
    };
    coordinator.place();
    let stop_host = CancellationToken::new();
    let running = tokio::spawn({
        let (host, stop_host) = (host.clone(), stop_host.clone());
        async move { host.run(stop_host).await }
    });
    let mut wake = Duration::ZERO;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wake) => {}
            Some(drained) = coordinator.drains.join_next(), if !coordinator.drains.is_empty() => {
                if let Ok(bucket) = drained { coordinator.released(bucket); }
                continue;
            }
        }
        wake = coordinator.tick().await;
    }
    coordinator.hand_over().await;
    stop_host.cancel();
    running.await??;
    Ok(())
}

struct Coordinator {
    leases: Api<Lease>,
    host: Host,
    config: ShardConfig,
    /// Buckets held, with when each was last renewed.
    held: BTreeMap<u32, Instant>,
    /// Held buckets being given up: their plugins are stopping, then the Lease is released.
    draining: BTreeSet<u32>,
    drains: JoinSet<u32>,
    stats: Arc<ShardStats>,
}

impl Coordinator {
    fn identity(&self) -> &str {
        &self.config.identity
    }

    /// Runs the Plugins of the held buckets that are not being given up.
    fn place(&self) {
        let held = self.held.keys().filter(|b| !self.draining.contains(b)).copied().collect();
        self.host.set_placement(Placement::Buckets { shards: self.config.shards, held });
        self.stats.buckets_held.store(self.held.len() as u64, Ordering::Relaxed);
    }

    /// One round; returns how long to wait before the next.
    async fn tick(&mut self) -> Duration {
        let mut wake = self.config.retry_period;
        let members = self.members().await;
        self.stats.members.store(members.as_ref().map_or(0, BTreeSet::len) as u64, Ordering::Relaxed);
        let plugins = self.host.plugin_names();
        let ours = match members {
            // Without a current view of the members, keep what is held and take nothing new.
            None => self.held.keys().copied().collect(),
            Some(members) => assign(&members, plugins.iter().map(String::as_str), self.config.shards)
                .remove(self.identity())
                .unwrap_or_default(),
        };
        for bucket in self.held.keys().copied().filter(|b| !ours.contains(b)).collect::<Vec<_>>() {
            self.give_up(bucket);
        }
        let wanted: Vec<u32> = ours.iter().copied().filter(|b| !self.held.contains_key(b)).collect();
        let renewing: Vec<u32> = self.held.keys().copied().collect();
        let claims = join_all(wanted.iter().chain(&renewing).map(|b| self.claim(*b))).await;
        for (bucket, claim) in wanted.iter().chain(&renewing).zip(claims) {
            match claim {
                Ok(Claim::Ours) => {
                    if self.held.insert(*bucket, Instant::now()).is_none() {
                        ShardStats::count(&self.stats.acquired);
                        tracing::info!(bucket, "took bucket");
                    }
                }
                Ok(Claim::Theirs { expires_in }) => {
                    // Wake when it runs out, to take it as soon as it may be taken.
                    wake = wake.min(expires_in + Duration::from_millis(10));
                    if self.held.remove(bucket).is_some() {
                        self.lost(*bucket, "another replica holds it");
                    }
                }
                Err(e) => {
                    if self.held.get(bucket).is_some_and(|renewed| renewed.elapsed() >= self.config.renew_deadline) {
                        self.held.remove(bucket);
                        self.lost(*bucket, &format!("not renewed within the renew deadline: {e}"));
                    }
                }
            }
        }
        self.place();
        wake
    }

    /// The live members, or `None` when this replica cannot tell (its own membership or the list
    /// failed).
    async fn members(&self) -> Option<BTreeSet<String>> {
        let labels = [(MEMBER_LABEL.to_owned(), "true".to_owned())].into();
        let renewed = lease::try_hold(
            &self.leases,
            &member_lease(self.identity()),
            self.identity(),
            self.config.lease_duration,
            &labels,
        )
        .await;
        if !matches!(renewed, Ok(Claim::Ours)) {
            tracing::debug!(result = ?renewed, "could not renew membership");
            return None;
        }
        let listed = self.leases.list(&ListParams::default().labels(MEMBER_LABEL)).await;
        let listed = listed.map_err(|e| tracing::debug!(error = %e, "could not list members")).ok()?;
        Some(
            listed
                .items
                .iter()
                .filter_map(|l| l.spec.as_ref())
                .filter(|spec| !lease::expired(spec))
                .filter_map(|spec| lease::holder(spec).map(str::to_owned))
                .collect(),
        )
    }

    async fn claim(&self, bucket: u32) -> Result<Claim, kube::Error> {
        let labels = Default::default();
        lease::try_hold(&self.leases, &bucket_lease(bucket), self.identity(), self.config.lease_duration, &labels).await
    }

    /// Stops the bucket's plugins, then releases its Lease (in the background; renewal goes on
    /// meanwhile).
    fn give_up(&mut self, bucket: u32) {
        if !self.draining.insert(bucket) {
            return;
        }
        tracing::info!(bucket, "giving bucket up");
        self.place();
        let (host, leases, identity) = (self.host.clone(), self.leases.clone(), self.identity().to_owned());
        self.drains.spawn(async move {
            host.quiesced().await;
            if let Err(e) = lease::release(&leases, &bucket_lease(bucket), &identity).await {
                tracing::warn!(bucket, error = %e, "could not release bucket; it runs out instead");
            }
            bucket
        });
    }

    fn released(&mut self, bucket: u32) {
        self.draining.remove(&bucket);
        if self.held.remove(&bucket).is_some() {
            ShardStats::count(&self.stats.released);
            tracing::info!(bucket, "handed bucket over");
        }
        self.place();
    }

    fn lost(&mut self, bucket: u32, why: &str) {
        self.draining.remove(&bucket);
        ShardStats::count(&self.stats.lost);
        tracing::warn!(bucket, why, "lost bucket; its plugins stop at once");
    }

    /// Shutdown: stop every plugin, release every bucket and the membership.
    async fn hand_over(&mut self) {
        self.draining.extend(self.held.keys().copied());
        self.place();
        self.host.quiesced().await;
        let identity = self.identity().to_owned();
        let names: Vec<String> = self.held.keys().map(|b| bucket_lease(*b)).collect();
        let releases = names.iter().map(|name| lease::release(&self.leases, name, &identity));
        for released in join_all(releases).await {
            if let Err(e) = released {
                tracing::warn!(error = %e, "could not release a bucket; it runs out instead");
            }
        }
        self.held.clear();
        if let Err(e) = lease::release(&self.leases, &member_lease(&identity), &identity).await {
            tracing::warn!(error = %e, "could not release membership");
        }
        tracing::info!("handed every bucket over");
    }
}
