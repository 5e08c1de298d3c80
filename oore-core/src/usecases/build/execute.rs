//! Run one build from start to end (spec 6.1, 6.6, 17): fetch the source, resolve the
//! pipeline, run the steps in order with their timeouts, collect artifacts, and record
//! every status change. Called by the dispatcher after it moved the build to `running`.

use std::path::Path;
use std::time::Duration;

use crate::cancel::{CancelReason, CancelToken};
use crate::domain::build::{Artifact, Build, BuildStatus, BuildStep, StepStatus, TriggerType};
use crate::domain::repository::Repository;
use crate::ids::{ArtifactId, BuildId, StepId};
use crate::pipeline::{
    self, ConfigSource, Pipeline, PipelineDocument, PipelinePrecedence, REPOSITORY_FILES,
    ResolvedConfig, Trigger, Workflow,
};
use crate::ports::{
    BuildUpdate, CollectRequest, FetchError, FetchRequest, RunError, StepCommand, StepEnd,
    StoreError,
};
use crate::services::{ExecutionPorts, Services};

use super::plan::{EnvContext, PlannedStep, merge_env, plan_steps, step_environment};
use super::record_process::RecordProcess;

/// Limits and defaults for running builds, from `oored`'s configuration.
#[derive(Debug, Clone)]
pub struct ExecutionSettings {
    /// `OORE_MAX_BUILD_DURATION_SECS`: caps `max_build_duration`.
    pub max_build_duration: Duration,
    /// `OORE_MAX_STEP_DURATION_SECS`: the step timeout unless a step sets its own.
    pub max_step_duration: Duration,
    /// `OORE_PIPELINE_PRECEDENCE`.
    pub precedence: PipelinePrecedence,
    /// Variables every step inherits from `oored` (PATH, HOME, LANG, ...).
    pub base_env: Vec<(String, String)>,
}

/// Why a build could not be driven at all (its row could not be read or written). A
/// build that fails for a reason of its own is not an error: it ends `failure`.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The build does not exist.
    #[error("build {0} not found")]
    NotFound(BuildId),
    /// The build is not running (the dispatcher must move it to running first).
    #[error("build {0} is {1}, not running")]
    NotRunning(BuildId, BuildStatus),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Largest pipeline file read from a checkout.
const MAX_PIPELINE_FILE: usize = 1024 * 1024;

/// How the build ended, before it is written.
struct Outcome {
    status: BuildStatus,
    error: Option<String>,
}

impl Outcome {
    fn failure(message: impl Into<String>) -> Self {
        Self {
            status: BuildStatus::Failure,
            error: Some(message.into()),
        }
    }
}

/// Runs build `id` to its end and returns its final status.
pub async fn execute_build(
    svc: &Services,
    ports: &ExecutionPorts,
    settings: &ExecutionSettings,
    id: BuildId,
    cancel: &CancelToken,
) -> Result<BuildStatus, ExecuteError> {
    let build = svc
        .builds
        .get_build(id)
        .await?
        .ok_or(ExecuteError::NotFound(id))?;
    if build.status != BuildStatus::Running {
        return Err(ExecuteError::NotRunning(id, build.status));
    }
    let mut run = Run {
        svc,
        ports,
        settings,
        build,
        cancel,
    };
    let outcome = run.drive().await?;
    run.finish(outcome).await
}

struct Run<'a> {
    svc: &'a Services,
    ports: &'a ExecutionPorts,
    settings: &'a ExecutionSettings,
    build: Build,
    cancel: &'a CancelToken,
}

impl Run<'_> {
    async fn log(&self, line: &str) {
        // A log failure must not hide the build's own outcome; the step runner reports
        // log-storage failures itself.
        let _ = self.ports.logs.append_system(self.build.id, line).await;
    }

    fn cancelled_outcome(&self) -> Outcome {
        match self.cancel.reason() {
            Some(CancelReason::Shutdown) => Outcome::failure(CancelReason::Shutdown.message()),
            reason => Outcome {
                status: BuildStatus::Cancelled,
                error: Some(reason.unwrap_or(CancelReason::User).message()),
            },
        }
    }

    async fn drive(&mut self) -> Result<Outcome, ExecuteError> {
        let Some(repo) = self.svc.repositories.get(self.build.repository_id).await? else {
            return Ok(Outcome::failure(
                "the repository was removed before the build started",
            ));
        };
        self.log(&format!(
            "build #{} of {} ({}), trigger {}",
            self.build.number,
            repo.full_name(),
            repo.provider,
            self.build.trigger
        ))
        .await;

        let workspace = match self.ports.workspaces.create(self.build.id).await {
            Ok(path) => path,
            Err(e) => {
                return Ok(Outcome::failure(format!(
                    "could not create the build workspace: {e}"
                )));
            }
        };
        let commit = match self.fetch(&repo, &workspace).await {
            Ok(sha) => sha,
            Err(outcome) => return Ok(outcome),
        };

        let (pipeline, source, file) = match self.resolve_pipeline(&repo).await {
            Ok(resolved) => resolved,
            Err(message) => return Ok(Outcome::failure(message)),
        };
        let origin = match source {
            ConfigSource::Database => "the stored pipeline",
            ConfigSource::Repository => file.unwrap_or("the repository's pipeline file"),
            ConfigSource::Default => "the default pipeline",
        };
        let workflow = match self.select_workflow(&pipeline, origin) {
            Ok(w) => w.clone(),
            Err(message) => return Ok(Outcome::failure(message)),
        };
        let from = file.map(|f| format!(" ({f})")).unwrap_or_default();
        self.log(&format!(
            "pipeline from {}{from}, workflow {}",
            source.as_str(),
            workflow.id
        ))
        .await;
        let update = BuildUpdate {
            commit_sha: Some(commit.clone()),
            workflow: Some(workflow.id.clone()),
            config_source: Some(source.as_str().to_owned()),
            ..BuildUpdate::default()
        };
        self.svc
            .builds
            .annotate_build(self.build.id, BuildStatus::Running, &update)
            .await?;
        self.build.commit_sha = Some(commit.clone());
        self.build.workflow = Some(workflow.id.clone());

        let ids = self.svc.ids.clone();
        let mut new_id = || StepId::from_ulid(ids.new_ulid());
        let steps = match plan_steps(&workflow, &self.build, &mut new_id) {
            Ok(steps) => steps,
            Err(message) => return Ok(Outcome::failure(message)),
        };
        let rows: Vec<BuildStep> = steps.iter().map(|s| s.step.clone()).collect();
        self.svc.builds.put_steps(self.build.id, &rows).await?;

        let cm_env = self.ports.workspaces.cm_env_path(self.build.id);
        let ctx = EnvContext {
            build: &self.build,
            repository: &repo,
            commit_sha: &commit,
            workflow: &workflow.id,
            workspace: &workspace,
            cm_env: &cm_env,
        };
        let env = step_environment(&self.settings.base_env, &ctx, &workflow);
        let outcome = self
            .run_steps(&steps, &workspace, env.clone(), &workflow)
            .await?;
        if outcome.status == BuildStatus::Cancelled || self.cancel.is_cancelled() {
            return Ok(outcome);
        }
        match self.collect_artifacts(&workflow, &workspace, &env).await? {
            Some(failure) if outcome.status == BuildStatus::Success => Ok(failure),
            _ => Ok(outcome),
        }
    }

    async fn fetch(&self, repo: &Repository, workspace: &Path) -> Result<String, Outcome> {
        let request = FetchRequest {
            build: self.build.id,
            url: repo.clone_url.as_str().to_owned(),
            branch: self.build.branch.as_ref().map(|b| b.as_str().to_owned()),
            tag: self.build.tag.clone(),
            commit: self.build.commit_sha.clone(),
            dest: workspace.to_path_buf(),
        };
        self.log(&format!("fetching {}", repo.clone_url.redacted()))
            .await;
        match self.ports.fetcher.fetch(&request, self.cancel).await {
            Ok(sha) => {
                self.log(&format!("checked out {sha}")).await;
                Ok(sha)
            }
            Err(FetchError::Cancelled) => Err(self.cancelled_outcome()),
            Err(e) => {
                self.log(&format!("error: {e}")).await;
                let hint = match (&e, &self.build.branch, self.build.commit_sha.is_none()) {
                    // The default branch Oore was told (or assumed, `main`) is not there:
                    // the usual first-build mistake with a repository on `master`.
                    (FetchError::NotFound(_), Some(branch), true)
                        if *branch == repo.default_branch =>
                    {
                        format!(
                            "; it is the repository's default branch in Oore: if the repository uses another, run `oore repo update {} --default-branch <branch>`",
                            repo.id
                        )
                    }
                    _ => String::new(),
                };
                Err(Outcome::failure(format!(
                    "could not fetch the source: {e}{hint}"
                )))
            }
        }
    }

    async fn resolve_pipeline(
        &self,
        repo: &Repository,
    ) -> Result<(Pipeline, ConfigSource, Option<&'static str>), String> {
        let stored = self
            .svc
            .pipelines
            .current(repo.id)
            .await
            .map_err(|e| format!("could not read the stored pipeline: {e}"))?
            .map(|v| PipelineDocument {
                content: v.content,
                format: v.format,
            });
        let mut files: Vec<(&str, String)> = Vec::new();
        for name in REPOSITORY_FILES {
            match self
                .ports
                .workspaces
                .read_text(self.build.id, name, MAX_PIPELINE_FILE)
                .await
            {
                Ok(Some(text)) => files.push((name, text)),
                Ok(None) => {}
                Err(e) => return Err(format!("could not read {name} from the checkout: {e}")),
            }
        }
        let resolved = pipeline::resolve_config(stored, self.settings.precedence, |name| {
            files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t.clone())
        });
        match resolved {
            ResolvedConfig::Default(p) => Ok((p, ConfigSource::Default, None)),
            ResolvedConfig::Document {
                source,
                file,
                document,
            } => {
                let origin = file.unwrap_or("the stored pipeline");
                match pipeline::parse_and_validate(&document.content, document.format) {
                    Ok((p, _)) => Ok((p, source, file)),
                    Err(report) => {
                        for e in &report.errors {
                            self.log(&format!("{origin}: {e}")).await;
                        }
                        let first = report
                            .errors
                            .first()
                            .map(ToString::to_string)
                            .unwrap_or_default();
                        Err(format!("the pipeline in {origin} is invalid: {first}"))
                    }
                }
            }
        }
    }

    /// The workflow this build runs. A named workflow (manual choice, or selected when a
    /// webhook event was processed against the stored pipeline) is looked up by name; a
    /// manual build without one runs the first workflow; any other build selects with
    /// [`pipeline::select_for_event`], the rule webhook processing uses: a pipeline
    /// without any `triggering` runs its first workflow, otherwise Codemagic's rules,
    /// and nothing selected fails the build. Of several selected, the first runs.
    fn select_workflow<'p>(
        &self,
        pipeline: &'p Pipeline,
        origin: &str,
    ) -> Result<&'p Workflow, String> {
        let branch = || {
            self.build
                .branch
                .as_ref()
                .map(|b| b.as_str().to_owned())
                .unwrap_or_default()
        };
        let trigger = match (&self.build.workflow, self.build.trigger) {
            (Some(name), _) => Trigger::Manual {
                workflow: Some(name.clone()),
            },
            (None, TriggerType::Manual) => Trigger::Manual { workflow: None },
            (None, TriggerType::PullRequest | TriggerType::MergeRequest) => Trigger::PullRequest {
                source_branch: branch(),
                target_branch: self
                    .build
                    .base_branch
                    .as_ref()
                    .map(|b| b.as_str().to_owned())
                    .unwrap_or_default(),
            },
            (None, TriggerType::Push) => match &self.build.tag {
                Some(tag) => Trigger::Tag { tag: tag.clone() },
                None => Trigger::Push { branch: branch() },
            },
        };
        let selected = pipeline::select_for_event(pipeline, &trigger).map_err(|e| e.to_string())?;
        selected.first().copied().ok_or_else(|| {
            format!(
                "no workflow in {origin} is triggered by {}; add a `triggering` section with this event to a workflow, or trigger the build by hand",
                trigger.describe()
            )
        })
    }

    fn build_limit(&self, workflow: &Workflow) -> Duration {
        let asked = workflow
            .max_build_duration
            .map(|m| Duration::from_secs(u64::from(m) * 60));
        asked.map_or(self.settings.max_build_duration, |d| {
            d.min(self.settings.max_build_duration)
        })
    }

    async fn run_steps(
        &self,
        steps: &[PlannedStep],
        workspace: &Path,
        mut env: Vec<(String, String)>,
        workflow: &Workflow,
    ) -> Result<Outcome, ExecuteError> {
        let limit = self.build_limit(workflow);
        let started = self.svc.clock.now();
        let mut outcome = Outcome {
            status: BuildStatus::Success,
            error: None,
        };
        for planned in steps {
            let stop = self.cancel.is_cancelled()
                || (outcome.status != BuildStatus::Success && !planned.publishing);
            if stop {
                self.end_step(&planned.step, StepStatus::Skipped, None, None)
                    .await?;
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
                self.end_step(&planned.step, StepStatus::Skipped, None, None)
                    .await?;
                outcome = Outcome::failure(format!(
                    "build timed out after {} s (max_build_duration)",
                    limit.as_secs()
                ));
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
            self.svc
                .builds
                .transition_step(&running, StepStatus::Pending)
                .await?;
            let i = planned.step.index;
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
            self.end_step(&running, status, code, message.clone())
                .await?;
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
        if self.cancel.is_cancelled() && outcome.status != BuildStatus::Cancelled {
            outcome = self.cancelled_outcome();
        }
        Ok(outcome)
    }

    async fn end_step(
        &self,
        step: &BuildStep,
        status: StepStatus,
        exit_code: Option<i32>,
        message: Option<String>,
    ) -> Result<(), ExecuteError> {
        let mut done = step.clone();
        done.status = status;
        done.exit_code = exit_code;
        done.error_message = message;
        done.finished_at = Some(self.svc.clock.now());
        self.svc.builds.transition_step(&done, step.status).await?;
        Ok(())
    }

    /// Collects artifacts; `Some(outcome)` when collection itself failed.
    async fn collect_artifacts(
        &self,
        workflow: &Workflow,
        workspace: &Path,
        env: &[(String, String)],
    ) -> Result<Option<Outcome>, ExecuteError> {
        if workflow.artifacts.is_empty() {
            return Ok(None);
        }
        let base_dir = match super::plan::confined(workspace, workflow.working_directory.as_deref())
        {
            Ok(dir) => dir,
            Err(message) => return Ok(Some(Outcome::failure(message))),
        };
        let request = CollectRequest {
            build: self.build.id,
            patterns: workflow.artifacts.clone(),
            base_dir,
            workspace: workspace.to_path_buf(),
            env: env.to_vec(),
        };
        let collected = match self.ports.artifacts.collect(&request).await {
            Ok(c) => c,
            Err(e) => {
                self.log(&format!("error: artifact collection failed: {e}"))
                    .await;
                return Ok(Some(Outcome::failure(format!(
                    "artifact collection failed: {e}"
                ))));
            }
        };
        for warning in &collected.warnings {
            self.log(&format!("warning: {warning}")).await;
        }
        let now = self.svc.clock.now();
        let artifacts: Vec<Artifact> = collected
            .files
            .iter()
            .map(|f| Artifact {
                id: ArtifactId::from_ulid(self.svc.ids.new_ulid()),
                build_id: self.build.id,
                path: f.path.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
                created_at: now,
            })
            .collect();
        self.log(&format!("collected {} artifact(s)", artifacts.len()))
            .await;
        self.svc.builds.add_artifacts(&artifacts).await?;
        Ok(None)
    }

    async fn finish(&self, outcome: Outcome) -> Result<BuildStatus, ExecuteError> {
        let update = BuildUpdate {
            finished_at: Some(self.svc.clock.now()),
            error_message: outcome.error.clone(),
            ..BuildUpdate::default()
        };
        // Steps never reached (e.g. the fetch failed after planning) end skipped.
        for step in self.svc.builds.list_steps(self.build.id).await? {
            if step.status == StepStatus::Pending {
                self.end_step(&step, StepStatus::Skipped, None, None)
                    .await?;
            }
        }
        let moved = self
            .svc
            .builds
            .transition_build(self.build.id, BuildStatus::Running, outcome.status, &update)
            .await?;
        let line = match &outcome.error {
            Some(e) => format!("build {}: {e}", outcome.status),
            None => format!("build {}", outcome.status),
        };
        self.log(&line).await;
        self.ports.logs.finish(self.build.id);
        if moved {
            Ok(outcome.status)
        } else {
            // Someone else ended it (a cancel of a build with no live worker).
            let now = self.svc.builds.get_build(self.build.id).await?;
            Ok(now.map_or(outcome.status, |b| b.status))
        }
    }
}
