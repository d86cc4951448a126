//! Why a Plugin's spec could not be brought to life; each kind is a condition reason.

use crate::fetch::FetchError;
use crate::runtime::LoadError;

#[derive(Debug, thiserror::Error)]
pub enum LoadFailure {
    /// The module could not be fetched or verified.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The module is not a usable plugin (not wasm, wrong world, failed to compile or describe).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The load could not be run at all.
    #[error("loading the module failed: {0}")]
    Task(String),
    /// The Plugin's settings do not parse.
    #[error("{0}")]
    InvalidSpec(String),
    /// The plugin declares API access its Plugin does not grant; one entry per missing access.
    #[error("spec.permissions does not grant: {}", .0.join("; "))]
    PermissionDenied(Vec<String>),
}

impl LoadFailure {
    /// The reason of the `Ready` (or `Loaded`) condition that reports it.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Fetch(fetch) => fetch.reason(),
            Self::Load(_) | Self::Task(_) => "LoadFailed",
            Self::InvalidSpec(_) => "InvalidSpec",
            Self::PermissionDenied(_) => "PermissionDenied",
        }
    }

    /// Whether trying the same spec again may succeed: a module, pull secret or signature that
    /// is not there yet, or a registry that is down.
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Fetch(fetch) if !matches!(fetch, FetchError::InvalidSpec(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_names_its_reason_and_says_what_is_wrong() {
        let missing = LoadFailure::PermissionDenied(vec!["patch configmaps (group core)".into(), "get pods".into()]);
        assert_eq!(missing.reason(), "PermissionDenied");
        assert_eq!(missing.to_string(), "spec.permissions does not grant: patch configmaps (group core); get pods");
        let fetch = LoadFailure::from(FetchError::DigestMismatch("module sha256 is ab".into()));
        assert_eq!((fetch.reason(), fetch.to_string().as_str()), ("DigestMismatch", "module sha256 is ab"));
        let load = LoadFailure::from(LoadError::NotWasm(vec![0x4d, 0x5a]));
        assert_eq!(load.reason(), "LoadFailed");
        assert!(load.to_string().starts_with("not a WebAssembly file"), "{load}");
    }
}
