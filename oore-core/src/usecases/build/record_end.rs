//! Recording how a build ended: [`record_build_end`] writes a [`BuildEnd`] decided by
//! the executor (or, for a worker that failed or crashed, by the dispatcher), and can be
//! called again and again until the store takes it: every write is a compare-and-set, so
//! a retry after a partial record changes nothing twice. The caller owns the retrying
//! (core has no timers); until it succeeds the build's row stays `running`.

use jiff::Timestamp;

use crate::domain::build::{BuildStatus, BuildStep, StepStatus};
use crate::ids::BuildId;
use crate::ports::{BuildLogs, BuildUpdate, StoreError};
use crate::services::Services;

use super::recover::end_open_steps;

/// A step end the store refused when it happened: `step` holds the end, `from` the
/// status it is stored in (what the compare-and-set expects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnrecordedStep {
    /// The step as it ended.
    pub step: BuildStep,
    /// Its stored status.
    pub from: StepStatus,
}

/// How a build ended, to be recorded with [`record_build_end`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildEnd {
    /// The build, `running` in the store until this is recorded.
    pub build: BuildId,
    /// Its final status.
    pub status: BuildStatus,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// When it ended.
    pub finished_at: Timestamp,
    /// Step ends not recorded yet, written before the build's end.
    pub steps: Vec<UnrecordedStep>,
}

impl BuildEnd {
    /// A failure decided outside the executor (its worker failed or crashed).
    pub fn failure(build: BuildId, finished_at: Timestamp, message: impl Into<String>) -> Self {
        Self {
            build,
            status: BuildStatus::Failure,
            error: Some(message.into()),
            finished_at,
            steps: Vec::new(),
        }
    }
}

/// Records `end`: the unrecorded step ends (compare-and-set from their stored status),
/// then the build's other open steps closed (the running one cancelled, pending ones
/// skipped), then the build `running` -> `end.status`. Once that succeeded, a
/// `build <status>: <error>` line goes to its system log and its logs are finished (live
/// viewers stop waiting). Returns the build's status: `end.status`, or the status
/// someone else ended it with first (a cancel of a build no live worker owned).
///
/// On a store error nothing is logged or finished and the error is returned: call again
/// later (the parts already written are not written twice).
pub async fn record_build_end(
    svc: &Services,
    logs: &dyn BuildLogs,
    end: &BuildEnd,
) -> Result<BuildStatus, StoreError> {
    for unrecorded in &end.steps {
        svc.builds
            .transition_step(&unrecorded.step, unrecorded.from)
            .await?;
    }
    end_open_steps(svc, end.build, end.finished_at, None).await?;
    let update = BuildUpdate {
        finished_at: Some(end.finished_at),
        error_message: end.error.clone(),
        ..BuildUpdate::default()
    };
    let moved = svc
        .builds
        .transition_build(end.build, BuildStatus::Running, end.status, &update)
        .await?;
    let status = if moved {
        end.status
    } else {
        svc.builds
            .get_build(end.build)
            .await?
            .map_or(end.status, |b| b.status)
    };
    let line = match &end.error {
        Some(e) => format!("build {}: {e}", end.status),
        None => format!("build {}", end.status),
    };
    // The row is the record; a log that cannot be written loses only this line.
    let _ = logs.append_system(end.build, &line).await;
    logs.finish(end.build);
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::build::{BuildStep, StepStatus};
    use crate::ids::StepId;
    use crate::testing::{MemoryLogs, block_on, services};
    use crate::usecases::build::fixtures::{repo, start};

    fn step(svc: &Services, build: BuildId, index: u32, status: StepStatus) -> BuildStep {
        BuildStep {
            id: StepId::from_ulid(ulid::Ulid::from_parts(9, u128::from(index) + 1)),
            build_id: build,
            index,
            name: format!("step {index}"),
            status,
            ignore_failure: false,
            exit_code: (status == StepStatus::Success).then_some(0),
            error_message: None,
            started_at: (status != StepStatus::Pending).then(|| svc.clock.now()),
            finished_at: (status == StepStatus::Success).then(|| svc.clock.now()),
        }
    }

    #[test]
    fn the_running_step_is_cancelled_the_pending_skipped_and_the_build_failed() {
        let svc = services();
        let logs = MemoryLogs::default();
        let id = start(&svc, &repo(&svc));
        let steps = [
            step(&svc, id, 0, StepStatus::Success),
            step(&svc, id, 1, StepStatus::Running),
            step(&svc, id, 2, StepStatus::Pending),
        ];
        block_on(svc.builds.put_steps(id, &steps)).expect("steps");
        let end = BuildEnd::failure(id, svc.clock.now(), "worker crashed");
        block_on(record_build_end(&svc, &logs, &end)).expect("record");

        let build = block_on(svc.builds.get_build(id))
            .expect("read")
            .expect("row");
        assert_eq!(build.status, BuildStatus::Failure);
        assert_eq!(build.error_message.as_deref(), Some("worker crashed"));
        assert_eq!(build.finished_at, Some(svc.clock.now()));
        let after: Vec<(StepStatus, Option<String>)> = block_on(svc.builds.list_steps(id))
            .expect("steps")
            .into_iter()
            .map(|s| (s.status, s.error_message))
            .collect();
        assert_eq!(
            after,
            [
                (StepStatus::Success, None),
                (StepStatus::Cancelled, None),
                (StepStatus::Skipped, None),
            ]
        );
        assert_eq!(
            logs.lines.lock().expect("lines")[&id],
            ["build failure: worker crashed"]
        );
        assert_eq!(*logs.finished.lock().expect("finished"), [id]);
    }

    #[test]
    fn an_ended_build_keeps_its_status_but_viewers_are_still_released() {
        let svc = services();
        let logs = MemoryLogs::default();
        let id = start(&svc, &repo(&svc));
        let done = BuildUpdate {
            finished_at: Some(svc.clock.now()),
            ..BuildUpdate::default()
        };
        block_on(svc.builds.transition_build(
            id,
            BuildStatus::Running,
            BuildStatus::Success,
            &done,
        ))
        .expect("end");
        let end = BuildEnd::failure(id, svc.clock.now(), "late");
        assert_eq!(
            block_on(record_build_end(&svc, &logs, &end)),
            Ok(BuildStatus::Success)
        );
        let build = block_on(svc.builds.get_build(id))
            .expect("read")
            .expect("row");
        assert_eq!(build.status, BuildStatus::Success);
        assert_eq!(*logs.finished.lock().expect("finished"), [id]);
    }
}
