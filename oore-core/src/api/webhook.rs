//! Wire types of the webhook endpoints: the receivers' answers and the event list/show
//! endpoints (spec 10.3, 11.1, 12.2).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PayloadFormatDto, ProviderDto, WebhookEventStatusDto, WebhookRefusalDto};

use crate::domain::webhook::{WebhookEvent, WebhookEventDetail, WebhookEventStatus};
use crate::ports::{InsertOutcome, WebhookEventPage};

/// A webhook event as listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WebhookEventDto {
    /// ULID.
    pub id: String,
    /// `github` or `gitlab`.
    pub provider: ProviderDto,
    /// The forge's delivery id (or the body's SHA-256 for GitLab without
    /// `Idempotency-Key`).
    pub delivery_id: String,
    /// Event name as sent (`push`, `Merge Request Hook`, ...).
    pub event_type: String,
    /// The repository whose URL received it.
    #[schema(required)]
    pub repository_id: Option<String>,
    /// Where its processing is.
    pub status: WebhookEventStatusDto,
    /// Why it was ignored, failed or rejected.
    #[schema(required)]
    pub reason: Option<String>,
    /// The sender's address.
    #[schema(required)]
    pub source_ip: Option<String>,
    /// RFC 3339.
    pub received_at: String,
    /// RFC 3339, once processed.
    #[schema(required)]
    pub processed_at: Option<String>,
    /// The builds it created.
    pub build_ids: Vec<String>,
    /// Who approved it (a pull/merge request from a fork); absent from servers older
    /// than approvals.
    #[serde(default)]
    #[schema(required)]
    pub approved_by: Option<String>,
    /// RFC 3339, when it was approved.
    #[serde(default)]
    #[schema(required)]
    pub approved_at: Option<String>,
}

impl From<&WebhookEvent> for WebhookEventDto {
    fn from(e: &WebhookEvent) -> Self {
        Self {
            id: e.id.to_string(),
            provider: e.provider.into(),
            delivery_id: e.delivery_id.clone(),
            event_type: e.event_type.clone(),
            repository_id: e.repository_id.map(|r| r.to_string()),
            status: e.status.into(),
            reason: e.reason.clone(),
            source_ip: e.source_ip.clone(),
            received_at: e.received_at.to_string(),
            processed_at: e.processed_at.map(|t| t.to_string()),
            build_ids: e.build_ids.iter().map(ToString::to_string).collect(),
            approved_by: e.approval.as_ref().map(|a| a.by.clone()),
            approved_at: e.approval.as_ref().map(|a| a.at.to_string()),
        }
    }
}

/// One event with what was received (`GET /api/webhooks/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WebhookEventDetailDto {
    /// The event.
    #[serde(flatten)]
    pub event: WebhookEventDto,
    /// Request headers as `[name, value]` pairs in the order received, names lowercase,
    /// without the ones that carry secrets.
    pub headers: Vec<(String, String)>,
    /// `json` when the body is JSON (then `payload` is that JSON), else `text` (then
    /// `payload` is the body as a string, invalid UTF-8 replaced).
    pub payload_format: PayloadFormatDto,
    /// The body (for a rejected delivery, its first 16 KiB).
    pub payload: serde_json::Value,
    /// The size of the body as received, in bytes.
    #[serde(default)]
    #[schema(required)]
    pub payload_size: u64,
    /// True when only the start of the body was kept (rejected deliveries keep 16 KiB).
    #[serde(default)]
    #[schema(required)]
    pub payload_truncated: bool,
}

impl From<&WebhookEventDetail> for WebhookEventDetailDto {
    fn from(d: &WebhookEventDetail) -> Self {
        let (payload_format, payload) = match serde_json::from_slice(&d.payload) {
            Ok(value) => (PayloadFormatDto::Json, value),
            Err(_) => (
                PayloadFormatDto::Text,
                serde_json::Value::String(String::from_utf8_lossy(&d.payload).into_owned()),
            ),
        };
        Self {
            event: WebhookEventDto::from(&d.event),
            headers: d.headers.clone(),
            payload_format,
            payload,
            payload_size: d.payload_size,
            payload_truncated: d.payload_size > d.payload.len() as u64,
        }
    }
}

/// `POST /api/webhooks/{id}/approve`: the body is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveWebhookRequest {
    /// Who approves, as shown on the event (at most 100 characters); `admin` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

/// `GET /api/webhooks/refusals`: webhook requests refused without being stored (no
/// repository behind the URL, no secret, a source outside the allowed ranges, too many
/// bodies at once), counted per source address since the server started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WebhookRefusalsResponse {
    /// RFC 3339: when counting started (the server's start).
    pub since: String,
    /// One entry per source address (IPv6 per /64), the most recently refused first.
    pub sources: Vec<WebhookRefusalSourceDto>,
    /// Sources no longer listed because too many were tracked (their counts are lost).
    pub dropped_sources: u64,
}

/// The refusals of one source address.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WebhookRefusalSourceDto {
    /// The address (IPv6: the /64 block, as `2001:db8:1:2::/64`).
    pub source: String,
    /// Requests refused.
    pub total: u64,
    /// How many for each reason, the most frequent first.
    pub reasons: Vec<WebhookRefusalCountDto>,
    /// RFC 3339, the first refusal.
    pub first_at: String,
    /// RFC 3339, the latest refusal.
    pub last_at: String,
    /// The path of the latest refused request (at most 120 characters, as sent).
    pub last_path: String,
}

/// One reason's count.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WebhookRefusalCountDto {
    /// Why.
    pub reason: WebhookRefusalDto,
    /// How many requests.
    pub count: u64,
}

/// `GET /api/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WebhookListResponse {
    /// One page, newest first.
    pub events: Vec<WebhookEventDto>,
    /// Pass as `before=` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl From<&WebhookEventPage> for WebhookListResponse {
    fn from(page: &WebhookEventPage) -> Self {
        Self {
            events: page.events.iter().map(WebhookEventDto::from).collect(),
            next: page.next.map(|id| id.to_string()),
        }
    }
}

/// The receivers' answer to an accepted delivery: 202 when stored now, 200 for a
/// duplicate (the forge's redelivery of something stored before).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WebhookAcceptedResponse {
    /// The stored event (for a duplicate: the one stored first).
    pub event_id: String,
    /// True when the delivery id was seen before and nothing new was stored.
    pub duplicate: bool,
    /// `received` for a new event; for a duplicate, the stored event's status when the
    /// receiver knows it, else `received`.
    pub status: WebhookEventStatusDto,
}

impl WebhookAcceptedResponse {
    /// The answer for an insert outcome. `status` is `received` for a new event; for a
    /// duplicate, the stored event's current status (read it with
    /// [`WebhookEventStore::get`](crate::ports::WebhookEventStore::get_event)).
    pub fn new(outcome: InsertOutcome, status: WebhookEventStatus) -> Self {
        Self {
            event_id: outcome.event_id().to_string(),
            duplicate: outcome.is_duplicate(),
            status: status.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::Provider;
    use crate::ids::{BuildId, WebhookEventId};
    use ulid::Ulid;

    fn detail(payload: &[u8]) -> WebhookEventDetail {
        WebhookEventDetail {
            event: WebhookEvent {
                id: WebhookEventId::from_ulid(Ulid::from_parts(1_767_225_600_000, 1)),
                provider: Provider::GitLab,
                delivery_id: "k".into(),
                event_type: "Push Hook".into(),
                repository_id: None,
                status: WebhookEventStatus::Processed,
                reason: None,
                source_ip: Some("192.0.2.1".into()),
                received_at: jiff::Timestamp::from_second(1_767_225_600).unwrap(),
                processed_at: None,
                build_ids: vec![BuildId::from_ulid(Ulid::from_parts(1_767_225_600_000, 2))],
                approval: None,
            },
            headers: vec![("x-gitlab-event".into(), "Push Hook".into())],
            payload: payload.to_vec(),
            payload_size: payload.len() as u64,
        }
    }

    #[test]
    fn detail_shows_json_as_json_and_anything_else_as_text() {
        let json = WebhookEventDetailDto::from(&detail(br#"{"a":1}"#));
        assert_eq!(json.payload_format, PayloadFormatDto::Json);
        assert_eq!(json.payload, serde_json::json!({"a": 1}));
        let text = WebhookEventDetailDto::from(&detail(b"a=1&\xff"));
        assert_eq!(text.payload_format, PayloadFormatDto::Text);
        assert_eq!(text.payload, serde_json::json!("a=1&\u{fffd}"));

        let wire = serde_json::to_value(&json).unwrap();
        assert_eq!(
            wire["status"], "processed",
            "the event's fields are flattened"
        );
        assert_eq!(wire["received_at"], "2026-01-01T00:00:00Z");
        assert_eq!(
            wire["headers"][0],
            serde_json::json!(["x-gitlab-event", "Push Hook"])
        );
        assert_eq!(
            serde_json::from_value::<WebhookEventDetailDto>(wire).unwrap(),
            json
        );
    }

    #[test]
    fn a_cut_payload_and_an_approval_show() {
        let mut d = detail(b"{}");
        d.payload_size = 65_536;
        d.event.approval = Some(crate::domain::webhook::Approval {
            by: "alice".into(),
            at: jiff::Timestamp::from_second(1_767_225_660).unwrap(),
        });
        let dto = WebhookEventDetailDto::from(&d);
        assert!(dto.payload_truncated);
        assert_eq!(dto.payload_size, 65_536);
        assert_eq!(dto.event.approved_by.as_deref(), Some("alice"));
        assert_eq!(
            dto.event.approved_at.as_deref(),
            Some("2026-01-01T00:01:00Z")
        );
        // An older server sends neither.
        let mut wire = serde_json::to_value(&dto).unwrap();
        for field in [
            "approved_by",
            "approved_at",
            "payload_size",
            "payload_truncated",
        ] {
            wire.as_object_mut().unwrap().remove(field);
        }
        let old: WebhookEventDetailDto = serde_json::from_value(wire).unwrap();
        assert_eq!(
            (old.event.approved_by, old.payload_truncated),
            (None, false)
        );
    }

    #[test]
    fn accepted_answers_say_whether_it_was_a_duplicate() {
        let id = WebhookEventId::from_ulid(Ulid::from_parts(1, 1));
        let dup = WebhookAcceptedResponse::new(
            InsertOutcome::Duplicate(id),
            WebhookEventStatus::Processed,
        );
        assert_eq!(
            serde_json::to_value(&dup).unwrap(),
            serde_json::json!({"event_id": id.to_string(), "duplicate": true, "status": "processed"})
        );
        let new =
            WebhookAcceptedResponse::new(InsertOutcome::Inserted(id), WebhookEventStatus::Received);
        assert!(!new.duplicate);
        assert_eq!(new.status, WebhookEventStatusDto::Received);
    }
}
