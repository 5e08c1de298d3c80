//! [`MemoryWebhookEventStore`]: the in-memory [`WebhookEventStore`], held to the same
//! contract suite as the SQLite store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use jiff::Timestamp;

use super::memory::MemoryRepositoryStore;
use crate::domain::repository::Provider;
use crate::domain::webhook::{Approval, WebhookEvent, WebhookEventDetail, WebhookEventStatus};
use crate::ids::WebhookEventId;
use crate::ports::{
    EventFinish, InsertOutcome, NewWebhookEvent, RejectedWebhookEvent, StoreError,
    WebhookEventPage, WebhookEventQuery, WebhookEventStore,
};

/// Webhook events in memory. Like [`super::MemoryBuildStore`], it checks repository ids
/// against the [`MemoryRepositoryStore`] it was made with (the foreign key):
///
/// ```
/// use oore_core::testing::{MemoryRepositoryStore, MemoryWebhookEventStore};
/// let repositories = MemoryRepositoryStore::default();
/// let webhooks = MemoryWebhookEventStore::new(repositories.clone());
/// # drop(webhooks);
/// ```
pub struct MemoryWebhookEventStore {
    repositories: MemoryRepositoryStore,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// By id: arrival order.
    events: BTreeMap<WebhookEventId, WebhookEventDetail>,
    /// The replay window: (provider, delivery id) -> (registered at, event).
    deliveries: HashMap<(Provider, String), (Timestamp, WebhookEventId)>,
}

impl MemoryWebhookEventStore {
    /// A store whose events refer to the repositories of `repositories`.
    pub fn new(repositories: MemoryRepositoryStore) -> Self {
        Self {
            repositories,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The foreign-key and primary-key checks of one event.
    fn check(&self, state: &State, event: &NewWebhookEvent) -> Result<(), StoreError> {
        if let Some(repository) = event.repository_id
            && self.repositories.concurrency_of(repository).is_none()
        {
            return Err(StoreError::NotFound);
        }
        if state.events.contains_key(&event.id) {
            return Err(StoreError::Duplicate(format!("webhook event {}", event.id)));
        }
        Ok(())
    }
}

fn stored(
    event: &NewWebhookEvent,
    status: WebhookEventStatus,
    reason: Option<&str>,
    payload_size: u64,
) -> WebhookEventDetail {
    WebhookEventDetail {
        event: WebhookEvent {
            id: event.id,
            provider: event.provider,
            delivery_id: event.delivery_id.clone(),
            event_type: event.event_type.clone(),
            repository_id: event.repository_id,
            status,
            reason: reason.map(str::to_owned),
            source_ip: event.source_ip.clone(),
            received_at: event.received_at,
            processed_at: None,
            build_ids: Vec::new(),
            approval: None,
        },
        headers: event.headers.clone(),
        payload: event.payload.clone(),
        payload_size,
    }
}

#[async_trait]
impl WebhookEventStore for MemoryWebhookEventStore {
    async fn insert_batch(
        &self,
        events: &[NewWebhookEvent],
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        let mut state = self.state();
        // Plan on a copy of the keys, apply only when every event passed: all or nothing.
        let mut registered: HashMap<(Provider, String), WebhookEventId> = HashMap::new();
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            let key = (event.provider, event.delivery_id.clone());
            let existing = registered
                .get(&key)
                .copied()
                .or_else(|| state.deliveries.get(&key).map(|(_, id)| *id));
            if let Some(id) = existing {
                outcomes.push(InsertOutcome::Duplicate(id));
                continue;
            }
            self.check(&state, event)?;
            if registered.values().any(|id| *id == event.id) {
                return Err(StoreError::Duplicate(format!("webhook event {}", event.id)));
            }
            registered.insert(key, event.id);
            outcomes.push(InsertOutcome::Inserted(event.id));
        }
        for (event, outcome) in events.iter().zip(&outcomes) {
            if let InsertOutcome::Inserted(id) = outcome {
                state.deliveries.insert(
                    (event.provider, event.delivery_id.clone()),
                    (event.received_at, *id),
                );
                let size = event.payload.len() as u64;
                state
                    .events
                    .insert(*id, stored(event, WebhookEventStatus::Received, None, size));
            }
        }
        Ok(outcomes)
    }

    async fn record_rejected(
        &self,
        rejected: &[RejectedWebhookEvent],
        keep_at_most: u64,
    ) -> Result<u64, StoreError> {
        let mut state = self.state();
        for (i, r) in rejected.iter().enumerate() {
            self.check(&state, &r.event)?;
            if rejected[..i].iter().any(|o| o.event.id == r.event.id) {
                return Err(StoreError::Duplicate(format!(
                    "webhook event {}",
                    r.event.id
                )));
            }
        }
        for r in rejected {
            state.events.insert(
                r.event.id,
                stored(
                    &r.event,
                    WebhookEventStatus::Rejected,
                    Some(&r.reason),
                    r.payload_size,
                ),
            );
        }
        Ok(trim_rejected(&mut state, keep_at_most))
    }

    async fn prune_rejected(
        &self,
        before: Timestamp,
        keep_at_most: u64,
    ) -> Result<u64, StoreError> {
        let mut state = self.state();
        let count = state.events.len();
        state.events.retain(|_, d| {
            d.event.status != WebhookEventStatus::Rejected || d.event.received_at >= before
        });
        let aged = (count - state.events.len()) as u64;
        Ok(aged + trim_rejected(&mut state, keep_at_most))
    }

    async fn get_event(
        &self,
        id: WebhookEventId,
    ) -> Result<Option<WebhookEventDetail>, StoreError> {
        Ok(self.state().events.get(&id).cloned())
    }

    async fn list_events(&self, query: &WebhookEventQuery) -> Result<WebhookEventPage, StoreError> {
        let size = query.page_size() as usize;
        let state = self.state();
        let mut events: Vec<WebhookEvent> = state
            .events
            .values()
            .rev()
            .map(|d| &d.event)
            .filter(|e| query.before.is_none_or(|b| e.id < b) && query.matches(e))
            .take(size + 1)
            .cloned()
            .collect();
        let next = if events.len() > size {
            events.truncate(size);
            events.last().map(|e| e.id)
        } else {
            None
        };
        Ok(WebhookEventPage { events, next })
    }

    async fn unprocessed(&self, limit: u32) -> Result<Vec<WebhookEvent>, StoreError> {
        Ok(self
            .state()
            .events
            .values()
            .map(|d| &d.event)
            .filter(|e| e.status == WebhookEventStatus::Received)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn count_unprocessed(&self) -> Result<u64, StoreError> {
        Ok(self
            .state()
            .events
            .values()
            .filter(|d| d.event.status == WebhookEventStatus::Received)
            .count() as u64)
    }

    async fn finish(&self, id: WebhookEventId, finish: &EventFinish) -> Result<bool, StoreError> {
        let mut state = self.state();
        let event = &mut state.events.get_mut(&id).ok_or(StoreError::NotFound)?.event;
        if event.status != WebhookEventStatus::Received {
            return Ok(false);
        }
        event.status = finish.status;
        event.reason = finish.reason.clone();
        event.build_ids = finish.build_ids.clone();
        event.processed_at = Some(finish.at);
        Ok(true)
    }

    async fn approve(&self, id: WebhookEventId, approval: &Approval) -> Result<bool, StoreError> {
        let mut state = self.state();
        let event = &mut state.events.get_mut(&id).ok_or(StoreError::NotFound)?.event;
        if event.status != WebhookEventStatus::AwaitingApproval {
            return Ok(false);
        }
        event.status = WebhookEventStatus::Received;
        event.reason = None;
        event.processed_at = None;
        event.approval = Some(approval.clone());
        Ok(true)
    }

    async fn requeue(&self, id: WebhookEventId) -> Result<bool, StoreError> {
        let mut state = self.state();
        let event = &mut state.events.get_mut(&id).ok_or(StoreError::NotFound)?.event;
        if !event.status.is_finished() {
            return Ok(false);
        }
        event.status = WebhookEventStatus::Received;
        event.reason = None;
        event.build_ids.clear();
        event.processed_at = None;
        Ok(true)
    }

    async fn forget_deliveries_before(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.deliveries.len();
        state.deliveries.retain(|_, (at, _)| *at >= cutoff);
        Ok((before - state.deliveries.len()) as u64)
    }
}

/// Deletes the oldest rejected events (by id) beyond `keep`; returns how many.
fn trim_rejected(state: &mut State, keep: u64) -> u64 {
    let rejected: Vec<WebhookEventId> = state
        .events
        .values()
        .filter(|d| d.event.status == WebhookEventStatus::Rejected)
        .map(|d| d.event.id)
        .collect();
    let excess = rejected
        .len()
        .saturating_sub(usize::try_from(keep).unwrap_or(usize::MAX));
    for id in &rejected[..excess] {
        state.events.remove(id);
    }
    excess as u64
}
