//! Recording where a started step runs its processes (its row's process columns), so
//! that restart recovery (`recover_builds`) can stop what a crash of `oored` left.

use async_trait::async_trait;

use crate::ids::{BuildId, StepId};
use crate::ports::{BuildLogs, StepProcess, StepStarted};
use crate::services::Services;

/// The [`StepStarted`] `execute_build` gives the runner for each step.
pub(super) struct RecordProcess<'a> {
    pub(super) svc: &'a Services,
    pub(super) logs: &'a dyn BuildLogs,
    pub(super) build: BuildId,
    pub(super) step: StepId,
}

#[async_trait]
impl StepStarted for RecordProcess<'_> {
    async fn started(&self, process: &StepProcess) {
        let recorded = self
            .svc
            .builds
            .record_step_process(self.build, self.step, process)
            .await;
        if let Err(e) = recorded {
            // The step runs on; a log failure must not hide the build's own outcome.
            let _ = self
                .logs
                .append_system(
                    self.build,
                    &format!(
                        "warning: could not record the step's processes ({e}); if oored crashes now, the next start finds them by the build's marker only"
                    ),
                )
                .await;
        }
    }
}
