//! How use-case errors are classified for the edges: every use-case error enum maps to
//! one [`ErrorClass`], which `oore-server` turns into an HTTP status in one place.

use crate::domain::validation::FieldErrors;

/// The category of a use-case failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The input was wrong; field errors say how (400).
    Invalid,
    /// The thing asked for does not exist (404).
    NotFound,
    /// The request clashes with existing state, e.g. a duplicate (409).
    Conflict,
    /// A dependency is down or busy; retrying later may work (503).
    Unavailable,
    /// A bug or corrupted data (500).
    Internal,
}

/// Implemented by every use-case error.
pub trait UseCaseError: std::error::Error {
    /// The category.
    fn class(&self) -> ErrorClass;

    /// Per-field details for `Invalid` errors.
    fn field_errors(&self) -> Option<&FieldErrors> {
        None
    }
}
