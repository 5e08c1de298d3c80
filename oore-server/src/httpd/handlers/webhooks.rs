//! Webhook endpoints (spec 6.1, 10.3, 11.1, 12.2, 20, 23): the receivers and the event
//! API.
//!
//! **Receivers** (`POST /api/webhooks/{github|gitlab}/{repository_id}`, public: the
//! signature or token is the authentication). In order: the optional per-address rate
//! limit (429 with `Retry-After`), the body up to `OORE_MAX_WEBHOOK_BYTES` (413 from
//! `Content-Length` before reading, else while reading, never buffering past it),
//! `admit_delivery` (verification), then:
//!
//! - refused (bad signature or token, unknown repository, GitLab source outside
//!   `OORE_GITLAB_ALLOWED_CIDRS`): recorded `rejected` with the reason, answered 401 whose
//!   body says only "webhook verification failed" (400 for a verified delivery missing
//!   a header it needs);
//! - accepted: stored through the batching writer, answered only once committed: 202
//!   `{event_id, duplicate: false, status}`, 200 for GitHub's `ping`, 200
//!   `{duplicate: true, ...}` for a delivery id seen before. Above the queue capacity the
//!   event is stored all the same and answered 503 `queue_full`; 503 `unavailable` means
//!   the database could not take it (nothing stored).
//!
//! **Events** (admin token): `GET /api/webhooks` (filters, keyset pages),
//! `GET /api/webhooks/:id` (headers without secrets, payload, outcome, builds),
//! `POST /api/webhooks/:id/redeliver` (202; 409 for rejected or waiting events).

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::State;
use http::StatusCode;
use oore_core::api::{
    WebhookAcceptedResponse, WebhookEventDetailDto, WebhookEventDto, WebhookListResponse,
};
use oore_core::domain::repository::Provider;
use oore_core::domain::validation::{FieldError, FieldErrors};
use oore_core::domain::webhook::WebhookEventStatus;
use oore_core::ids::{RepositoryId, WebhookEventId};
use oore_core::ports::{InsertOutcome, NewWebhookEvent, WebhookEventQuery};
use oore_core::usecases::webhook::{
    Admission, admit_delivery, get_webhook_event, list_webhook_events, redeliver_webhook_event,
};
use oore_core::webhook::{DeliveryRequest, REJECTED_PAYLOAD_LIMIT};

use crate::app::App;
use crate::httpd::error::ApiError;
use crate::httpd::extract::{Ids, Peer, QueryPairs, RawId, read_limited, resolve_repository_param};
use crate::httpd::layers::declared_over;
use crate::httpd::response::{Response, json};

/// What every refused delivery is told.
const REFUSED: &str = "webhook verification failed";

/// `POST /api/webhooks/github/{repository_id}` (see the module doc).
#[utoipa::path(
    post,
    path = "/api/webhooks/github/{repository_id}",
    operation_id = "receive_github_webhook",
    tag = "webhooks",
    params(("repository_id" = String, Path, description = "The repository the hook was created for")),
    responses(
        (status = 202, description = "Stored; it will be processed", body = WebhookAcceptedResponse),
        (status = 200, description = "A ping, or a delivery seen before", body = WebhookAcceptedResponse),
        (status = 401, description = "Verification failed; recorded as rejected"),
    )
)]
pub(crate) async fn receive_github(
    State(app): State<App>,
    peer: Peer,
    RawId(raw_id): RawId,
    request: http::Request<Body>,
) -> Result<Response, ApiError> {
    receive(&app, Provider::GitHub, peer, &raw_id, request).await
}

/// `POST /api/webhooks/gitlab/{repository_id}` (see the module doc).
#[utoipa::path(
    post,
    path = "/api/webhooks/gitlab/{repository_id}",
    operation_id = "receive_gitlab_webhook",
    tag = "webhooks",
    params(("repository_id" = String, Path, description = "The repository the hook was created for")),
    responses(
        (status = 202, description = "Stored; it will be processed", body = WebhookAcceptedResponse),
        (status = 200, description = "A delivery seen before", body = WebhookAcceptedResponse),
        (status = 401, description = "Verification failed; recorded as rejected"),
    )
)]
pub(crate) async fn receive_gitlab(
    State(app): State<App>,
    peer: Peer,
    RawId(raw_id): RawId,
    request: http::Request<Body>,
) -> Result<Response, ApiError> {
    receive(&app, Provider::GitLab, peer, &raw_id, request).await
}

async fn receive(
    app: &App,
    provider: Provider,
    peer: Peer,
    raw_id: &str,
    request: http::Request<Body>,
) -> Result<Response, ApiError> {
    let hooks = app.webhooks();
    let ip = peer.0.map(|p| p.ip().to_canonical());
    if let Err(wait) = hooks.check_rate(ip) {
        tracing::warn!(source_ip = ?ip, %provider, "webhook rate limit reached (OORE_WEBHOOK_RATE_LIMIT)");
        return Err(ApiError::rate_limited(wait));
    }
    let max_body = hooks.settings().max_body;
    if declared_over(request.headers(), max_body) {
        return Err(ApiError::payload_too_large(max_body));
    }
    let (parts, body) = request.into_parts();
    let body = read_limited(body, max_body).await?;
    let Ok(repository_id) = raw_id.parse::<RepositoryId>() else {
        // Not recorded: there is no repository to file it under, and scanners send these.
        tracing::warn!(source_ip = ?ip, %provider, path_id = raw_id, "webhook refused: the URL's repository id is not an id; the forge must use the URL `oore repo webhook-url` prints");
        return Err(ApiError::webhook_refused(true, REFUSED.to_owned()));
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let svc = app.services();
    let delivery = DeliveryRequest {
        provider,
        repository_id,
        headers,
        body: body.into(),
        source_ip: ip.map(|ip| ip.to_string()),
    };
    let admission = admit_delivery(svc, delivery)
        .await
        .map_err(|e| ApiError::not_stored(&e))?;
    if !hooks.source_allowed(provider, ip) {
        let mut record = match admission {
            Admission::Accept(event) => event,
            Admission::Reject { record, .. } => record,
        };
        record.payload.truncate(REJECTED_PAYLOAD_LIMIT);
        let reason = format!(
            "the source address {} is not in OORE_GITLAB_ALLOWED_CIDRS; add GitLab's address range to it, or unset it",
            ip.map_or_else(|| "(unknown)".to_owned(), |ip| ip.to_string())
        );
        return Err(refuse(app, &record, &reason, true, REFUSED.to_owned()).await);
    }
    match admission {
        Admission::Reject { record, rejection } => Err(refuse(
            app,
            &record,
            &rejection.to_string(),
            rejection.is_unauthorized(),
            rejection.public_message(),
        )
        .await),
        Admission::Accept(event) => accept(app, event, ip).await,
    }
}

/// Records a refused delivery (`rejected`, with `reason`) and returns the answer.
async fn refuse(
    app: &App,
    record: &NewWebhookEvent,
    reason: &str,
    unauthorized: bool,
    message: String,
) -> ApiError {
    tracing::warn!(
        event_id = %record.id,
        repository_id = ?record.repository_id,
        source_ip = ?record.source_ip,
        event_type = %record.event_type,
        reason,
        "webhook delivery rejected"
    );
    if let Err(e) = app
        .services()
        .webhooks
        .record_rejected(record, reason)
        .await
    {
        tracing::error!(error = %e, event_id = %record.id, "recording a rejected webhook delivery failed");
    }
    ApiError::webhook_refused(unauthorized, message)
}

/// Stores a verified delivery and answers once it is committed.
async fn accept(
    app: &App,
    event: NewWebhookEvent,
    ip: Option<IpAddr>,
) -> Result<Response, ApiError> {
    let hooks = app.webhooks();
    let is_ping = event.provider == Provider::GitHub && event.event_type == "ping";
    let (event_type, delivery_id, repository_id) = (
        event.event_type.clone(),
        event.delivery_id.clone(),
        event.repository_id,
    );
    let stored = hooks
        .store(event)
        .await
        .map_err(|e| ApiError::not_stored(&e))?;
    match stored.outcome {
        InsertOutcome::Duplicate(id) => {
            let status = app
                .services()
                .webhooks
                .get_event(id)
                .await
                .ok()
                .flatten()
                .map_or(WebhookEventStatus::Received, |d| d.event.status);
            tracing::info!(event_id = %id, %delivery_id, %event_type, %status, "duplicate webhook delivery answered 200");
            Ok(json(
                StatusCode::OK,
                &WebhookAcceptedResponse::new(stored.outcome, status),
            ))
        }
        InsertOutcome::Inserted(id) => {
            let capacity = hooks.settings().queue_capacity;
            tracing::debug!(event_id = %id, repository_id = ?repository_id, source_ip = ?ip, %delivery_id, %event_type, backlog = stored.backlog, "webhook event stored");
            if let Some(backlog) = stored.backlog.filter(|n| *n > capacity) {
                tracing::warn!(event_id = %id, backlog, capacity, "webhook queue over capacity (OORE_WEBHOOK_QUEUE_CAPACITY): stored, answered 503");
                return Err(ApiError::queue_full(&id.to_string(), backlog, capacity));
            }
            let status = if is_ping {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            Ok(json(
                status,
                &WebhookAcceptedResponse::new(stored.outcome, WebhookEventStatus::Received),
            ))
        }
    }
}

/// The filters of `GET /api/webhooks`.
fn parse_query(query: Vec<(String, String)>) -> Result<WebhookEventQuery, FieldErrors> {
    let mut q = WebhookEventQuery::default();
    let mut errors = FieldErrors::new();
    for (name, value) in query {
        let value = value.trim();
        match name.as_str() {
            "repository" => {
                q.repository_id = errors.check(
                    value
                        .parse::<RepositoryId>()
                        .map_err(|e| FieldError::new("repository", e.to_string())),
                );
            }
            "provider" => q.provider = errors.check(value.parse::<Provider>()),
            "event" if value.is_empty() => errors.push(FieldError::new(
                "event",
                "the event type is empty: give push, pull_request, tag_push (both forges' names), or another name as the forge sends it",
            )),
            "event" => q.event_types = oore_core::webhook::event_names_for(value),
            "status" => {
                q.status = errors.check(
                    value
                        .parse::<WebhookEventStatus>()
                        .map_err(|e| FieldError::new("status", e)),
                );
            }
            "limit" => match value.parse::<u32>() {
                Ok(n) if n >= 1 => q.limit = n.min(WebhookEventQuery::MAX_LIMIT),
                _ => errors.push(FieldError::new(
                    "limit",
                    format!(
                        "'{value}' is not a page size: use a number from 1 to {}",
                        WebhookEventQuery::MAX_LIMIT
                    ),
                )),
            },
            "before" => {
                q.before = errors.check(
                    value
                        .parse::<WebhookEventId>()
                        .map_err(|e| FieldError::new("before", e.to_string())),
                );
            }
            _ => errors.push(FieldError::new(
                "query",
                format!(
                    "unknown query parameter '{name}': filter with repository, provider, event, status, limit and before"
                ),
            )),
        }
    }
    errors.into_result().map(|()| q)
}

/// `GET /api/webhooks`: one page, newest first.
#[utoipa::path(
    get,
    path = "/api/webhooks",
    operation_id = "list_webhook_events",
    tag = "webhooks",
    params(
        ("repository" = Option<String>, Query, description = "Repository id, short id or owner/name"),
        ("provider" = Option<String>, Query, description = "github or gitlab"),
        ("event" = Option<String>, Query, description = "push, pull_request, tag_push (both forges' names) or the forge's own name"),
        ("status" = Option<String>, Query, description = "received, processed, ignored, failed or rejected"),
        ("limit" = Option<u32>, Query, description = "Page size"),
        ("before" = Option<String>, Query, description = "The previous page's `next`"),
    ),
    responses((status = 200, description = "One page of events, newest first", body = WebhookListResponse))
)]
pub(crate) async fn list(
    State(app): State<App>,
    QueryPairs(mut query): QueryPairs,
) -> Result<Response, ApiError> {
    resolve_repository_param(&app, &mut query).await?;
    let query = parse_query(query).map_err(|e| ApiError::validation(&e))?;
    let page = list_webhook_events(app.services(), &query).await?;
    Ok(json(StatusCode::OK, &WebhookListResponse::from(&page)))
}

/// `GET /api/webhooks/{id}`: the event with its headers and payload.
#[utoipa::path(
    get,
    path = "/api/webhooks/{id}",
    operation_id = "get_webhook_event",
    tag = "webhooks",
    params(("id" = String, Path, description = "Webhook event id (ULID)")),
    responses((status = 200, description = "The event with its headers, payload and builds", body = WebhookEventDetailDto))
)]
pub(crate) async fn get(
    State(app): State<App>,
    Ids(id): Ids<WebhookEventId>,
) -> Result<Response, ApiError> {
    let detail = get_webhook_event(app.services(), id).await?;
    Ok(json(StatusCode::OK, &WebhookEventDetailDto::from(&detail)))
}

/// `POST /api/webhooks/{id}/redeliver`: 202 with the event, `received` again; the worker
/// processes it next.
#[utoipa::path(
    post,
    path = "/api/webhooks/{id}/redeliver",
    operation_id = "redeliver_webhook_event",
    tag = "webhooks",
    params(("id" = String, Path, description = "Webhook event id (ULID)")),
    responses((status = 202, description = "Queued for processing again", body = WebhookEventDto))
)]
pub(crate) async fn redeliver(
    State(app): State<App>,
    Ids(id): Ids<WebhookEventId>,
) -> Result<Response, ApiError> {
    let event = redeliver_webhook_event(app.services(), id).await?;
    app.webhooks().wake_worker();
    tracing::info!(event_id = %id, "webhook event queued for processing again");
    Ok(json(StatusCode::ACCEPTED, &WebhookEventDto::from(&event)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::httpd::extract::pairs;

    #[test]
    fn filters_parse_and_report_bad_values() {
        assert_eq!(
            parse_query(Vec::new()).unwrap(),
            WebhookEventQuery::default()
        );
        let q = parse_query(pairs(
            "repository=01JD0000000000000000000000&provider=GitLab&event=Push+Hook&status=failed&limit=500&before=01JD0000000000000000000001",
        ))
        .unwrap();
        assert_eq!(q.provider, Some(Provider::GitLab));
        assert_eq!(q.event_types, ["push", "Push Hook"]);
        assert_eq!(q.status, Some(WebhookEventStatus::Failed));
        assert_eq!(q.limit, WebhookEventQuery::MAX_LIMIT);
        assert!(q.repository_id.is_some() && q.before.is_some());

        let errors = parse_query(pairs(
            "repository=x&provider=svn&status=done&limit=0&event=&colour=red",
        ))
        .unwrap_err();
        let fields: Vec<&str> = errors.as_slice().iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "repository",
                "provider",
                "status",
                "limit",
                "event",
                "query"
            ]
        );
    }
}
