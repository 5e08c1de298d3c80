//! Cancel a build (spec 6.5): pending ends at once; running is stopped by its worker.

use crate::cancel::CancelReason;
use crate::domain::build::{Build, BuildStatus, StepStatus};
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::BuildId;
use crate::ports::{BuildSignals, BuildUpdate, StoreError};
use crate::services::Services;
use crate::usecases::store_class;

/// Why a build could not be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelBuildError {
    /// No such build.
    #[error("build {0} not found; run `oore build list` to see builds")]
    NotFound(BuildId),
    /// It already ended.
    #[error("build {0} already ended ({1}); nothing to cancel")]
    AlreadyFinished(BuildId, BuildStatus),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for CancelBuildError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::AlreadyFinished(..) => ErrorClass::Conflict,
            Self::Store(e) => store_class(e),
        }
    }
}

/// Cancels build `id`. A pending build is cancelled at once. A running build is
/// signalled to its worker, which stops the step's process tree and records the end;
/// the returned build may still show `running` until then. A running build no worker
/// owns (left over by a crash, spec 11.4) is ended here.
pub async fn cancel_build(
    svc: &Services,
    signals: &dyn BuildSignals,
    id: BuildId,
) -> Result<Build, CancelBuildError> {
    cancel_build_because(svc, signals, id, CancelReason::User).await
}

/// [`cancel_build`] for `reason`, whose message ("cancelled by user", "superseded by
/// build #12") the build records, also when its live worker ends it.
pub async fn cancel_build_because(
    svc: &Services,
    signals: &dyn BuildSignals,
    id: BuildId,
    reason: CancelReason,
) -> Result<Build, CancelBuildError> {
    let message = reason.message();
    loop {
        let build = svc
            .builds
            .get_build(id)
            .await?
            .ok_or(CancelBuildError::NotFound(id))?;
        let update = BuildUpdate {
            finished_at: Some(svc.clock.now()),
            error_message: Some(message.clone()),
            ..BuildUpdate::default()
        };
        match build.status {
            BuildStatus::Pending => {
                if svc
                    .builds
                    .transition_build(id, BuildStatus::Pending, BuildStatus::Cancelled, &update)
                    .await?
                {
                    signals.wake_dispatcher();
                    return svc
                        .builds
                        .get_build(id)
                        .await?
                        .ok_or(CancelBuildError::NotFound(id));
                }
                // It started meanwhile: go round again as a running build.
            }
            BuildStatus::Running => {
                if signals.cancel_running(id, reason) {
                    return Ok(build);
                }
                if svc
                    .builds
                    .transition_build(id, BuildStatus::Running, BuildStatus::Cancelled, &update)
                    .await?
                {
                    for step in svc.builds.list_steps(id).await? {
                        let to = match step.status {
                            StepStatus::Running => StepStatus::Cancelled,
                            StepStatus::Pending => StepStatus::Skipped,
                            _ => continue,
                        };
                        let mut done = step.clone();
                        done.status = to;
                        done.finished_at = update.finished_at;
                        svc.builds.transition_step(&done, step.status).await?;
                    }
                    return svc
                        .builds
                        .get_build(id)
                        .await?
                        .ok_or(CancelBuildError::NotFound(id));
                }
            }
            done => return Err(CancelBuildError::AlreadyFinished(id, done)),
        }
    }
}
