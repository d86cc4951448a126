//! Streams a watch as newline-delimited JSON events: the starting events, then live changes,
//! bookmarks on an interval, and a clean end on timeout, on a closed watch, or when the client
//! goes away.
//!
//! The response body polls the watch directly (no task or channel in between), so a change
//! reaches the socket with one wake-up per watcher, and a client that disconnects drops it all.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::encode::{self, Representation};
use crate::store::{Store, Target, WatchOptions, WatchStart, visible};

/// Everything one watch stream needs.
#[derive(Debug)]
pub struct WatchStream {
    pub store: Arc<Store>,
    pub target: Target,
    pub repr: Representation,
    pub opts: WatchOptions,
    pub timeout: Option<Duration>,
    pub bookmark_interval: Duration,
    pub shutdown: CancellationToken,
}

/// A watch in progress: what is left to send first, then the live subscription.
struct Running {
    watch: WatchStream,
    start: WatchStart,
    pending: VecDeque<Bytes>,
    deadline: Option<Instant>,
    ticker: Interval,
    /// The stored apiVersion this watch serves, when events can share their cached encoding.
    shared_api_version: Option<String>,
    done: bool,
}

impl WatchStream {
    pub fn into_response(self, mut start: WatchStart) -> Response {
        let mut pending = VecDeque::new();
        let mut done = false;
        if let Some(expired) = start.expired.take() {
            pending.push_back(encode::error_event(&expired.to_status()).into());
            done = true;
        } else {
            for (kind, object) in std::mem::take(&mut start.initial) {
                pending.push_back(encode::event(&self.target, &self.repr, kind, &object).into());
            }
            if start.initial_events_end {
                pending.push_back(encode::bookmark(&self.target, &self.repr, start.start_rv, true).into());
            }
        }
        let mut ticker = tokio::time::interval_at(Instant::now() + self.bookmark_interval, self.bookmark_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let running = Running {
            deadline: self.timeout.map(|t| Instant::now() + t),
            // A view (events.k8s.io) converts each object, so it cannot share the stored encoding.
            shared_api_version: (self.repr == Representation::Json && self.target.view.is_none())
                .then(|| self.target.api_version()),
            watch: self,
            start,
            pending,
            ticker,
            done,
        };
        let lines = futures::stream::unfold(running, |mut running| async move {
            let line = running.next_line().await?;
            Some((Ok::<_, Infallible>(line), running))
        });
        Response::builder()
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::CACHE_CONTROL, "no-cache, private")
            .body(Body::from_stream(lines))
            .expect("static headers are valid")
    }
}

impl Running {
    /// The next line to send, or `None` when the watch ends.
    async fn next_line(&mut self) -> Option<Bytes> {
        if let Some(line) = self.pending.pop_front() {
            return Some(line);
        }
        if self.done {
            return None;
        }
        let w = &self.watch;
        loop {
            // Biased: a closed watch ends at once, before any bookmark could tell the client a
            // resourceVersion newer than what closed it (tests rely on a forced close + compaction
            // meaning a 410 on resume).
            tokio::select! {
                biased;
                () = w.shutdown.cancelled() => return None,
                () = self.start.resource_closed.cancelled() => return None,
                () = self.start.all_closed.cancelled() => return None,
                () = sleep_until(self.deadline) => {
                    self.done = true;
                    // A last bookmark lets the client resume exactly where this watch ended.
                    let rv = w.opts.allow_bookmarks.then(|| w.store.bookmark_rv(&self.start.live)).flatten()?;
                    return Some(encode::bookmark(&w.target, &w.repr, rv, false).into());
                }
                _ = self.ticker.tick(), if w.opts.allow_bookmarks => {
                    if let Some(rv) = w.store.bookmark_rv(&self.start.live) {
                        return Some(encode::bookmark(&w.target, &w.repr, rv, false).into());
                    }
                }
                received = self.start.live.recv() => match received {
                    Ok(event) => {
                        let Some((kind, object)) = visible(&event, w.target.namespace.as_deref(), &w.opts.selectors) else {
                            continue;
                        };
                        let stored_version = object.get("apiVersion").and_then(|v| v.as_str());
                        if kind == event.kind && self.shared_api_version.as_deref().is_some_and(|v| Some(v) == stored_version) {
                            return Some(event.encoded.get_or_init(|| encode::event(&w.target, &w.repr, kind, &object).into()).clone());
                        }
                        return Some(encode::event(&w.target, &w.repr, kind, &object).into());
                    }
                    // Too far behind: end the stream; the client resumes from its last RV.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
