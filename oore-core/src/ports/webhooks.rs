//! The webhook event store: every delivery a receiver accepted or rejected, the replay
//! window of delivery ids, and the queue of events waiting to be processed. The database
//! is the queue (design decision 1): a `received` row is the only record that an event
//! waits; in-memory channels only say "look again".

use async_trait::async_trait;
use jiff::Timestamp;

use super::StoreError;
use crate::domain::repository::Provider;
use crate::domain::webhook::{Approval, WebhookEvent, WebhookEventDetail, WebhookEventStatus};
use crate::ids::{BuildId, RepositoryId, WebhookEventId};

/// A delivery to store, as the receiver built it (see
/// [`crate::usecases::webhook::admit_delivery`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhookEvent {
    /// The id it gets if it is stored (from the [`IdGen`](super::IdGen)).
    pub id: WebhookEventId,
    /// `github` or `gitlab`.
    pub provider: Provider,
    /// The delivery id that decides duplicates (unique per provider within the replay
    /// window).
    pub delivery_id: String,
    /// Event name as sent (`push`, `Merge Request Hook`, ...).
    pub event_type: String,
    /// The repository whose URL received it; `None` if the URL named none known.
    pub repository_id: Option<RepositoryId>,
    /// Headers, names lowercase, secrets removed.
    pub headers: Vec<(String, String)>,
    /// The body as received.
    pub payload: Vec<u8>,
    /// The sender's address.
    pub source_ip: Option<String>,
    /// When it arrived.
    pub received_at: Timestamp,
}

/// A delivery that failed verification, to record with
/// [`WebhookEventStore::record_rejected`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedWebhookEvent {
    /// The attempt; its payload is what is kept of the body (the receiver cuts it to
    /// [`REJECTED_PAYLOAD_LIMIT`](crate::webhook::REJECTED_PAYLOAD_LIMIT)).
    pub event: NewWebhookEvent,
    /// Why it was refused (stored as the event's reason).
    pub reason: String,
    /// The size of the body as received, in bytes.
    pub payload_size: u64,
}

/// What [`WebhookEventStore::insert_batch`] did with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored as `received` under its id; its delivery id is now registered.
    Inserted(WebhookEventId),
    /// Its (provider, delivery id) was already registered, earlier in the same batch or
    /// before: nothing was stored, and this is the event that registered it.
    Duplicate(WebhookEventId),
}

impl InsertOutcome {
    /// The stored event's id (the new one, or the one that was there first).
    pub fn event_id(self) -> WebhookEventId {
        match self {
            Self::Inserted(id) | Self::Duplicate(id) => id,
        }
    }

    /// True for [`InsertOutcome::Duplicate`].
    pub fn is_duplicate(self) -> bool {
        matches!(self, Self::Duplicate(_))
    }
}

/// Which events to list. Filters combine with AND; newest first, keyset-paginated by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookEventQuery {
    /// Only this repository.
    pub repository_id: Option<RepositoryId>,
    /// Only this provider.
    pub provider: Option<Provider>,
    /// Only events with one of these names (exact, as stored); empty: any. See
    /// [`event_names_for`](crate::webhook::event_names_for) for what a user's term
    /// stands for.
    pub event_types: Vec<String>,
    /// Only this status.
    pub status: Option<WebhookEventStatus>,
    /// Page size: 0 means [`WebhookEventQuery::DEFAULT_LIMIT`], more than
    /// [`WebhookEventQuery::MAX_LIMIT`] means the maximum.
    pub limit: u32,
    /// Keyset cursor: continue with events older than this one (exclusive).
    pub before: Option<WebhookEventId>,
}

impl WebhookEventQuery {
    /// The page size when `limit` is 0.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page a store returns.
    pub const MAX_LIMIT: u32 = 200;

    /// The number of events a page of this query holds at most.
    pub fn page_size(&self) -> u32 {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }

    /// Whether `event` passes every filter (not the cursor or the limit).
    pub fn matches(&self, event: &WebhookEvent) -> bool {
        self.repository_id
            .is_none_or(|r| event.repository_id == Some(r))
            && self.provider.is_none_or(|p| p == event.provider)
            && (self.event_types.is_empty() || self.event_types.contains(&event.event_type))
            && self.status.is_none_or(|s| s == event.status)
    }
}

/// One page of events, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEventPage {
    /// The events.
    pub events: Vec<WebhookEvent>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next: Option<WebhookEventId>,
}

/// How processing ended, written by [`WebhookEventStore::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFinish {
    /// `processed`, `ignored`, `failed` or `awaiting_approval`.
    pub status: WebhookEventStatus,
    /// Why it was ignored or failed (`None` when processed).
    pub reason: Option<String>,
    /// The builds it created or reused.
    pub build_ids: Vec<BuildId>,
    /// When processing finished.
    pub at: Timestamp,
}

/// Persistent webhook events and the delivery-id replay window.
#[async_trait]
pub trait WebhookEventStore: Send + Sync {
    /// Stores accepted deliveries, all in ONE transaction (group commit: the receiver
    /// batches concurrent deliveries through one writer), and returns one outcome per
    /// event, in order.
    ///
    /// For each event, in order: if its (provider, delivery id) is registered (by an
    /// earlier call or an earlier event of this batch), it MUST NOT be stored and its
    /// outcome MUST be `Duplicate(<the registering event>)`; otherwise it MUST be stored
    /// with status `received` and its delivery id registered, atomically, and its outcome
    /// is `Inserted(event.id)`. Concurrent calls with the same delivery id MUST yield
    /// exactly one `Inserted`. Nothing is visible before the transaction commits, and
    /// when this returns `Ok` everything is durable.
    ///
    /// MUST fail as a whole, storing nothing, on a store failure, or with `NotFound` if
    /// an event names a `repository_id` that was never stored (a removed repository
    /// still counts as stored), or with `Duplicate` if an event id is already used.
    async fn insert_batch(
        &self,
        events: &[NewWebhookEvent],
    ) -> Result<Vec<InsertOutcome>, StoreError>;

    /// Stores deliveries that failed verification, all in ONE transaction, each with
    /// status `rejected`, its reason and its received size, then deletes the oldest
    /// rejected events (by id) until at most `keep_at_most` are left, and returns how
    /// many it deleted. Rejected attempts are unauthenticated, so the bound must hold
    /// after every call: they cannot fill the disk.
    ///
    /// MUST NOT register their delivery ids: a rejected attempt never makes a later,
    /// valid delivery with the same id a duplicate. Same `NotFound`/`Duplicate` rules as
    /// [`WebhookEventStore::insert_batch`] (failing as a whole, storing nothing).
    async fn record_rejected(
        &self,
        rejected: &[RejectedWebhookEvent],
        keep_at_most: u64,
    ) -> Result<u64, StoreError>;

    /// Retention of rejected attempts: deletes the rejected events received before
    /// `before`, then the oldest (by id) beyond `keep_at_most`, and returns how many it
    /// deleted. MUST NOT touch events of any other status.
    async fn prune_rejected(&self, before: Timestamp, keep_at_most: u64)
    -> Result<u64, StoreError>;

    /// The event with its headers and payload. MUST return `None` for unknown ids.
    async fn get_event(&self, id: WebhookEventId)
    -> Result<Option<WebhookEventDetail>, StoreError>;

    /// Events matching `query`, newest first (by id), without headers or payloads.
    /// MUST return at most [`WebhookEventQuery::page_size`] events, and `next` exactly
    /// when more events match after the last one returned.
    async fn list_events(&self, query: &WebhookEventQuery) -> Result<WebhookEventPage, StoreError>;

    /// Up to `limit` events in status `received`, oldest first (arrival order, by id):
    /// the work queue, read again after a restart (spec 16, batches of 100).
    async fn unprocessed(&self, limit: u32) -> Result<Vec<WebhookEvent>, StoreError>;

    /// How many events are in status `received` (for queue backpressure).
    async fn count_unprocessed(&self) -> Result<u64, StoreError>;

    /// Compare-and-set: moves event `id` from `received` to `finish.status` (processed,
    /// ignored or failed; the caller checked the transition with
    /// [`WebhookEventStatus::transition`]) and writes reason, build ids and time.
    /// MUST return `Ok(false)` and change nothing if the event is not `received` (so of
    /// two workers finishing one event, exactly one wins), and `NotFound` if it does not
    /// exist.
    async fn finish(&self, id: WebhookEventId, finish: &EventFinish) -> Result<bool, StoreError>;

    /// [`finish`](Self::finish) for several events, in one transaction where the store
    /// has them: each result says whether that event was moved. An event that does not
    /// exist gives `false` (not `NotFound`); a store failure changes nothing at all.
    /// The event worker records a whole batch of outcomes this way, with one commit.
    async fn finish_all(
        &self,
        finishes: &[(WebhookEventId, EventFinish)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut results = Vec::with_capacity(finishes.len());
        for (id, finish) in finishes {
            results.push(match self.finish(*id, finish).await {
                Err(StoreError::NotFound) => false,
                other => other?,
            });
        }
        Ok(results)
    }

    /// Redelivery: moves a processed, ignored, failed or awaiting_approval event back to
    /// `received`, clearing its reason, processing time and build ids (but not its
    /// approval), so it is processed again. MUST return `Ok(false)` and change nothing if
    /// it is `received` or `rejected` (rejected is final), and `NotFound` if it does not
    /// exist.
    async fn requeue(&self, id: WebhookEventId) -> Result<bool, StoreError>;

    /// Approval, a compare-and-set: moves event `id` from `awaiting_approval` to
    /// `received`, recording `approval` and clearing its reason and processing time, so
    /// the worker processes it again, now allowed to build. MUST return `Ok(false)` and
    /// change nothing if the event is not `awaiting_approval` (so of two approvals at
    /// once exactly one wins), and `NotFound` if it does not exist.
    async fn approve(&self, id: WebhookEventId, approval: &Approval) -> Result<bool, StoreError>;

    /// Ends the replay window: forgets the delivery ids registered before `cutoff`
    /// (a later delivery with such an id is stored as a new event), returning how many.
    /// MUST NOT delete events: they stay as the audit trail.
    async fn forget_deliveries_before(&self, cutoff: Timestamp) -> Result<u64, StoreError>;
}
