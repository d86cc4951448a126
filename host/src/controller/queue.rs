//! A work queue of object keys, in the manner of client-go's: a key waits at most once, never runs
//! twice at once, can be delayed, and backs off exponentially (with jitter) while it keeps failing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Retry delays grow from `base` by doubling up to `max`, each with up to 10% jitter.
#[derive(Debug, Clone, Copy)]
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
}

/// A number in [0, 1) that differs between calls; enough to spread retries apart.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let bits = RandomState::new().hash_one(std::time::Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[derive(Debug)]
struct State<K> {
    /// Keys waiting for a worker, in order.
    ready: VecDeque<K>,
    /// Keys in `ready` (a key waits at most once).
    waiting: HashSet<K>,
    /// Keys a worker holds.
    active: HashSet<K>,
    /// Keys added while active: they go back to `ready` when the worker is done.
    again: HashSet<K>,
    failures: HashMap<K, u32>,
    shut_down: bool,
}

/// Cheap to clone; all clones are one queue.
#[derive(Debug)]
pub struct Queue<K> {
    state: Arc<Mutex<State<K>>>,
    notify: Arc<Notify>,
    backoff: Backoff,
}

impl<K> Clone for Queue<K> {
    fn clone(&self) -> Self {
        Self { state: Arc::clone(&self.state), notify: Arc::clone(&self.notify), backoff: self.backoff }
    }
}

impl<K: Clone + Eq + Hash + Send + 'static> Queue<K> {
    pub fn new(backoff: Backoff) -> Self {
        let state = State {
            ready: VecDeque::new(),
            waiting: HashSet::new(),
            active: HashSet::new(),
            again: HashSet::new(),
            failures: HashMap::new(),
            shut_down: false,
        };
        Self { state: Arc::new(Mutex::new(state)), notify: Arc::new(Notify::new()), backoff }
    }

    /// Queues `key` unless it is already waiting.
    pub fn add(&self, key: K) {
        let mut state = self.state.lock();
        if state.shut_down || state.waiting.contains(&key) {
            return;
        }
        if state.active.contains(&key) {
            state.again.insert(key);
            return;
        }
        state.waiting.insert(key.clone());
        state.ready.push_back(key);
        drop(state);
        self.notify.notify_one();
    }

    /// Queues `key` after `delay`.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let queue = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.add(key);
        });
    }

    /// Queues `key` after its next backoff delay, and returns that delay.
    pub fn retry(&self, key: K) -> Duration {
        let failures = {
            let mut state = self.state.lock();
            let failures = state.failures.entry(key.clone()).or_insert(0);
            *failures = failures.saturating_add(1);
            *failures
        };
        let delay = self.backoff.delay(failures);
        self.add_after(key, delay);
        delay
    }

    /// Clears `key`'s failure count after a success.
    pub fn forget(&self, key: &K) {
        self.state.lock().failures.remove(key);
    }

    /// The next key; the caller must call [`done`](Self::done) with it. `None` once shut down.
    pub async fn next(&self) -> Option<K> {
        loop {
            let notified = self.notify.notified();
            {
                let mut state = self.state.lock();
                if state.shut_down {
                    return None;
                }
                if let Some(key) = state.ready.pop_front() {
                    state.waiting.remove(&key);
                    state.active.insert(key.clone());
                    if !state.ready.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(key);
                }
            }
            notified.await;
        }
    }

    /// Releases `key`; if it was added meanwhile, it waits again.
    pub fn done(&self, key: &K) {
        let mut state = self.state.lock();
        state.active.remove(key);
        if state.again.remove(key) && !state.shut_down {
            state.waiting.insert(key.clone());
            state.ready.push_back(key.clone());
            drop(state);
            self.notify.notify_one();
        }
    }

    /// Keys waiting or held by a worker.
    pub fn depth(&self) -> usize {
        let state = self.state.lock();
        state.ready.len() + state.active.len()
    }

    /// Stops handing out keys; waiting keys are dropped.
    pub fn shut_down(&self) {
        let mut state = self.state.lock();
        state.shut_down = true;
        state.ready.clear();
        state.waiting.clear();
        drop(state);
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> Queue<&'static str> {
        Queue::new(Backoff { base: Duration::from_millis(10), max: Duration::from_millis(40) })
    }

    #[tokio::test]
    async fn a_key_waits_once_and_never_runs_twice_at_once() {
        let q = queue();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.depth(), 2);
        let first = q.next().await.expect("key");
        assert_eq!(first, "a");
        // Added while active: held back until done.
        q.add("a");
        assert_eq!(q.next().await, Some("b"));
        q.done(&"b");
        assert_eq!(q.depth(), 1, "only the active a");
        q.done(&"a");
        assert_eq!(q.next().await, Some("a"), "a runs again after it was done");
        q.done(&"a");
        assert_eq!(q.depth(), 0);
    }

    #[tokio::test]
    async fn delayed_and_retried_keys_come_back() {
        let q = queue();
        q.add_after("later", Duration::from_millis(20));
        assert_eq!(q.depth(), 0);
        assert_eq!(q.next().await, Some("later"));
        q.done(&"later");
        let first = q.retry("later");
        assert!(first >= Duration::from_millis(10) && first < Duration::from_millis(12), "{first:?}");
        assert_eq!(q.next().await, Some("later"));
        q.done(&"later");
        let second = q.retry("later");
        assert!(second >= Duration::from_millis(20), "backoff doubles: {second:?}");
        assert_eq!(q.next().await, Some("later"));
        q.forget(&"later");
        q.done(&"later");
        let reset = q.retry("later");
        assert!(reset < Duration::from_millis(12), "forget resets the backoff: {reset:?}");
    }

    #[test]
    fn backoff_is_capped() {
        let backoff = Backoff { base: Duration::from_millis(100), max: Duration::from_secs(1) };
        assert!(backoff.delay(1) < Duration::from_millis(111));
        assert!(backoff.delay(40) >= Duration::from_secs(1) && backoff.delay(40) <= Duration::from_millis(1100));
    }

    #[tokio::test]
    async fn shutting_down_wakes_workers() {
        let q = queue();
        let worker = tokio::spawn({
            let q = q.clone();
            async move { q.next().await }
        });
        tokio::task::yield_now().await;
        q.shut_down();
        assert_eq!(worker.await.expect("joins"), None);
        q.add("ignored");
        assert_eq!(q.depth(), 0);
    }
}
