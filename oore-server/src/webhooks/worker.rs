//! The webhook event worker (spec 15.1, 15.2): processes every `received` event, oldest
//! first, with `process_event`, one at a time, so events of a repository take effect in
//! arrival order.
//!
//! The database is the queue (design decision 1): each pass reads
//! `unprocessed(RECOVERY_BATCH)` until nothing is left, so the backlog found at startup
//! is worked off in batches of 100 like everything else, and a requeued (redelivered)
//! event is found the same way. The writer and the redeliver endpoint only wake the
//! worker (a `Notify`); a slow safety tick looks again even without a wake.
//!
//! A store failure leaves the event `received`: the worker backs off and tries again.
//! An event that fails for another reason [`MAX_ATTEMPTS`] times in a row is recorded
//! `failed` with the error, so it cannot block the events behind it; a database that is
//! unavailable never fails events.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use oore_core::domain::webhook::WebhookEventStatus;
use oore_core::ids::WebhookEventId;
use oore_core::ports::{BuildSignals, EventFinish, StoreError};
use oore_core::services::Services;
use oore_core::usecases::webhook::{ProcessEventError, ProcessSettings, process_event};
use oore_core::webhook::RECOVERY_BATCH;
use tokio::sync::{Notify, watch};

/// Attempts at an event whose processing fails (not for an unavailable database) before
/// it is recorded `failed`.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// Wait after a store failure before looking again.
const STORE_BACKOFF: Duration = Duration::from_secs(2);

/// The worker's state.
pub(crate) struct EventWorker {
    /// Stores, clock, ids.
    pub(crate) services: Services,
    /// Wakes the build dispatcher for new builds and cancels superseded ones.
    pub(crate) signals: Arc<dyn BuildSignals>,
    /// `OORE_PIPELINE_PRECEDENCE`.
    pub(crate) settings: ProcessSettings,
    /// Notified by the writer and the redeliver endpoint.
    pub(crate) wake: Arc<Notify>,
    /// Look at the queue at least this often, woken or not.
    pub(crate) tick: Duration,
}

impl EventWorker {
    /// Works off the backlog, then every event as it is woken for, until `stop` turns
    /// true. The event being processed when it does is finished first.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        match self.services.webhooks.count_unprocessed().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                waiting = n,
                "webhook recovery: {n} received event(s) waiting; processing them in arrival order, {RECOVERY_BATCH} at a time"
            ),
            Err(e) => tracing::warn!(error = %e, "counting waiting webhook events failed"),
        }
        let mut attempts: HashMap<WebhookEventId, u32> = HashMap::new();
        loop {
            if *stop.borrow() {
                break;
            }
            let backoff = self.drain(&stop, &mut attempts).await;
            tokio::select! {
                () = self.wake.notified(), if backoff.is_none() => {}
                () = tokio::time::sleep(backoff.unwrap_or(self.tick)) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
        tracing::debug!("webhook worker stopped");
    }

    /// Processes received events until none is left; `Some(wait)` when it stopped on a
    /// store failure.
    async fn drain(
        &self,
        stop: &watch::Receiver<bool>,
        attempts: &mut HashMap<WebhookEventId, u32>,
    ) -> Option<Duration> {
        let svc = &self.services;
        loop {
            let events = match svc.webhooks.unprocessed(RECOVERY_BATCH).await {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the webhook queue failed; retrying");
                    return Some(STORE_BACKOFF);
                }
            };
            if events.is_empty() {
                return None;
            }
            for event in events {
                if *stop.borrow() {
                    return None;
                }
                let id = event.id;
                match process_event(svc, &*self.signals, &self.settings, id).await {
                    Ok(outcome) => {
                        attempts.remove(&id);
                        if !outcome.already_finished {
                            tracing::info!(
                                event_id = %id,
                                repository_id = ?event.repository_id,
                                event_type = %event.event_type,
                                status = %outcome.status,
                                builds = outcome.created.len(),
                                cancelled = outcome.cancelled.len(),
                                reason = outcome.reason.as_deref().unwrap_or(""),
                                "webhook event processed"
                            );
                        }
                    }
                    Err(ProcessEventError::NotFound(_)) => {
                        attempts.remove(&id);
                    }
                    Err(ProcessEventError::Store(e)) => {
                        if matches!(e, StoreError::Unavailable(_)) {
                            tracing::warn!(event_id = %id, error = %e, "processing a webhook event failed: the database is unavailable; retrying");
                            return Some(STORE_BACKOFF);
                        }
                        let n = attempts.entry(id).or_insert(0);
                        *n += 1;
                        if *n < MAX_ATTEMPTS {
                            tracing::warn!(event_id = %id, attempt = *n, error = %e, "processing a webhook event failed; retrying");
                            return Some(STORE_BACKOFF);
                        }
                        attempts.remove(&id);
                        self.give_up(id, &e).await;
                    }
                }
            }
        }
    }

    /// Records `id` as failed after [`MAX_ATTEMPTS`].
    async fn give_up(&self, id: WebhookEventId, error: &StoreError) {
        let svc = &self.services;
        let finish = EventFinish {
            status: WebhookEventStatus::Failed,
            reason: Some(format!(
                "processing failed {MAX_ATTEMPTS} times: {error}; once the cause is fixed, run `oore webhook redeliver {id}`"
            )),
            build_ids: Vec::new(),
            at: svc.clock.now(),
        };
        match svc.webhooks.finish(id, &finish).await {
            Ok(_) => {
                tracing::error!(event_id = %id, error = %error, "webhook event recorded failed after {MAX_ATTEMPTS} attempts");
            }
            Err(e) => {
                tracing::error!(event_id = %id, error = %e, "recording a webhook event failed")
            }
        }
    }
}
