//! Webhook ingestion (spec 6.1, 10.3, 16, 20): admit deliveries, process received
//! events into builds, read events, redeliver them.
//!
//! The pieces `oored` wires together:
//!
//! - the receiver calls [`find_receiver`] before reading the body (no repository, no
//!   secret: 401 at once, nothing stored) and [`admit_delivery`] with it, stores accepted
//!   events through one batching writer ([`WebhookEventStore::insert_batch`]) and rejected
//!   ones, bounded, with [`WebhookEventStore::record_rejected`], answers only after the
//!   commit, then wakes the worker;
//! - pull/merge requests from forks end `awaiting_approval` (the repository's
//!   [`ForkPolicy`](crate::domain::repository::ForkPolicy));
//!   [`approve_webhook_event`] lets one build, once; [`build_from_fork`] tells later
//!   features (secrets, signing, caches) which builds must get none of them;
//! - the worker takes [`WebhookEventStore::unprocessed`] in arrival order (at startup
//!   too), calls [`prepare_event`] for each, and records the batch's outcomes with one
//!   [`record_outcomes`] (one commit instead of one per event);
//! - a cleanup task calls [`WebhookEventStore::forget_deliveries_before`] with now
//!   minus 24 hours (the replay window) and [`prune_rejected_events`];
//! - the API lists ([`list_webhook_events`]), shows ([`get_webhook_event`]) and
//!   redelivers ([`redeliver_webhook_event`]) events.
//!
//! [`WebhookEventStore::insert_batch`]: crate::ports::WebhookEventStore::insert_batch
//! [`WebhookEventStore::record_rejected`]: crate::ports::WebhookEventStore::record_rejected
//! [`WebhookEventStore::unprocessed`]: crate::ports::WebhookEventStore::unprocessed
//! [`WebhookEventStore::forget_deliveries_before`]: crate::ports::WebhookEventStore::forget_deliveries_before

mod approve;
mod fork;
mod process;
mod query;
mod receive;
mod redeliver;
mod retention;

pub use approve::{ApproveError, DEFAULT_APPROVER, approve_webhook_event};
pub use fork::build_from_fork;
pub use process::{
    PendingOutcome, Prepared, ProcessEventError, ProcessOutcome, ProcessSettings, prepare_event,
    process_event, record_outcomes,
};
pub use query::{WebhookQueryError, get_webhook_event, list_webhook_events};
pub use receive::{Admission, admit_delivery, find_receiver};
pub use redeliver::{RedeliverError, redeliver_webhook_event};
pub use retention::{RejectedRetention, prune_rejected_events};

#[cfg(test)]
mod tests;
