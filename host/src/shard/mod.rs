//! Scale-out: several `weft run --shards N` replicas divide the plugins between them, with the
//! API server's Leases as the only coordination.
//!
//! - Each replica holds a membership Lease (`weft-member-<identity>`, labelled
//!   `weft.dev/shard-member`) and renews it; the live members are those whose Lease has not run
//!   out.
//! - Plugins belong to buckets and buckets to members by a pure function every replica computes
//!   alike ([`assignment`]). A replica holds the bucket Lease `weft-shard-<b>` of each bucket
//!   assigned to it, and runs exactly the Plugins of the buckets it holds.
//! - Handover without overlap: a replica giving a bucket up stops its plugins (no new work,
//!   in-flight reconciles finish within the grace period), and only then releases the Lease; the
//!   next holder can take it only once it is released or has run out.
//! - A replica that cannot renew a bucket within the renew deadline stops its plugins at once,
//!   before the Lease can run out for anyone else (renew deadline < lease duration, the margin
//!   covering clock skew between replicas). A candidate wakes when a Lease it wants runs out, so a
//!   dead replica's buckets move within one lease duration.
//! - On shutdown a replica hands its buckets over at once: it stops its plugins, releases its
//!   bucket Leases and its membership.

mod assignment;
mod coordinator;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use assignment::{assign, bucket_of};
pub use coordinator::run_sharded;

/// One replica's part in sharding.
#[derive(Debug, Clone)]
pub struct ShardConfig {
    /// Buckets; every replica must be started with the same number.
    pub shards: u32,
    /// Where the membership and bucket Leases live.
    pub namespace: String,
    /// This replica, unique among them (the pod name in a cluster).
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub lease_duration: Duration,
    /// A replica that has not renewed a bucket for this long stops its plugins.
    pub renew_deadline: Duration,
    /// How often Leases are renewed and members looked at.
    pub retry_period: Duration,
}

/// What a replica's sharding has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct ShardStats {
    pub buckets_held: AtomicU64,
    pub members: AtomicU64,
    /// Buckets taken, given up after draining, and lost (not renewed in time).
    pub acquired: AtomicU64,
    pub released: AtomicU64,
    pub lost: AtomicU64,
}

impl ShardStats {
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The name of bucket `b`'s Lease.
pub fn bucket_lease(bucket: u32) -> String {
    format!("weft-shard-{bucket}")
}

/// The name of a member's Lease.
pub fn member_lease(identity: &str) -> String {
    format!("weft-member-{identity}")
}

/// The label that marks membership Leases.
pub const MEMBER_LABEL: &str = "weft.dev/shard-member";
