//! A plugin's work queue, in the manner of client-go's and kube-runtime's: one slot per object,
//! carrying why it was queued and since when; a key waits at most once and never runs twice at
//! once; delays merge per key (earliest wins); failing keys back off exponentially.
//!
//! Delays need no timer task: [`Queue::next`] sleeps until the earliest one is due, so nothing
//! outlives a shut-down queue.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::delay_queue::DelayQueue;
use crate::backoff::Backoff;
use crate::runtime::Trigger;

/// A key handed to a worker, with why it was queued and since when (for a delayed key, since it
/// became due).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<K> {
    pub key: K,
    pub trigger: Trigger,
    pub queued: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    trigger: Trigger,
    queued: Instant,
}

#[derive(Debug)]
struct State<K> {
    /// Keys waiting for a worker, in order; each has its slot in `waiting`.
    ready: VecDeque<K>,
    waiting: HashMap<K, Slot>,
    /// Keys a worker holds, with the request that arrived meanwhile (it waits until done).
    active: HashMap<K, Option<Slot>>,
    delayed: DelayQueue<K>,
    failures: HashMap<K, u32>,
    shut_down: bool,
}

#[derive(Debug)]
pub struct Queue<K> {
    state: Mutex<State<K>>,
    notify: Notify,
    backoff: Backoff,
}

impl<K: Clone + Eq + Hash> Queue<K> {
    pub fn new(backoff: Backoff) -> Self {
        let state = State {
            ready: VecDeque::new(),
            waiting: HashMap::new(),
            active: HashMap::new(),
            delayed: DelayQueue::default(),
            failures: HashMap::new(),
            shut_down: false,
        };
        Self { state: Mutex::new(state), notify: Notify::new(), backoff }
    }

    /// Queues `key` now. A key already waiting keeps its first trigger and time.
    pub fn add(&self, key: K, trigger: Trigger) {
        let mut state = self.state.lock();
        state.delayed.cancel(&key);
        if state.offer(key, Slot { trigger, queued: Instant::now() }) {
            drop(state);
            self.notify.notify_one();
        }
    }

    /// Queues `key` after `delay`, unless it is waiting or scheduled sooner.
    pub fn add_after(&self, key: K, trigger: Trigger, delay: Duration) {
        if delay.is_zero() {
            return self.add(key, trigger);
        }
        let mut state = self.state.lock();
        if state.shut_down || state.waiting.contains_key(&key) {
            return;
        }
        state.delayed.schedule(key, Instant::now() + delay, trigger);
        drop(state);
        // The consumer may be sleeping until a later time.
        self.notify.notify_one();
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
        self.add_after(key, Trigger::Retry, delay);
        delay
    }

    /// Clears `key`'s failure count after a success.
    pub fn forget(&self, key: &K) {
        self.state.lock().failures.remove(key);
    }

    /// The next request; the caller must call [`done`](Self::done) with its key. `None` once
    /// shut down.
    pub async fn next(&self) -> Option<Request<K>> {
        loop {
            let notified = self.notify.notified();
            let due = {
                let mut state = self.state.lock();
                if state.shut_down {
                    return None;
                }
                state.promote_due(Instant::now());
                if let Some(key) = state.ready.pop_front() {
                    let slot = state.waiting.remove(&key).expect("a ready key has a slot");
                    state.active.insert(key.clone(), None);
                    if !state.ready.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(Request { key, trigger: slot.trigger, queued: slot.queued });
                }
                state.delayed.next_due()
            };
            match due {
                Some(due) => {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep_until(due) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Releases `key`; if it was requested meanwhile, it waits again.
    pub fn done(&self, key: &K) {
        let mut state = self.state.lock();
        if let Some(Some(slot)) = state.active.remove(key)
            && state.offer(key.clone(), slot)
        {
            drop(state);
            self.notify.notify_one();
        }
    }

    /// Keys waiting or held by a worker (not those delayed).
    pub fn depth(&self) -> usize {
        let state = self.state.lock();
        state.ready.len() + state.active.len()
    }

    /// Stops handing out keys; waiting and delayed keys are dropped.
    pub fn shut_down(&self) {
        let mut state = self.state.lock();
        state.shut_down = true;
        state.ready.clear();
        state.waiting.clear();
        state.delayed.clear();
        drop(state);
        self.notify.notify_waiters();
    }
}

impl<K: Clone + Eq + Hash> State<K> {
    /// Makes `key` wait (or, while a worker holds it, wait for that worker); returns whether it
    /// joined `ready`.
    fn offer(&mut self, key: K, slot: Slot) -> bool {
        if self.shut_down || self.waiting.contains_key(&key) {
            return false;
        }
        if let Some(again) = self.active.get_mut(&key) {
            again.get_or_insert(slot);
            return false;
        }
        self.waiting.insert(key.clone(), slot);
        self.ready.push_back(key);
        true
    }

    fn promote_due(&mut self, now: Instant) {
        while let Some((key, trigger, due)) = self.delayed.pop_due(now) {
            self.offer(key, Slot { trigger, queued: due });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> Queue<&'static str> {
        Queue::new(Backoff { base: Duration::from_millis(10), max: Duration::from_millis(40) })
    }

    async fn next_key(q: &Queue<&'static str>) -> Option<&'static str> {
        q.next().await.map(|request| request.key)
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_waits_once_and_never_runs_twice_at_once() {
        let q = queue();
        q.add("a", Trigger::Added);
        q.add("b", Trigger::Added);
        q.add("a", Trigger::Modified);
        assert_eq!(q.depth(), 2);
        let first = q.next().await.expect("a request");
        assert_eq!((first.key, first.trigger), ("a", Trigger::Added), "a waiting key keeps its first trigger");
        // Requested while active: held back until done.
        q.add("a", Trigger::Modified);
        assert_eq!(next_key(&q).await, Some("b"));
        q.done(&"b");
        assert_eq!(q.depth(), 1, "only the active a");
        q.done(&"a");
        let again = q.next().await.expect("a request");
        assert_eq!((again.key, again.trigger), ("a", Trigger::Modified), "a runs again after it was done");
        q.done(&"a");
        assert_eq!(q.depth(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_carries_the_time_it_was_queued() {
        let q = queue();
        q.add("a", Trigger::Added);
        tokio::time::advance(Duration::from_millis(30)).await;
        q.add("a", Trigger::Modified);
        let request = q.next().await.expect("a request");
        assert_eq!(request.queued.elapsed(), Duration::from_millis(30), "the first request's time is kept");
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_and_retried_keys_come_back_when_due() {
        let q = queue();
        let start = Instant::now();
        q.add_after("later", Trigger::Requeued, Duration::from_millis(20));
        assert_eq!(q.depth(), 0);
        let request = q.next().await.expect("a request");
        assert_eq!((request.key, request.trigger), ("later", Trigger::Requeued));
        assert_eq!(start.elapsed(), Duration::from_millis(20));
        assert_eq!(request.queued, start + Duration::from_millis(20), "queued when it became due");
        q.done(&"later");
        let first = q.retry("later");
        assert!(first >= Duration::from_millis(10) && first < Duration::from_millis(12), "{first:?}");
        assert_eq!(q.next().await.map(|r| r.trigger), Some(Trigger::Retry));
        q.done(&"later");
        let second = q.retry("later");
        assert!(second >= Duration::from_millis(20), "backoff doubles: {second:?}");
        assert_eq!(next_key(&q).await, Some("later"));
        q.forget(&"later");
        q.done(&"later");
        let reset = q.retry("later");
        assert!(reset < Duration::from_millis(12), "forget resets the backoff: {reset:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn delays_for_one_key_merge_and_the_earliest_wins() {
        let q = queue();
        let start = Instant::now();
        q.add_after("a", Trigger::Requeued, Duration::from_secs(60));
        q.add_after("a", Trigger::Retry, Duration::from_secs(1));
        q.add_after("a", Trigger::Requeued, Duration::from_secs(30));
        let request = q.next().await.expect("a request");
        assert_eq!((request.trigger, start.elapsed()), (Trigger::Retry, Duration::from_secs(1)));
        q.done(&"a");
        tokio::time::advance(Duration::from_secs(120)).await;
        q.add("b", Trigger::Added);
        assert_eq!(next_key(&q).await, Some("b"), "the later delays of a were merged away");
    }

    #[tokio::test(start_paused = true)]
    async fn an_immediate_request_replaces_a_pending_delay() {
        let q = queue();
        q.add_after("a", Trigger::Retry, Duration::from_secs(10));
        q.add("a", Trigger::Modified);
        let request = q.next().await.expect("a request");
        assert_eq!(request.trigger, Trigger::Modified);
        q.done(&"a");
        tokio::time::advance(Duration::from_secs(20)).await;
        q.add("b", Trigger::Added);
        assert_eq!(next_key(&q).await, Some("b"), "the delayed retry of a is gone");
    }

    #[tokio::test(start_paused = true)]
    async fn shutting_down_wakes_workers_and_drops_delays() {
        let q = std::sync::Arc::new(queue());
        q.add_after("delayed", Trigger::Requeued, Duration::from_secs(5));
        let worker = tokio::spawn({
            let q = std::sync::Arc::clone(&q);
            async move { q.next().await }
        });
        tokio::task::yield_now().await;
        q.shut_down();
        assert_eq!(worker.await.expect("joins"), None);
        q.add("ignored", Trigger::Added);
        q.add_after("ignored", Trigger::Requeued, Duration::from_millis(1));
        assert_eq!(q.depth(), 0);
    }
}
