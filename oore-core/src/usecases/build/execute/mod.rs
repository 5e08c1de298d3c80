//! Run one build from start to end (spec 6.1, 6.6, 17): fetch the source, resolve the
//! pipeline, run the steps in order with their timeouts, collect artifacts, and record
//! every status change. Called by the dispatcher after it moved the build to `running`.
//!
//! **A write that fails never strands the build.** When the store refuses a write during
//! the run (a full disk), the build stops there: it ends `failure` saying what could not
//! be recorded, and a step end that could not be written is kept in memory. The end
//! (those step ends, then the build's) is recorded by [`record_build_end`]; if that fails
//! too, [`ExecuteError::Unrecorded`] hands the whole [`BuildEnd`] to the caller, which
//! retries recording it until it succeeds.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cancel::{CancelReason, CancelToken};
use crate::domain::build::{Artifact, Build, BuildStatus, BuildStep, TriggerType};
use crate::domain::repository::Repository;
use crate::ids::{ArtifactId, BuildId, StepId};
use crate::pipeline::{
    self, ConfigSource, Pipeline, PipelineDocument, PipelinePrecedence, REPOSITORY_FILES,
    ResolvedConfig, Trigger, Workflow,
};
use crate::ports::{BuildUpdate, CollectRequest, FetchError, FetchRequest, StoreError};
use crate::services::{ExecutionPorts, Services};
use crate::usecases::repository::clone_credentials_binding;

use super::plan::{EnvContext, plan_steps, step_environment};
use super::record_end::{BuildEnd, UnrecordedStep, record_build_end};

mod steps;

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

/// Why a build could not be driven or its end not recorded. A build that fails for a
/// reason of its own, or because the store refused a write during the run, is not an
/// error: it ends `failure`.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The build does not exist.
    #[error("build {0} not found")]
    NotFound(BuildId),
    /// The build is not running (the dispatcher must move it to running first).
    #[error("build {0} is {1}, not running")]
    NotRunning(BuildId, BuildStatus),
    /// The build could not be read before it ran.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The build ended but its end could not be recorded: record `end` with
    /// [`record_build_end`] until it succeeds (the build is still `running` in the
    /// store meanwhile).
    #[error("build {} ended {} but its end could not be recorded: {error}", end.build, end.status)]
    Unrecorded {
        /// Everything to record.
        end: Box<BuildEnd>,
        /// Why the first attempt failed.
        error: StoreError,
    },
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
        unrecorded: Mutex::new(Vec::new()),
        refused: AtomicBool::new(false),
    };
    let outcome = run.drive().await;
    run.finish(outcome).await
}

struct Run<'a> {
    svc: &'a Services,
    ports: &'a ExecutionPorts,
    settings: &'a ExecutionSettings,
    build: Build,
    cancel: &'a CancelToken,
    /// Step ends the store refused, recorded with the build's end.
    unrecorded: Mutex<Vec<UnrecordedStep>>,
    /// The store refused a write: the build stops.
    refused: AtomicBool,
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

    async fn drive(&mut self) -> Outcome {
        let repo = match self.svc.repositories.get(self.build.repository_id).await {
            Ok(Some(repo)) => repo,
            Ok(None) => {
                return Outcome::failure("the repository was removed before the build started");
            }
            Err(e) => {
                return Outcome::failure(format!(
                    "could not read the repository ({e}); trigger the build again once the database answers"
                ));
            }
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
                return Outcome::failure(format!("could not create the build workspace: {e}"));
            }
        };
        let commit = match self.fetch(&repo, &workspace).await {
            Ok(sha) => sha,
            Err(outcome) => return outcome,
        };

        let (pipeline, source, file) = match self.resolve_pipeline(&repo).await {
            Ok(resolved) => resolved,
            Err(message) => return Outcome::failure(message),
        };
        let origin = match source {
            ConfigSource::Database => "the stored pipeline",
            ConfigSource::Repository => file.unwrap_or("the repository's pipeline file"),
            ConfigSource::Default => "the default pipeline",
        };
        let workflow = match self.select_workflow(&pipeline, origin) {
            Ok(w) => w.clone(),
            Err(message) => return Outcome::failure(message),
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
        if let Err(e) = self
            .svc
            .builds
            .annotate_build(self.build.id, BuildStatus::Running, &update)
            .await
        {
            return self.refuse("the commit and workflow", &e);
        }
        self.build.commit_sha = Some(commit.clone());
        self.build.workflow = Some(workflow.id.clone());

        let ids = self.svc.ids.clone();
        let mut new_id = || StepId::from_ulid(ids.new_ulid());
        let steps = match plan_steps(&workflow, &self.build, &mut new_id) {
            Ok(steps) => steps,
            Err(message) => return Outcome::failure(message),
        };
        let rows: Vec<BuildStep> = steps.iter().map(|s| s.step.clone()).collect();
        if let Err(e) = self.svc.builds.put_steps(self.build.id, &rows).await {
            return self.refuse("the build's steps", &e);
        }

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
            .await;
        if outcome.status == BuildStatus::Cancelled
            || self.cancel.is_cancelled()
            || self.store_refused()
        {
            return outcome;
        }
        match self.collect_artifacts(&workflow, &workspace, &env).await {
            Some(failure) if outcome.status == BuildStatus::Success => failure,
            _ => outcome,
        }
    }

    fn store_refused(&self) -> bool {
        self.refused.load(Ordering::SeqCst)
    }

    /// The build stops because the store refused to record `what`.
    fn refuse(&self, what: &str, e: &StoreError) -> Outcome {
        self.refused.store(true, Ordering::SeqCst);
        Outcome::failure(format!(
            "could not record {what} ({e}); the build was stopped: trigger it again once the database accepts writes"
        ))
    }

    async fn fetch(&self, repo: &Repository, workspace: &Path) -> Result<String, Outcome> {
        let credentials = match &repo.clone_credentials {
            Some(sealed) => match self
                .svc
                .cipher
                .decrypt(sealed, &clone_credentials_binding(repo.id))
            {
                Ok(credentials) => Some(credentials),
                Err(e) => {
                    return Err(Outcome::failure(format!(
                        "could not decrypt the clone URL's credentials ({e}); give them again with `oore repo update {} --clone-url https://user:token@host/...`",
                        repo.id
                    )));
                }
            },
            None => None,
        };
        let request = FetchRequest {
            build: self.build.id,
            url: repo.clone_url.as_str().to_owned(),
            credentials,
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

    /// Collects artifacts; `Some(outcome)` when collection itself failed.
    async fn collect_artifacts(
        &self,
        workflow: &Workflow,
        workspace: &Path,
        env: &[(String, String)],
    ) -> Option<Outcome> {
        if workflow.artifacts.is_empty() {
            return None;
        }
        let base_dir = match super::plan::confined(workspace, workflow.working_directory.as_deref())
        {
            Ok(dir) => dir,
            Err(message) => return Some(Outcome::failure(message)),
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
                return Some(Outcome::failure(format!("artifact collection failed: {e}")));
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
        match self.svc.builds.add_artifacts(&artifacts).await {
            Ok(()) => None,
            Err(e) => {
                self.log(&format!("error: could not record the artifacts: {e}"))
                    .await;
                Some(self.refuse("the artifacts", &e))
            }
        }
    }

    /// Records the end: the step ends the store refused, the build's open steps closed,
    /// then the build itself ([`record_build_end`]).
    async fn finish(&self, outcome: Outcome) -> Result<BuildStatus, ExecuteError> {
        let end = BuildEnd {
            build: self.build.id,
            status: outcome.status,
            error: outcome.error,
            finished_at: self.svc.clock.now(),
            steps: std::mem::take(&mut *self.unrecorded.lock().unwrap_or_else(|p| p.into_inner())),
        };
        match record_build_end(self.svc, self.ports.logs.as_ref(), &end).await {
            Ok(status) => Ok(status),
            Err(error) => {
                self.log(&format!(
                    "build {}: could not record its end yet ({error}); retrying until the database accepts writes",
                    end.status
                ))
                .await;
                Err(ExecuteError::Unrecorded {
                    end: Box::new(end),
                    error,
                })
            }
        }
    }
}
