//! The steps of a running build, in order: each one's start and end recorded, its
//! timeout the smaller of its own and what is left of the build's, later steps skipped
//! after a failure (publishing steps still run), `CM_ENV` additions passed on. A step end
//! the store refuses is kept for the build's end record and stops the build.

use std::path::Path;
use std::time::Duration;

use crate::domain::build::{BuildStatus, BuildStep, StepStatus};
use crate::pipeline::Workflow;
use crate::ports::{RunError, StepCommand, StepEnd};

use super::super::plan::{PlannedStep, merge_env};
use super::super::record_end::UnrecordedStep;
use super::super::record_process::RecordProcess;
use super::{Outcome, Run};

impl Run<'_> {
    pub(super) fn build_limit(&self, workflow: &Workflow) -> Duration {
        let asked = workflow
            .max_build_duration
            .map(|m| Duration::from_secs(u64::from(m) * 60));
        asked.map_or(self.settings.max_build_duration, |d| {
            d.min(self.settings.max_build_duration)
        })
    }

    pub(super) async fn run_steps(
        &self,
        steps: &[PlannedStep],
        workspace: &Path,
        mut env: Vec<(String, String)>,
        workflow: &Workflow,
    ) -> Outcome {
        let limit = self.build_limit(workflow);
        let started = self.svc.clock.now();
        let mut outcome = Outcome {
            status: BuildStatus::Success,
            error: None,
        };
        for planned in steps {
            if self.store_refused() {
                // The rest stay pending; recording the end skips them.
                break;
            }
            let stop = self.cancel.is_cancelled()
                || (outcome.status != BuildStatus::Success && !planned.publishing);
            if stop {
                if let Some(refused) = self
                    .end_step(&planned.step, StepStatus::Skipped, None, None)
                    .await
                {
                    outcome = refused;
                }
                continue;
            }
            let elapsed = self.svc.clock.now().duration_since(started).unsigned_abs();
            let remaining = limit.saturating_sub(elapsed);
            let step_limit = planned.timeout.unwrap_or(self.settings.max_step_duration);
            let (timeout, build_deadline) = if remaining < step_limit {
                (remaining, true)
            } else {
                (step_limit, false)
            };
            if timeout.is_zero() {
                outcome = self
                    .end_step(&planned.step, StepStatus::Skipped, None, None)
                    .await
                    .unwrap_or_else(|| {
                        Outcome::failure(format!(
                            "build timed out after {} s (max_build_duration)",
                            limit.as_secs()
                        ))
                    });
                continue;
            }
            let mut step_env = env.clone();
            if planned.publishing {
                // Codemagic tells publishing scripts how the build went so far.
                let status = if outcome.status == BuildStatus::Success {
                    "success"
                } else {
                    "failure"
                };
                for key in ["CM_BUILD_STEP_STATUS", "FCI_BUILD_STEP_STATUS"] {
                    step_env.push((key.to_owned(), status.to_owned()));
                }
            }
            let command = StepCommand {
                build_id: self.build.id,
                index: planned.step.index,
                script: planned.script.clone(),
                working_dir: workspace.join(&planned.working_dir),
                env: step_env,
                timeout,
            };
            let mut running = planned.step.clone();
            running.status = StepStatus::Running;
            running.started_at = Some(self.svc.clock.now());
            let i = planned.step.index;
            if let Err(e) = self
                .svc
                .builds
                .transition_step(&running, StepStatus::Pending)
                .await
            {
                // Not started: the step stays pending and is skipped with the end.
                self.log(&format!(
                    "step {i} not started: could not record its start: {e}"
                ))
                .await;
                return self.refuse(&format!("the start of step {i}"), &e);
            }
            self.log(&format!("step {i} ({}) started", planned.step.name))
                .await;
            let record = RecordProcess {
                svc: self.svc,
                logs: self.ports.logs.as_ref(),
                build: self.build.id,
                step: planned.step.id,
            };
            let result = self.ports.runner.run(&command, self.cancel, &record).await;
            let step_outcome = match result {
                Ok(StepEnd::Exited(0)) => (StepStatus::Success, Some(0), None),
                Ok(StepEnd::Exited(code)) => (
                    StepStatus::Failure,
                    Some(code),
                    Some(format!("step {i} exited with code {code}")),
                ),
                Ok(StepEnd::TimedOut) if build_deadline => (
                    StepStatus::Failure,
                    None,
                    Some(format!(
                        "build timed out after {} s (max_build_duration)",
                        limit.as_secs()
                    )),
                ),
                Ok(StepEnd::TimedOut) => (
                    StepStatus::Failure,
                    None,
                    Some(format!("step {i} timed out after {} s", timeout.as_secs())),
                ),
                Ok(StepEnd::Cancelled) => (StepStatus::Cancelled, None, None),
                Err(e @ (RunError::Spawn { .. } | RunError::Logs { .. })) => {
                    (StepStatus::Failure, None, Some(e.to_string()))
                }
            };
            let (status, code, message) = step_outcome;
            self.log(&format!(
                "step {i} {status}{}",
                message
                    .as_ref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ))
            .await;
            if let Some(refused) = self.end_step(&running, status, code, message.clone()).await {
                return refused;
            }
            match status {
                StepStatus::Cancelled => outcome = self.cancelled_outcome(),
                StepStatus::Failure if planned.step.ignore_failure => {
                    self.log(&format!(
                        "step {i} failed but has ignore_failure: the build goes on"
                    ))
                    .await;
                }
                StepStatus::Failure if outcome.status == BuildStatus::Success => {
                    outcome =
                        Outcome::failure(message.unwrap_or_else(|| format!("step {i} failed")));
                }
                _ => {}
            }
            match self.ports.workspaces.read_cm_env(self.build.id).await {
                Ok(additions) => merge_env(&mut env, &additions),
                Err(e) => {
                    self.log(&format!("warning: could not read CM_ENV: {e}"))
                        .await
                }
            }
        }
        if self.cancel.is_cancelled()
            && outcome.status != BuildStatus::Cancelled
            && !self.store_refused()
        {
            outcome = self.cancelled_outcome();
        }
        outcome
    }

    /// Records a step's end; when the store refuses, keeps it for the build's end record
    /// and returns the failure the build now ends with.
    pub(super) async fn end_step(
        &self,
        step: &BuildStep,
        status: StepStatus,
        exit_code: Option<i32>,
        message: Option<String>,
    ) -> Option<Outcome> {
        let mut done = step.clone();
        done.status = status;
        done.exit_code = exit_code;
        done.error_message = message;
        done.finished_at = Some(self.svc.clock.now());
        match self.svc.builds.transition_step(&done, step.status).await {
            Ok(_) => None,
            Err(e) => {
                let i = step.index;
                self.log(&format!(
                    "could not record the end of step {i} ({e}); it is recorded with the build's end"
                ))
                .await;
                self.unrecorded
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(UnrecordedStep {
                        step: done,
                        from: step.status,
                    });
                Some(self.refuse(&format!("the end of step {i}"), &e))
            }
        }
    }
}
