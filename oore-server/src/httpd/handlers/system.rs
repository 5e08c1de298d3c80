//! System endpoints: health, version and the setup checklist (spec Journey 15).

use std::time::Duration;

use axum::extract::State;
use http::StatusCode;
use oore_core::api::{
    API_VERSION, DatabaseStatusDto, HealthResponse, HealthStatusDto, SetupItemDto, SetupItemKeyDto,
    SetupStatusResponse, VersionResponse, WorkersDto,
};
use oore_core::ports::RepositoryFilter;
use oore_core::usecases::repository::list_repositories;
use oore_core::usecases::system::{StorageHealth, storage_health};

use crate::app::App;
use crate::httpd::response::{Response, json};

/// How long the health check waits for the database (a query, then a write probe if
/// the last write failed) and for the free-space measurement.
const CHECK_TIMEOUT: Duration = Duration::from_secs(4);

async fn storage(app: &App) -> StorageHealth {
    let check = storage_health(app.services(), app.space(), app.min_free_bytes());
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(health) => {
            for problem in &health.problems {
                tracing::debug!("health: {problem}");
            }
            health
        }
        Err(_) => {
            tracing::warn!("the database did not answer the health check in time");
            StorageHealth {
                database_connected: false,
                problems: vec![format!(
                    "the database did not answer within {} s; check the disk holding it and the server log",
                    CHECK_TIMEOUT.as_secs()
                )],
            }
        }
    }
}

/// `GET /api/health`: always 200 so the body can be read; `status` says `degraded`, and
/// `reason` why, when the database does not answer or does not take writes, or free
/// space is below `OORE_MIN_FREE_BYTES`.
#[utoipa::path(
    get,
    path = "/api/health",
    operation_id = "health",
    tag = "system",
    responses((status = 200, description = "Always 200 while oored answers; `status` says healthy or degraded, `reason` why", body = HealthResponse))
)]
pub(crate) async fn health(State(app): State<App>) -> Response {
    let storage = storage(&app).await;
    json(
        StatusCode::OK,
        &HealthResponse {
            status: if storage.is_healthy() {
                HealthStatusDto::Healthy
            } else {
                HealthStatusDto::Degraded
            },
            reason: (!storage.is_healthy()).then(|| storage.problems.join("; ")),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_seconds: app.uptime().as_secs(),
            database: if storage.database_connected {
                DatabaseStatusDto::Connected
            } else {
                DatabaseStatusDto::Unavailable
            },
            workers: WorkersDto {
                busy: u32::try_from(app.dispatcher().busy()).unwrap_or(u32::MAX),
                max: app.max_concurrent_builds(),
            },
        },
    )
}

/// `GET /api/version`.
#[utoipa::path(
    get,
    path = "/api/version",
    operation_id = "version",
    tag = "system",
    responses((status = 200, description = "The server's version and API version", body = VersionResponse))
)]
pub(crate) async fn version() -> Response {
    json(
        StatusCode::OK,
        &VersionResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            api_version: API_VERSION,
        },
    )
}

fn item(
    key: SetupItemKeyDto,
    label: &str,
    configured: bool,
    detail: impl Into<String>,
) -> SetupItemDto {
    SetupItemDto {
        key,
        label: label.to_owned(),
        configured,
        detail: detail.into(),
    }
}

/// The GitHub App's line: its name and installations, or how to set it up.
async fn github_item(app: &App) -> SetupItemDto {
    let label = "GitHub App";
    match oore_core::usecases::github::github_status(app.services(), app.github()).await {
        Ok(status) => match &status.app {
            Some(github) => {
                let n = status.installations.len();
                let mut detail = format!(
                    "connected ({}), {n} installation{}",
                    github.slug,
                    if n == 1 { "" } else { "s" }
                );
                if status.warning.is_some() {
                    detail
                        .push_str("; GitHub cannot reach OORE_BASE_URL, see `oore github status`");
                }
                item(SetupItemKeyDto::GitHub, label, true, detail)
            }
            None if status.warning.is_some() => item(
                SetupItemKeyDto::GitHub,
                label,
                false,
                "not configured (optional): GitHub cannot reach OORE_BASE_URL (loopback or private); set it to a public URL or a tunnel, then run `oore github setup`",
            ),
            None => item(
                SetupItemKeyDto::GitHub,
                label,
                false,
                "not configured (optional): run `oore github setup`",
            ),
        },
        Err(e) => {
            tracing::warn!(error = %e, "reading the GitHub App failed");
            item(
                SetupItemKeyDto::GitHub,
                label,
                false,
                "unknown: the database is unavailable",
            )
        }
    }
}

/// `GET /api/setup/status`: the checklist of spec 14.1. Encryption and the admin token
/// are always configured in a running server (startup refuses otherwise, also when
/// `ENCRYPTION_KEY` does not match the database). `complete` means every required item
/// is done: encryption, admin token, database and at least one repository; GitHub and
/// GitLab are optional (plain git repositories need neither), so they never decide it.
/// Details only name commands that exist.
#[utoipa::path(
    get,
    path = "/api/setup/status",
    operation_id = "setup_status",
    tag = "system",
    responses((status = 200, description = "What is configured so far", body = SetupStatusResponse))
)]
pub(crate) async fn setup_status(State(app): State<App>) -> Response {
    let connected = storage(&app).await.database_connected;
    let repositories = if connected {
        match list_repositories(app.services(), &RepositoryFilter::default()).await {
            Ok(list) => Some(list.len()),
            Err(e) => {
                tracing::warn!(error = %e, "counting repositories failed");
                None
            }
        }
    } else {
        None
    };
    let repositories_item = match repositories {
        Some(0) => item(
            SetupItemKeyDto::Repositories,
            "Repositories",
            false,
            "none yet: add one with `oore repo add`",
        ),
        Some(1) => item(
            SetupItemKeyDto::Repositories,
            "Repositories",
            true,
            "1 repository",
        ),
        Some(n) => item(
            SetupItemKeyDto::Repositories,
            "Repositories",
            true,
            format!("{n} repositories"),
        ),
        None => item(
            SetupItemKeyDto::Repositories,
            "Repositories",
            false,
            "unknown: the database is unavailable",
        ),
    };
    let items = vec![
        item(
            SetupItemKeyDto::Encryption,
            "Encryption",
            true,
            "key configured, and it matches the database",
        ),
        item(SetupItemKeyDto::AdminToken, "Admin Token", true, "set"),
        if connected {
            item(SetupItemKeyDto::Database, "Database", true, "connected")
        } else {
            item(
                SetupItemKeyDto::Database,
                "Database",
                false,
                "unavailable: check DATABASE_URL and the server log",
            )
        },
        github_item(&app).await,
        item(
            SetupItemKeyDto::GitLab,
            "GitLab",
            false,
            "not configured (optional): GitLab setup is not available in this version; add GitLab repositories by hand with `oore repo add --provider gitlab`",
        ),
        repositories_item,
    ];
    // GitHub and GitLab are optional (plain git repositories need neither).
    let complete = items
        .iter()
        .filter(|i| !i.key.is_optional())
        .all(|i| i.configured);
    json(StatusCode::OK, &SetupStatusResponse { items, complete })
}
