//! Build endpoints (spec 6.2, 6.4, 6.5, 10.2): trigger, list, show, steps, cancel.
//!
//! Cancelling a running build signals its worker, which stops the step's process tree
//! (TERM, `OORE_CANCEL_GRACE_SECS`, KILL) and records the end. The handler waits up to
//! [`CANCEL_WAIT`] for that record: 200 with the ended build when it came, else 202 with
//! the build still `running` (poll `GET /api/builds/:id`; it ends `cancelled`).

use std::time::Duration;

use axum::extract::State;
use http::header::LOCATION;
use http::{HeaderValue, StatusCode};
use oore_core::api::{BuildDto, BuildListResponse, StepDto, StepListResponse, TriggerBuildRequest};
use oore_core::domain::build::{Build, BuildStatus, TriggerType};
use oore_core::domain::repository::BranchName;
use oore_core::domain::validation::{FieldError, FieldErrors};
use oore_core::ids::{BuildId, RepositoryId};
use oore_core::ports::{BuildQuery, LogUpdate};
use oore_core::usecases::build::{
    TriggerBuild, cancel_build, get_build, list_build_steps, list_builds, trigger_build,
};

use crate::app::App;
use crate::httpd::error::ApiError;
use crate::httpd::extract::{
    BuildRef, OptionalJson, QueryPairs, RepoRef, resolve_repository_param,
};
use crate::httpd::response::{Response, json};

/// How long a cancel request waits for the worker to record the end of a running build.
pub(crate) const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// `POST /api/repositories/{id}/trigger`: 201 with the pending build and its `Location`.
/// The body (`branch`, `commit`, `workflow`, all optional) may be empty.
#[utoipa::path(
    post,
    path = "/api/repositories/{id}/trigger",
    operation_id = "trigger_build",
    request_body = TriggerBuildRequest,
    tag = "builds",
    params(("id" = String, Path, description = "Repository id, short id (a unique end of the id) or owner/name")),
    responses((status = 201, description = "The queued build", body = BuildDto))
)]
pub(crate) async fn trigger(
    State(app): State<App>,
    RepoRef(repo): RepoRef,
    OptionalJson(body): OptionalJson<TriggerBuildRequest>,
) -> Result<Response, ApiError> {
    let repository = repo.id;
    let request = TriggerBuild {
        branch: body.branch,
        commit: body.commit,
        workflow: body.workflow,
    };
    let svc = app.services();
    let build = trigger_build(svc, app.signals(), repository, request).await?;
    tracing::info!(build_id = %build.id, repository_id = %repository, number = build.number, "build queued");
    let dto = BuildDto::new(&build, Some(&[]), svc.clock.now());
    let mut response = json(
        StatusCode::CREATED,
        &with_waiting_reason(dto, &build, &app.dispatcher().waiting_reason()),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/api/builds/{}", build.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// The filters of `GET /api/builds` (see the README for each parameter).
fn parse_query(query: Vec<(String, String)>) -> Result<BuildQuery, FieldErrors> {
    let mut q = BuildQuery::default();
    let mut errors = FieldErrors::new();
    let timestamp = |field: &'static str, v: &str| {
        v.trim().parse::<jiff::Timestamp>().map_err(|_| {
            FieldError::new(
                field,
                format!("'{v}' is not an RFC 3339 time: use e.g. 2024-05-01T00:00:00Z"),
            )
        })
    };
    for (name, value) in query {
        match name.as_str() {
            "repository" => {
                q.repository_id = errors.check(value.trim().parse::<RepositoryId>().map_err(|e| {
                    FieldError::new("repository", e.to_string())
                }));
            }
            "status" => {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    if let Some(s) =
                        errors.check(part.parse::<BuildStatus>().map_err(|e| FieldError::new("status", e)))
                        && !q.statuses.contains(&s)
                    {
                        q.statuses.push(s);
                    }
                }
            }
            "branch" => q.branch = errors.check(BranchName::new_for("branch", value.trim())),
            "trigger" => {
                q.trigger = errors.check(
                    value
                        .parse::<TriggerType>()
                        .map_err(|e| FieldError::new("trigger", e)),
                );
            }
            "from" => q.created_from = errors.check(timestamp("from", &value)),
            "until" => q.created_until = errors.check(timestamp("until", &value)),
            "commit" => q.commit_prefix = Some(value.trim().to_owned()),
            "order" => match value.trim() {
                "desc" => q.oldest_first = false,
                "asc" => q.oldest_first = true,
                other => errors.push(FieldError::new(
                    "order",
                    format!("unknown order '{other}': use desc (newest first) or asc"),
                )),
            },
            "limit" => match value.trim().parse::<u32>() {
                Ok(n) if n >= 1 => q.limit = n.min(BuildQuery::MAX_LIMIT),
                _ => errors.push(FieldError::new(
                    "limit",
                    format!(
                        "'{value}' is not a page size: use a number from 1 to {}",
                        BuildQuery::MAX_LIMIT
                    ),
                )),
            },
            "after" => {
                q.after = errors.check(
                    value
                        .trim()
                        .parse::<BuildId>()
                        .map_err(|e| FieldError::new("after", e.to_string())),
                );
            }
            _ => errors.push(FieldError::new(
                "query",
                format!(
                    "unknown query parameter '{name}': filter with repository, status, branch, trigger, from, until, commit, order, limit and after"
                ),
            )),
        }
    }
    errors.into_result().map(|()| q)
}

/// `GET /api/builds`: one keyset page.
#[utoipa::path(
    get,
    path = "/api/builds",
    operation_id = "list_builds",
    tag = "builds",
    params(
        ("repository" = Option<String>, Query, description = "Repository id, short id or owner/name"),
        ("status" = Option<String>, Query, description = "Comma-separated statuses"),
        ("branch" = Option<String>, Query, description = "Branch"),
        ("trigger" = Option<String>, Query, description = "push, pull_request, merge_request, tag or manual"),
        ("from" = Option<String>, Query, description = "Created at or after (RFC 3339)"),
        ("until" = Option<String>, Query, description = "Created before (RFC 3339)"),
        ("commit" = Option<String>, Query, description = "Commit SHA prefix"),
        ("order" = Option<String>, Query, description = "desc (newest first, the default) or asc"),
        ("limit" = Option<u32>, Query, description = "Page size"),
        ("after" = Option<String>, Query, description = "The previous page's `next`"),
    ),
    responses((status = 200, description = "One page of builds", body = BuildListResponse))
)]
pub(crate) async fn list(
    State(app): State<App>,
    QueryPairs(mut query): QueryPairs,
) -> Result<Response, ApiError> {
    resolve_repository_param(&app, &mut query).await?;
    let query = parse_query(query).map_err(|e| ApiError::validation(&e))?;
    let svc = app.services();
    let page = list_builds(svc, query).await?;
    let now = svc.clock.now();
    let waiting = app.dispatcher().waiting_reason();
    Ok(json(
        StatusCode::OK,
        &BuildListResponse {
            builds: page
                .builds
                .iter()
                .map(|b| with_waiting_reason(BuildDto::new(b, None, now), b, &waiting))
                .collect(),
            next: page.next.map(|id| id.to_string()),
        },
    ))
}

/// `GET /api/builds/{id}`: the build with its steps.
#[utoipa::path(
    get,
    path = "/api/builds/{id}",
    operation_id = "get_build",
    tag = "builds",
    params(("id" = String, Path, description = "Build id, short id (a unique end of the id) or owner/name#NUMBER")),
    responses((status = 200, description = "The build with its steps", body = BuildDto))
)]
pub(crate) async fn get(
    State(app): State<App>,
    BuildRef(build): BuildRef,
) -> Result<Response, ApiError> {
    let id = build.id;
    let svc = app.services();
    let view = get_build(svc, id).await?;
    let dto = BuildDto::new(&view.build, Some(&view.steps), svc.clock.now());
    Ok(json(
        StatusCode::OK,
        &with_waiting_reason(dto, &view.build, &app.dispatcher().waiting_reason()),
    ))
}

/// A pending build carries why builds are held, if they are (not stored: the
/// dispatcher's free-space gate says it when asked).
fn with_waiting_reason(mut dto: BuildDto, build: &Build, waiting: &Option<String>) -> BuildDto {
    if build.status == BuildStatus::Pending {
        dto.waiting_reason.clone_from(waiting);
    }
    dto
}

/// `GET /api/builds/{id}/steps`.
#[utoipa::path(
    get,
    path = "/api/builds/{id}/steps",
    operation_id = "list_build_steps",
    tag = "builds",
    params(("id" = String, Path, description = "Build id, short id (a unique end of the id) or owner/name#NUMBER")),
    responses((status = 200, description = "The build's steps", body = StepListResponse))
)]
pub(crate) async fn steps(
    State(app): State<App>,
    BuildRef(build): BuildRef,
) -> Result<Response, ApiError> {
    let id = build.id;
    let svc = app.services();
    let steps = list_build_steps(svc, id).await?;
    let now = svc.clock.now();
    Ok(json(
        StatusCode::OK,
        &StepListResponse {
            steps: steps.iter().map(|s| StepDto::new(s, now)).collect(),
        },
    ))
}

/// `POST /api/builds/{id}/cancel`: 200 with the ended build, or 202 with the build still
/// running when its worker did not record the end within [`CANCEL_WAIT`] (module doc).
#[utoipa::path(
    post,
    path = "/api/builds/{id}/cancel",
    operation_id = "cancel_build",
    tag = "builds",
    params(("id" = String, Path, description = "Build id, short id (a unique end of the id) or owner/name#NUMBER")),
    responses(
        (status = 200, description = "The build, ended", body = BuildDto),
        (status = 202, description = "Still running: its worker is stopping it", body = BuildDto),
    )
)]
pub(crate) async fn cancel(
    State(app): State<App>,
    BuildRef(build): BuildRef,
) -> Result<Response, ApiError> {
    let id = build.id;
    let svc = app.services();
    let mut build = cancel_build(svc, app.signals(), id).await?;
    if build.status == BuildStatus::Running {
        // The worker calls `finish` on the logs right after recording the end; a build
        // that finished before this `follow` is reported finished at once.
        let mut follower = app.logs().follow(id);
        let _ = tokio::time::timeout(CANCEL_WAIT, async {
            while let Some(update) = follower.next().await {
                if update == LogUpdate::Finished {
                    break;
                }
            }
        })
        .await;
        build = get_build(svc, id).await?.build;
    } else {
        // Ended here (pending, or running without a worker): release live log viewers.
        app.logs().finish(id);
    }
    let status = if build.status.is_terminal() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    tracing::info!(build_id = %id, status = %build.status, "build cancel requested");
    let steps = list_build_steps(svc, id).await?;
    Ok(json(
        status,
        &BuildDto::new(&build, Some(&steps), svc.clock.now()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::httpd::extract::pairs;

    #[test]
    fn the_list_query_parses_every_filter() {
        let q = parse_query(pairs(
            "repository=01JD0000000000000000000000&status=running,%20pending,running&branch=main&trigger=manual&from=2024-05-01T00:00:00Z&until=2024-06-01T00:00:00%2B02:00&commit=ABCD12&order=asc&limit=500&after=01JD0000000000000000000001",
        ))
        .unwrap();
        assert_eq!(q.statuses, [BuildStatus::Running, BuildStatus::Pending]);
        assert_eq!(q.branch.as_ref().map(BranchName::as_str), Some("main"));
        assert_eq!(q.trigger, Some(TriggerType::Manual));
        assert_eq!(q.created_from.unwrap().to_string(), "2024-05-01T00:00:00Z");
        assert_eq!(q.created_until.unwrap().to_string(), "2024-05-31T22:00:00Z");
        assert_eq!(q.commit_prefix.as_deref(), Some("ABCD12"));
        assert!(q.oldest_first);
        assert_eq!(q.limit, BuildQuery::MAX_LIMIT);
        assert!(q.repository_id.is_some() && q.after.is_some());
        assert_eq!(parse_query(Vec::new()).unwrap(), BuildQuery::default());
    }

    #[test]
    fn bad_filters_name_their_parameter() {
        let errors = parse_query(pairs(
            "status=done&order=up&limit=0&from=yesterday&colour=red&repository=x",
        ))
        .unwrap_err();
        let fields: Vec<&str> = errors.as_slice().iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["status", "order", "limit", "from", "query", "repository"]
        );
        assert!(errors.to_string().contains("pending, running"), "{errors}");
    }
}
