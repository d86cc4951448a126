//! Why a pull, push or signature check failed; each kind is a Plugin condition reason.

/// What went wrong with a registry. The message says which request and what the registry said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The reference, key or credentials file is not usable as written.
    #[error("{0}")]
    Invalid(String),
    /// The registry answered, and the module (repository, tag, digest or wasm layer) is not there.
    #[error("{0}")]
    ModuleNotFound(String),
    /// The registry refused the credentials, or wanted some and none were given.
    #[error("{0}")]
    Unauthorized(String),
    /// A manifest or blob is not the one its digest names.
    #[error("{0}")]
    DigestMismatch(String),
    /// No signature by a required key covers the module's manifest digest.
    #[error("{0}")]
    SignatureInvalid(String),
    /// The registry could not be reached, kept failing, or answered something unusable; worth
    /// retrying.
    #[error("{0}")]
    FetchFailed(String),
}

impl Error {
    /// The condition reason, the variant's name (`Invalid` is the Plugin's `InvalidSpec`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "InvalidSpec",
            Self::ModuleNotFound(_) => "ModuleNotFound",
            Self::Unauthorized(_) => "Unauthorized",
            Self::DigestMismatch(_) => "DigestMismatch",
            Self::SignatureInvalid(_) => "SignatureInvalid",
            Self::FetchFailed(_) => "FetchFailed",
        }
    }
}
