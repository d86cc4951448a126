//! The counters a plugin's status and metrics report, updated from each call's [`Outcome`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::outcome::{Fault, Outcome};
use crate::histogram::Histogram;

/// Latency samples kept per plugin.
const LATENCY_SAMPLES: usize = 4096;

#[derive(Debug, Default)]
pub struct Stats {
    /// Reconcile and cleanup calls made.
    pub reconciles: AtomicU64,
    /// Keys that failed, whatever the cause.
    pub errors: AtomicU64,
    pub last_error: Mutex<Option<String>>,
    /// Recent times from a key being queued (or becoming due) to its reconcile starting.
    pub queue_latency: Mutex<VecDeque<Duration>>,
    /// Calls by [`Outcome::label`], in the order of [`Outcome::LABELS`].
    outcomes: [AtomicU64; Outcome::LABELS.len()],
    pub retries: AtomicU64,
    /// Calls that trapped (including memory and fuel limits) and calls stopped at the deadline.
    pub traps: AtomicU64,
    pub deadline_kills: AtomicU64,
    pub duration: Histogram,
    /// Keys waiting or being reconciled, as of the last change.
    pub queue_depth: AtomicU64,
    /// Whether every informer the plugin uses is synced, as of its last change.
    pub synced: AtomicBool,
}

impl Stats {
    /// Counts one finished reconcile or cleanup call.
    pub fn record_call(&self, outcome: &Outcome, took: Duration) {
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        self.duration.observe(took);
        self.outcomes[outcome.index()].fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Fault(Fault::Trap(_)) => self.traps.fetch_add(1, Ordering::Relaxed),
            Outcome::Fault(Fault::Deadline(_)) => self.deadline_kills.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    /// Counts a key that failed, and remembers why.
    pub fn record_failure(&self, message: String, retried: bool) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if retried {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
        *self.last_error.lock() = Some(message);
    }

    pub fn record_latency(&self, latency: Duration) {
        let mut samples = self.queue_latency.lock();
        if samples.len() == LATENCY_SAMPLES {
            samples.pop_front();
        }
        samples.push_back(latency);
    }

    /// Calls by result label, for `weft_reconciles_total{result}`.
    pub fn by_result(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Outcome::LABELS.into_iter().zip(&self.outcomes).map(|(label, count)| (label, count.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_result_and_fault_kind() {
        let stats = Stats::default();
        stats.record_call(&Outcome::Done, Duration::from_millis(1));
        stats.record_call(&Outcome::Fault(Fault::Deadline("late".into())), Duration::from_secs(1));
        stats.record_call(&Outcome::Fault(Fault::Trap("boom".into())), Duration::from_millis(2));
        stats.record_call(&Outcome::Fault(Fault::Host("pool".into())), Duration::from_millis(2));
        let counts: Vec<_> = stats.by_result().collect();
        assert_eq!(counts, [("done", 1), ("requeue", 0), ("transient_error", 0), ("permanent_error", 0), ("fault", 3)]);
        assert_eq!(stats.traps.load(Ordering::Relaxed), 1);
        assert_eq!(stats.deadline_kills.load(Ordering::Relaxed), 1);
        assert_eq!(stats.reconciles.load(Ordering::Relaxed), 4);
    }
}
