//! The workers: requests off the queue, at most `concurrency` at once, each read from the cache,
//! taken through the finalizer protocol, reconciled on a blocking thread, and settled by its
//! outcome.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use super::Shared;
use super::cache::{CachedObject, ObjectKey};
use super::finalizer::{self, Step};
use super::outcome::{CallOutput, Outcome};
use super::pump::object_ref;
use super::queue::{Request, Urgency};
use crate::runtime::{BoundModule, Trigger};

impl Shared {
    /// Runs until the queue shuts down, then waits for in-flight reconciles (the caller bounds
    /// how long). A permit is taken before a key, so keys keep merging in the queue while every
    /// worker is busy.
    pub(super) async fn work(self: Arc<Self>) {
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let span = tracing::Span::current();
        let mut running = JoinSet::new();
        loop {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { break };
            let Some(request) = self.queue.next().await else { break };
            let shared = Arc::clone(&self);
            let reconcile = async move {
                shared.process(&request).await;
                shared.queue.done(&request.key);
                shared.note_depth();
                drop(permit);
            };
            running.spawn(reconcile.instrument(span.clone()));
            while running.try_join_next().is_some() {}
        }
        while running.join_next().await.is_some() {}
    }

    async fn process(&self, request: &Request<ObjectKey>) {
        self.stats.record_latency(request.queued.elapsed());
        let key = &request.key;
        let api = &self.description.primary.api;
        let cached = self.primary.iter().find_map(|i| i.get(key));
        let Some(json) = self.cluster.overlay(api, key, cached.as_deref()) else {
            // Gone, or deleted by the plugin itself.
            self.queue.forget(key);
            return;
        };
        // Created by the plugin and not cached yet: its watch event will bring it.
        let Some(object) = cached else { return };
        if !self.selector.matches_labels(&object.labels) {
            return;
        }
        let outcome = match finalizer::step(&object, self.description.finalizer.as_deref()) {
            Step::Nothing => return,
            Step::Reconcile => self.reconcile(&object, json, request).await,
            Step::AddThenReconcile(finalizers) => {
                match finalizer::set_finalizers(self.client.clone(), api, &object, finalizers).await {
                    Ok(()) => self.reconcile(&object, json, request).await,
                    Err(e) => Outcome::Transient(format!("adding finalizer: {e}")),
                }
            }
            Step::CleanupThenRemove(remaining) => self.cleanup(&object, json, remaining, request.urgency).await,
        };
        self.settle(key, outcome);
    }

    async fn reconcile(&self, object: &CachedObject, json: String, request: &Request<ObjectKey>) -> Outcome {
        let reference = object_ref(&self.description.primary.api, object);
        let trigger = request.trigger;
        self.call(request.urgency, move |plugin| plugin.reconcile(reference, json, trigger)).await
    }

    /// `cleanup`, then the finalizer's removal; a failed cleanup is retried whatever kind of
    /// failure the plugin reports, since the object cannot go until it succeeds.
    async fn cleanup(&self, object: &CachedObject, json: String, remaining: Vec<String>, urgency: Urgency) -> Outcome {
        let api = &self.description.primary.api;
        let reference = object_ref(api, object);
        match self.call(urgency, move |plugin| plugin.cleanup(reference, json)).await {
            Outcome::Done => match finalizer::set_finalizers(self.client.clone(), api, object, remaining).await {
                Ok(()) => Outcome::Done,
                Err(e) => Outcome::Transient(format!("removing finalizer: {e}")),
            },
            Outcome::Transient(message) | Outcome::Permanent(message) => {
                Outcome::Transient(format!("cleanup: {message}"))
            }
            Outcome::Fault(fault) => Outcome::Transient(format!("cleanup: {}", fault.message())),
            requeue @ Outcome::Requeue(_) => requeue,
        }
    }

    /// Runs one plugin call on a blocking thread, when the host's call gate lets it, and counts
    /// it.
    async fn call(
        &self,
        urgency: Urgency,
        call: impl FnOnce(BoundModule) -> super::outcome::ReconcileResult + Send + 'static,
    ) -> Outcome {
        let _turn = self.calls.enter(urgency).await;
        let plugin = self.plugin.read().clone();
        let (started, started_at) = (Instant::now(), unix_millis());
        let output: CallOutput = tokio::task::spawn_blocking(move || call(plugin)).await;
        let outcome = Outcome::from(output);
        self.stats.record_call(&outcome, started.elapsed());
        self.note_active();
        // A journal of call intervals by wall clock, to audit handovers between replicas.
        tracing::debug!(target: "weft::calls", started_at, finished_at = unix_millis(), outcome = outcome.label(), "call");
        outcome
    }

    /// Retry, requeue or forget, by outcome.
    fn settle(&self, key: &ObjectKey, outcome: Outcome) {
        match outcome {
            Outcome::Done => self.queue.forget(key),
            Outcome::Requeue(after) => {
                self.queue.forget(key);
                self.queue.add_after(key.clone(), Trigger::Requeued, after);
            }
            Outcome::Transient(message) => self.failed(key, &message, true),
            Outcome::Fault(fault) => self.failed(key, fault.message(), true),
            Outcome::Permanent(message) => self.failed(key, &message, false),
        }
    }

    fn failed(&self, key: &ObjectKey, message: &str, retry: bool) {
        tracing::warn!(object = %key, %message, retry, "reconcile failed");
        self.stats.record_failure(format!("{key}: {message}"), retry);
        if retry {
            self.queue.retry(key.clone());
        } else {
            self.queue.forget(key);
        }
    }
}

/// Milliseconds since the Unix epoch, by this machine's clock.
fn unix_millis() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}
