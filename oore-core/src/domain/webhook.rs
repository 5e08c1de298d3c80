//! Webhook events: one row per delivery received from a forge, and its processing status.
//! Every status change goes through [`WebhookEventStatus::transition`].

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use super::build::IllegalTransition;
use super::repository::Provider;
use crate::ids::{BuildId, RepositoryId, WebhookEventId};

/// Processing status of a received webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEventStatus {
    /// Stored, not yet processed.
    Received,
    /// Processed; builds were created.
    Processed,
    /// Processed; nothing to build (and why is recorded).
    Ignored,
    /// Processing failed (the error is recorded).
    Failed,
    /// Signature or token check failed; the payload was not acted on.
    Rejected,
    /// Processed: it would build a pull/merge request from a fork, which waits until
    /// someone approves the event (the reason says how).
    AwaitingApproval,
}

impl WebhookEventStatus {
    /// Every status.
    pub const ALL: &'static [Self] = &[
        Self::Received,
        Self::Processed,
        Self::Ignored,
        Self::Failed,
        Self::Rejected,
        Self::AwaitingApproval,
    ];

    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Processed => "processed",
            Self::Ignored => "ignored",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::AwaitingApproval => "awaiting_approval",
        }
    }

    /// Checks a status change: received -> processed | ignored | failed |
    /// awaiting_approval, and any of those back to received when a user asks for
    /// redelivery (or approves an event awaiting approval). Rejected is final.
    pub fn transition(self, to: Self) -> Result<Self, IllegalTransition> {
        use WebhookEventStatus::*;
        match (self, to) {
            (Received, Processed | Ignored | Failed | AwaitingApproval)
            | (Processed | Ignored | Failed | AwaitingApproval, Received) => Ok(to),
            _ => Err(IllegalTransition::new(
                "webhook event",
                self.as_str(),
                to.as_str(),
            )),
        }
    }
}

impl fmt::Display for WebhookEventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookEventStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s.trim()).ok_or_else(|| {
            format!("unknown webhook status '{s}': expected received, processed, ignored, failed, rejected or awaiting_approval")
        })
    }
}

impl WebhookEventStatus {
    /// True for the outcomes of processing (processed, ignored, failed,
    /// awaiting_approval): the statuses a redelivery may reopen. Reopening an event that
    /// awaits approval decides it again, so it waits again: a redelivery never approves.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Self::Processed | Self::Ignored | Self::Failed | Self::AwaitingApproval
        )
    }
}

/// One delivery received from a forge, as listed: everything but its headers and body
/// (see [`WebhookEventDetail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Identity (a ULID, so ids sort like arrival).
    pub id: WebhookEventId,
    /// The forge that sent it (`github` or `gitlab`).
    pub provider: Provider,
    /// Forge delivery id: `X-GitHub-Delivery`; for GitLab the `Idempotency-Key`, else the
    /// SHA-256 of the body (see [`crate::webhook::delivery_id`]).
    pub delivery_id: String,
    /// Event name as the forge sent it, e.g. `push`, `Merge Request Hook`.
    pub event_type: String,
    /// The repository whose webhook URL received it; `None` when the URL named no
    /// known repository (then it is `rejected`).
    pub repository_id: Option<RepositoryId>,
    /// Processing status.
    pub status: WebhookEventStatus,
    /// Why it was ignored, rejected or failed.
    pub reason: Option<String>,
    /// The sender's address as the HTTP layer saw it.
    pub source_ip: Option<String>,
    /// When it arrived.
    pub received_at: Timestamp,
    /// When processing finished (processed, ignored or failed).
    pub processed_at: Option<Timestamp>,
    /// The builds it created (or found already created), in creation order.
    pub build_ids: Vec<BuildId>,
    /// Who approved it (a pull/merge request from a fork), and when; kept when the
    /// event is redelivered, since its payload, and so its commit, cannot change.
    pub approval: Option<Approval>,
}

/// Who let an event that was awaiting approval build, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The name the approver gave (at most [`Approval::MAX_NAME`] characters).
    pub by: String,
    /// When.
    pub at: Timestamp,
}

impl Approval {
    /// Longest approver name kept.
    pub const MAX_NAME: usize = 100;
}

/// A delivery with what was received: the headers (secrets removed, names lowercase)
/// and the exact body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEventDetail {
    /// The event.
    pub event: WebhookEvent,
    /// Request headers in the order received, names lowercase, without the headers that
    /// carry secrets (see [`crate::webhook::stored_headers`]).
    pub headers: Vec<(String, String)>,
    /// The request body as stored: the whole body, except for rejected deliveries,
    /// whose first [`REJECTED_PAYLOAD_LIMIT`](crate::webhook::REJECTED_PAYLOAD_LIMIT)
    /// bytes are kept.
    pub payload: Vec<u8>,
    /// The size of the body as received, in bytes (more than `payload.len()` when the
    /// stored payload was cut).
    pub payload_size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_is_final_and_redelivery_reopens_processed_events() {
        use WebhookEventStatus::*;
        assert!(Received.transition(Processed).is_ok());
        assert!(Processed.transition(Received).is_ok());
        for &to in WebhookEventStatus::ALL {
            assert!(Rejected.transition(to).is_err());
        }
        assert!(Received.transition(Rejected).is_err());
        assert!(Received.transition(Received).is_err());
        let finished: Vec<_> = WebhookEventStatus::ALL
            .iter()
            .filter(|s| s.is_finished())
            .collect();
        assert_eq!(finished, [&Processed, &Ignored, &Failed, &AwaitingApproval]);
        assert!(Received.transition(AwaitingApproval).is_ok());
        assert!(AwaitingApproval.transition(Processed).is_err());
        for s in finished {
            assert!(s.transition(Received).is_ok(), "{s} can be redelivered");
        }
    }
}
