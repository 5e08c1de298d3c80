//! A recording [`WebhookEventStore`] for the writer's and the worker's tests.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use oore_core::domain::webhook::{Approval, WebhookEvent, WebhookEventDetail};
use oore_core::ids::WebhookEventId;
use oore_core::ports::{
    EventFinish, InsertOutcome, NewWebhookEvent, RejectedWebhookEvent, StoreError,
    WebhookEventPage, WebhookEventQuery, WebhookEventStore,
};
use oore_core::services::Services;
use oore_core::testing;

/// The real in-memory store, recording each `insert_batch` call's size and failing
/// any batch of several events that holds the delivery id `poison`.
pub(crate) struct Recording {
    inner: Arc<dyn WebhookEventStore>,
    /// The size of each `insert_batch` call.
    pub(crate) batches: Mutex<Vec<usize>>,
    /// The size of each `finish_all` call.
    pub(crate) finish_batches: Mutex<Vec<usize>>,
    /// `finish` calls.
    pub(crate) finishes: Mutex<usize>,
}

#[async_trait]
impl WebhookEventStore for Recording {
    async fn insert_batch(
        &self,
        events: &[NewWebhookEvent],
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        self.batches.lock().unwrap().push(events.len());
        if events.iter().any(|e| e.delivery_id == "poison") {
            return Err(StoreError::NotFound);
        }
        self.inner.insert_batch(events).await
    }
    async fn record_rejected(
        &self,
        rejected: &[RejectedWebhookEvent],
        keep_at_most: u64,
    ) -> Result<u64, StoreError> {
        self.inner.record_rejected(rejected, keep_at_most).await
    }
    async fn prune_rejected(
        &self,
        before: Timestamp,
        keep_at_most: u64,
    ) -> Result<u64, StoreError> {
        self.inner.prune_rejected(before, keep_at_most).await
    }
    async fn approve(&self, id: WebhookEventId, approval: &Approval) -> Result<bool, StoreError> {
        self.inner.approve(id, approval).await
    }
    async fn get_event(
        &self,
        id: WebhookEventId,
    ) -> Result<Option<WebhookEventDetail>, StoreError> {
        self.inner.get_event(id).await
    }
    async fn list_events(&self, query: &WebhookEventQuery) -> Result<WebhookEventPage, StoreError> {
        self.inner.list_events(query).await
    }
    async fn unprocessed(&self, limit: u32) -> Result<Vec<WebhookEvent>, StoreError> {
        self.inner.unprocessed(limit).await
    }
    async fn count_unprocessed(&self) -> Result<u64, StoreError> {
        self.inner.count_unprocessed().await
    }
    async fn finish(&self, id: WebhookEventId, finish: &EventFinish) -> Result<bool, StoreError> {
        *self.finishes.lock().unwrap() += 1;
        self.inner.finish(id, finish).await
    }
    async fn finish_all(
        &self,
        finishes: &[(WebhookEventId, EventFinish)],
    ) -> Result<Vec<bool>, StoreError> {
        self.finish_batches.lock().unwrap().push(finishes.len());
        self.inner.finish_all(finishes).await
    }
    async fn requeue(&self, id: WebhookEventId) -> Result<bool, StoreError> {
        self.inner.requeue(id).await
    }
    async fn forget_deliveries_before(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.inner.forget_deliveries_before(cutoff).await
    }
}

/// Memory services whose webhook store is a [`Recording`] of the real one.
pub(crate) fn setup() -> (Services, Arc<Recording>) {
    let mut services = testing::services();
    let recording = Arc::new(Recording {
        inner: Arc::clone(&services.webhooks),
        batches: Mutex::new(Vec::new()),
        finish_batches: Mutex::new(Vec::new()),
        finishes: Mutex::new(0),
    });
    services.webhooks = recording.clone();
    (services, recording)
}
