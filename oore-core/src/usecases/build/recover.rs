//! Restart recovery and the overdue-build reaper (spec 11.4, 15.2, 23.2).

use std::time::Duration;

use jiff::Timestamp;

use crate::domain::build::{BuildStatus, StepStatus};
use crate::ids::BuildId;
use crate::ports::{BuildUpdate, StepRunner, StoreError};
use crate::services::Services;

/// What recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Builds that were running when `oored` stopped, now failed.
    pub interrupted: Vec<InterruptedBuild>,
    /// Builds still pending, left for the dispatcher.
    pub pending: usize,
}

/// One build recovery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterruptedBuild {
    /// The build.
    pub id: BuildId,
    /// How many processes its steps had left running, now stopped.
    pub stopped_processes: usize,
}

async fn fail_running(svc: &Services, id: BuildId, message: &str) -> Result<bool, StoreError> {
    let now = svc.clock.now();
    let update = BuildUpdate {
        finished_at: Some(now),
        error_message: Some(message.to_owned()),
        ..Default::default()
    };
    if !svc
        .builds
        .transition_build(id, BuildStatus::Running, BuildStatus::Failure, &update)
        .await?
    {
        return Ok(false);
    }
    end_open_steps(svc, id, now, Some(message)).await?;
    Ok(true)
}

/// Ends the steps a failed build left open: the running one cancelled (with
/// `cancel_message` as its error when given), the pending ones skipped, all finished at
/// `now`. The one place a build's open steps are closed after its end.
pub(super) async fn end_open_steps(
    svc: &Services,
    id: BuildId,
    now: Timestamp,
    cancel_message: Option<&str>,
) -> Result<(), StoreError> {
    for step in svc.builds.list_steps(id).await? {
        let to = match step.status {
            StepStatus::Running => StepStatus::Cancelled,
            StepStatus::Pending => StepStatus::Skipped,
            _ => continue,
        };
        let mut done = step.clone();
        done.status = to;
        done.finished_at = Some(now);
        if let (StepStatus::Cancelled, Some(message)) = (to, cancel_message) {
            done.error_message = Some(message.to_owned());
        }
        svc.builds.transition_step(&done, step.status).await?;
    }
    Ok(())
}

/// At startup, before any worker runs: for each build left `running`, first the processes
/// its steps left behind are stopped (`runner.stop_interrupted`, with what the steps
/// recorded when they started), then the build is failed with "interrupted by server
/// restart" (its running step cancelled, the rest skipped); pending builds stay queued
/// for the dispatcher.
pub async fn recover_builds(
    svc: &Services,
    runner: &dyn StepRunner,
) -> Result<RecoveryReport, StoreError> {
    let mut report = RecoveryReport::default();
    for running in svc.builds.running_builds().await? {
        let recorded = svc.builds.step_processes(running.id).await?;
        let stopped_processes = runner.stop_interrupted(running.id, &recorded).await;
        if fail_running(
            svc,
            running.id,
            "interrupted by server restart; trigger the build again",
        )
        .await?
        {
            report.interrupted.push(InterruptedBuild {
                id: running.id,
                stopped_processes,
            });
        }
    }
    report.pending = svc.builds.queued_builds().await?.len();
    Ok(report)
}

/// Fails running builds that no live worker owns (`is_live` says which are) and that have
/// run longer than `max_duration`: the reaper for builds stuck by a lost worker.
pub async fn fail_overdue_builds(
    svc: &Services,
    is_live: &(dyn Fn(BuildId) -> bool + Sync),
    max_duration: Duration,
) -> Result<Vec<BuildId>, StoreError> {
    let now = svc.clock.now();
    let mut failed = Vec::new();
    for running in svc.builds.running_builds().await? {
        if is_live(running.id) {
            continue;
        }
        let Some(build) = svc.builds.get_build(running.id).await? else {
            continue;
        };
        let started = build.started_at.unwrap_or(build.created_at);
        if now.duration_since(started).unsigned_abs() <= max_duration {
            continue;
        }
        let message = format!(
            "no worker was running it for more than {} s; marked failed",
            max_duration.as_secs()
        );
        if fail_running(svc, running.id, &message).await? {
            failed.push(running.id);
        }
    }
    Ok(failed)
}
