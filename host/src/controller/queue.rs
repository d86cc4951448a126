//! A plugin's work queue, in the manner of client-go's and kube-runtime's: one slot per object,
//! carrying why it was queued, since when and how urgently; a key waits at most once and never
//! runs twice at once; delays merge per key (earliest wins); failing keys back off
//! exponentially. Keys an event queued go before keys queued in bulk (every object of a cache
//! that just synced, a resync), as in controller-runtime's priority queue, so a plugin working
//! through its start-up backlog still answers events at once.
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
    pub urgency: Urgency,
}

/// How soon a key should run, among keys that wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// Queued with many others at once: a cache that synced, a resync, a new version.
    Bulk,
    /// Queued by an event about this object (or its own requeue or retry).
    Event,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    trigger: Trigger,
    queued: Instant,
    urgency: Urgency,
}

#[derive(Debug)]
struct State<K> {
    /// Keys waiting for a worker, in order, by urgency; each has its slot in `waiting`. A bulk
    /// key whose slot turned urgent is in both and is taken from `urgent`; `bulk` skips it.
    urgent: VecDeque<K>,
    bulk: VecDeque<K>,
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
            urgent: VecDeque::new(),
            bulk: VecDeque::new(),
            waiting: HashMap::new(),
            active: HashMap::new(),
            delayed: DelayQueue::default(),
            failures: HashMap::new(),
            shut_down: false,
        };
        Self { state: Mutex::new(state), notify: Notify::new(), backoff }
    }

    /// Queues `key` now. A key already waiting keeps its first trigger and time, and takes the
    /// higher urgency.
    pub fn add(&self, key: K, trigger: Trigger, urgency: Urgency) {
        let mut state = self.state.lock();
        state.delayed.cancel(&key);
        if state.offer(key, Slot { trigger, queued: Instant::now(), urgency }) {
            drop(state);
            self.notify.notify_one();
        }
    }

    /// Queues `key` after `delay`, unless it is waiting or scheduled sooner.
    pub fn add_after(&self, key: K, trigger: Trigger, delay: Duration) {
        if delay.is_zero() {
            return self.add(key, trigger, Urgency::Event);
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
                if let Some((key, slot)) = state.take() {
                    state.active.insert(key.clone(), None);
                    if !state.waiting.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(Request { key, trigger: slot.trigger, queued: slot.queued, urgency: slot.urgency });
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
        state.waiting.len() + state.active.len()
    }

    /// Stops handing out keys; waiting and delayed keys are dropped.
    pub fn shut_down(&self) {
        let mut state = self.state.lock();
        state.shut_down = true;
        state.urgent.clear();
        state.bulk.clear();
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
        if self.shut_down {
            return false;
        }
        if let Some(waiting) = self.waiting.get_mut(&key) {
            if slot.urgency > waiting.urgency {
                waiting.urgency = slot.urgency;
                self.urgent.push_back(key);
            }
            return false;
        }
        if let Some(again) = self.active.get_mut(&key) {
            let again = again.get_or_insert(slot);
            again.urgency = again.urgency.max(slot.urgency);
            return false;
        }
        self.waiting.insert(key.clone(), slot);
        match slot.urgency {
            Urgency::Event => self.urgent.push_back(key),
            Urgency::Bulk => self.bulk.push_back(key),
        }
        true
    }

    /// The next waiting key, urgent ones first.
    fn take(&mut self) -> Option<(K, Slot)> {
        if let Some(key) = self.urgent.pop_front() {
            let slot = self.waiting.remove(&key)?;
            return Some((key, slot));
        }
        while let Some(key) = self.bulk.pop_front() {
            // Promoted keys were taken from `urgent` already, or still wait there.
            if let Some(slot) = self.waiting.get(&key).filter(|slot| slot.urgency == Urgency::Bulk).copied() {
                self.waiting.remove(&key);
                return Some((key, slot));
            }
        }
        None
    }

    fn promote_due(&mut self, now: Instant) {
        while let Some((key, trigger, due)) = self.delayed.pop_due(now) {
            self.offer(key, Slot { trigger, queued: due, urgency: Urgency::Event });
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
        q.add("a", Trigger::Added, Urgency::Event);
        q.add("b", Trigger::Added, Urgency::Event);
        q.add("a", Trigger::Modified, Urgency::Event);
        assert_eq!(q.depth(), 2);
        let first = q.next().await.expect("a request");
        assert_eq!((first.key, first.trigger), ("a", Trigger::Added), "a waiting key keeps its first trigger");
        // Requested while active: held back until done.
        q.add("a", Trigger::Modified, Urgency::Event);
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
        q.add("a", Trigger::Added, Urgency::Event);
        tokio::time::advance(Duration::from_millis(30)).await;
        q.add("a", Trigger::Modified, Urgency::Event);
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
        q.add("b", Trigger::Added, Urgency::Event);
        assert_eq!(next_key(&q).await, Some("b"), "the later delays of a were merged away");
    }

    #[tokio::test(start_paused = true)]
    async fn an_immediate_request_replaces_a_pending_delay() {
        let q = queue();
        q.add_after("a", Trigger::Retry, Duration::from_secs(10));
        q.add("a", Trigger::Modified, Urgency::Event);
        let request = q.next().await.expect("a request");
        assert_eq!(request.trigger, Trigger::Modified);
        q.done(&"a");
        tokio::time::advance(Duration::from_secs(20)).await;
        q.add("b", Trigger::Added, Urgency::Event);
        assert_eq!(next_key(&q).await, Some("b"), "the delayed retry of a is gone");
    }

    #[tokio::test(start_paused = true)]
    async fn event_keys_go_before_bulk_ones_and_a_bulk_key_can_become_urgent() {
        let q = queue();
        for key in ["b1", "b2", "b3"] {
            q.add(key, Trigger::Added, Urgency::Bulk);
        }
        q.add("e1", Trigger::Modified, Urgency::Event);
        q.add("b3", Trigger::Modified, Urgency::Event);
        let mut taken = Vec::new();
        for _ in 0..4 {
            let request = q.next().await.expect("a request");
            taken.push((request.key, request.urgency));
        }
        assert_eq!(
            taken,
            [("e1", Urgency::Event), ("b3", Urgency::Event), ("b1", Urgency::Bulk), ("b2", Urgency::Bulk)]
        );
        assert_eq!(q.depth(), 4, "all four held, none left waiting");
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
        q.add("ignored", Trigger::Added, Urgency::Event);
        q.add_after("ignored", Trigger::Requeued, Duration::from_millis(1));
        assert_eq!(q.depth(), 0);
    }
}
