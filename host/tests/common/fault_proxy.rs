//! A proxy in front of a registry that answers chosen statuses to the next blob requests (a
//! registry behind a struggling load balancer), then passes everything through.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Clone)]
struct Shared {
    upstream: String,
    faults: Arc<Mutex<VecDeque<u16>>>,
    http: Client<HttpConnector, Full<Bytes>>,
}

pub struct FaultProxy {
    pub addr: String,
    faults: Arc<Mutex<VecDeque<u16>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let faults = Arc::new(Mutex::new(VecDeque::new()));
        let shared = Shared {
            upstream: upstream.to_owned(),
            faults: Arc::clone(&faults),
            http: Client::builder(TokioExecutor::new()).build_http(),
        };
        let app = axum::Router::new().fallback(forward).with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, faults, task }
    }

    /// The next blob requests get these statuses (429 with `Retry-After: 1`), one each.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.faults.lock().expect("lock").extend(statuses);
    }

    /// Faults not yet served.
    pub fn pending(&self) -> usize {
        self.faults.lock().expect("lock").len()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    if request.uri().path().contains("/blobs/")
        && let Some(status) = shared.faults.lock().expect("lock").pop_front()
    {
        let status = StatusCode::from_u16(status).expect("status");
        return if status == StatusCode::TOO_MANY_REQUESTS {
            (status, [("retry-after", "1")]).into_response()
        } else {
            status.into_response()
        };
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let uri = format!("http://{}{}", shared.upstream, parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut upstream = http::Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        upstream = upstream.header(name, value);
    }
    let Ok(response) = shared.http.request(upstream.body(Full::new(body)).expect("request")).await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    Response::from_parts(parts, Body::from(body))
}
