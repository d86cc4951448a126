//! Which replica runs which plugins, as a pure function every replica computes alike from the
//! same inputs: the live members and the Plugins.
//!
//! A plugin belongs to bucket `fnv1a64(name) mod shards` (FNV-1a, 64-bit, over the name's UTF-8
//! bytes: stable across versions and platforms). Buckets go to members by rendezvous hashing
//! with bounded loads: in bucket order, each bucket goes to the member that scores highest for it
//! (`fnv1a64(member, bucket)`) among those whose load, in plugins, stays within
//! `ceil(plugins / members) + 1`. Rendezvous keeps moves few when a member joins or leaves (only
//! buckets whose best member changed move); the bound keeps the spread even in plugins, not only
//! in buckets, which plain rendezvous (and Knative's bucket leases) do not: no member runs more
//! than its share plus one bucket's plugins, so with at least as many buckets as plugins per
//! replica the spread is within a plugin or two of even.

use std::collections::{BTreeMap, BTreeSet};

/// FNV-1a over `parts`, each followed by a zero byte so that ("ab","c") and ("a","bc") differ.
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(std::iter::once(&0)) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The bucket a plugin belongs to.
pub fn bucket_of(plugin: &str, shards: u32) -> u32 {
    u32::try_from(fnv1a64(&[plugin.as_bytes()]) % u64::from(shards.max(1))).unwrap_or_default()
}

/// The buckets each member runs, for `plugins` (names) in `shards` buckets. Every bucket goes
/// to exactly one member; with no members, to none.
pub fn assign<'a>(
    members: &BTreeSet<String>,
    plugins: impl IntoIterator<Item = &'a str>,
    shards: u32,
) -> BTreeMap<String, BTreeSet<u32>> {
    let mut assigned: BTreeMap<String, BTreeSet<u32>> = members.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    if members.is_empty() {
        return assigned;
    }
    let mut weights = vec![0usize; shards.max(1) as usize];
    let mut total: usize = 0;
    for plugin in plugins {
        weights[bucket_of(plugin, shards) as usize] += 1;
        total += 1;
    }
    let bound = total.div_ceil(members.len()) + 1;
    let mut load: BTreeMap<&str, usize> = members.iter().map(|m| (m.as_str(), 0)).collect();
    for (bucket, weight) in weights.iter().enumerate() {
        let bucket_bytes = (bucket as u64).to_le_bytes();
        let mut ranked: Vec<&str> = members.iter().map(String::as_str).collect();
        ranked.sort_by_key(|m| std::cmp::Reverse(fnv1a64(&[m.as_bytes(), &bucket_bytes])));
        // Every bucket fits somewhere: the least loaded member is never over the bound before
        // the last plugin is placed.
        let chosen = ranked
            .iter()
            .find(|m| load[**m] + weight <= bound)
            .or_else(|| ranked.iter().min_by_key(|m| load[**m]))
            .copied()
            .unwrap_or_default();
        *load.entry(chosen).or_default() += weight;
        assigned.entry(chosen.to_owned()).or_default().insert(u32::try_from(bucket).unwrap_or_default());
    }
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn plugins(count: usize) -> Vec<String> {
        (0..count).map(|i| format!("plugin-{i}")).collect()
    }

    /// Plugins each member runs.
    fn spread(assigned: &BTreeMap<String, BTreeSet<u32>>, plugins: &[String], shards: u32) -> Vec<usize> {
        assigned
            .values()
            .map(|buckets| plugins.iter().filter(|p| buckets.contains(&bucket_of(p, shards))).count())
            .collect()
    }

    #[test]
    fn the_bucket_hash_is_stable() {
        // Pinned: a change here moves every plugin between replicas on upgrade.
        assert_eq!(fnv1a64(&[b"".as_slice()]), 0xaf63_bd4c_8601_b7df);
        assert_eq!(bucket_of("hello", 16), bucket_of("hello", 16));
        assert!(bucket_of("anything", 1) == 0);
    }

    #[test]
    fn every_bucket_goes_to_exactly_one_member_and_every_member_computes_the_same() {
        let m = members(&["a", "b", "c"]);
        let p = plugins(30);
        let assigned = assign(&m, p.iter().map(String::as_str), 32);
        let all: Vec<u32> = assigned.values().flatten().copied().collect();
        assert_eq!(all.len(), 32);
        assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 32);
        let reversed: Vec<&str> = p.iter().rev().map(String::as_str).collect();
        assert_eq!(assign(&m, reversed, 32), assigned, "the order plugins are seen in does not matter");
    }

    #[test]
    fn no_member_runs_more_than_its_share_and_one_bucket() {
        for shards in [8, 16, 32, 64] {
            for count in [3, 30, 100, 1000] {
                let p = plugins(count);
                let heaviest = (0..shards).map(|b| p.iter().filter(|n| bucket_of(n, shards) == b).count()).max();
                for names in [&["a", "b"][..], &["a", "b", "c"], &["r1", "r2", "r3", "r4"]] {
                    let assigned = assign(&members(names), p.iter().map(String::as_str), shards);
                    let most = spread(&assigned, &p, shards).into_iter().max().unwrap_or_default();
                    let bound = count.div_ceil(names.len()) + heaviest.unwrap_or_default();
                    assert!(most <= bound, "{count} plugins, {shards} shards, {names:?}: {most} > {bound}");
                }
            }
        }
    }

    #[test]
    fn thirty_plugins_on_three_replicas_with_enough_buckets_spread_evenly() {
        let p = plugins(30);
        let assigned = assign(&members(&["a", "b", "c"]), p.iter().map(String::as_str), 32);
        let most = spread(&assigned, &p, 32).into_iter().max().unwrap_or_default();
        assert!(most <= 12, "{most} plugins on one replica");
    }

    #[test]
    fn a_member_joining_takes_buckets_without_reshuffling_the_rest() {
        let p = plugins(300);
        let before = assign(&members(&["a", "b", "c"]), p.iter().map(String::as_str), 64);
        let after = assign(&members(&["a", "b", "c", "d"]), p.iter().map(String::as_str), 64);
        let moved_between_old: usize = ["a", "b", "c"].iter().map(|m| after[*m].difference(&before[*m]).count()).sum();
        assert!(!after["d"].is_empty());
        assert!(moved_between_old <= 64 / 4, "{moved_between_old} buckets moved between the old members");
    }

    #[test]
    fn with_no_members_nothing_is_assigned() {
        assert!(assign(&members(&[]), ["p"], 8).is_empty());
    }
}
