//! Approve a pull/merge request from a fork (`oore webhook approve`, `POST
//! /api/webhooks/{id}/approve`): an event `awaiting_approval` goes back to `received`
//! with who approved it and when, and the event worker processes it again, now allowed
//! to build.
//!
//! Exactly the approved commit is built, once: the commit comes from the event's stored
//! payload, which never changes; the move is a compare-and-set on the event's status
//! ([`WebhookEventStore::approve`]), so of two approvals at once one wins and the other
//! is told the event was approved already; and the builds carry the event's id, so
//! processing it again (a redelivery, a crash before the outcome was recorded) finds
//! them instead of building again. A new push to the pull request is a new event, which
//! waits for its own approval.
//!
//! [`WebhookEventStore::approve`]: crate::ports::WebhookEventStore::approve

use crate::domain::validation::{FieldError, FieldErrors};
use crate::domain::webhook::{Approval, WebhookEvent, WebhookEventStatus};
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::WebhookEventId;
use crate::ports::StoreError;
use crate::services::Services;
use crate::usecases::store_class;

/// The approver recorded when none is named.
pub const DEFAULT_APPROVER: &str = "admin";

/// Why an event could not be approved.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    /// No such event.
    #[error(
        "webhook event {0} not found; run `oore webhook list --status awaiting_approval` to see events waiting for approval"
    )]
    NotFound(WebhookEventId),
    /// The approver's name is unusable.
    #[error("invalid approval: {0}")]
    Invalid(FieldErrors),
    /// Someone approved it first.
    #[error(
        "webhook event {id} was already approved by {by} at {at}; its builds are listed by `oore webhook show {id}`"
    )]
    AlreadyApproved {
        /// The event.
        id: WebhookEventId,
        /// Who approved it.
        by: String,
        /// When.
        at: jiff::Timestamp,
    },
    /// It does not wait for an approval.
    #[error(
        "webhook event {id} is {status}, not awaiting approval: only pull requests from forks wait for one; see it with `oore webhook show {id}`"
    )]
    NotAwaiting {
        /// The event.
        id: WebhookEventId,
        /// Its status.
        status: WebhookEventStatus,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for ApproveError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Invalid(_) => ErrorClass::Invalid,
            Self::AlreadyApproved { .. } | Self::NotAwaiting { .. } => ErrorClass::Conflict,
            Self::Store(e) => store_class(e),
        }
    }

    fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Self::Invalid(f) => Some(f),
            _ => None,
        }
    }
}

/// Approves event `id` for `approver` ([`DEFAULT_APPROVER`] when `None`) and returns it,
/// `received` again with its approval. The caller wakes the event worker.
pub async fn approve_webhook_event(
    svc: &Services,
    id: WebhookEventId,
    approver: Option<&str>,
) -> Result<WebhookEvent, ApproveError> {
    let by = approver_name(approver).map_err(|e| ApproveError::Invalid(e.into()))?;
    let current = read(svc, id).await?;
    if current.status != WebhookEventStatus::AwaitingApproval {
        return Err(not_approvable(current));
    }
    let approval = Approval {
        by,
        at: svc.clock.now(),
    };
    if svc.webhooks.approve(id, &approval).await? {
        return read(svc, id).await;
    }
    // Someone else moved it meanwhile (another approval, a redelivery): say what it is.
    Err(not_approvable(read(svc, id).await?))
}

async fn read(svc: &Services, id: WebhookEventId) -> Result<WebhookEvent, ApproveError> {
    Ok(svc
        .webhooks
        .get_event(id)
        .await?
        .ok_or(ApproveError::NotFound(id))?
        .event)
}

fn not_approvable(event: WebhookEvent) -> ApproveError {
    match event.approval {
        Some(approval) => ApproveError::AlreadyApproved {
            id: event.id,
            by: approval.by,
            at: approval.at,
        },
        None => ApproveError::NotAwaiting {
            id: event.id,
            status: event.status,
        },
    }
}

/// The approver's name, trimmed: 1 to [`Approval::MAX_NAME`] characters, no control
/// characters.
fn approver_name(raw: Option<&str>) -> Result<String, FieldError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_APPROVER.to_owned());
    };
    let name = raw.trim();
    let bad = |why: &str| Err(FieldError::new("approved_by", why.to_owned()));
    if name.is_empty() {
        return bad("must not be empty: name who approves, or leave it out");
    }
    if name.chars().count() > Approval::MAX_NAME {
        return bad(&format!(
            "must be at most {} characters",
            Approval::MAX_NAME
        ));
    }
    if name.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approver_names_are_checked() {
        assert_eq!(approver_name(None).unwrap(), "admin");
        assert_eq!(approver_name(Some("  alice ")).unwrap(), "alice");
        assert!(approver_name(Some(" ")).is_err());
        assert!(approver_name(Some("a\nb")).is_err());
        assert!(approver_name(Some(&"x".repeat(101))).is_err());
        assert!(approver_name(Some(&"é".repeat(100))).is_ok());
    }
}
