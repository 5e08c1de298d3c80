//! The webhook event worker (spec 15.1, 15.2): processes every `received` event, oldest
//! first, with `prepare_event`, one at a time, so events of a repository take effect in
//! arrival order. The outcomes of a batch are recorded together with `record_outcomes`
//! (one commit), before the next batch is read: under a burst of deliveries the worker
//! then costs the single writer connection one commit per batch instead of one per
//! event, leaving it to the receivers. An outcome not recorded yet (a crash, a store
//! failure) only means the event is prepared again, which finds its builds.
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
use oore_core::usecases::webhook::{
    PendingOutcome, Prepared, ProcessEventError, ProcessSettings, prepare_event, record_outcomes,
};
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
            let mut pending = Vec::with_capacity(events.len());
            // `Some(answer)`: return `answer` once the outcomes so far are recorded.
            let mut leave_with = None;
            for event in events {
                if *stop.borrow() {
                    leave_with = Some(None);
                    break;
                }
                let id = event.id;
                match prepare_event(svc, &*self.signals, &self.settings, id).await {
                    Ok(prepared) => {
                        attempts.remove(&id);
                        if let Prepared::Pending(p) = prepared {
                            pending.push(*p);
                        }
                    }
                    Err(ProcessEventError::NotFound(_)) => {
                        attempts.remove(&id);
                    }
                    Err(ProcessEventError::Store(e)) => {
                        if matches!(e, StoreError::Unavailable(_)) {
                            tracing::warn!(event_id = %id, error = %e, "processing a webhook event failed: the database is unavailable; retrying");
                            leave_with = Some(Some(STORE_BACKOFF));
                            break;
                        }
                        let n = attempts.entry(id).or_insert(0);
                        *n += 1;
                        if *n < MAX_ATTEMPTS {
                            tracing::warn!(event_id = %id, attempt = *n, error = %e, "processing a webhook event failed; retrying");
                            leave_with = Some(Some(STORE_BACKOFF));
                            break;
                        }
                        attempts.remove(&id);
                        // Its predecessors' outcomes first, so the queue stays in order.
                        if let Some(wait) = self.record(std::mem::take(&mut pending)).await {
                            return Some(wait);
                        }
                        self.give_up(id, &e).await;
                    }
                }
            }
            if let Some(wait) = self.record(pending).await {
                return Some(wait);
            }
            if let Some(answer) = leave_with {
                return answer;
            }
        }
    }

    /// Records the outcomes of prepared events in one commit and logs them; `Some(wait)`
    /// when the store failed (the events stay `received` and are prepared again).
    async fn record(&self, pending: Vec<PendingOutcome>) -> Option<Duration> {
        if pending.is_empty() {
            return None;
        }
        let events: Vec<_> = pending.iter().map(|p| p.event.clone()).collect();
        match record_outcomes(&self.services, pending).await {
            Ok(outcomes) => {
                for (event, outcome) in events.iter().zip(outcomes) {
                    if outcome.already_finished {
                        continue;
                    }
                    tracing::info!(
                        event_id = %event.id,
                        repository_id = ?event.repository_id,
                        event_type = %event.event_type,
                        status = %outcome.status,
                        builds = outcome.build_ids.len(),
                        created = outcome.created.len(),
                        cancelled = outcome.cancelled.len(),
                        reason = outcome.reason.as_deref().unwrap_or(""),
                        "webhook event processed"
                    );
                }
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, events = events.len(), "recording webhook event outcomes failed; they are processed again");
                Some(STORE_BACKOFF)
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

#[cfg(test)]
mod tests {
    use oore_core::testing::RecordingSignals;
    use oore_core::testing::contract::sample_webhook_event;

    use super::*;
    use crate::webhooks::recording::setup;

    /// `n` stored events naming no repository: each is processed `ignored`.
    fn worker_with_events(n: usize) -> (EventWorker, Arc<crate::webhooks::recording::Recording>) {
        let (services, recording) = setup();
        let events: Vec<_> = (0..n as u128)
            .map(|i| sample_webhook_event(i, None))
            .collect();
        oore_core::testing::block_on(services.webhooks.insert_batch(&events)).unwrap();
        let worker = EventWorker {
            services,
            signals: Arc::new(RecordingSignals::default()),
            settings: ProcessSettings::default(),
            wake: Arc::new(Notify::new()),
            tick: Duration::from_secs(30),
        };
        (worker, recording)
    }

    fn drain(worker: &EventWorker) -> Option<Duration> {
        let (_stop_tx, stop) = watch::channel(false);
        oore_core::testing::block_on(worker.drain(&stop, &mut HashMap::new()))
    }

    #[test]
    fn the_outcomes_of_a_batch_are_recorded_with_one_store_call() {
        let (worker, recording) = worker_with_events(150);
        assert_eq!(drain(&worker), None);
        assert_eq!(
            *recording.finish_batches.lock().unwrap(),
            [100, 50],
            "one finish_all per batch read from the queue"
        );
        assert_eq!(*recording.finishes.lock().unwrap(), 0, "never one by one");
        let svc = &worker.services;
        assert_eq!(
            oore_core::testing::block_on(svc.webhooks.count_unprocessed()),
            Ok(0)
        );
        let page = oore_core::testing::block_on(svc.webhooks.list_events(
            &oore_core::ports::WebhookEventQuery {
                status: Some(WebhookEventStatus::Ignored),
                limit: 200,
                ..Default::default()
            },
        ))
        .unwrap();
        assert_eq!(page.events.len(), 150);
    }

    #[test]
    fn a_drained_queue_is_left_alone() {
        let (worker, recording) = worker_with_events(3);
        assert_eq!(drain(&worker), None);
        assert_eq!(drain(&worker), None);
        assert_eq!(*recording.finish_batches.lock().unwrap(), [3]);
    }
}
