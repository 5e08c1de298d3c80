//! Repository endpoints (spec Journey 4): list, add, show, update, remove,
//! activate/deactivate and the webhook URL.

use axum::extract::State;
use http::header::LOCATION;
use http::{HeaderValue, StatusCode};
use oore_core::api::{
    CreateRepositoryRequest, RepositoryDto, RepositoryListResponse, UpdateRepositoryRequest,
    WebhookUrlResponse,
};
use oore_core::domain::repository::{Provider, RepositoryState};
use oore_core::domain::validation::{FieldError, FieldErrors};
use oore_core::ids::RepositoryId;
use oore_core::ports::RepositoryFilter;
use oore_core::usecases::repository::{
    add_repository, fill_default_branch, list_repositories, remove_repository,
    set_repository_active, update_repository, webhook_setup,
};

use crate::app::App;
use crate::httpd::error::ApiError;
use crate::httpd::extract::{ApiJson, QueryPairs, RepoRef};
use crate::httpd::response::{Response, empty, json};

fn dto(status: StatusCode, repo: &oore_core::domain::repository::Repository) -> Response {
    json(status, &RepositoryDto::from(repo))
}

/// `?provider=github&state=active`; unknown parameters and values are 400 with the
/// offending parameter named.
fn parse_filter(pairs: Vec<(String, String)>) -> Result<RepositoryFilter, FieldErrors> {
    let mut filter = RepositoryFilter::default();
    let mut errors = FieldErrors::new();
    for (name, value) in pairs {
        match name.as_str() {
            "provider" => filter.provider = errors.check(value.parse::<Provider>()),
            "state" => filter.state = errors.check(value.parse::<RepositoryState>()),
            _ => errors.push(FieldError::new(
                "query",
                format!("unknown query parameter '{name}': filter with provider= and state="),
            )),
        }
    }
    errors.into_result().map(|()| filter)
}

/// `GET /api/repositories`.
#[utoipa::path(
    get,
    path = "/api/repositories",
    operation_id = "list_repositories",
    tag = "repositories",
    params(
        ("provider" = Option<String>, Query, description = "github, gitlab or git"),
        ("state" = Option<String>, Query, description = "active, inactive, error or pending_setup"),
    ),
    responses((status = 200, description = "Every repository that matches", body = RepositoryListResponse))
)]
pub(crate) async fn list(
    State(app): State<App>,
    QueryPairs(query): QueryPairs,
) -> Result<Response, ApiError> {
    let filter = parse_filter(query).map_err(|e| ApiError::validation(&e))?;
    let repositories = list_repositories(app.services(), &filter).await?;
    Ok(json(
        StatusCode::OK,
        &RepositoryListResponse {
            repositories: repositories.iter().map(RepositoryDto::from).collect(),
        },
    ))
}

/// `POST /api/repositories`: 201 with the repository and its `Location`. Without a
/// `default_branch`, a repository on this machine gets the branch its `HEAD` names.
#[utoipa::path(
    post,
    path = "/api/repositories",
    operation_id = "create_repository",
    request_body = CreateRepositoryRequest,
    tag = "repositories",
    responses((status = 201, description = "The repository was added", body = RepositoryDto))
)]
pub(crate) async fn create(
    State(app): State<App>,
    ApiJson(body): ApiJson<CreateRepositoryRequest>,
) -> Result<Response, ApiError> {
    let mut input = body.into();
    fill_default_branch(app.sources(), &mut input).await?;
    let repo = add_repository(app.services(), input).await?;
    tracing::info!(repository_id = %repo.id, provider = %repo.provider, full_name = %repo.full_name(), "repository added");
    let mut response = dto(StatusCode::CREATED, &repo);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/repositories/{}", repo.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// `GET /api/repositories/{id}`.
#[utoipa::path(
    get,
    path = "/api/repositories/{id}",
    operation_id = "get_repository",
    tag = "repositories",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 200, description = "The repository", body = RepositoryDto))
)]
pub(crate) async fn get(RepoRef(repo): RepoRef) -> Result<Response, ApiError> {
    Ok(dto(StatusCode::OK, &repo))
}

/// `PUT /api/repositories/{id}`: only the fields present change.
#[utoipa::path(
    put,
    path = "/api/repositories/{id}",
    operation_id = "update_repository",
    request_body = UpdateRepositoryRequest,
    tag = "repositories",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 200, description = "The updated repository", body = RepositoryDto))
)]
pub(crate) async fn update(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
    ApiJson(body): ApiJson<UpdateRepositoryRequest>,
) -> Result<Response, ApiError> {
    let id = repo.id;
    let repo = update_repository(app.services(), id, body.into()).await?;
    tracing::info!(repository_id = %repo.id, state = %repo.state, "repository updated");
    Ok(dto(StatusCode::OK, &repo))
}

/// `DELETE /api/repositories/{id}`: 204; the repository is soft-deleted.
#[utoipa::path(
    delete,
    path = "/api/repositories/{id}",
    operation_id = "delete_repository",
    tag = "repositories",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 204, description = "Removed"))
)]
pub(crate) async fn delete(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
) -> Result<Response, ApiError> {
    let id = repo.id;
    remove_repository(app.services(), id).await?;
    tracing::info!(repository_id = %id, "repository removed");
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn set_active(app: &App, id: RepositoryId, active: bool) -> Result<Response, ApiError> {
    let repo = set_repository_active(app.services(), id, active).await?;
    tracing::info!(repository_id = %id, state = %repo.state, "repository state set");
    Ok(dto(StatusCode::OK, &repo))
}

/// `POST /api/repositories/{id}/activate`.
#[utoipa::path(
    post,
    path = "/api/repositories/{id}/activate",
    operation_id = "activate_repository",
    tag = "repositories",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 200, description = "The repository, active", body = RepositoryDto))
)]
pub(crate) async fn activate(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
) -> Result<Response, ApiError> {
    let id = repo.id;
    set_active(&app, id, true).await
}

/// `POST /api/repositories/{id}/deactivate`.
#[utoipa::path(
    post,
    path = "/api/repositories/{id}/deactivate",
    operation_id = "deactivate_repository",
    tag = "repositories",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 200, description = "The repository, inactive", body = RepositoryDto))
)]
pub(crate) async fn deactivate(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
) -> Result<Response, ApiError> {
    let id = repo.id;
    set_active(&app, id, false).await
}

/// `GET /api/repositories/{id}/webhook-url`: 409 for `git` repositories, which have no
/// webhooks.
#[utoipa::path(
    get,
    path = "/api/repositories/{id}/webhook-url",
    operation_id = "repository_webhook_url",
    tag = "repositories",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 200, description = "Where the forge should send deliveries", body = WebhookUrlResponse))
)]
pub(crate) async fn webhook_url(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
) -> Result<Response, ApiError> {
    let setup = webhook_setup(app.base_url(), &repo).ok_or_else(|| {
        ApiError::no_webhooks(format!(
            "repository {} uses provider {}, which has no webhooks: its builds are started by hand (`oore build trigger {}`)",
            repo.id, repo.provider, repo.id
        ))
    })?;
    Ok(json(StatusCode::OK, &WebhookUrlResponse::new(&repo, setup)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::httpd::extract::pairs;

    #[test]
    fn filters_parse_and_report_bad_values() {
        assert_eq!(
            parse_filter(pairs("")).unwrap(),
            RepositoryFilter::default()
        );
        let f = parse_filter(pairs("provider=gitlab&state=pending_setup")).unwrap();
        assert_eq!(
            (f.provider, f.state),
            (Some(Provider::GitLab), Some(RepositoryState::PendingSetup))
        );
        let f = parse_filter(pairs("provider=GitHub")).unwrap();
        assert_eq!(f.provider, Some(Provider::GitHub));
        let errors = parse_filter(pairs("provider=svn&state=on&colour=red")).unwrap_err();
        let fields: Vec<&str> = errors.as_slice().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["provider", "state", "query"]);
        assert!(
            errors
                .to_string()
                .contains("unknown query parameter 'colour'"),
            "{errors}"
        );
    }
}
