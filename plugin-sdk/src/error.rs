//! Errors from cluster calls, and the failures a reconcile reports.

use std::fmt;

use crate::bindings::weft::plugin::types;

/// Why a cluster call failed, as the host reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    Conflict,
    /// The plugin was not granted this call, or the API server refused it.
    Forbidden,
    /// The request or the object was rejected as invalid.
    Invalid,
    /// Worth retrying: timeouts, unavailable servers, throttling.
    Transient,
}

/// A failed cluster call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::Conflict
    }

    pub(crate) fn from_wit(e: types::ApiError) -> Self {
        let kind = match e.kind {
            types::ErrorKind::NotFound => ErrorKind::NotFound,
            types::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            types::ErrorKind::Conflict => ErrorKind::Conflict,
            types::ErrorKind::Forbidden => ErrorKind::Forbidden,
            types::ErrorKind::Invalid => ErrorKind::Invalid,
            types::ErrorKind::Transient => ErrorKind::Transient,
        };
        Self { kind, message: e.message }
    }

    /// An object from the host that does not match the plugin's type.
    pub(crate) fn decode(e: serde_json::Error) -> Self {
        Self { kind: ErrorKind::Invalid, message: format!("decoding object: {e}") }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}

/// A failed reconcile: transient failures are retried with backoff, permanent ones wait for the
/// object or the plugin to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Transient(String),
    Permanent(String),
}

impl Error {
    pub fn transient(message: impl fmt::Display) -> Self {
        Self::Transient(message.to_string())
    }

    pub fn permanent(message: impl fmt::Display) -> Self {
        Self::Permanent(message.to_string())
    }

    pub(crate) fn into_wit(self) -> types::Failure {
        match self {
            Self::Transient(m) => types::Failure::Transient(m),
            Self::Permanent(m) => types::Failure::Permanent(m),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transient(m) => write!(f, "transient: {m}"),
            Self::Permanent(m) => write!(f, "permanent: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Forbidden and invalid requests will fail the same way next time; everything else may not.
impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        match e.kind {
            ErrorKind::Forbidden | ErrorKind::Invalid => Self::Permanent(e.to_string()),
            _ => Self::Transient(e.to_string()),
        }
    }
}

/// An object or configuration that does not fit the plugin's types will not fit on a retry.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Self::Permanent(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
