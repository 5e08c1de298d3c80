//! Pipeline endpoints (spec Journey 5): validate and convert a document, and a
//! repository's stored pipeline (show, save, delete, history, restore).
//!
//! Validation is the answer of `POST /api/pipelines/validate`, so an invalid document is a
//! 200 with `valid: false`; saving or converting one is a 400 `validation_failed` whose
//! `fields` locate every error (key path, `line L, column C: ...`).

use axum::extract::State;
use http::StatusCode;
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

use crate::app::App;
use crate::httpd::error::ApiError;
use crate::httpd::extract::{ApiJson, RepoRef};
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
#[utoipa::path(
    post,
    path = "/api/pipelines/validate",
    operation_id = "validate_pipeline",
    request_body = PipelineDocumentRequest,
    tag = "pipelines",
    responses((status = 200, description = "The validation report, valid or not", body = ValidationResponse))
)]
pub(crate) async fn validate(
    ApiJson(body): ApiJson<PipelineDocumentRequest>,
) -> Result<Response, ApiError> {
    let format = document_format(&body)?;
    let report = validate_document(&body.content, format);
    Ok(json(
        StatusCode::OK,
        &ValidationResponse::new(&report, format),
    ))
}

/// `POST /api/pipelines/convert`: the document rewritten in `to`; 400 with the located
/// errors when the source is invalid.
#[utoipa::path(
    post,
    path = "/api/pipelines/convert",
    operation_id = "convert_pipeline",
    request_body = PipelineDocumentRequest,
    tag = "pipelines",
    responses((status = 200, description = "The document in the target format", body = ConvertResponse))
)]
pub(crate) async fn convert(
    ApiJson(body): ApiJson<PipelineDocumentRequest>,
) -> Result<Response, ApiError> {
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

/// `GET /api/repositories/{id}/pipeline`: the version in use; 404 when there is none.
#[utoipa::path(
    get,
    path = "/api/repositories/{id}/pipeline",
    operation_id = "get_pipeline",
    tag = "pipelines",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 200, description = "The stored pipeline in use", body = PipelineDto))
)]
pub(crate) async fn get(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
) -> Result<Response, ApiError> {
    let id = repo.id;
    let version = get_pipeline(app.services(), id).await?;
    Ok(json(StatusCode::OK, &PipelineDto::new(&version, None)))
}

/// `PUT /api/repositories/{id}/pipeline`: validates and saves a new version; an invalid
/// document is refused with every error and nothing is stored.
#[utoipa::path(
    put,
    path = "/api/repositories/{id}/pipeline",
    operation_id = "set_pipeline",
    request_body = PipelineDocumentRequest,
    tag = "pipelines",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 200, description = "The saved version", body = PipelineDto))
)]
pub(crate) async fn set(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
    ApiJson(body): ApiJson<PipelineDocumentRequest>,
) -> Result<Response, ApiError> {
    let id = repo.id;
    let format = document_format(&body)?;
    let (saved, report) = set_pipeline(app.services(), id, &body.content, format).await?;
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

/// `DELETE /api/repositories/{id}/pipeline`: 204; builds fall back to the repository's
/// file, and the history is kept for a restore.
#[utoipa::path(
    delete,
    path = "/api/repositories/{id}/pipeline",
    operation_id = "delete_pipeline",
    tag = "pipelines",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 204, description = "Deleted; the history is kept"))
)]
pub(crate) async fn delete(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
) -> Result<Response, ApiError> {
    let id = repo.id;
    delete_pipeline(app.services(), id).await?;
    tracing::info!(repository_id = %id, "stored pipeline deleted");
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `GET /api/repositories/{id}/pipeline/history`: every version, newest first.
#[utoipa::path(
    get,
    path = "/api/repositories/{id}/pipeline/history",
    operation_id = "pipeline_history",
    tag = "pipelines",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 200, description = "Every version, newest first", body = PipelineHistoryResponse))
)]
pub(crate) async fn history(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
) -> Result<Response, ApiError> {
    let id = repo.id;
    let entries = pipeline_history(app.services(), id).await?;
    Ok(json(
        StatusCode::OK,
        &PipelineHistoryResponse::from(entries.as_slice()),
    ))
}

/// `POST /api/repositories/{id}/pipeline/restore`: saves an old version's content as the
/// new current version.
#[utoipa::path(
    post,
    path = "/api/repositories/{id}/pipeline/restore",
    operation_id = "restore_pipeline",
    request_body = RestorePipelineRequest,
    tag = "pipelines",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 200, description = "The new current version", body = PipelineDto))
)]
pub(crate) async fn restore(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
    ApiJson(body): ApiJson<RestorePipelineRequest>,
) -> Result<Response, ApiError> {
    let id = repo.id;
    let (saved, report) = restore_pipeline(app.services(), id, body.version).await?;
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
