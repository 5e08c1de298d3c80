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

    /// Every detail to show with the error: the field errors, or located document errors
    /// (`field` is then the key path, and the message starts with `line L, column C:`).
    fn details(&self) -> Vec<ErrorDetail> {
        self.field_errors()
            .map(|f| {
                f.as_slice()
                    .iter()
                    .map(|e| ErrorDetail {
                        field: e.field.to_owned(),
                        message: e.message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One detail of an error, as the API's `fields` list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Field name or document key path.
    pub field: String,
    /// What is wrong there.
    pub message: String,
}

/// The errors of a pipeline validation report as details.
pub fn report_details(report: &crate::pipeline::ValidationReport) -> Vec<ErrorDetail> {
    report
        .errors
        .iter()
        .map(|d| ErrorDetail {
            field: if d.path.is_empty() {
                "content".to_owned()
            } else {
                d.path.clone()
            },
            message: match (d.line, d.column) {
                (Some(l), Some(c)) => format!("line {l}, column {c}: {}", d.message),
                (Some(l), None) => format!("line {l}: {}", d.message),
                _ => d.message.clone(),
            },
        })
        .collect()
}
