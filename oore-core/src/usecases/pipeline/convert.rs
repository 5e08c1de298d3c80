//! Convert a pipeline document between YAML and HUML (spec 5.4, "switch format").

use crate::error::{ErrorClass, UseCaseError};
use crate::pipeline::{self, Format, ValidationReport};

/// Why a document could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The source document is invalid; the report says where.
    #[error("the pipeline is invalid, fix it before converting: {0}")]
    Invalid(ValidationReport),
}

impl UseCaseError for ConvertError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Invalid
    }

    fn details(&self) -> Vec<crate::error::ErrorDetail> {
        let Self::Invalid(report) = self;
        crate::error::report_details(report)
    }
}

/// The document rewritten in `to`, and the source's report (its warnings name the
/// unknown fields the conversion dropped).
pub fn convert_document(
    content: &str,
    from: Format,
    to: Format,
) -> Result<(String, ValidationReport), ConvertError> {
    pipeline::convert(content, from, to).map_err(ConvertError::Invalid)
}
