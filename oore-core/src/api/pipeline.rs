//! Wire types of the pipeline endpoints.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::PipelineFormatDto;

use crate::pipeline::{Diagnostic, ValidationReport};
use crate::ports::{PipelineHistoryEntry, PipelineVersion};

/// `POST /api/pipelines/validate` and `POST /api/pipelines/convert` input, and the body of
/// `PUT /api/repositories/{id}/pipeline`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineDocumentRequest {
    /// The document.
    pub content: String,
    /// `yaml` or `huml`; detected from the content when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PipelineFormatDto>)]
    pub format: Option<String>,
    /// For convert: the target format, `yaml` or `huml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PipelineFormatDto>)]
    pub to: Option<String>,
}

/// One located problem in a document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct DiagnosticDto {
    /// 1-based line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Key path, e.g. `workflows.ios.scripts[2]`.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl From<&Diagnostic> for DiagnosticDto {
    fn from(d: &Diagnostic) -> Self {
        Self {
            line: d.line,
            column: d.column,
            path: d.path.clone(),
            message: d.message.clone(),
        }
    }
}

/// `POST /api/pipelines/validate` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ValidationResponse {
    /// True when there are no errors (warnings allowed).
    pub valid: bool,
    /// The format the document was read as.
    pub format: PipelineFormatDto,
    /// Errors: the document cannot be used.
    pub errors: Vec<DiagnosticDto>,
    /// Warnings, e.g. unknown fields (accepted for forward compatibility).
    pub warnings: Vec<DiagnosticDto>,
    /// Workflow names, in document order.
    pub workflows: Vec<String>,
}

impl ValidationResponse {
    /// From a validation report.
    pub fn new(report: &ValidationReport, format: crate::pipeline::Format) -> Self {
        Self {
            valid: report.is_valid(),
            format: format.into(),
            errors: report.errors.iter().map(DiagnosticDto::from).collect(),
            warnings: report.warnings.iter().map(DiagnosticDto::from).collect(),
            workflows: report.workflows.clone(),
        }
    }
}

/// A stored pipeline version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct PipelineDto {
    /// The repository.
    pub repository_id: String,
    /// Version number (1, 2, ...).
    pub version: u32,
    /// The document's language.
    pub format: PipelineFormatDto,
    /// The document exactly as saved.
    pub content: String,
    /// RFC 3339.
    pub created_at: String,
    /// Warnings from validation (only on save).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<DiagnosticDto>,
    /// Workflow names (only on save).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workflows: Vec<String>,
}

impl PipelineDto {
    /// A stored version, optionally with the report of the save.
    pub fn new(v: &PipelineVersion, report: Option<&ValidationReport>) -> Self {
        Self {
            repository_id: v.repository_id.to_string(),
            version: v.version,
            format: v.format.into(),
            content: v.content.clone(),
            created_at: v.created_at.to_string(),
            warnings: report
                .map(|r| r.warnings.iter().map(DiagnosticDto::from).collect())
                .unwrap_or_default(),
            workflows: report.map(|r| r.workflows.clone()).unwrap_or_default(),
        }
    }
}

/// One entry of `GET /api/repositories/{id}/pipeline/history`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct PipelineHistoryEntryDto {
    /// Version number.
    pub version: u32,
    /// The document's language.
    pub format: PipelineFormatDto,
    /// RFC 3339.
    pub created_at: String,
    /// True for the version builds use now.
    pub current: bool,
    /// Size of the document in bytes.
    pub size: usize,
    /// The document.
    pub content: String,
}

/// `GET /api/repositories/{id}/pipeline/history`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct PipelineHistoryResponse {
    /// Newest first.
    pub versions: Vec<PipelineHistoryEntryDto>,
}

impl From<&[PipelineHistoryEntry]> for PipelineHistoryResponse {
    fn from(entries: &[PipelineHistoryEntry]) -> Self {
        Self {
            versions: entries
                .iter()
                .map(|e| PipelineHistoryEntryDto {
                    version: e.version.version,
                    format: e.version.format.into(),
                    created_at: e.version.created_at.to_string(),
                    current: e.current,
                    size: e.version.content.len(),
                    content: e.version.content.clone(),
                })
                .collect(),
        }
    }
}

/// `POST /api/repositories/{id}/pipeline/restore`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestorePipelineRequest {
    /// The version to make current again.
    pub version: u32,
}

/// `POST /api/pipelines/convert` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ConvertResponse {
    /// The converted document.
    pub content: String,
    /// Its format.
    pub format: PipelineFormatDto,
    /// Warnings of the source (unknown fields are dropped by the conversion).
    pub warnings: Vec<DiagnosticDto>,
}
