//! Streams a watch as newline-delimited JSON events: the starting events, then live changes,
//! bookmarks on an interval, and a clean end on timeout, on a closed watch, or when the client
//! goes away.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
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

impl WatchStream {
    pub fn into_response(self, start: WatchStart) -> Response {
        let (tx, rx) = mpsc::channel::<Bytes>(256);
        tokio::spawn(self.run(start, tx));
        let body = Body::from_stream(ReceiverStream::new(rx).map(Ok::<_, Infallible>));
        Response::builder()
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::CACHE_CONTROL, "no-cache, private")
            .body(body)
            .expect("static headers are valid")
    }

    async fn run(self, mut start: WatchStart, tx: mpsc::Sender<Bytes>) {
        let send = |line: Bytes| {
            let tx = tx.clone();
            async move { tx.send(line).await.is_ok() }
        };
        if let Some(expired) = start.expired.take() {
            send(encode::error_event(&expired.to_status()).into()).await;
            return;
        }
        for (kind, object) in std::mem::take(&mut start.initial) {
            if !send(encode::event(&self.target, &self.repr, kind, &object).into()).await {
                return;
            }
        }
        if start.initial_events_end
            && !send(encode::bookmark(&self.target, &self.repr, start.start_rv, true).into()).await
        {
            return;
        }
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let mut ticker = tokio::time::interval_at(Instant::now() + self.bookmark_interval, self.bookmark_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let line = tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = start.resource_closed.cancelled() => return,
                () = start.all_closed.cancelled() => return,
                () = sleep_until(deadline) => {
                    if self.opts.allow_bookmarks
                        && let Some(rv) = self.store.bookmark_rv(&start.live) {
                            send(encode::bookmark(&self.target, &self.repr, rv, false).into()).await;
                        }
                    return;
                }
                _ = ticker.tick(), if self.opts.allow_bookmarks => {
                    match self.store.bookmark_rv(&start.live) {
                        Some(rv) => encode::bookmark(&self.target, &self.repr, rv, false).into(),
                        None => continue,
                    }
                }
                received = start.live.recv() => match received {
                    Ok(event) => match visible(&event, self.target.namespace.as_deref(), &self.opts.selectors) {
                        Some((kind, object)) if kind == event.kind && self.shares_stored_encoding(&object) => {
                            event.encoded.get_or_init(|| encode::event(&self.target, &self.repr, kind, &object).into()).clone()
                        }
                        Some((kind, object)) => encode::event(&self.target, &self.repr, kind, &object).into(),
                        None => continue,
                    },
                    // Too far behind: end the stream; the client resumes from its last RV.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                },
            };
            if !send(line).await {
                return;
            }
        }
    }
}

impl WatchStream {
    /// Whether this watch sends objects exactly as stored (plain JSON at the stored apiVersion),
    /// so it can share the event's cached encoding.
    fn shares_stored_encoding(&self, object: &serde_json::Value) -> bool {
        self.repr == Representation::Json
            && object.get("apiVersion").and_then(|v| v.as_str()) == Some(self.target.api_version().as_str())
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
