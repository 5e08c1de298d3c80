//! Builds: trigger, cancel, query, logs, execution and restart recovery (spec 6, 7, 16, 17).

mod artifact_zip;
mod cancel;
mod execute;
mod follow;
mod plan;
mod query;
mod record_end;
mod record_process;
mod recover;
mod resolve;
mod retention;
mod trigger;
mod unrunnable;
mod zip_layout;

pub use artifact_zip::{ArtifactZip, ArtifactZipError};
pub use cancel::{CancelBuildError, cancel_build, cancel_build_because};
pub use execute::{ExecuteError, ExecutionSettings, execute_build};
pub use follow::{
    FOLLOW_BATCH, FOLLOW_EVENT_BYTES, FOLLOW_TICK, FollowEvent, FollowStart, FollowStatus,
    FollowStep, LogFollow, STATUS_MIN_INTERVAL,
};
pub use plan::{EnvContext, PlannedStep, merge_env, plan_steps, step_environment};
pub use query::{
    BuildQueryError, BuildView, get_build, get_build_artifact, list_build_artifacts,
    list_build_steps, list_builds, read_build_log,
};
pub use record_end::{BuildEnd, UnrecordedStep, record_build_end};
pub use recover::{InterruptedBuild, RecoveryReport, fail_overdue_builds, recover_builds};
pub use resolve::{ResolveBuildError, resolve_build};
pub use retention::{PruneReport, RetentionRule, build_created_at, prune_build_directories};
pub use trigger::{TriggerBuild, TriggerBuildError, trigger_build};
pub use unrunnable::{
    UnrunnableOutcome, fail_pending_build, fail_unrunnable_builds, unrunnable_reason,
};

#[cfg(test)]
mod fetch_tests;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod store_failure_tests;
#[cfg(test)]
mod tests;
