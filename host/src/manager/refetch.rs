//! When an actor tries again a spec whose module could not be fetched: a registry that is down or
//! a module, pull secret or signature not there yet comes right without the Plugin changing, as
//! an image pull does in a kubelet's back-off.

use tokio::time::Instant;

use super::failure::LoadFailure;
use crate::backoff::{Backoff, Retries};

pub(super) struct Refetch {
    retries: Retries,
    /// The generation that failed, so a changed Plugin starts from the shortest delay.
    generation: Option<i64>,
    due: Option<Instant>,
}

impl Refetch {
    pub(super) fn new(backoff: Backoff) -> Self {
        Self { retries: backoff.retries(), generation: None, due: None }
    }

    /// Schedules the next try after `failure` of `generation`, if one may help.
    pub(super) fn after(&mut self, failure: &LoadFailure, generation: Option<i64>) {
        if !failure.retryable() {
            self.clear();
            return;
        }
        if self.generation != generation {
            self.retries.reset();
            self.generation = generation;
        }
        self.due = self.retries.next().map(|delay| Instant::now() + delay);
    }

    pub(super) fn clear(&mut self) {
        self.retries.reset();
        self.due = None;
    }

    /// Whether a try is due now (it then stays unscheduled until the next failure).
    pub(super) fn due(&mut self) -> bool {
        let due = self.due.is_some_and(|at| Instant::now() >= at);
        if due {
            self.due = None;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fetch::FetchError;

    #[tokio::test(start_paused = true)]
    async fn a_fetch_failure_is_tried_again_after_a_growing_delay_and_a_bad_spec_is_not() {
        let mut refetch = Refetch::new(Backoff { base: Duration::from_secs(1), max: Duration::from_secs(60) });
        let down = LoadFailure::Fetch(FetchError::FetchFailed("connection refused".into()));
        refetch.after(&down, Some(1));
        assert!(!refetch.due());
        tokio::time::advance(Duration::from_millis(1150)).await;
        assert!(refetch.due(), "due after the first delay");
        assert!(!refetch.due(), "and only once");
        refetch.after(&down, Some(1));
        tokio::time::advance(Duration::from_millis(1150)).await;
        assert!(!refetch.due(), "the second delay is longer");
        tokio::time::advance(Duration::from_millis(1100)).await;
        assert!(refetch.due());
        refetch.after(&LoadFailure::InvalidSpec("limits.memory".into()), Some(2));
        tokio::time::advance(Duration::from_secs(600)).await;
        assert!(!refetch.due(), "a spec that does not parse waits for a change");
    }
}
