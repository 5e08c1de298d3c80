//! The webhook writer: one task, the only caller of `insert_batch` (design decision 2).
//!
//! Receivers send `(event, reply)` through a bounded channel and wait for the reply. The
//! task takes the first waiting delivery and whatever else is queued behind it (up to
//! [`MAX_BATCH`]), commits them all with ONE `insert_batch` (one transaction, one
//! fsync), and only then answers each: inserted or duplicate, plus the unprocessed
//! backlog after the commit. Under load, batches grow by themselves while a commit is in
//! flight; alone, a delivery is committed at once.
//!
//! If a batch fails for a reason other than an unavailable database (some event of it
//! names a repository row that vanished, say), its events are committed one by one, so
//! one bad event never costs the others their acknowledgement.
//!
//! Rejected attempts (a signature or token that did not verify) come the same way and
//! are recorded with one `record_rejected` per batch, which keeps at most
//! `OORE_REJECTED_MAX_ROWS` of them; receivers hand over only a few at a time (see
//! `Webhooks::record_rejected`), so a flood of them cannot crowd out real deliveries.
//!
//! The backlog it reports is an upper bound that is cheap to keep: the last
//! `count_unprocessed` plus what was inserted since, recounted every [`RECOUNT_AFTER`],
//! and always recounted before it would exceed the queue capacity, so a receiver answers
//! 503 only on a real count (counting on every batch would cost a scan of the backlog
//! per commit exactly when the queue is long).
//!
//! On shutdown the queue is closed once the HTTP server has stopped, and what is still
//! in it is committed before the task ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use oore_core::ports::{InsertOutcome, NewWebhookEvent, RejectedWebhookEvent, StoreError};
use oore_core::services::Services;
use tokio::sync::{Notify, mpsc, oneshot};

/// Most deliveries committed in one transaction.
pub(crate) const MAX_BATCH: usize = 256;

/// Deliveries waiting for the writer before senders wait too.
const QUEUE_DEPTH: usize = 1024;

/// The backlog estimate is replaced by a real count at least this often.
const RECOUNT_AFTER: Duration = Duration::from_millis(100);

/// A committed delivery, as the receiver learns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Stored now, or the event that registered its delivery id before.
    pub(crate) outcome: InsertOutcome,
    /// Events in status `received` right after the commit, at most (`None` when it
    /// could not be counted, or nothing new was stored). Above the queue capacity it is
    /// always a fresh count.
    pub(crate) backlog: Option<u64>,
}

type Reply = oneshot::Sender<Result<Stored, StoreError>>;
type RejectReply = oneshot::Sender<Result<(), StoreError>>;

/// What a receiver hands over.
enum Pending {
    /// A verified delivery.
    Accept(NewWebhookEvent, Reply),
    /// A refused one, to record.
    Reject(RejectedWebhookEvent, RejectReply),
}

/// The receivers' end of the queue.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    tx: mpsc::Sender<Pending>,
}

/// The writer's end of the queue, until [`run`] takes it.
pub(crate) struct WriterQueue {
    rx: mpsc::Receiver<Pending>,
}

/// A new queue between receivers and the writer.
pub(crate) fn queue() -> (WriterHandle, WriterQueue) {
    let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
    (WriterHandle { tx }, WriterQueue { rx })
}

impl WriterHandle {
    /// Queues `event` and waits until it is committed.
    pub(crate) async fn store(&self, event: NewWebhookEvent) -> Result<Stored, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending::Accept(event, reply))
            .await
            .map_err(|_| StoreError::Unavailable("the server is shutting down".to_owned()))?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the webhook writer stopped before answering".to_owned())
        })?
    }

    /// Queues a rejected attempt and waits until it is recorded.
    pub(crate) async fn record_rejected(
        &self,
        rejected: RejectedWebhookEvent,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending::Reject(rejected, reply))
            .await
            .map_err(|_| StoreError::Unavailable("the server is shutting down".to_owned()))?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the webhook writer stopped before answering".to_owned())
        })?
    }
}

/// The unprocessed backlog as the writer tracks it (see the module doc).
#[derive(Debug)]
struct Backlog {
    capacity: u64,
    counted: Option<(u64, Instant)>,
    inserted_since: u64,
}

impl Backlog {
    /// The backlog after `inserted` more events were stored.
    async fn after(&mut self, services: &Services, inserted: u64) -> Option<u64> {
        self.inserted_since += inserted;
        if let Some((n, at)) = self.counted {
            let estimate = n + self.inserted_since;
            if at.elapsed() < RECOUNT_AFTER && estimate <= self.capacity {
                return Some(estimate);
            }
        }
        match services.webhooks.count_unprocessed().await {
            Ok(n) => {
                self.counted = Some((n, Instant::now()));
                self.inserted_since = 0;
                Some(n)
            }
            Err(e) => {
                tracing::warn!(error = %e, "counting unprocessed webhook events failed");
                self.counted = None;
                None
            }
        }
    }
}

/// What the writer needs to know of the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriterLimits {
    /// `OORE_WEBHOOK_QUEUE_CAPACITY`.
    pub(crate) capacity: u64,
    /// `OORE_REJECTED_MAX_ROWS`.
    pub(crate) rejected_max_rows: u64,
}

/// Commits queued deliveries until `stop` fires (or every sender is gone), then commits
/// what is left in the queue and returns. Wakes the event worker through `wake` after a
/// commit that stored something new.
pub(crate) async fn run(
    services: Services,
    queue: WriterQueue,
    wake: Arc<Notify>,
    limits: WriterLimits,
    stop: oneshot::Receiver<()>,
) {
    let capacity = limits.capacity;
    let mut backlog = Backlog {
        capacity,
        counted: None,
        inserted_since: 0,
    };
    let mut rx = queue.rx;
    let mut stop = Some(stop);
    loop {
        let first = match stop.as_mut() {
            Some(signal) => tokio::select! {
                biased;
                pending = rx.recv() => pending,
                _ = signal => {
                    // No new deliveries; the ones queued are still received below.
                    stop = None;
                    rx.close();
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(first) = first else { break };
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let (accepted, rejected): (Vec<Pending>, Vec<Pending>) = batch
            .into_iter()
            .partition(|p| matches!(p, Pending::Accept(..)));
        let accepted = accepted
            .into_iter()
            .filter_map(|p| match p {
                Pending::Accept(event, reply) => Some((event, reply)),
                Pending::Reject(..) => None,
            })
            .collect::<Vec<_>>();
        let rejected = rejected
            .into_iter()
            .filter_map(|p| match p {
                Pending::Reject(record, reply) => Some((record, reply)),
                Pending::Accept(..) => None,
            })
            .collect::<Vec<_>>();
        if !accepted.is_empty() {
            commit(&services, accepted, &wake, &mut backlog).await;
        }
        if !rejected.is_empty() {
            record(&services, rejected, limits.rejected_max_rows).await;
        }
    }
    tracing::debug!("webhook writer stopped");
}

/// Records refused attempts with one `record_rejected` (one by one if that fails for
/// another reason than an unavailable database), and answers each.
async fn record(services: &Services, batch: Vec<(RejectedWebhookEvent, RejectReply)>, keep: u64) {
    let (records, replies): (Vec<RejectedWebhookEvent>, Vec<RejectReply>) =
        batch.into_iter().unzip();
    let store = &services.webhooks;
    let results: Vec<Result<(), StoreError>> = match store.record_rejected(&records, keep).await {
        Ok(trimmed) => {
            tracing::debug!(
                recorded = records.len(),
                trimmed,
                "rejected webhook attempts recorded"
            );
            records.iter().map(|_| Ok(())).collect()
        }
        Err(e) if records.len() > 1 && !matches!(e, StoreError::Unavailable(_)) => {
            let mut results = Vec::with_capacity(records.len());
            for r in &records {
                results.push(
                    store
                        .record_rejected(std::slice::from_ref(r), keep)
                        .await
                        .map(drop),
                );
            }
            results
        }
        Err(e) => records.iter().map(|_| Err(e.clone())).collect(),
    };
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}

async fn commit(
    services: &Services,
    batch: Vec<(NewWebhookEvent, Reply)>,
    wake: &Notify,
    backlog: &mut Backlog,
) {
    let (events, replies): (Vec<NewWebhookEvent>, Vec<Reply>) = batch.into_iter().unzip();
    let store = &services.webhooks;
    let results: Vec<Result<InsertOutcome, StoreError>> = match store.insert_batch(&events).await {
        Ok(outcomes) if outcomes.len() == events.len() => outcomes.into_iter().map(Ok).collect(),
        Ok(outcomes) => {
            let e = StoreError::Other(format!(
                "insert_batch answered {} outcomes for {} events",
                outcomes.len(),
                events.len()
            ));
            tracing::error!(error = %e, "webhook batch");
            events.iter().map(|_| Err(e.clone())).collect()
        }
        Err(e) if events.len() > 1 && !matches!(e, StoreError::Unavailable(_)) => {
            tracing::warn!(error = %e, events = events.len(), "a webhook batch failed; committing its events one by one");
            let mut results = Vec::with_capacity(events.len());
            for event in &events {
                results.push(
                    store
                        .insert_batch(std::slice::from_ref(event))
                        .await
                        .and_then(|mut o| {
                            o.pop().ok_or_else(|| {
                                StoreError::Other("insert_batch answered no outcome".to_owned())
                            })
                        }),
                );
            }
            results
        }
        Err(e) => {
            tracing::warn!(error = %e, events = events.len(), "a webhook batch could not be stored");
            events.iter().map(|_| Err(e.clone())).collect()
        }
    };
    let inserted = results
        .iter()
        .filter(|r| matches!(r, Ok(InsertOutcome::Inserted(_))))
        .count();
    let backlog = if inserted > 0 {
        wake.notify_one();
        backlog.after(services, inserted as u64).await
    } else {
        None
    };
    tracing::debug!(
        batch = events.len(),
        inserted,
        backlog,
        "webhook batch committed"
    );
    for (reply, result) in replies.into_iter().zip(results) {
        // A receiver that gave up (client gone, timeout) no longer waits: fine, the
        // event is stored and a redelivery is answered as a duplicate.
        let _ = reply.send(result.map(|outcome| Stored { outcome, backlog }));
    }
}

#[cfg(test)]
mod tests {
    use oore_core::domain::repository::Provider;
    use oore_core::ids::WebhookEventId;
    use tokio::task::JoinSet;

    use super::*;

    use crate::webhooks::recording::setup;

    fn event(services: &Services, delivery: &str) -> NewWebhookEvent {
        NewWebhookEvent {
            id: WebhookEventId::from_ulid(services.ids.new_ulid()),
            provider: Provider::GitHub,
            delivery_id: delivery.to_owned(),
            event_type: "push".to_owned(),
            repository_id: None,
            headers: Vec::new(),
            payload: b"{}".to_vec(),
            source_ip: None,
            received_at: services.clock.now(),
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Sends each delivery from its own task, then starts the writer: everything queued
    /// meanwhile is one batch. Returns the answers in sending order.
    async fn store_all(
        services: &Services,
        deliveries: &[&str],
        stop_first: bool,
    ) -> Vec<Result<Stored, StoreError>> {
        let (handle, queue) = queue();
        let wake = Arc::new(Notify::new());
        let mut senders = JoinSet::new();
        for (i, delivery) in deliveries.iter().enumerate() {
            let (handle, event) = (handle.clone(), event(services, delivery));
            senders.spawn(async move { (i, handle.store(event).await) });
        }
        drop(handle);
        // Let every sender queue its delivery before the writer looks.
        while !senders.is_empty() && queue.rx.len() < deliveries.len() {
            tokio::task::yield_now().await;
        }
        let (stop_tx, stop_rx) = oneshot::channel();
        if stop_first {
            stop_tx.send(()).unwrap();
        }
        let limits = WriterLimits {
            capacity: 1000,
            rejected_max_rows: 10,
        };
        let writer = tokio::spawn(run(services.clone(), queue, wake.clone(), limits, stop_rx));
        let mut answers: Vec<_> = senders.join_all().await;
        answers.sort_by_key(|(i, _)| *i);
        writer.await.unwrap();
        answers.into_iter().map(|(_, a)| a).collect()
    }

    #[test]
    fn waiting_deliveries_are_committed_in_one_batch_and_duplicates_named() {
        let (services, recording) = setup();
        let mut deliveries: Vec<String> = (0..30).map(|i| format!("d{i}")).collect();
        deliveries.extend((0..20).map(|_| "same".to_owned()));
        let refs: Vec<&str> = deliveries.iter().map(String::as_str).collect();
        let answers = runtime().block_on(store_all(&services, &refs, false));
        assert_eq!(*recording.batches.lock().unwrap(), [50], "one transaction");
        let outcomes: Vec<InsertOutcome> = answers
            .iter()
            .map(|a| a.as_ref().unwrap().outcome)
            .collect();
        assert!(outcomes[..31].iter().all(|o| !o.is_duplicate()));
        let first_same = outcomes[30].event_id();
        assert!(
            outcomes[31..]
                .iter()
                .all(|o| *o == InsertOutcome::Duplicate(first_same)),
            "{outcomes:?}"
        );
        assert_eq!(answers[0].as_ref().unwrap().backlog, Some(31));
    }

    #[test]
    fn a_poisoned_batch_is_committed_one_by_one() {
        let (services, recording) = setup();
        let answers = runtime().block_on(store_all(&services, &["a", "poison", "b"], false));
        assert_eq!(*recording.batches.lock().unwrap(), [3, 1, 1, 1]);
        assert!(answers[0].is_ok() && answers[2].is_ok(), "{answers:?}");
        assert_eq!(answers[1], Err(StoreError::NotFound));
    }

    #[test]
    fn the_backlog_is_estimated_between_counts_and_counted_above_capacity() {
        let (services, _) = setup();
        let rt = runtime();
        let mut backlog = Backlog {
            capacity: 3,
            counted: None,
            inserted_since: 0,
        };
        rt.block_on(store_all(&services, &["a", "b"], false));
        assert_eq!(rt.block_on(backlog.after(&services, 0)), Some(2), "counted");
        assert_eq!(
            rt.block_on(backlog.after(&services, 1)),
            Some(3),
            "estimated"
        );
        // An estimate over the capacity is never reported: it is recounted.
        assert_eq!(rt.block_on(backlog.after(&services, 5)), Some(2));
    }

    #[test]
    fn a_stopped_writer_still_commits_what_was_queued() {
        let (services, recording) = setup();
        let answers = runtime().block_on(store_all(&services, &["x", "y"], true));
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(*recording.batches.lock().unwrap(), [2]);
    }
}
