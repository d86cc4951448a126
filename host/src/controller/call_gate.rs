//! The host-wide bound on plugin calls in flight, with urgency: when calls wait, those for events
//! go before those for bulk work (a plugin's start-up backlog, a resync), so a burst of new
//! plugins working through their caches does not hold up the events of the plugins already
//! running. First come, first served within each urgency.

use std::collections::VecDeque;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::queue::Urgency;

#[derive(Debug)]
pub struct CallGate {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    free: usize,
    urgent: VecDeque<oneshot::Sender<()>>,
    bulk: VecDeque<oneshot::Sender<()>>,
}

/// A place in the gate; dropping it hands the place to the next waiter.
#[derive(Debug)]
pub struct Turn<'a>(&'a CallGate);

impl CallGate {
    pub fn new(places: usize) -> Self {
        Self { state: Mutex::new(State { free: places.max(1), urgent: VecDeque::new(), bulk: VecDeque::new() }) }
    }

    /// Waits for a place. Cancel-safe: a place handed to a waiter that gave up is passed on.
    pub async fn enter(&self, urgency: Urgency) -> Turn<'_> {
        let handed = {
            let mut state = self.state.lock();
            let ahead = match urgency {
                Urgency::Event => !state.urgent.is_empty(),
                Urgency::Bulk => !state.urgent.is_empty() || !state.bulk.is_empty(),
            };
            if state.free > 0 && !ahead {
                state.free -= 1;
                return Turn(self);
            }
            let (tx, rx) = oneshot::channel();
            match urgency {
                Urgency::Event => state.urgent.push_back(tx),
                Urgency::Bulk => state.bulk.push_back(tx),
            }
            Waiting { gate: self, rx: Some(rx) }
        };
        handed.await
    }

    /// Hands a freed place to the next waiter still waiting, urgent ones first.
    fn pass_on(&self) {
        let mut state = self.state.lock();
        while let Some(next) = state.urgent.pop_front().or_else(|| state.bulk.pop_front()) {
            if next.send(()).is_ok() {
                return;
            }
        }
        state.free += 1;
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.pass_on();
    }
}

/// A waiter: resolves when a place is handed over; if dropped after that, passes it on.
struct Waiting<'a> {
    gate: &'a CallGate,
    rx: Option<oneshot::Receiver<()>>,
}

impl<'a> std::future::Future for Waiting<'a> {
    type Output = Turn<'a>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Turn<'a>> {
        let Some(rx) = self.rx.as_mut() else { return std::task::Poll::Pending };
        match std::pin::Pin::new(rx).poll(cx) {
            std::task::Poll::Ready(_) => {
                self.rx = None;
                std::task::Poll::Ready(Turn(self.gate))
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take()
            && rx.try_recv().is_ok()
        {
            self.gate.pass_on();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn waiting_events_go_before_waiting_bulk_calls() {
        let gate = Arc::new(CallGate::new(1));
        let first = gate.enter(Urgency::Bulk).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for (name, urgency) in [("bulk-1", Urgency::Bulk), ("event-1", Urgency::Event), ("bulk-2", Urgency::Bulk)] {
            let (gate, order) = (Arc::clone(&gate), Arc::clone(&order));
            waiters.push(tokio::spawn(async move {
                let _turn = gate.enter(urgency).await;
                order.lock().push(name);
            }));
            tokio::task::yield_now().await;
        }
        drop(first);
        for waiter in waiters {
            waiter.await.expect("joins");
        }
        assert_eq!(*order.lock(), ["event-1", "bulk-1", "bulk-2"]);
    }

    #[tokio::test]
    async fn a_place_handed_to_a_waiter_that_gave_up_is_passed_on() {
        let gate = CallGate::new(1);
        let held = gate.enter(Urgency::Event).await;
        let mut gave_up = Box::pin(gate.enter(Urgency::Event));
        assert!(futures::poll!(gave_up.as_mut()).is_pending());
        drop(held);
        drop(gave_up);
        let _again = gate.enter(Urgency::Bulk).await;
    }
}
