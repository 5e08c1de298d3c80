//! Process one received webhook event (spec 6.1, 16): read it, decide, create its builds,
//! cancel the builds they supersede, and record the outcome. A pull/merge request from
//! a fork that the repository holds for approval ends `awaiting_approval` with no build;
//! once approved (`approve_webhook_event`) it is `received` again and builds here.
//!
//! Two steps, so a worker can record the outcomes of many events in one transaction:
//! [`prepare_event`] does everything but the recording and returns the
//! [`PendingOutcome`]; [`record_outcomes`] records any number of them at once.
//! [`process_event`] is both for one event (redelivery, tests). Leaving an event
//! `received` a little longer is safe: preparing it again finds its builds instead of
//! creating new ones.

use crate::cancel::CancelReason;
use crate::domain::build::{Build, BuildStatus};
use crate::domain::repository::Repository;
use crate::domain::webhook::{WebhookEvent, WebhookEventStatus};
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::{BuildId, WebhookEventId};
use crate::pipeline::{self, Pipeline, PipelinePrecedence};
use crate::ports::{BuildQuery, BuildSignals, EventFinish, StoreError};
use crate::services::Services;
use crate::usecases::build::{CancelBuildError, cancel_build_because};
use crate::usecases::store_class;
use crate::webhook::{self, BuildPlan, EventDecision};

/// Settings of the event worker, from `oored`'s configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessSettings {
    /// `OORE_PIPELINE_PRECEDENCE`: with `database` a stored pipeline is the one builds
    /// use, so workflows are selected when the event is processed; with `repository` a
    /// repository file may win, so the executor selects after checkout.
    pub precedence: PipelinePrecedence,
}

/// What processing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOutcome {
    /// The event's status now.
    pub status: WebhookEventStatus,
    /// Why it was ignored or failed.
    pub reason: Option<String>,
    /// The event's builds (created now or found from an earlier attempt).
    pub build_ids: Vec<BuildId>,
    /// The builds created by this call (a subset of `build_ids`).
    pub created: Vec<BuildId>,
    /// Builds cancelled because a new build superseded them (`cancel_previous_builds`).
    pub cancelled: Vec<BuildId>,
    /// True when the event was not `received` (another worker finished it, or it was
    /// rejected): nothing was done.
    pub already_finished: bool,
}

/// Why an event could not be processed. A bad payload is not an error (the event ends
/// `failed`); a store failure is, and leaves the event `received` for a later attempt.
#[derive(Debug, thiserror::Error)]
pub enum ProcessEventError {
    /// No such event.
    #[error("webhook event {0} not found; run `oore webhook list` to see events")]
    NotFound(WebhookEventId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for ProcessEventError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Store(e) => store_class(e),
        }
    }
}

/// An event's outcome, decided and acted on (builds created, superseded ones cancelled)
/// but not yet recorded on the event: see [`record_outcomes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOutcome {
    /// The event, as it was read.
    pub event: WebhookEvent,
    record: EventFinish,
    outcome: ProcessOutcome,
}

/// What [`prepare_event`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// The event was not `received` (finished by someone else, or rejected): nothing
    /// was done, nothing is to be recorded.
    Unchanged(ProcessOutcome),
    /// Record this with [`record_outcomes`].
    Pending(Box<PendingOutcome>),
}

/// Processes event `id` and records its outcome: [`prepare_event`] then
/// [`record_outcomes`].
pub async fn process_event(
    svc: &Services,
    signals: &dyn BuildSignals,
    settings: &ProcessSettings,
    id: WebhookEventId,
) -> Result<ProcessOutcome, ProcessEventError> {
    match prepare_event(svc, signals, settings, id).await? {
        Prepared::Unchanged(outcome) => Ok(outcome),
        Prepared::Pending(pending) => {
            let mut outcomes = record_outcomes(svc, vec![*pending]).await?;
            outcomes.pop().ok_or_else(|| {
                ProcessEventError::Store(StoreError::Other(
                    "recording the outcome answered nothing".to_owned(),
                ))
            })
        }
    }
}

/// Does all of processing event `id` except recording the outcome. Idempotent: an event
/// that is not `received` is left alone, and one whose builds exist already (a crash
/// after creating them, an outcome not recorded yet, a redelivery) gets them back
/// instead of new ones. Wakes the dispatcher when builds were created.
pub async fn prepare_event(
    svc: &Services,
    signals: &dyn BuildSignals,
    settings: &ProcessSettings,
    id: WebhookEventId,
) -> Result<Prepared, ProcessEventError> {
    let detail = svc
        .webhooks
        .get_event(id)
        .await?
        .ok_or(ProcessEventError::NotFound(id))?;
    let event = detail.event;
    if event.status != WebhookEventStatus::Received {
        return Ok(Prepared::Unchanged(unchanged(&event)));
    }
    let repository = match event.repository_id {
        Some(repo) => svc.repositories.get(repo).await?,
        None => None,
    };
    let Some(repository) = repository else {
        let reason = match event.repository_id {
            Some(repo) => format!("repository {repo} was removed; nothing to build"),
            None => "the event names no repository; nothing to build".to_owned(),
        };
        return Ok(pending(
            svc,
            event,
            WebhookEventStatus::Ignored,
            Some(reason),
            Vec::new(),
        ));
    };
    if !repository.state.builds_enabled() {
        let reason = webhook::IgnoreReason::RepositoryInactive(repository.state).to_string();
        return Ok(pending(
            svc,
            event,
            WebhookEventStatus::Ignored,
            Some(reason),
            Vec::new(),
        ));
    }
    let forge_event = match webhook::parse(event.provider, &event.event_type, &detail.payload) {
        Ok(e) => e,
        Err(e) => {
            return Ok(pending(
                svc,
                event,
                WebhookEventStatus::Failed,
                Some(e.to_string()),
                Vec::new(),
            ));
        }
    };
    let stored = stored_pipeline(svc, settings, &repository).await?;
    let approved = event.approval.is_some();
    let plans = match webhook::decide(&forge_event, &repository, stored.as_ref(), approved) {
        EventDecision::Ignore(reason) => {
            return Ok(pending(
                svc,
                event,
                WebhookEventStatus::Ignored,
                Some(reason.to_string()),
                Vec::new(),
            ));
        }
        EventDecision::AwaitApproval(hold) => {
            let reason = format!(
                "{hold}: approve it with `oore webhook approve {}`, which builds this commit once",
                event.id
            );
            return Ok(pending(
                svc,
                event,
                WebhookEventStatus::AwaitingApproval,
                Some(reason),
                Vec::new(),
            ));
        }
        EventDecision::Build(plans) => plans,
    };

    let existing = builds_of(svc, &event).await?;
    let mut builds: Vec<Build> = Vec::new();
    let mut created = Vec::new();
    for plan in &plans {
        let found = existing
            .iter()
            .find(|b| b.workflow == plan.workflow && !builds.iter().any(|x| x.id == b.id));
        let build = match found {
            Some(b) => b.clone(),
            None => {
                let build = new_build(svc, &event, &repository, plan);
                let stored = svc.builds.create_build(&build).await?;
                created.push(stored.id);
                stored
            }
        };
        builds.push(build);
    }
    if !created.is_empty() {
        signals.wake_dispatcher();
    }
    let mut cancelled = Vec::new();
    for (plan, build) in plans.iter().zip(&builds) {
        if plan.cancel_previous {
            cancelled.extend(cancel_superseded(svc, signals, build).await?);
        }
    }
    let build_ids: Vec<BuildId> = builds.iter().map(|b| b.id).collect();
    let mut prepared = pending(svc, event, WebhookEventStatus::Processed, None, build_ids);
    if let Prepared::Pending(p) = &mut prepared {
        p.outcome.created = created;
        p.outcome.cancelled = cancelled;
    }
    Ok(prepared)
}

/// The stored pipeline, when it is the one builds will use and it is valid. An invalid
/// one is left to the executor, which fails the build with its errors for all to see.
async fn stored_pipeline(
    svc: &Services,
    settings: &ProcessSettings,
    repository: &Repository,
) -> Result<Option<Pipeline>, StoreError> {
    if settings.precedence != PipelinePrecedence::Database {
        return Ok(None);
    }
    Ok(svc
        .pipelines
        .current(repository.id)
        .await?
        .and_then(|v| pipeline::parse_and_validate(&v.content, v.format).ok())
        .map(|(p, _)| p))
}

/// The builds an earlier attempt at this event created, oldest first.
async fn builds_of(svc: &Services, event: &WebhookEvent) -> Result<Vec<Build>, StoreError> {
    let query = BuildQuery {
        repository_id: event.repository_id,
        webhook_event_id: Some(event.id),
        oldest_first: true,
        limit: BuildQuery::MAX_LIMIT,
        ..BuildQuery::default()
    };
    Ok(svc.builds.list_builds(&query).await?.builds)
}

fn new_build(
    svc: &Services,
    event: &WebhookEvent,
    repository: &Repository,
    plan: &BuildPlan,
) -> Build {
    Build {
        id: BuildId::from_ulid(svc.ids.new_ulid()),
        repository_id: repository.id,
        number: 0,
        status: BuildStatus::Pending,
        trigger: plan.trigger,
        priority: plan.priority,
        branch: plan.branch.clone(),
        base_branch: plan.base_branch.clone(),
        tag: plan.tag.clone(),
        pull_request: plan.pull_request,
        commit_sha: Some(plan.commit_sha.clone()),
        workflow: plan.workflow.clone(),
        config_source: None,
        webhook_event_id: Some(event.id),
        error_message: None,
        created_at: svc.clock.now(),
        started_at: None,
        finished_at: None,
    }
}

/// Cancels the pending and running builds `newer` supersedes: same repository, branch and
/// workflow, queued before it. Returns the ones cancelled.
async fn cancel_superseded(
    svc: &Services,
    signals: &dyn BuildSignals,
    newer: &Build,
) -> Result<Vec<BuildId>, StoreError> {
    let Some(branch) = &newer.branch else {
        return Ok(Vec::new());
    };
    let mut query = BuildQuery {
        repository_id: Some(newer.repository_id),
        branch: Some(branch.clone()),
        statuses: vec![BuildStatus::Pending, BuildStatus::Running],
        limit: BuildQuery::MAX_LIMIT,
        ..BuildQuery::default()
    };
    let mut older = Vec::new();
    loop {
        let page = svc.builds.list_builds(&query).await?;
        older.extend(
            page.builds
                .into_iter()
                .filter(|b| b.id < newer.id && b.workflow == newer.workflow)
                .map(|b| b.id),
        );
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    let reason = CancelReason::Superseded(newer.number);
    let mut cancelled = Vec::new();
    for id in older {
        match cancel_build_because(svc, signals, id, reason).await {
            Ok(_) => cancelled.push(id),
            // It ended meanwhile, or vanished: nothing left to cancel.
            Err(CancelBuildError::AlreadyFinished(..) | CancelBuildError::NotFound(_)) => {}
            Err(CancelBuildError::Store(e)) => return Err(e),
        }
    }
    Ok(cancelled)
}

/// The outcome `status` for `event`, to be recorded.
fn pending(
    svc: &Services,
    event: WebhookEvent,
    status: WebhookEventStatus,
    reason: Option<String>,
    build_ids: Vec<BuildId>,
) -> Prepared {
    // The one transition function of webhook statuses; received -> any outcome is legal.
    let status = WebhookEventStatus::Received
        .transition(status)
        .unwrap_or(WebhookEventStatus::Failed);
    Prepared::Pending(Box::new(PendingOutcome {
        record: EventFinish {
            status,
            reason: reason.clone(),
            build_ids: build_ids.clone(),
            at: svc.clock.now(),
        },
        outcome: ProcessOutcome {
            status,
            reason,
            build_ids,
            created: Vec::new(),
            cancelled: Vec::new(),
            already_finished: false,
        },
        event,
    }))
}

/// Records prepared outcomes, all in one store call
/// ([`finish_all`](crate::ports::WebhookEventStore::finish_all): one transaction), and
/// returns each event's outcome in the same order. The record is a compare-and-set: an
/// event someone else finished first keeps that outcome, reported as `already_finished`.
pub async fn record_outcomes(
    svc: &Services,
    pending: Vec<PendingOutcome>,
) -> Result<Vec<ProcessOutcome>, ProcessEventError> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let finishes: Vec<(WebhookEventId, EventFinish)> = pending
        .iter()
        .map(|p| (p.event.id, p.record.clone()))
        .collect();
    let won = svc.webhooks.finish_all(&finishes).await?;
    if won.len() != pending.len() {
        return Err(ProcessEventError::Store(StoreError::Other(format!(
            "finish_all answered {} results for {} events",
            won.len(),
            pending.len()
        ))));
    }
    let mut outcomes = Vec::with_capacity(pending.len());
    for (p, won) in pending.into_iter().zip(won) {
        if won {
            outcomes.push(p.outcome);
            continue;
        }
        let now = svc
            .webhooks
            .get_event(p.event.id)
            .await?
            .ok_or(ProcessEventError::NotFound(p.event.id))?;
        outcomes.push(unchanged(&now.event));
    }
    Ok(outcomes)
}

fn unchanged(event: &WebhookEvent) -> ProcessOutcome {
    ProcessOutcome {
        status: event.status,
        reason: event.reason.clone(),
        build_ids: event.build_ids.clone(),
        created: Vec::new(),
        cancelled: Vec::new(),
        already_finished: true,
    }
}
