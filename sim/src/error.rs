//! API errors, rendered as `metav1.Status` bodies with the messages a real API server uses.

use http::StatusCode;
use serde_json::{Value, json};

use crate::registry::GroupResource;

/// One field-level reason attached to an `Invalid` or `Conflict` error (`details.causes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// Machine-readable reason, e.g. `FieldValueRequired` or `FieldManagerConflict`.
    pub reason: String,
    /// JSON path of the field, e.g. `.spec.replicas`.
    pub field: String,
    /// Human-readable message.
    pub message: String,
}

impl Cause {
    pub fn new(reason: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { reason: reason.to_owned(), field: field.into(), message: message.into() }
    }
}

/// Every way a request can fail. Each variant maps to one HTTP status and one `Status.reason`.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The object (or resource type) does not exist.
    #[error("{message}")]
    NotFound { message: String, gr: GroupResource, name: String },
    /// Create of an object that already exists.
    #[error("{message}")]
    AlreadyExists { message: String, gr: GroupResource, name: String },
    /// Optimistic concurrency failure, a failed precondition or an apply conflict.
    #[error("{message}")]
    Conflict { message: String, gr: GroupResource, name: String, causes: Vec<Cause> },
    /// The object failed validation.
    #[error("{message}")]
    Invalid { message: String, kind: String, group: String, name: String, causes: Vec<Cause> },
    /// The request itself is malformed (bad JSON, bad selector, mismatched kind).
    #[error("{0}")]
    BadRequest(String),
    /// A resourceVersion that has been compacted away.
    #[error("{0}")]
    Gone(String),
    /// The action is not allowed on an existing object (e.g. content in a terminating namespace).
    #[error("{message}")]
    Forbidden { message: String, gr: GroupResource, name: String },
    /// The verb is not supported on this resource right now.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request body's Content-Type is not accepted for this verb.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request body exceeds the size limit.
    #[error("{0}")]
    RequestEntityTooLarge(String),
    /// A list asked for a resourceVersion newer than any that exists.
    #[error("{0}")]
    Timeout(String),
    /// No valid credentials (a bad or expired token).
    #[error("Unauthorized")]
    Unauthorized,
    /// An error injected by a test through the fault API.
    #[error("{message}")]
    Injected { code: u16, message: String },
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    pub fn not_found(gr: &GroupResource, name: &str) -> Self {
        Self::NotFound { message: format!("{gr} \"{name}\" not found"), gr: gr.clone(), name: name.to_owned() }
    }

    pub fn already_exists(gr: &GroupResource, name: &str) -> Self {
        Self::AlreadyExists {
            message: format!("{gr} \"{name}\" already exists"),
            gr: gr.clone(),
            name: name.to_owned(),
        }
    }

    /// The stale-resourceVersion conflict every controller author has seen.
    pub fn modified(gr: &GroupResource, name: &str) -> Self {
        Self::conflict(
            gr,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
            Vec::new(),
        )
    }

    pub fn conflict(gr: &GroupResource, name: &str, why: &str, causes: Vec<Cause>) -> Self {
        Self::Conflict {
            message: format!("Operation cannot be fulfilled on {gr} \"{name}\": {why}"),
            gr: gr.clone(),
            name: name.to_owned(),
            causes,
        }
    }

    /// `Kind.group "name" is invalid: field: reason` with one cause per field error.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> Self {
        let qualified = if group.is_empty() { kind.to_owned() } else { format!("{kind}.{group}") };
        let detail = causes
            .iter()
            .map(|c| if c.field.is_empty() { c.message.clone() } else { format!("{}: {}", c.field, c.message) })
            .collect::<Vec<_>>();
        let message = match detail.len() {
            0 => format!("{qualified} \"{name}\" is invalid"),
            1 => format!("{qualified} \"{name}\" is invalid: {}", detail[0]),
            _ => format!("{qualified} \"{name}\" is invalid: [{}]", detail.join(", ")),
        };
        Self::Invalid { message, kind: kind.to_owned(), group: group.to_owned(), name: name.to_owned(), causes }
    }

    pub fn forbidden(gr: &GroupResource, name: &str, why: &str) -> Self {
        Self::Forbidden {
            message: format!("{gr} \"{name}\" is forbidden: {why}"),
            gr: gr.clone(),
            name: name.to_owned(),
        }
    }

    pub fn status_code(&self) -> StatusCode {
        let code = match self {
            Self::NotFound { .. } => 404,
            Self::AlreadyExists { .. } | Self::Conflict { .. } => 409,
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::Gone(_) => 410,
            Self::Forbidden { .. } => 403,
            Self::MethodNotAllowed(_) => 405,
            Self::UnsupportedMediaType(_) => 415,
            Self::RequestEntityTooLarge(_) => 413,
            Self::Timeout(_) => 504,
            Self::Unauthorized => 401,
            Self::Injected { code, .. } => *code,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `Status.reason` string clients switch on.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } => "Conflict",
            Self::Invalid { .. } => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::Gone(_) => "Expired",
            Self::Forbidden { .. } => "Forbidden",
            Self::MethodNotAllowed(_) => "MethodNotAllowed",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Self::RequestEntityTooLarge(_) => "RequestEntityTooLarge",
            Self::Timeout(_) => "Timeout",
            Self::Unauthorized => "Unauthorized",
            Self::Injected { code, .. } => reason_for_code(*code),
        }
    }

    /// The full `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.status_code().as_u16(),
        });
        let details = match self {
            Self::NotFound { gr, name, .. }
            | Self::AlreadyExists { gr, name, .. }
            | Self::Forbidden { gr, name, .. } => Some(gr_details(gr, name, &[])),
            Self::Conflict { gr, name, causes, .. } => Some(gr_details(gr, name, causes)),
            Self::Invalid { kind, group, name, causes, .. } => {
                let mut d = json!({ "name": name, "group": group, "kind": kind, "causes": causes_json(causes) });
                strip_empty(&mut d);
                Some(d)
            }
            Self::Timeout(_) => Some(
                json!({ "causes": [{ "reason": "ResourceVersionTooLarge", "message": "Too large resource version" }], "retryAfterSeconds": 1 }),
            ),
            _ => None,
        };
        if let Some(details) = details {
            status["details"] = details;
        }
        status
    }
}

fn gr_details(gr: &GroupResource, name: &str, causes: &[Cause]) -> Value {
    let mut d = json!({ "name": name, "group": gr.group, "kind": gr.resource, "causes": causes_json(causes) });
    strip_empty(&mut d);
    d
}

fn causes_json(causes: &[Cause]) -> Value {
    causes.iter().map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field })).collect()
}

/// Real Status bodies omit empty `group` and `causes`.
fn strip_empty(details: &mut Value) {
    if let Some(map) = details.as_object_mut() {
        map.retain(|_, v| !(v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty)));
    }
}

fn reason_for_code(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

/// A successful deletion answer: `Status{status: Success, details}`.
pub fn deleted_status(gr: &GroupResource, name: &str, uid: &str) -> Value {
    let mut details = json!({ "name": name, "group": gr.group, "kind": gr.resource, "uid": uid });
    strip_empty(&mut details);
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details })
}
