//! One registry's HTTP conversation: authentication, redirects, retries and bounds, so the pull
//! and push code only says what to ask for.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use parking_lot::Mutex;
use rustls_platform_verifier::ConfigVerifierExt;
use url::Url;

use super::auth::{Challenge, Credentials};
use super::{Error, Limits, OciConfig, Result};

/// Talks to one registry, keeping its tokens per scope.
pub struct RegistryClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// `http://HOST:PORT` or `https://HOST`.
    base: Url,
    credentials: Option<Credentials>,
    /// The `Authorization` value that worked (or was issued) per scope.
    authorizations: Mutex<HashMap<String, String>>,
    limits: Limits,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

/// One request to the registry.
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub(super) method: Method,
    /// A path (`/v2/…`) on the registry, or an absolute URL it handed out (an upload location).
    pub(super) target: String,
    pub(super) accept: Option<&'static str>,
    /// A body and its content type.
    pub(super) body: Option<(Bytes, &'static str)>,
    /// `repository:NAME:pull` (or `pull,push`): what a token must grant.
    pub(super) scope: String,
    pub(super) max_bytes: usize,
}

impl Request {
    pub(super) fn new(method: Method, target: String, scope: String) -> Self {
        Self { method, target, accept: None, body: None, scope, max_bytes: 1 << 20 }
    }
}

/// What the registry finally answered, after authentication, redirects and retries.
#[derive(Debug)]
pub(super) struct Response {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    /// The URL that answered.
    pub(super) url: Url,
}

impl Response {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The registry's error (`MANIFEST_UNKNOWN: manifest unknown`) or the start of the body.
    pub(super) fn explain(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Errors {
            errors: Vec<Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            code: String,
            #[serde(default)]
            message: String,
        }
        match serde_json::from_slice::<Errors>(&self.body) {
            Ok(Errors { errors }) if !errors.is_empty() => {
                let all: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.code, e.message)).collect();
                format!("HTTP {} ({})", self.status.as_u16(), all.join("; "))
            }
            _ => {
                let text = String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).trim().to_owned();
                if text.is_empty() {
                    format!("HTTP {}", self.status.as_u16())
                } else {
                    format!("HTTP {}: {text}", self.status.as_u16())
                }
            }
        }
    }
}

/// Why one exchange did not give an answer to return.
enum Failure {
    /// No answer (connection, TLS, time): worth trying again.
    Transport(String),
    /// 429 or 5xx, with the `Retry-After` it named: worth trying again.
    Status(Box<Response>, Option<Duration>),
    /// Not worth trying again.
    Fatal(Error),
}

impl RegistryClient {
    /// A client for `registry` (`HOST[:PORT]`; `endpoint` is where its API is served), over plain
    /// HTTP only if `config` names it insecure.
    pub fn new(registry: &str, endpoint: &str, credentials: Option<Credentials>, config: &OciConfig) -> Result<Self> {
        let scheme = if config.is_insecure(registry) { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{endpoint}"))
            .map_err(|e| Error::Invalid(format!("registry {registry:?} is not a host: {e}")))?;
        let tls = rustls::ClientConfig::with_platform_verifier()
            .map_err(|e| Error::FetchFailed(format!("no TLS trust store: {e}")))?;
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self { http, base, credentials, authorizations: Mutex::new(HashMap::new()), limits: config.limits })
    }

    pub(super) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// `location` (absolute or relative, as registries hand them out) against `from`.
    pub(super) fn resolve(&self, from: &Url, location: &str) -> Result<Url> {
        from.join(location)
            .map_err(|e| Error::FetchFailed(format!("the registry sent a bad location {location:?}: {e}")))
    }

    /// Sends `request`, answering one authentication challenge, following redirects and retrying
    /// connection failures, 429 and 5xx. Any other answer is returned for the caller to judge,
    /// except 401 and 403, which are [`Error::Unauthorized`].
    pub(super) async fn send(&self, request: &Request) -> Result<Response> {
        let mut url = self.resolve(&self.base, &request.target)?;
        let mut method = request.method.clone();
        let (mut tries, mut redirects, mut challenged) = (0, 0, false);
        loop {
            let same_host = url.origin() == self.base.origin();
            let mut headers = HeaderMap::new();
            if let Some(accept) = request.accept {
                headers.insert(ACCEPT, accept.parse().expect("static header"));
            }
            // Credentials never go to another host: pre-signed blob URLs reject them anyway.
            if same_host && let Some(value) = self.authorizations.lock().get(&request.scope) {
                headers.insert(AUTHORIZATION, value.parse().map_err(|_| Error::Invalid("bad credentials".into()))?);
            }
            let body = if method == Method::GET || method == Method::HEAD { None } else { request.body.clone() };
            let response = match self.once(&method, &url, headers, body, request.max_bytes).await {
                Ok(response) => response,
                Err(Failure::Fatal(error)) => return Err(error),
                Err(failure) => {
                    tries += 1;
                    let (why, after) = match failure {
                        Failure::Status(response, after) => (response.explain(), after),
                        Failure::Transport(why) => (why, None),
                        Failure::Fatal(error) => return Err(error),
                    };
                    if tries >= self.limits.attempts {
                        // A plain-HTTP registry answers a TLS handshake with garbage.
                        let hint = if url.scheme() == "https" && after.is_none() {
                            "; if the registry serves plain HTTP, name it with --insecure-registry"
                        } else {
                            ""
                        };
                        return Err(Error::FetchFailed(format!("{method} {url}: {why} (tried {tries} times{hint})")));
                    }
                    let delay =
                        after.map_or_else(|| self.limits.backoff.delay(tries), |d| d.min(self.limits.backoff.max));
                    tracing::debug!(%url, %why, ?delay, "registry request failed; retrying");
                    tokio::time::sleep(delay).await;
                    continue;
                }
            };
            match response.status {
                StatusCode::UNAUTHORIZED if same_host && !challenged => {
                    challenged = true;
                    let authorization = self.answer(&response, &request.scope).await?;
                    self.authorizations.lock().insert(request.scope.clone(), authorization);
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    let who = match &self.credentials {
                        Some(c) => format!("as {:?}", c.username),
                        None => "without credentials (set spec.module.oci.pullSecret)".to_owned(),
                    };
                    return Err(Error::Unauthorized(format!("{method} {url} {who}: {}", response.explain())));
                }
                status if status.is_redirection() && status != StatusCode::NOT_MODIFIED => {
                    redirects += 1;
                    if redirects > self.limits.redirects {
                        return Err(Error::FetchFailed(format!(
                            "{method} {url}: more than {} redirects",
                            redirects - 1
                        )));
                    }
                    let location = response.header(LOCATION.as_str()).ok_or_else(|| {
                        Error::FetchFailed(format!("{method} {url}: HTTP {status} without a Location"))
                    })?;
                    let next = self.resolve(&url, location)?;
                    if url.scheme() == "https" && next.scheme() != "https" {
                        return Err(Error::FetchFailed(format!("{method} {url}: refusing a redirect to {next}")));
                    }
                    if status == StatusCode::SEE_OTHER {
                        method = Method::GET;
                    }
                    url = next;
                }
                _ => return Ok(response),
            }
        }
    }

    /// One exchange, bounded in time and size.
    async fn once(
        &self,
        method: &Method,
        url: &Url,
        headers: HeaderMap,
        body: Option<(Bytes, &'static str)>,
        max_bytes: usize,
    ) -> Result<Response, Failure> {
        let mut builder = http::Request::builder().method(method.clone()).uri(url.as_str());
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        let body = match body {
            Some((bytes, content_type)) => {
                builder = builder.header(CONTENT_TYPE, content_type);
                Full::new(bytes)
            }
            None => Full::new(Bytes::new()),
        };
        let request = builder.body(body).map_err(|e| Failure::Fatal(Error::Invalid(format!("bad request: {e}"))))?;
        // Too large is not worth a retry: it will be as large again.
        let too_large = |what: String| {
            Failure::Fatal(Error::FetchFailed(format!(
                "{method} {url}: {what} is more than the {max_bytes} bytes allowed"
            )))
        };
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| Failure::Transport(chain(&e)))?;
            let (parts, incoming) = response.into_parts();
            let length = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
            if let Some(length) = length.filter(|n| *n > max_bytes && method != Method::HEAD) {
                return Err(too_large(format!("a body of {length} bytes")));
            }
            let body = Limited::new(incoming, max_bytes).collect().await.map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    too_large("the body".to_owned())
                } else {
                    Failure::Transport(format!("reading the body: {}", chain(&*e)))
                }
            })?;
            Ok(Response { status: parts.status, headers: parts.headers, body: body.to_bytes(), url: url.clone() })
        };
        let response = tokio::time::timeout(self.limits.request_timeout, exchange)
            .await
            .map_err(|_| Failure::Transport(format!("no answer within {:?}", self.limits.request_timeout)))??;
        let status = response.status;
        if status == StatusCode::TOO_MANY_REQUESTS || matches!(status.as_u16(), 500 | 502 | 503 | 504) {
            let after = response.header(RETRY_AFTER.as_str()).and_then(|v| v.trim().parse().ok());
            return Err(Failure::Status(Box::new(response), after.map(Duration::from_secs)));
        }
        Ok(response)
    }

    /// The `Authorization` value that answers a 401's challenge.
    async fn answer(&self, response: &Response, scope: &str) -> Result<String> {
        let header = response.header(WWW_AUTHENTICATE.as_str()).unwrap_or_default();
        let challenge = Challenge::parse(header).ok_or_else(|| {
            Error::Unauthorized(format!("{}: HTTP 401 without a usable WWW-Authenticate challenge", response.url))
        })?;
        match challenge.scheme.as_str() {
            "basic" => match &self.credentials {
                Some(credentials) => Ok(credentials.basic()),
                None => Err(Error::Unauthorized(format!(
                    "{}: the registry wants a user name and password (set spec.module.oci.pullSecret)",
                    response.url
                ))),
            },
            "bearer" => self.token(&challenge, scope).await.map(|token| format!("Bearer {token}")),
            other => Err(Error::Unauthorized(format!("{}: unsupported authentication scheme {other:?}", response.url))),
        }
    }

    /// A token from the challenge's realm for `scope` (the challenge's own scope when it names
    /// one), sent the credentials if there are any, anonymous otherwise.
    async fn token(&self, challenge: &Challenge, scope: &str) -> Result<String> {
        let realm = challenge.params.get("realm").ok_or_else(|| {
            Error::Unauthorized("the registry's Bearer challenge names no realm to get a token from".into())
        })?;
        let mut url = Url::parse(realm).map_err(|e| Error::Unauthorized(format!("token realm {realm:?}: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = challenge.params.get("service") {
                query.append_pair("service", service);
            }
            query.append_pair("scope", challenge.params.get("scope").map_or(scope, String::as_str));
        }
        let mut headers = HeaderMap::new();
        if let Some(credentials) = &self.credentials {
            headers.insert(
                AUTHORIZATION,
                credentials.basic().parse().map_err(|_| Error::Invalid("bad credentials".into()))?,
            );
        }
        let response = match self.once(&Method::GET, &url, headers, None, 1 << 20).await {
            Ok(response) => response,
            Err(Failure::Transport(why)) => return Err(Error::FetchFailed(format!("token service {realm}: {why}"))),
            Err(Failure::Status(response, _)) => {
                return Err(Error::FetchFailed(format!("token service {realm}: {}", response.explain())));
            }
            Err(Failure::Fatal(error)) => return Err(error),
        };
        if matches!(response.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            let who = self.credentials.as_ref().map_or_else(|| "anonymous".to_owned(), |c| format!("{:?}", c.username));
            return Err(Error::Unauthorized(format!(
                "the token service {realm} refused {who}: {}",
                response.explain()
            )));
        }
        if !response.status.is_success() {
            return Err(Error::FetchFailed(format!("token service {realm}: {}", response.explain())));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&response.body)
            .map_err(|e| Error::FetchFailed(format!("token service {realm} sent no JSON token: {e}")))?;
        token
            .token
            .or(token.access_token)
            .ok_or_else(|| Error::FetchFailed(format!("token service {realm} sent no token")))
    }
}

/// An error with its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
