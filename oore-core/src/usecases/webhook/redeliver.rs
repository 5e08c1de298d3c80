//! Process an event again (spec 11.1 "tests with redeliver"): a processed, ignored or
//! failed event goes back to `received`, and the event worker picks it up. Builds it
//! created before are reused, not duplicated (see
//! [`process_event`](super::process_event)).

use crate::domain::webhook::{WebhookEvent, WebhookEventStatus};
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::WebhookEventId;
use crate::ports::StoreError;
use crate::services::Services;
use crate::usecases::store_class;

/// Why an event could not be redelivered.
#[derive(Debug, thiserror::Error)]
pub enum RedeliverError {
    /// No such event.
    #[error("webhook event {0} not found; run `oore webhook list` to see events")]
    NotFound(WebhookEventId),
    /// It failed verification; its payload cannot be trusted.
    #[error(
        "webhook event {0} was rejected and cannot be redelivered; fix the secret, then redeliver it from the forge"
    )]
    Rejected(WebhookEventId),
    /// It is waiting to be processed already.
    #[error("webhook event {0} is already waiting to be processed")]
    Pending(WebhookEventId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for RedeliverError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Rejected(_) | Self::Pending(_) => ErrorClass::Conflict,
            Self::Store(e) => store_class(e),
        }
    }
}

/// Requeues event `id` and returns it (now `received`). The caller wakes the event
/// worker.
pub async fn redeliver_webhook_event(
    svc: &Services,
    id: WebhookEventId,
) -> Result<WebhookEvent, RedeliverError> {
    let current = svc
        .webhooks
        .get_event(id)
        .await?
        .ok_or(RedeliverError::NotFound(id))?
        .event;
    if current
        .status
        .transition(WebhookEventStatus::Received)
        .is_err()
    {
        return Err(match current.status {
            WebhookEventStatus::Received => RedeliverError::Pending(id),
            _ => RedeliverError::Rejected(id),
        });
    }
    if !svc.webhooks.requeue(id).await? {
        // Its status changed meanwhile (another redelivery, or processing): report it.
        let now = svc
            .webhooks
            .get_event(id)
            .await?
            .ok_or(RedeliverError::NotFound(id))?
            .event;
        return match now.status {
            WebhookEventStatus::Received => Ok(now),
            WebhookEventStatus::Rejected => Err(RedeliverError::Rejected(id)),
            _ => Err(RedeliverError::Pending(id)),
        };
    }
    svc.webhooks
        .get_event(id)
        .await?
        .map(|d| d.event)
        .ok_or(RedeliverError::NotFound(id))
}
