//! A running build its worker could not finish (the executor failed on the store, or
//! panicked): [`fail_unfinished_build`] records it failed, so no build is left running
//! by a worker that is gone.

use crate::domain::build::BuildStatus;
use crate::ids::BuildId;
use crate::ports::{BuildLogs, BuildUpdate, StoreError};
use crate::services::Services;

use super::recover::end_open_steps;

/// Records `id` failed with `message`: its running step cancelled and its pending ones
/// skipped (steps first, then the build, running -> failure), then a
/// `build failure: <message>` line in its system log and its logs finished.
///
/// The log line and `finish` happen even when the store fails, so live viewers stop
/// waiting; the store error is then returned for the caller to log (the reaper or the
/// next start ends the build). A build that already ended keeps its status.
pub async fn fail_unfinished_build(
    svc: &Services,
    logs: &dyn BuildLogs,
    id: BuildId,
    message: &str,
) -> Result<(), StoreError> {
    let now = svc.clock.now();
    let recorded: Result<(), StoreError> = async {
        end_open_steps(svc, id, now, None).await?;
        let update = BuildUpdate {
            finished_at: Some(now),
            error_message: Some(message.to_owned()),
            ..BuildUpdate::default()
        };
        svc.builds
            .transition_build(id, BuildStatus::Running, BuildStatus::Failure, &update)
            .await?;
        Ok(())
    }
    .await;
    // The row is the record; a log that cannot be written loses only this line.
    let _ = logs
        .append_system(id, &format!("build failure: {message}"))
        .await;
    logs.finish(id);
    recorded
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
        block_on(fail_unfinished_build(&svc, &logs, id, "worker crashed")).expect("record");

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
        block_on(fail_unfinished_build(&svc, &logs, id, "late")).expect("no error");
        let build = block_on(svc.builds.get_build(id))
            .expect("read")
            .expect("row");
        assert_eq!(build.status, BuildStatus::Success);
        assert_eq!(*logs.finished.lock().expect("finished"), [id]);
    }
}
