//! The one retry policy of the host: work queue retries, informer relists and the Plugin watch all
//! back off the same way, exponentially with jitter.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

/// Delays grow from `base` by doubling up to `max`, each with up to 10% jitter added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_millis(50), max: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The delay before retry number `failures` (1 for the first retry).
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(31);
        let delay = self.base.saturating_mul(1 << exponent).min(self.max);
        delay + delay.mul_f64(jitter() * 0.1)
    }

    /// The successive delays of one run of failures, resettable after a success; it is also what
    /// kube-runtime's watcher streams take as their backoff.
    pub fn retries(self) -> Retries {
        Retries { backoff: self, failures: 0 }
    }
}

/// A number in [0, 1) that differs between calls; enough to spread retries apart.
fn jitter() -> f64 {
    let bits = RandomState::new().hash_one(Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The delays of [`Backoff::retries`].
#[derive(Debug, Clone)]
pub struct Retries {
    backoff: Backoff,
    failures: u32,
}

impl Retries {
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

impl Iterator for Retries {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.failures = self.failures.saturating_add(1);
        Some(self.backoff.delay(self.failures))
    }
}

impl kube::runtime::utils::Backoff for Retries {
    fn reset(&mut self) {
        Retries::reset(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_and_are_capped() {
        let backoff = Backoff { base: Duration::from_millis(100), max: Duration::from_secs(1) };
        assert!(backoff.delay(1) >= Duration::from_millis(100) && backoff.delay(1) < Duration::from_millis(111));
        assert!(backoff.delay(2) >= Duration::from_millis(200) && backoff.delay(2) < Duration::from_millis(221));
        assert!(backoff.delay(40) >= Duration::from_secs(1) && backoff.delay(40) <= Duration::from_millis(1100));
    }

    #[test]
    fn retries_grow_until_reset() {
        let mut retries = Backoff { base: Duration::from_millis(10), max: Duration::from_secs(1) }.retries();
        let first = retries.next().expect("a delay");
        let second = retries.next().expect("a delay");
        assert!(second > first, "{second:?} after {first:?}");
        retries.reset();
        assert!(retries.next().expect("a delay") < Duration::from_millis(12));
    }
}
