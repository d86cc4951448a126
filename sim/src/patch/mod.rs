//! The three patch formats that edit an existing object. Server-side apply lives in [`crate::apply`].

mod json_patch;
mod merge_patch;
mod strategic;

pub use json_patch::apply_json_patch;
pub use merge_patch::apply_merge_patch;
pub use strategic::apply_strategic_merge_patch;

/// A patch that could not be applied; the server answers 422 (or 400 for malformed patches).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// The patch document is not of the expected shape.
    #[error("{0}")]
    Malformed(String),
    /// A JSON-patch operation failed (missing path, failed `test`).
    #[error("{0}")]
    OperationFailed(String),
}
