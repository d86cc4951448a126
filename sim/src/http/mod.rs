//! The HTTP face of the emulator: one handler that routes by path and method.

mod encode;
mod params;
mod route;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::auth::{self, Attributes, Authenticator, AuthorizationMode, UserInfo, reviews, token_request};
use crate::error::{ApiError, Result, deleted_status};
use crate::faults::Faults;
use crate::store::{DeleteOutcome, ScaleWrite, Store, Target, WriteOptions, WriteOutcome};
use crate::{discovery, object, openapi, strategy};
use encode::Representation;
use route::{ResourcePath, Route};
use watch::WatchStream;

/// Shared state of every request.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Arc<Store>,
    pub faults: Arc<Faults>,
    pub bookmark_interval: Duration,
    pub shutdown: CancellationToken,
    pub server_address: String,
    pub authenticator: Arc<Authenticator>,
    pub mode: AuthorizationMode,
}

/// The router serving the whole API.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(app): State<AppState>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let result = match authenticate_and_authorize(&app, &parts) {
        Err(e) => Err(e),
        Ok(user) => {
            let route = route::parse(parts.uri.path(), |g, v, r| {
                app.store.is_namespaced(g, v, r)
                    || reviews::REVIEWS.iter().any(|(rg, rr, _, ns)| *ns && *rg == g && *rr == r)
            });
            match route {
                Route::Resource(path) => resource(&app, &user, &parts, body, path).await,
                other => discovery_route(&app, &parts.method, &parts.headers, other),
            }
        }
    };
    let response = result.unwrap_or_else(|e| error_response(&e));
    tracing::debug!(method = %parts.method, uri = %parts.uri, status = response.status().as_u16(), elapsed = ?started.elapsed(), "request");
    response
}

/// The user a request acts as, once it is authenticated, its impersonation allowed and (under
/// RBAC) the request itself authorized.
fn authenticate_and_authorize(app: &AppState, parts: &http::request::Parts) -> Result<UserInfo> {
    let real = app.authenticator.authenticate(&parts.headers, &app.store)?;
    let impersonating = parts.headers.keys().any(|k| k.as_str().starts_with("impersonate-"));
    if app.mode == AuthorizationMode::AlwaysAllow && !impersonating {
        return Ok(real); // Nothing to look up: keep the store's lock for the request itself.
    }
    let state = app.store.lock();
    let user = auth::impersonate(app.mode, &state, real, &parts.headers)?;
    if app.mode == AuthorizationMode::Rbac {
        let q = params::query(&parts.uri);
        let attrs =
            Attributes::of_request(user.clone(), &parts.method, parts.uri.path(), |k| q.get(k).map(String::as_str));
        if let auth::authz::Decision::Deny(reason) = auth::authorize(app.mode, &state, &attrs) {
            return Err(auth::forbidden(&attrs, &reason));
        }
    }
    Ok(user)
}

fn discovery_route(app: &AppState, method: &Method, headers: &HeaderMap, route: Route) -> Result<Response> {
    if method != Method::GET {
        return Err(ApiError::MethodNotAllowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        )));
    }
    if route == Route::OpenApiV2 {
        let accept = headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let response = Response::builder().header(http::header::VARY, "Accept");
        let response = match openapi::v2(accept) {
            Some((content_type, body)) => response
                .header(http::header::CONTENT_TYPE, content_type)
                .header(http::header::ETAG, "\"weft-sim-openapi-v2\"")
                .body(Body::from(body)),
            None => response.status(StatusCode::NOT_ACCEPTABLE).body(Body::empty()),
        };
        return Ok(response.expect("static headers are valid"));
    }
    let body = match route {
        Route::Version => discovery::version(),
        Route::Health => return Ok(Response::new(Body::from("ok"))),
        Route::CoreVersions => discovery::core_versions(&app.server_address),
        Route::Groups => discovery::group_list(&app.store.registry()),
        Route::Group(group) => discovery::group(&app.store.registry(), &group).ok_or_else(page_not_found)?,
        Route::ResourceList { group, version } => {
            discovery::resource_list(&app.store.registry(), &group, &version).ok_or_else(page_not_found)?
        }
        Route::OpenApiIndex => openapi::index(&app.store.registry(), app.store.current_rv()),
        Route::OpenApiGroupVersion { group, version } => {
            openapi::group_version(&app.store.registry(), &group, &version).ok_or_else(page_not_found)?
        }
        Route::Resource(_) | Route::NotFound | Route::OpenApiV2 => return Err(page_not_found()),
    };
    Ok(json_response(StatusCode::OK, encode::to_vec(&body), &[]))
}

fn page_not_found() -> ApiError {
    ApiError::NotFound {
        message: "the server could not find the requested resource".into(),
        gr: crate::registry::GroupResource::new("", ""),
        name: String::new(),
    }
}

async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes> {
    let too_large =
        || ApiError::RequestEntityTooLarge(format!("Request entity too large: limit is {}", params::MAX_BODY_BYTES));
    let declared =
        headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > params::MAX_BODY_BYTES) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, params::MAX_BODY_BYTES).await.map_err(|_| too_large())
}

async fn resource(
    app: &AppState,
    user: &UserInfo,
    parts: &http::request::Parts,
    body: Body,
    path: ResourcePath,
) -> Result<Response> {
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    let q = params::query(uri);
    if let Some(kind) = reviews::review_kind(&path.group, &path.version, &path.resource) {
        if *method != Method::POST || path.name.is_some() {
            return Err(ApiError::MethodNotAllowed(format!(
                "the server does not allow this method on the requested resource ({method})"
            )));
        }
        let body = params::decode(&read_body(headers, body).await?, headers)?;
        let reviewer = reviews::Reviewer { mode: app.mode, store: &app.store, authenticator: &app.authenticator, user };
        let answer = reviewer.review(kind, path.namespace.as_deref(), body)?;
        return Ok(json_response(StatusCode::CREATED, encode::to_vec(&answer), &[]));
    }
    let target = app.store.target(&path.group, &path.version, &path.resource, path.namespace.as_deref())?;
    if target.def.namespaced && path.namespace.is_none() && path.name.is_some() {
        return Err(page_not_found());
    }
    if let Some(err) = app.faults.take(target.gr()) {
        return Err(err);
    }
    let latency = app.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let repr = Representation::from_request(headers, q.get("includeObject").map(String::as_str));
    let body = read_body(headers, body).await?;
    let name = path.name.as_deref();
    let sub = path.subresource.as_deref();
    match sub {
        None => {}
        Some("status") if target.def.has_status(&target.version) => {}
        Some("finalize")
            if target.gr() == &crate::registry::GroupResource::new("", "namespaces") && *method == Method::PUT => {}
        Some("scale") if target.def.version(&target.version).is_some_and(|v| v.scale.is_some()) => {}
        Some("token") if target.gr() == &crate::registry::GroupResource::new("", "serviceaccounts") => {}
        Some(other) => {
            return Err(ApiError::NotFound {
                message: format!("the server could not find the requested resource ({other} of {})", target.gr()),
                gr: target.gr().clone(),
                name: name.unwrap_or_default().to_owned(),
            });
        }
    }

    match (method.clone(), name) {
        (Method::GET, _) if path.watch_prefix || params::is_watch(&q) => {
            let opts = params::watch_options(&q, name, &target.served_def().gr)?;
            let start = app.store.watch(&target, &opts)?;
            let stream = WatchStream {
                store: app.store.clone(),
                target,
                repr,
                opts,
                timeout: params::timeout_seconds(&q).map(Duration::from_secs),
                bookmark_interval: app.bookmark_interval,
                shutdown: app.shutdown.clone(),
            };
            Ok(stream.into_response(start))
        }
        (Method::POST, Some(name)) if sub == Some("token") => {
            let body = if body.is_empty() { json!({}) } else { params::decode(&body, headers)? };
            let namespace = target.namespace.as_deref().unwrap_or_default();
            let token = token_request::create_token(&app.store, &app.authenticator, namespace, name, &body)?;
            Ok(json_response(StatusCode::CREATED, encode::to_vec(&token), &[]))
        }
        (Method::GET, Some(name)) if sub == Some("scale") => {
            Ok(json_response(StatusCode::OK, encode::to_vec(&app.store.get_scale(&target, name)?), &[]))
        }
        (Method::PUT | Method::PATCH, Some(name)) if sub == Some("scale") => {
            let how = if method == Method::PUT {
                ScaleWrite::Replace
            } else {
                ScaleWrite::Patch(params::patch_kind(headers)?)
            };
            let scale = app.store.write_scale(
                &target,
                name,
                how,
                params::decode(&body, headers)?,
                &params::write_options(&q, headers)?,
            )?;
            Ok(json_response(StatusCode::OK, encode::to_vec(&scale), &[]))
        }
        (Method::GET, Some(name)) => {
            let obj = app.store.get(&target, name)?;

            Ok(json_response(StatusCode::OK, encode::object(&target, &repr, &obj), &[]))
        }
        (Method::GET, None) => {
            let result = app.store.list(&target, &params::list_options(&q, &target.served_def().gr)?)?;
            let mut meta = json!({"resourceVersion": result.resource_version.to_string()});
            if let Some(token) = result.continue_token {
                meta["continue"] = Value::String(token);
            }
            if let Some(remaining) = result.remaining {
                meta["remainingItemCount"] = Value::from(remaining);
            }
            Ok(json_response(StatusCode::OK, encode::list(&target, &repr, &result.items, meta), &[]))
        }
        (Method::POST, None) => {
            let obj = params::decode(&body, headers)?;
            let write = |opts: &WriteOptions| app.store.create(&target, obj.clone(), opts);
            let outcome = guarded(app, user, &target, &params::write_options(&q, headers)?, write)?;
            Ok(write_response(&target, &repr, &outcome))
        }
        (Method::PUT, Some(name)) => {
            let obj = params::decode(&body, headers)?;
            let write = |opts: &WriteOptions| app.store.update(&target, name, obj.clone(), sub, opts);
            let outcome = guarded(app, user, &target, &params::write_options(&q, headers)?, write)?;
            Ok(write_response(&target, &repr, &outcome))
        }
        (Method::PATCH, Some(name)) => {
            let kind = params::patch_kind(headers)?;
            let patch = params::decode(&body, headers)?;
            let write = |opts: &WriteOptions| app.store.patch(&target, name, kind, patch.clone(), sub, opts);
            let outcome = guarded(app, user, &target, &params::write_options(&q, headers)?, write)?;
            Ok(write_response(&target, &repr, &outcome))
        }
        (Method::DELETE, Some(name)) => {
            match app.store.delete(&target, name, &params::delete_options(&q, &body, headers)?)? {
                DeleteOutcome::Pending(obj) => {
                    Ok(json_response(StatusCode::OK, encode::object(&target, &repr, &obj), &[]))
                }
                DeleteOutcome::Deleted(obj) if strategy::returns_deleted_object(target.gr()) => {
                    Ok(json_response(StatusCode::OK, encode::object(&target, &repr, &obj), &[]))
                }
                DeleteOutcome::Deleted(obj) => {
                    let status = deleted_status(&target.served_def().gr, name, object::uid(&obj));
                    Ok(json_response(StatusCode::OK, encode::to_vec(&status), &[]))
                }
            }
        }
        (Method::DELETE, None) => {
            let opts = params::delete_options(&q, &body, headers)?;
            let listed = app.store.list(&target, &params::list_options(&q, &target.served_def().gr)?)?;
            let mut deleted = Vec::new();
            for item in &listed.items {
                let scoped =
                    Target { namespace: object::meta_str(item, "namespace").map(str::to_owned), ..target.clone() };
                match app.store.delete(&scoped, object::name(item), &opts) {
                    Ok(DeleteOutcome::Deleted(obj) | DeleteOutcome::Pending(obj)) => deleted.push(obj),
                    Err(ApiError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            let meta = json!({"resourceVersion": app.store.current_rv().to_string()});
            Ok(json_response(StatusCode::OK, encode::list(&target, &repr, &deleted, meta), &[]))
        }
        _ => Err(ApiError::MethodNotAllowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))),
    }
}

/// Runs `write`; for an RBAC object written under RBAC by someone outside `system:masters`, first
/// as a dry run, so the object it would store passes the escalation check.
fn guarded(
    app: &AppState,
    user: &UserInfo,
    target: &Target,
    opts: &WriteOptions,
    write: impl Fn(&WriteOptions) -> Result<WriteOutcome>,
) -> Result<WriteOutcome> {
    if auth::escalation::applies(app.mode, user, target.gr()) {
        let would_be = write(&WriteOptions { dry_run: true, ..opts.clone() })?;
        auth::escalation::check(&app.store.lock(), user, target.gr(), &would_be.object)?;
    }
    write(opts)
}

fn write_response(target: &Target, repr: &Representation, outcome: &WriteOutcome) -> Response {
    let code = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    json_response(code, encode::object(target, repr, &outcome.object), &outcome.warnings)
}

fn json_response(code: StatusCode, body: Vec<u8>, warnings: &[String]) -> Response {
    let mut builder = Response::builder().status(code).header(http::header::CONTENT_TYPE, "application/json");
    for w in warnings {
        let escaped = w.replace('"', "\\\"");
        builder = builder.header("Warning", format!("299 - \"{escaped}\""));
    }
    builder.body(Body::from(body)).expect("static headers are valid")
}

fn error_response(err: &ApiError) -> Response {
    json_response(err.status_code(), encode::to_vec(&err.to_status()), &[])
}
