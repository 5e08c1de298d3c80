//! Pipeline endpoints (spec Journey 5): validate and convert a document, and a
//! repository's stored pipeline (show, save, delete, history, restore).
//!
//! Validation is the answer of `POST /api/pipelines/validate`, so an invalid document is a
//! 200 with `valid: false`; saving or converting one is a 400 `validation_failed` whose
//! `fields` locate every error (key path, `line L, column C: ...`).

use bytes::Bytes;
use http::StatusCode;
use hyper::body::Body;
use oore_core::api::{
    ConvertResponse, DiagnosticDto, PipelineDocumentRequest, PipelineDto, PipelineHistoryResponse,
    RestorePipelineRequest, ValidationResponse,
};
use oore_core::domain::validation::{FieldError, FieldErrors};
use oore_core::pipeline::Format;
use oore_core::usecases::pipeline::{
    convert_document, delete_pipeline, get_pipeline, parse_format, pipeline_history,
    restore_pipeline, set_pipeline, validate_document,
};

use super::Ctx;
use super::repositories::repository_id;
use crate::httpd::body::read_json;
use crate::httpd::error::ApiError;
use crate::httpd::response::{Response, empty, json};

fn invalid(field: FieldError) -> ApiError {
    ApiError::validation(&FieldErrors::from(field))
}

/// The document's format: the `format` field, else detected from the content. `to` is
/// refused, since only convert takes it.
fn document_format(body: &PipelineDocumentRequest) -> Result<Format, ApiError> {
    if body.to.is_some() {
        return Err(invalid(FieldError::new(
            "to",
            "only POST /api/pipelines/convert takes a target format; remove it",
        )));
    }
    parse_format(body.format.as_deref(), &body.content).map_err(invalid)
}

/// Convert's `to`: required, `yaml` or `huml`.
fn target_format(raw: Option<&str>) -> Result<Format, FieldError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Err(FieldError::new(
            "to",
            "missing: the format to convert to, yaml or huml",
        )),
        Some(name) => name.parse::<Format>().map_err(|_| {
            FieldError::new(
                "to",
                format!("unknown format '{name}': expected yaml or huml"),
            )
        }),
    }
}

/// `POST /api/pipelines/validate`: 200 with the report, valid or not.
pub(super) async fn validate<B>(request: http::Request<B>) -> Result<Response, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let body: PipelineDocumentRequest = read_json(request).await?;
    let format = document_format(&body)?;
    let report = validate_document(&body.content, format);
    Ok(json(
        StatusCode::OK,
        &ValidationResponse::new(&report, format),
    ))
}

/// `POST /api/pipelines/convert`: the document rewritten in `to`; 400 with the located
/// errors when the source is invalid.
pub(super) async fn convert<B>(request: http::Request<B>) -> Result<Response, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let body: PipelineDocumentRequest = read_json(request).await?;
    // Both bad `format` and bad `to` are reported at once.
    let mut errors = FieldErrors::new();
    let from = errors.check(parse_format(body.format.as_deref(), &body.content));
    let to = errors.check(target_format(body.to.as_deref()));
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::validation(&errors));
    };
    let (content, report) = convert_document(&body.content, from, to)?;
    Ok(json(
        StatusCode::OK,
        &ConvertResponse {
            content,
            format: to.into(),
            warnings: report.warnings.iter().map(DiagnosticDto::from).collect(),
        },
    ))
}

/// `GET /api/repositories/:id/pipeline`: the version in use; 404 when there is none.
pub(super) async fn get(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let version = get_pipeline(ctx.app.services(), repository_id(ctx)?).await?;
    Ok(json(StatusCode::OK, &PipelineDto::new(&version, None)))
}

/// `PUT /api/repositories/:id/pipeline`: validates and saves a new version; an invalid
/// document is refused with every error and nothing is stored.
pub(super) async fn set<B>(ctx: &Ctx<'_>, request: http::Request<B>) -> Result<Response, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let id = repository_id(ctx)?;
    let body: PipelineDocumentRequest = read_json(request).await?;
    let format = document_format(&body)?;
    let (saved, report) = set_pipeline(ctx.app.services(), id, &body.content, format).await?;
    tracing::info!(
        repository_id = %id,
        version = saved.version,
        format = %saved.format,
        warnings = report.warnings.len(),
        "pipeline saved"
    );
    Ok(json(
        StatusCode::OK,
        &PipelineDto::new(&saved, Some(&report)),
    ))
}

/// `DELETE /api/repositories/:id/pipeline`: 204; builds fall back to the repository's
/// file, and the history is kept for a restore.
pub(super) async fn delete(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let id = repository_id(ctx)?;
    delete_pipeline(ctx.app.services(), id).await?;
    tracing::info!(repository_id = %id, "stored pipeline deleted");
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `GET /api/repositories/:id/pipeline/history`: every version, newest first.
pub(super) async fn history(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let entries = pipeline_history(ctx.app.services(), repository_id(ctx)?).await?;
    Ok(json(
        StatusCode::OK,
        &PipelineHistoryResponse::from(entries.as_slice()),
    ))
}

/// `POST /api/repositories/:id/pipeline/restore`: saves an old version's content as the
/// new current version.
pub(super) async fn restore<B>(
    ctx: &Ctx<'_>,
    request: http::Request<B>,
) -> Result<Response, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let id = repository_id(ctx)?;
    let body: RestorePipelineRequest = read_json(request).await?;
    let (saved, report) = restore_pipeline(ctx.app.services(), id, body.version).await?;
    tracing::info!(
        repository_id = %id,
        restored = body.version,
        version = saved.version,
        "pipeline version restored"
    );
    Ok(json(
        StatusCode::OK,
        &PipelineDto::new(&saved, Some(&report)),
    ))
}
