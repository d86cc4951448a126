//! Keys waiting for a time, one slot per key, earliest time wins: the delayed half of the work
//! queue (requeue-after and retries), in the manner of kube-runtime's scheduler. Pure data; the
//! queue decides when to look.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use tokio::time::Instant;

use crate::runtime::Trigger;

#[derive(Debug)]
pub(super) struct DelayQueue<K> {
    /// Each key's slot: when it is due, its place in `order`, and why it was scheduled.
    slots: HashMap<K, (Instant, u64, Trigger)>,
    /// Keys by due time; the sequence number keeps keys due at the same instant apart.
    order: BTreeMap<(Instant, u64), K>,
    sequence: u64,
}

impl<K> Default for DelayQueue<K> {
    fn default() -> Self {
        Self { slots: HashMap::new(), order: BTreeMap::new(), sequence: 0 }
    }
}

impl<K: Clone + Eq + Hash> DelayQueue<K> {
    /// Schedules `key` at `due` unless it is already scheduled earlier; a later slot moves to the
    /// earlier time and takes the new trigger.
    pub(super) fn schedule(&mut self, key: K, due: Instant, trigger: Trigger) {
        if let Some((scheduled, sequence, _)) = self.slots.get(&key) {
            if *scheduled <= due {
                return;
            }
            self.order.remove(&(*scheduled, *sequence));
        }
        self.sequence += 1;
        self.order.insert((due, self.sequence), key.clone());
        self.slots.insert(key, (due, self.sequence, trigger));
    }

    /// Drops `key`'s slot, if it has one.
    pub(super) fn cancel(&mut self, key: &K) {
        if let Some((due, sequence, _)) = self.slots.remove(key) {
            self.order.remove(&(due, sequence));
        }
    }

    /// The earliest key due at or before `now`, with its trigger and due time.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<(K, Trigger, Instant)> {
        let entry = self.order.first_entry().filter(|entry| entry.key().0 <= now)?;
        let key = entry.remove();
        let (due, _, trigger) = self.slots.remove(&key)?;
        Some((key, trigger, due))
    }

    /// When the earliest key is due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.order.first_key_value().map(|((due, _), _)| *due)
    }

    pub(super) fn clear(&mut self) {
        self.slots.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_earliest_time_wins_and_takes_its_trigger() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut delayed = DelayQueue::default();
        delayed.schedule("a", at(100), Trigger::Requeued);
        delayed.schedule("a", at(300), Trigger::Retry);
        assert_eq!(delayed.next_due(), Some(at(100)), "a later time does not postpone");
        delayed.schedule("a", at(50), Trigger::Retry);
        assert_eq!(delayed.next_due(), Some(at(50)), "an earlier time moves the slot");
        assert_eq!(delayed.pop_due(at(49)), None);
        assert_eq!(delayed.pop_due(at(60)), Some(("a", Trigger::Retry, at(50))));
        assert_eq!(delayed.pop_due(at(1000)), None, "one slot per key");
    }

    #[test]
    fn keys_come_out_in_due_order_and_cancelled_ones_not_at_all() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut delayed = DelayQueue::default();
        delayed.schedule("late", at(30), Trigger::Requeued);
        delayed.schedule("early", at(10), Trigger::Requeued);
        delayed.schedule("same", at(10), Trigger::Retry);
        delayed.schedule("gone", at(20), Trigger::Retry);
        delayed.cancel(&"gone");
        let order: Vec<_> = std::iter::from_fn(|| delayed.pop_due(at(100))).map(|(key, _, _)| key).collect();
        assert_eq!(order, ["early", "same", "late"]);
        assert_eq!(delayed.next_due(), None);
    }
}
