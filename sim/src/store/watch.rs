//! The starting point of a watch: synthetic ADDED events, a replay from history, or 410 Expired,
//! taken atomically with the subscription to live events.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{Event, EventKind, Store, Target};
use crate::error::{ApiError, Cause, Result};
use crate::selector::Selectors;

/// Options of a WATCH.
#[derive(Clone, Debug, Default)]
pub struct WatchOptions {
    pub selectors: Selectors,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub send_initial_events: bool,
    pub allow_bookmarks: bool,
}

/// Everything a watch stream needs to run.
#[derive(Debug)]
pub struct WatchStart {
    /// Events to send first.
    pub initial: Vec<(EventKind, Arc<Value>)>,
    /// Send a BOOKMARK marking the end of the initial events after them.
    pub initial_events_end: bool,
    /// Send this 410 as an ERROR event and end the stream.
    pub expired: Option<ApiError>,
    /// The resourceVersion of the starting point.
    pub start_rv: u64,
    pub live: broadcast::Receiver<Arc<Event>>,
    /// Cancelled when the resource's CRD is removed.
    pub resource_closed: CancellationToken,
    /// Cancelled when a test closes every watch.
    pub all_closed: CancellationToken,
}

impl Store {
    pub fn watch(&self, target: &Target, opts: &WatchOptions) -> Result<WatchStart> {
        if opts.send_initial_events {
            let mut causes = Vec::new();
            if opts.resource_version_match.as_deref() != Some("NotOlderThan") {
                causes.push(Cause::new(
                    "FieldValueForbidden",
                    "resourceVersionMatch",
                    "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            if !opts.allow_bookmarks {
                causes.push(Cause::new(
                    "FieldValueForbidden",
                    "allowWatchBookmarks",
                    "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
                ));
            }
            if !causes.is_empty() {
                return Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", causes));
            }
        }
        let mut state = self.lock();
        let live = state.subscribe(target.gr());
        let resource_closed = state.closer(target.gr());
        let all_closed = state.close_all.clone();
        let start_rv = state.rv();
        let from: Option<u64> = match opts.resource_version.as_deref() {
            None | Some("") | Some("0") => None,
            Some(raw) => {
                Some(raw.parse().map_err(|_| ApiError::BadRequest(format!("invalid resource version {raw:?}")))?)
            }
        };
        let mut start = WatchStart {
            initial: Vec::new(),
            initial_events_end: opts.send_initial_events,
            expired: None,
            start_rv,
            live,
            resource_closed,
            all_closed,
        };
        match from {
            Some(rv) if !opts.send_initial_events => {
                if rv < state.compacted_through {
                    start.expired = Some(ApiError::Gone(format!(
                        "too old resource version: {rv} ({})",
                        state.compacted_through + 1
                    )));
                    return Ok(start);
                }
                start.initial = state
                    .history
                    .iter()
                    .skip_while(|e| e.rv <= rv)
                    .filter(|e| &e.gr == target.gr())
                    .filter_map(|e| visible(e, target.namespace.as_deref(), &opts.selectors))
                    .collect();
            }
            _ => {
                start.initial = state
                    .objects_of(target.gr())
                    .filter(|(k, _)| target.namespace.as_ref().is_none_or(|ns| &k.namespace == ns))
                    .filter(|(_, v)| opts.selectors.matches(v))
                    .map(|(_, v)| (EventKind::Added, v.clone()))
                    .collect();
            }
        }
        Ok(start)
    }

    /// The resourceVersion a BOOKMARK may carry now: the newest one, but only when the watch has
    /// received every event up to it (so a resume from the bookmark loses nothing).
    pub fn bookmark_rv(&self, live: &broadcast::Receiver<Arc<Event>>) -> Option<u64> {
        let state = self.lock();
        live.is_empty().then(|| state.rv())
    }
}

/// How one change looks to a watch with a namespace and selectors: an object that starts matching
/// is ADDED, one that stops matching is DELETED.
pub fn visible(event: &Event, namespace: Option<&str>, selectors: &Selectors) -> Option<(EventKind, Arc<Value>)> {
    if namespace.is_some_and(|ns| ns != event.key.namespace) {
        return None;
    }
    let now = selectors.matches(&event.object);
    let before = event.previous.as_ref().is_some_and(|p| selectors.matches(p));
    let kind = match event.kind {
        EventKind::Added => now.then_some(EventKind::Added)?,
        EventKind::Deleted => (now || before).then_some(EventKind::Deleted)?,
        EventKind::Modified => match (before, now) {
            (true, true) => EventKind::Modified,
            (false, true) => EventKind::Added,
            (true, false) => EventKind::Deleted,
            (false, false) => return None,
        },
    };
    Some((kind, event.object.clone()))
}
