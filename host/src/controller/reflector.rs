//! The task behind an informer: lists and watches one resource scope into its cache, and announces
//! every change to the cache's subscribers.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher::{self, Event};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::cache::{CachedObject, Change, ObjectKey};
use super::informer::{Cache, SyncState};
use crate::backoff::Backoff;

pub(super) struct Reflector {
    pub(super) api: Api<DynamicObject>,
    pub(super) cache: Cache,
    pub(super) changes: broadcast::Sender<Change>,
    pub(super) state: watch::Sender<SyncState>,
    /// The informer's key as text, for log lines and status messages.
    pub(super) resource: String,
}

impl Reflector {
    /// Lists and watches until stopped. Any error restarts from a fresh list after a backoff, so
    /// a resource that comes back (a re-created CRD) is relisted and marked synced again.
    pub(super) async fn run(self, backoff: Backoff, stop: CancellationToken) {
        tracing::debug!(resource = %self.resource, "informer starting");
        let mut retries = backoff.retries();
        let mut ever_synced = false;
        loop {
            let outcome = tokio::select! {
                () = stop.cancelled() => break,
                outcome = self.list_and_watch(&mut ever_synced) => outcome,
            };
            match outcome {
                Ended::Cleanly => break,
                Ended::AfterSync => retries.reset(),
                Ended::BeforeSync => {}
            }
            let delay = retries.next().unwrap_or(backoff.max);
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
        tracing::debug!(resource = %self.resource, "informer stopped");
    }

    /// One list-then-watch, until the stream ends or fails.
    async fn list_and_watch(&self, ever_synced: &mut bool) -> Ended {
        let mut stream = std::pin::pin!(watcher::watcher(self.api.clone(), watcher::Config::default()));
        // Objects seen during the list, swapped in when it completes.
        let mut relist: Option<HashMap<ObjectKey, Arc<CachedObject>>> = None;
        let mut synced = false;
        while let Some(event) = stream.next().await {
            match event {
                Err(error) => {
                    let message = describe_error(&self.resource, &error);
                    tracing::debug!(resource = %self.resource, error = %message, "informer failing");
                    self.state.send_replace(SyncState::Failing(message));
                    return if synced { Ended::AfterSync } else { Ended::BeforeSync };
                }
                Ok(Event::Init) => relist = Some(HashMap::new()),
                Ok(Event::InitApply(object)) => {
                    let object = Arc::new(CachedObject::from_dynamic(&object));
                    relist.get_or_insert_with(HashMap::new).insert(object.key.clone(), object);
                }
                Ok(Event::InitDone) => {
                    let fresh = relist.take().unwrap_or_default();
                    if *ever_synced {
                        self.swap(fresh);
                    } else {
                        // Subscribers take the whole cache when it first syncs; announcing each
                        // object as well would only flood them (and make them lag).
                        *self.cache.write() = fresh;
                    }
                    self.state.send_replace(SyncState::Synced);
                    (synced, *ever_synced) = (true, true);
                }
                Ok(Event::Apply(object)) => {
                    let new = Arc::new(CachedObject::from_dynamic(&object));
                    let old = self.cache.write().insert(new.key.clone(), Arc::clone(&new));
                    let _ = self.changes.send(Change::Applied { old, new });
                }
                Ok(Event::Delete(object)) => {
                    let gone = CachedObject::from_dynamic(&object);
                    let removed = self.cache.write().remove(&gone.key);
                    let _ = self.changes.send(Change::Deleted(removed.unwrap_or_else(|| Arc::new(gone))));
                }
            }
        }
        Ended::Cleanly
    }

    /// Replaces the cache after a relist, announcing what changed meanwhile.
    fn swap(&self, fresh: HashMap<ObjectKey, Arc<CachedObject>>) {
        let old = std::mem::replace(&mut *self.cache.write(), fresh.clone());
        for (key, new) in fresh {
            let previous = old.get(&key);
            if previous.is_none_or(|p| p.resource_version != new.resource_version) {
                let _ = self.changes.send(Change::Applied { old: previous.cloned(), new });
            }
        }
        for (key, gone) in old {
            if !self.cache.read().contains_key(&key) {
                let _ = self.changes.send(Change::Deleted(gone));
            }
        }
    }
}

/// How one list-then-watch ended.
enum Ended {
    /// The stream finished: only when the watcher gives up for good.
    Cleanly,
    /// An error after the cache had synced: the backoff starts over.
    AfterSync,
    /// An error before the first list completed: the backoff keeps growing.
    BeforeSync,
}

/// Whether a watch error says the resource is not served (its CRD is missing), by status code.
fn is_not_served(error: &watcher::Error) -> bool {
    let status = match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status))
        | watcher::Error::WatchError(status) => status,
        _ => return false,
    };
    status.code == 404
}

fn describe_error(resource: &str, error: &watcher::Error) -> String {
    if is_not_served(error) {
        format!("{resource} is not served (is its CustomResourceDefinition installed?)")
    } else {
        format!("watching {resource}: {error}")
    }
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn api_error(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(Status::failure(message, "").with_code(code).boxed())
    }

    #[test]
    fn a_404_means_not_served_whatever_its_message_says() {
        let missing = watcher::Error::InitialListFailed(api_error(404, "page not found"));
        assert_eq!(
            describe_error("widgets.example.com/v1", &missing),
            "widgets.example.com/v1 is not served (is its CustomResourceDefinition installed?)"
        );
        let gone =
            watcher::Error::WatchError(Status::failure("the resource 404 was removed", "").with_code(410).boxed());
        assert!(!is_not_served(&gone), "a message mentioning 404 is not a 404");
        let forbidden = watcher::Error::WatchStartFailed(api_error(403, "NotFound in text"));
        assert!(describe_error("configmaps/v1", &forbidden).starts_with("watching configmaps/v1: "));
    }
}
