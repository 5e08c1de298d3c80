//! GitHub App endpoints (spec Journey 2, 21, 12.1), all behind the admin token: start a
//! setup and poll it, finish it from a pasted callback URL, the App's status and
//! installations, sync, removal and private key rotation. The browser's pages are in
//! `github_pages.rs`.

use axum::extract::State;
use http::StatusCode;
use oore_core::api::{
    GitHubAppCreatedResponse, GitHubAppDto, GitHubCallbackRequest, GitHubInstallationDto,
    GitHubInstallationListResponse, GitHubPrivateKeyRequest, GitHubRemoveResponse,
    GitHubSetupRequest, GitHubSetupResponse, GitHubSetupStatusResponse, GitHubStatusResponse,
    GitHubSyncRequest, GitHubSyncResponse, GitHubSyncResultDto,
};
use oore_core::domain::secret::SecretString;
use oore_core::domain::validation::{FieldError, FieldErrors};
use oore_core::usecases::github::{
    CompleteSetupError, RotateKeyError, StartSetup, SyncError, complete_setup, github_status,
    remove_app, rotate_private_key, setup_status, start_setup, sync_installations,
};

use crate::app::App;
use crate::httpd::error::ApiError;
use crate::httpd::extract::{ApiJson, OptionalJson, QueryPairs};
use crate::httpd::response::{Response, json};

/// Errors of use cases that call GitHub: their "unavailable" is GitHub's (503 with the
/// use case's message), not the database's.
fn sync_error(e: SyncError) -> ApiError {
    match e {
        SyncError::Forge(_) => ApiError::forge_unavailable(e.to_string()),
        other => ApiError::from(other),
    }
}

fn setup_error(e: CompleteSetupError) -> ApiError {
    match &e {
        CompleteSetupError::Forge(f) if f.is_transient() => {
            ApiError::forge_unavailable(e.to_string())
        }
        _ => ApiError::from(e),
    }
}

fn key_error(e: RotateKeyError) -> ApiError {
    match e {
        RotateKeyError::Forge(_) => ApiError::forge_unavailable(e.to_string()),
        other => ApiError::from(other),
    }
}

/// `POST /api/github/setup`: 201 with the setup page's URL and the state to poll.
#[utoipa::path(
    post,
    path = "/api/github/setup",
    operation_id = "github_setup",
    request_body = GitHubSetupRequest,
    tag = "github",
    responses(
        (status = 201, description = "The setup page is ready for 10 minutes", body = GitHubSetupResponse),
        (status = 409, description = "An App is configured; pass force to replace it"),
    )
)]
pub(crate) async fn setup(
    State(app): State<App>,
    OptionalJson(body): OptionalJson<GitHubSetupRequest>,
) -> Result<Response, ApiError> {
    let started = start_setup(
        app.services(),
        app.github(),
        StartSetup {
            org: body.org,
            name: body.name,
            force: body.force,
            state: oore_adapters::crypto::random_token(),
        },
    )
    .await?;
    if let Some(warning) = &started.warning {
        tracing::warn!("GitHub App setup: {warning}");
    }
    Ok(json(
        StatusCode::CREATED,
        &GitHubSetupResponse {
            state: started.state,
            setup_url: started.page_url,
            expires_at: started.expires_at.to_string(),
            app_name: started.app_name,
            warning: started.warning,
        },
    ))
}

/// `GET /api/github/setup/status?state=...`.
#[utoipa::path(
    get,
    path = "/api/github/setup/status",
    operation_id = "github_setup_status",
    tag = "github",
    params(("state" = String, Query, description = "The state `POST /api/github/setup` returned")),
    responses((status = 200, description = "The setup's stage", body = GitHubSetupStatusResponse))
)]
pub(crate) async fn setup_status_of(
    State(app): State<App>,
    QueryPairs(query): QueryPairs,
) -> Result<Response, ApiError> {
    let state = query
        .into_iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::validation(&FieldErrors::from(FieldError::new(
                "state",
                "is required: pass the state `POST /api/github/setup` returned",
            )))
        })?;
    let progress = setup_status(app.services(), app.github(), &state).await?;
    Ok(json(
        StatusCode::OK,
        &GitHubSetupStatusResponse::from(progress),
    ))
}

/// The `code` and `state` of a callback URL (or of its query alone).
fn callback_params(url: &str) -> Result<(String, Option<String>), FieldErrors> {
    let query = url.split_once('?').map_or(url, |(_, q)| q);
    let query = query.split('#').next().unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let state = get("state").ok_or_else(|| {
        FieldErrors::from(FieldError::new(
            "url",
            "has no state: paste the whole URL the browser showed after GitHub, ending in ?code=...&state=...",
        ))
    })?;
    Ok((state, get("code")))
}

/// `POST /api/github/setup/callback`: finishes a setup with the URL GitHub redirected
/// the browser to (for a machine whose browser cannot reach this server).
#[utoipa::path(
    post,
    path = "/api/github/setup/callback",
    operation_id = "github_setup_callback",
    request_body = GitHubCallbackRequest,
    tag = "github",
    responses((status = 201, description = "The App was created and stored", body = GitHubAppCreatedResponse))
)]
pub(crate) async fn setup_callback(
    State(app): State<App>,
    ApiJson(body): ApiJson<GitHubCallbackRequest>,
) -> Result<Response, ApiError> {
    let (state, code) = callback_params(&body.url).map_err(|e| ApiError::validation(&e))?;
    let done = complete_setup(app.services(), app.github(), &state, code.as_deref())
        .await
        .map_err(setup_error)?;
    tracing::info!(app_id = done.app_id, slug = %done.slug, "GitHub App created and stored");
    Ok(json(
        StatusCode::CREATED,
        &GitHubAppCreatedResponse {
            app_id: done.app_id,
            slug: done.slug,
            name: done.name,
            html_url: done.html_url,
            install_url: done.install_url,
        },
    ))
}

/// `GET /api/github/status`.
#[utoipa::path(
    get,
    path = "/api/github/status",
    operation_id = "github_status",
    tag = "github",
    responses((status = 200, description = "The App (if any), its installations, and whether GitHub can reach this server", body = GitHubStatusResponse))
)]
pub(crate) async fn status(State(app): State<App>) -> Result<Response, ApiError> {
    let status = github_status(app.services(), app.github()).await?;
    Ok(json(
        StatusCode::OK,
        &GitHubStatusResponse {
            app: status.app.as_ref().map(GitHubAppDto::from),
            install_url: status.install_url,
            installations: status
                .installations
                .iter()
                .map(GitHubInstallationDto::from)
                .collect(),
            warning: status.warning,
        },
    ))
}

/// `GET /api/github/installations`.
#[utoipa::path(
    get,
    path = "/api/github/installations",
    operation_id = "github_installations",
    tag = "github",
    responses((status = 200, description = "The App's installations as last synced", body = GitHubInstallationListResponse))
)]
pub(crate) async fn installations(State(app): State<App>) -> Result<Response, ApiError> {
    let status = github_status(app.services(), app.github()).await?;
    Ok(json(
        StatusCode::OK,
        &GitHubInstallationListResponse {
            installations: status
                .installations
                .iter()
                .map(GitHubInstallationDto::from)
                .collect(),
        },
    ))
}

/// `POST /api/github/sync`: a full refresh through GitHub's API.
#[utoipa::path(
    post,
    path = "/api/github/sync",
    operation_id = "github_sync",
    request_body = GitHubSyncRequest,
    tag = "github",
    responses((status = 200, description = "What each installation's sync did", body = GitHubSyncResponse))
)]
pub(crate) async fn sync(
    State(app): State<App>,
    OptionalJson(body): OptionalJson<GitHubSyncRequest>,
) -> Result<Response, ApiError> {
    let report = sync_installations(app.services(), app.github(), body.installation_id)
        .await
        .map_err(sync_error)?;
    Ok(json(
        StatusCode::OK,
        &GitHubSyncResponse {
            installations: report
                .installations
                .iter()
                .map(GitHubSyncResultDto::from)
                .collect(),
        },
    ))
}

/// `DELETE /api/github/app`: forgets the App; its repositories stay, deactivated.
#[utoipa::path(
    delete,
    path = "/api/github/app",
    operation_id = "github_remove_app",
    tag = "github",
    responses((status = 200, description = "The App is forgotten", body = GitHubRemoveResponse))
)]
pub(crate) async fn remove(State(app): State<App>) -> Result<Response, ApiError> {
    let deactivated = remove_app(app.services(), app.github()).await?;
    tracing::info!(deactivated, "GitHub App removed");
    Ok(json(
        StatusCode::OK,
        &GitHubRemoveResponse {
            deactivated_repositories: deactivated,
        },
    ))
}

/// `PUT /api/github/app/private-key`: replaces the key once GitHub accepted it.
#[utoipa::path(
    put,
    path = "/api/github/app/private-key",
    operation_id = "github_rotate_key",
    request_body = GitHubPrivateKeyRequest,
    tag = "github",
    responses((status = 200, description = "The new key is stored", body = GitHubAppDto))
)]
pub(crate) async fn rotate_key(
    State(app): State<App>,
    ApiJson(body): ApiJson<GitHubPrivateKeyRequest>,
) -> Result<Response, ApiError> {
    let pem = SecretString::new(body.private_key);
    rotate_private_key(app.services(), app.github(), pem)
        .await
        .map_err(key_error)?;
    tracing::info!("GitHub App private key rotated");
    let stored = app
        .github()
        .store
        .app()
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::internal("the App vanished during the rotation"))?;
    Ok(json(StatusCode::OK, &GitHubAppDto::from(&stored)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls_give_their_state_and_code() {
        assert_eq!(
            callback_params("https://ci/setup/github/callback?code=c1&state=s%201").unwrap(),
            ("s 1".to_owned(), Some("c1".to_owned()))
        );
        assert_eq!(
            callback_params("state=s&code=").unwrap(),
            ("s".to_owned(), None)
        );
        assert!(callback_params("https://ci/setup/github/callback?code=c").is_err());
    }
}
