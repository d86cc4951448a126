//! Turning one informer's changes into queued primary keys.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::cache::{CachedObject, Change};
use super::informer::{Informer, SyncState};
use super::queue::Urgency;
use super::{Shared, Source, triggers};
use crate::runtime::bindings::RelatedMapping;
use crate::runtime::{ApiResource, ObjectRef, Trigger};

impl Shared {
    /// Follows one informer until the plugin stops; `source` is `None` for a primary informer.
    pub(super) async fn pump(self: Arc<Self>, informer: Arc<Informer>, source: Option<Source>) {
        let mut changes = informer.subscribe();
        let mut state = informer.state();
        let mut seen_sync = informer.is_synced();
        if source.is_none() {
            self.enqueue_all(Trigger::Added);
        }
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                changed = state.changed() => {
                    if changed.is_err() { return; }
                    // A (re)synced primary cache may hold objects we have never reconciled: on
                    // the first sync, every object is new to this plugin.
                    if source.is_none() && *state.borrow() == SyncState::Synced {
                        self.enqueue_all(if seen_sync { Trigger::Resync } else { Trigger::Added });
                        seen_sync = true;
                    }
                }
                change = changes.recv() => match change {
                    Ok(change) => self.route(&informer.key().api, &change, source.as_ref()).await,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "fell behind on events; reconciling everything");
                        self.enqueue_all(Trigger::Resync);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    async fn route(&self, api: &ApiResource, change: &Change, source: Option<&Source>) {
        match source {
            None => {
                let reconcile_on_status = self.description.reconcile_on_status_change;
                if let Some((key, trigger)) = triggers::primary(change, &self.selector, reconcile_on_status) {
                    self.enqueue(key, trigger);
                }
            }
            Some(Source::Owned(selector)) => {
                for key in triggers::owners(change, selector, &self.description.primary.api) {
                    self.enqueue(key, Trigger::OwnedChanged);
                }
            }
            Some(Source::Related(selector, RelatedMapping::ByLabel(label))) => {
                for key in triggers::labelled(change, selector, label) {
                    self.enqueue(key, Trigger::RelatedChanged);
                }
            }
            Some(Source::Related(selector, RelatedMapping::ByFunction)) => {
                for object in triggers::changed_objects(change, selector) {
                    self.map_related(api, object).await;
                }
            }
        }
    }

    /// Asks the plugin which primaries a related object concerns.
    async fn map_related(&self, api: &ApiResource, object: Arc<CachedObject>) {
        let _turn = self.calls.enter(Urgency::Event).await;
        let plugin = self.plugin.read().clone();
        let related = object_ref(api, &object);
        let json = object.json.clone();
        let result = tokio::task::spawn_blocking(move || plugin.map_related(related, json)).await;
        self.note_active();
        let message = match result {
            Ok(Ok(Ok(primaries))) => {
                for primary in primaries {
                    let key = super::ObjectKey { namespace: primary.namespace, name: primary.name };
                    self.enqueue(key, Trigger::RelatedChanged);
                }
                return;
            }
            Ok(Ok(Err(message))) => message,
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        tracing::warn!(object = %object.key, %message, "map-related failed");
    }
}

/// The WIT reference to a cached object of `api`.
pub(super) fn object_ref(api: &ApiResource, object: &CachedObject) -> ObjectRef {
    ObjectRef {
        api_version: api.api_version(),
        kind: api.kind.clone(),
        namespace: object.key.namespace.clone(),
        name: object.key.name.clone(),
    }
}
