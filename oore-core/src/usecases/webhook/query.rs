//! Read webhook events for debugging (spec 10.3, 11.1, 12.2): list with filters, show one
//! with its headers and payload.

use crate::domain::webhook::WebhookEventDetail;
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::WebhookEventId;
use crate::ports::{StoreError, WebhookEventPage, WebhookEventQuery};
use crate::services::Services;
use crate::usecases::store_class;

/// Why webhook events could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WebhookQueryError {
    /// No such event.
    #[error("webhook event {0} not found; run `oore webhook list` to see events")]
    NotFound(WebhookEventId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for WebhookQueryError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Store(e) => store_class(e),
        }
    }
}

/// One page of events matching `query`, newest first.
pub async fn list_webhook_events(
    svc: &Services,
    query: &WebhookEventQuery,
) -> Result<WebhookEventPage, WebhookQueryError> {
    Ok(svc.webhooks.list_events(query).await?)
}

/// One event with its headers and payload.
pub async fn get_webhook_event(
    svc: &Services,
    id: WebhookEventId,
) -> Result<WebhookEventDetail, WebhookQueryError> {
    svc.webhooks
        .get_event(id)
        .await?
        .ok_or(WebhookQueryError::NotFound(id))
}
