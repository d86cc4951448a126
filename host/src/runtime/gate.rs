//! A counting gate for blocking code: at most `capacity` holders at once, the rest wait their
//! turn. It bounds what would otherwise fail or thrash under a burst: compiles (CPU and memory)
//! and instances (pool slots).

use parking_lot::{Condvar, Mutex};

#[derive(Debug)]
pub(crate) struct Gate {
    capacity: usize,
    held: Mutex<usize>,
    freed: Condvar,
}

/// A place held in a [`Gate`]; dropping it lets the next waiter in.
#[derive(Debug)]
pub(crate) struct Pass<'a>(&'a Gate);

impl Gate {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), held: Mutex::new(0), freed: Condvar::new() }
    }

    /// Waits for a place; blocks the thread.
    pub(crate) fn enter(&self) -> Pass<'_> {
        let mut held = self.held.lock();
        while *held >= self.capacity {
            self.freed.wait(&mut held);
        }
        *held += 1;
        Pass(self)
    }

    /// Places held now.
    pub(crate) fn held(&self) -> usize {
        *self.held.lock()
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        *self.0.held.lock() -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn no_more_than_capacity_hold_a_place_at_once() {
        let gate = Arc::new(Gate::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, inside, most) = (Arc::clone(&gate), Arc::clone(&inside), Arc::clone(&most));
                std::thread::spawn(move || {
                    let _pass = gate.enter();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("joins");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(gate.held(), 0);
    }
}
