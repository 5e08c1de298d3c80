//! Repository endpoints (spec Journey 4): list, add, show, update, remove,
//! activate/deactivate and the webhook URL.

use bytes::Bytes;
use http::header::LOCATION;
use http::{HeaderValue, StatusCode};
use hyper::body::Body;
use oore_core::api::{
    CreateRepositoryRequest, RepositoryDto, RepositoryListResponse, UpdateRepositoryRequest,
    WebhookUrlResponse,
};
use oore_core::domain::repository::{Provider, RepositoryState};
use oore_core::domain::validation::{FieldError, FieldErrors};
use oore_core::ids::RepositoryId;
use oore_core::ports::RepositoryFilter;
use oore_core::usecases::repository::{
    add_repository, get_repository, list_repositories, remove_repository, set_repository_active,
    update_repository, webhook_setup,
};

use super::Ctx;
use crate::httpd::body::read_json;
use crate::httpd::error::ApiError;
use crate::httpd::query::pairs;
use crate::httpd::response::{Response, empty, json};

pub(super) fn repository_id(ctx: &Ctx<'_>) -> Result<RepositoryId, ApiError> {
    ctx.params
        .get("id")
        .parse()
        .map_err(|e| ApiError::invalid_id(&e))
}

fn dto(status: StatusCode, repo: &oore_core::domain::repository::Repository) -> Response {
    json(status, &RepositoryDto::from(repo))
}

/// `?provider=github&state=active`; unknown parameters and values are 400 with the
/// offending parameter named.
fn parse_filter(query: Option<&str>) -> Result<RepositoryFilter, FieldErrors> {
    let mut filter = RepositoryFilter::default();
    let mut errors = FieldErrors::new();
    for (name, value) in pairs(query) {
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
pub(super) async fn list(ctx: &Ctx<'_>, query: Option<&str>) -> Result<Response, ApiError> {
    let filter = parse_filter(query).map_err(|e| ApiError::validation(&e))?;
    let repositories = list_repositories(ctx.app.services(), &filter).await?;
    Ok(json(
        StatusCode::OK,
        &RepositoryListResponse {
            repositories: repositories.iter().map(RepositoryDto::from).collect(),
        },
    ))
}

/// `POST /api/repositories`: 201 with the repository and its `Location`.
pub(super) async fn create<B>(
    ctx: &Ctx<'_>,
    request: http::Request<B>,
) -> Result<Response, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let body: CreateRepositoryRequest = read_json(request).await?;
    let repo = add_repository(ctx.app.services(), body.into()).await?;
    tracing::info!(repository_id = %repo.id, provider = %repo.provider, full_name = %repo.full_name(), "repository added");
    let mut response = dto(StatusCode::CREATED, &repo);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/repositories/{}", repo.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// `GET /api/repositories/:id`.
pub(super) async fn get(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let repo = get_repository(ctx.app.services(), repository_id(ctx)?).await?;
    Ok(dto(StatusCode::OK, &repo))
}

/// `PUT /api/repositories/:id`: only the fields present change.
pub(super) async fn update<B>(
    ctx: &Ctx<'_>,
    request: http::Request<B>,
) -> Result<Response, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let id = repository_id(ctx)?;
    let body: UpdateRepositoryRequest = read_json(request).await?;
    let repo = update_repository(ctx.app.services(), id, body.into()).await?;
    tracing::info!(repository_id = %repo.id, state = %repo.state, "repository updated");
    Ok(dto(StatusCode::OK, &repo))
}

/// `DELETE /api/repositories/:id`: 204; the repository is soft-deleted.
pub(super) async fn delete(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let id = repository_id(ctx)?;
    remove_repository(ctx.app.services(), id).await?;
    tracing::info!(repository_id = %id, "repository removed");
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /api/repositories/:id/activate` and `.../deactivate`.
pub(super) async fn set_active(ctx: &Ctx<'_>, active: bool) -> Result<Response, ApiError> {
    let id = repository_id(ctx)?;
    let repo = set_repository_active(ctx.app.services(), id, active).await?;
    tracing::info!(repository_id = %id, state = %repo.state, "repository state set");
    Ok(dto(StatusCode::OK, &repo))
}

/// `GET /api/repositories/:id/webhook-url`: 409 for `git` repositories, which have no
/// webhooks.
pub(super) async fn webhook_url(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let repo = get_repository(ctx.app.services(), repository_id(ctx)?).await?;
    let setup = webhook_setup(ctx.app.base_url(), &repo).ok_or_else(|| {
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

    #[test]
    fn filters_parse_and_report_bad_values() {
        assert_eq!(parse_filter(None).unwrap(), RepositoryFilter::default());
        let f = parse_filter(Some("provider=gitlab&state=pending_setup")).unwrap();
        assert_eq!(
            (f.provider, f.state),
            (Some(Provider::GitLab), Some(RepositoryState::PendingSetup))
        );
        let f = parse_filter(Some("provider=GitHub")).unwrap();
        assert_eq!(f.provider, Some(Provider::GitHub));
        let errors = parse_filter(Some("provider=svn&state=on&colour=red")).unwrap_err();
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
