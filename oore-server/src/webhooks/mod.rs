//! Webhook ingestion in `oored` (spec 6.1, 16, 20, 23; design decisions 1 and 2). The
//! core decides (`oore_core::usecases::webhook`); this module stores and schedules:
//!
//! - the receivers (`httpd/handlers/webhooks.rs`) verify a delivery with
//!   `admit_delivery` and hand the accepted event to [`Webhooks::store`], which returns
//!   only once the event's row is committed;
//! - the [`writer`] task is the one path into `insert_batch`: it takes whatever
//!   deliveries are waiting, commits them in one transaction (group commit), answers
//!   each, and reports the unprocessed backlog, so a receiver can answer 503 above
//!   `OORE_WEBHOOK_QUEUE_CAPACITY` while the event is stored all the same;
//! - the [`worker`] processes `received` events in arrival order. The rows are the
//!   queue; memory only wakes the worker (a [`Notify`]), so a restart loses nothing;
//! - [`RateLimiter`]: the optional per-source-address limit (`OORE_WEBHOOK_RATE_LIMIT`);
//! - [`InflightBudget`]: the bytes of webhook bodies read at once
//!   (`OORE_WEBHOOK_INFLIGHT_BYTES`);
//! - [`Refusals`]: requests refused before anything could be verified, counted per
//!   source instead of stored.
//!
//! What a stranger can cost: a request whose URL names no usable repository, or whose
//! source is outside `OORE_GITLAB_ALLOWED_CIDRS`, is answered before its body is read
//! and only counted; one to a real repository whose signature fails is recorded with
//! its first 16 KiB, at most `OORE_REJECTED_MAX_ROWS` of them, and only
//! [`REJECTED_IN_FLIGHT`] at a time (the others are counted); every body read holds its
//! bytes against `OORE_WEBHOOK_INFLIGHT_BYTES`.

mod body;
mod rate_limit;
#[cfg(test)]
mod recording;
mod refusals;
pub(crate) mod worker;
pub(crate) mod writer;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use oore_core::domain::repository::Provider;
use oore_core::ports::{NewWebhookEvent, RejectedWebhookEvent, StoreError};
use oore_core::usecases::webhook::RejectedRetention;
use tokio::sync::{Notify, Semaphore};

use crate::config::{Cidr, Config};

pub(crate) use body::{BodyError, InflightBudget};
pub(crate) use rate_limit::RateLimiter;
pub(crate) use refusals::{Refusal, Refusals};
pub(crate) use worker::EventWorker;
pub(crate) use writer::{Stored, WriterLimits, WriterQueue};

/// Rejected attempts being recorded at once, at most; beyond that they are counted
/// ([`Refusal::NotRecorded`]) instead, so a flood of bad signatures holds at most this
/// many cut bodies in memory and cannot fill the writer's queue.
pub(crate) const REJECTED_IN_FLIGHT: usize = 64;

/// The webhook settings of [`Config`].
#[derive(Debug, Clone)]
pub(crate) struct WebhookSettings {
    /// `OORE_MAX_WEBHOOK_BYTES`: larger bodies are refused with 413.
    pub(crate) max_body: usize,
    /// `OORE_WEBHOOK_QUEUE_CAPACITY`: above this many unprocessed events a receiver
    /// answers 503 (after storing the event).
    pub(crate) queue_capacity: u64,
    /// `OORE_WEBHOOK_RATE_LIMIT`: requests per minute per source address.
    pub(crate) rate_limit: Option<u32>,
    /// `OORE_GITLAB_ALLOWED_CIDRS`: where GitLab deliveries may come from (empty: anywhere).
    pub(crate) gitlab_allowed_cidrs: Vec<Cidr>,
    /// `OORE_WEBHOOK_INFLIGHT_BYTES`: body bytes read at once.
    pub(crate) inflight_bytes: u64,
    /// `OORE_REJECTED_RETENTION_HOURS` and `OORE_REJECTED_MAX_ROWS`.
    pub(crate) rejected: RejectedRetention,
}

impl WebhookSettings {
    /// From the server configuration.
    pub(crate) fn from_config(config: &Config) -> Self {
        Self {
            max_body: usize::try_from(config.max_webhook_bytes).unwrap_or(usize::MAX),
            queue_capacity: u64::try_from(config.webhook_queue_capacity).unwrap_or(u64::MAX),
            rate_limit: config.webhook_rate_limit,
            gitlab_allowed_cidrs: config.gitlab_allowed_cidrs.clone(),
            inflight_bytes: config.webhook_inflight_bytes,
            rejected: RejectedRetention {
                max_age: config.rejected_retention,
                max_rows: config.rejected_max_rows,
            },
        }
    }

    /// What the writer task needs.
    pub(crate) fn writer_limits(&self) -> WriterLimits {
        WriterLimits {
            capacity: self.queue_capacity,
            rejected_max_rows: self.rejected.max_rows,
        }
    }
}

/// What the receivers share: the settings, the writer's queue and the worker's wake-up.
pub(crate) struct Webhooks {
    settings: WebhookSettings,
    writer: writer::WriterHandle,
    wake: Arc<Notify>,
    limiter: Option<RateLimiter>,
    budget: InflightBudget,
    refusals: Refusals,
    rejected_slots: Arc<Semaphore>,
}

impl Webhooks {
    /// Receivers over `writer`, waking the event worker through `wake`.
    /// Refusals are counted from `started`.
    pub(crate) fn new(
        settings: WebhookSettings,
        writer: writer::WriterHandle,
        wake: Arc<Notify>,
        started: Timestamp,
    ) -> Self {
        let limiter = settings.rate_limit.map(RateLimiter::new);
        let budget = InflightBudget::new(settings.inflight_bytes);
        Self {
            settings,
            writer,
            wake,
            limiter,
            budget,
            refusals: Refusals::new(started),
            rejected_slots: Arc::new(Semaphore::new(REJECTED_IN_FLIGHT)),
        }
    }

    /// The body budget (`OORE_WEBHOOK_INFLIGHT_BYTES`).
    pub(crate) fn budget(&self) -> &InflightBudget {
        &self.budget
    }

    /// The refusals counted per source.
    pub(crate) fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// Records a rejected attempt through the writer, unless [`REJECTED_IN_FLIGHT`] are
    /// being recorded already or none are kept (`OORE_REJECTED_MAX_ROWS` = 0): then
    /// `Ok(false)`, and the caller counts it instead.
    pub(crate) async fn record_rejected(
        &self,
        rejected: RejectedWebhookEvent,
    ) -> Result<bool, StoreError> {
        if self.settings.rejected.max_rows == 0 {
            return Ok(false);
        }
        let Ok(_slot) = Arc::clone(&self.rejected_slots).try_acquire_owned() else {
            return Ok(false);
        };
        self.writer.record_rejected(rejected).await.map(|()| true)
    }

    /// The settings.
    pub(crate) fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    /// Stores an accepted event through the writer; returns once it is committed (or
    /// known to be a duplicate).
    pub(crate) async fn store(&self, event: NewWebhookEvent) -> Result<Stored, StoreError> {
        self.writer.store(event).await
    }

    /// Tells the event worker to look at the queue again (after a redelivery).
    pub(crate) fn wake_worker(&self) {
        self.wake.notify_one();
    }

    /// Takes one request of `ip`'s allowance; `Err` with the time until the next one is
    /// allowed when it is used up. Always `Ok` without a limit or a known address.
    pub(crate) fn check_rate(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        match (&self.limiter, ip) {
            (Some(limiter), Some(ip)) => limiter.check(ip, Instant::now()),
            _ => Ok(()),
        }
    }

    /// Whether a delivery for `provider` may come from `ip` (`OORE_GITLAB_ALLOWED_CIDRS`).
    pub(crate) fn source_allowed(&self, provider: Provider, ip: Option<IpAddr>) -> bool {
        let ranges = &self.settings.gitlab_allowed_cidrs;
        provider != Provider::GitLab
            || ranges.is_empty()
            || ip.is_some_and(|ip| ranges.iter().any(|r| r.contains(ip)))
    }
}
