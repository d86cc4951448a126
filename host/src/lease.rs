//! `coordination.k8s.io` Leases as locks that one identity holds at a time: taken when free,
//! expired or already ours, renewed by their holder, released on the way out. Leader election
//! holds one; sharding holds one per bucket and one per replica (its membership).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

/// The outcome of trying to hold a Lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// It is ours (taken or renewed).
    Ours,
    /// Another identity holds it, for this long at most unless it renews.
    Theirs { expires_in: Duration },
}

/// Takes the Lease `name` for `identity` if it is free, expired or ours (renewing it). Updates
/// carry the resourceVersion read, so two candidates cannot both win (the loser sees
/// [`Claim::Theirs`]). A Lease that does not exist yet is created with `labels`.
pub async fn try_hold(
    leases: &Api<Lease>,
    name: &str,
    identity: &str,
    duration: Duration,
    labels: &BTreeMap<String, String>,
) -> Result<Claim, kube::Error> {
    let lost_race = Claim::Theirs { expires_in: duration };
    let duration_seconds = i32::try_from(duration.as_secs().max(1)).unwrap_or(i32::MAX);
    let Some(mut lease) = leases.get_opt(name).await? else {
        let lease = Lease {
            metadata: ObjectMeta { name: Some(name.to_owned()), labels: Some(labels.clone()), ..ObjectMeta::default() },
            spec: Some(LeaseSpec {
                holder_identity: Some(identity.to_owned()),
                lease_duration_seconds: Some(duration_seconds),
                acquire_time: Some(now()),
                renew_time: Some(now()),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        return match leases.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(Claim::Ours),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(lost_race),
            Err(e) => Err(e),
        };
    };
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    let holder = holder(spec);
    let ours = holder == Some(identity);
    if !ours && holder.is_some() && !expired(spec) {
        return Ok(Claim::Theirs { expires_in: remaining(spec) });
    }
    if !ours {
        spec.holder_identity = Some(identity.to_owned());
        spec.acquire_time = Some(now());
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    spec.lease_duration_seconds = Some(duration_seconds);
    spec.renew_time = Some(now());
    match leases.replace(name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(Claim::Ours),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(lost_race),
        Err(e) => Err(e),
    }
}

/// Who holds a Lease (an empty identity counts as nobody).
pub fn holder(spec: &LeaseSpec) -> Option<&str> {
    spec.holder_identity.as_deref().filter(|h| !h.is_empty())
}

/// How long until a Lease runs out unless renewed, by this machine's clock (zero once it has).
pub fn remaining(spec: &LeaseSpec) -> Duration {
    let Some(MicroTime(renewed)) = spec.renew_time else { return Duration::ZERO };
    let duration = jiff::SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    let Ok(until) = renewed.checked_add(duration) else { return Duration::ZERO };
    Duration::try_from(until.duration_since(jiff::Timestamp::now())).unwrap_or(Duration::ZERO)
}

/// Whether a Lease's holder has let it run out.
pub fn expired(spec: &LeaseSpec) -> bool {
    remaining(spec).is_zero()
}

/// Gives the Lease up, if `identity` holds it, so another candidate can take it at once.
pub async fn release(leases: &Api<Lease>, name: &str, identity: &str) -> Result<(), kube::Error> {
    let Some(mut lease) = leases.get_opt(name).await? else { return Ok(()) };
    let Some(spec) = lease.spec.as_mut().filter(|spec| holder(spec) == Some(identity)) else { return Ok(()) };
    spec.holder_identity = None;
    spec.renew_time = None;
    leases.replace(name, &PostParams::default(), &lease).await.map(drop)
}
