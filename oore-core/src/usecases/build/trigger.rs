//! Trigger a build by hand (spec 6.2): `POST /api/repositories/:id/trigger`.

use crate::domain::build::{Build, BuildStatus, Priority, TriggerType};
use crate::domain::repository::{BranchName, RepositoryState};
use crate::domain::validation::{FieldError, FieldErrors};
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::{BuildId, RepositoryId};
use crate::pipeline;
use crate::ports::{BuildSignals, StoreError};
use crate::services::Services;
use crate::usecases::store_class;

/// What to build; everything optional.
#[derive(Debug, Clone, Default)]
pub struct TriggerBuild {
    /// Branch; the repository's default branch when absent.
    pub branch: Option<String>,
    /// Exact commit (7 to 40 hex characters); the branch head when absent.
    pub commit: Option<String>,
    /// Workflow; the only/first workflow when absent.
    pub workflow: Option<String>,
}

/// Why a build could not be triggered.
#[derive(Debug, thiserror::Error)]
pub enum TriggerBuildError {
    /// Bad branch, commit or workflow.
    #[error("invalid build request: {0}")]
    Invalid(FieldErrors),
    /// No such repository.
    #[error("repository {0} not found; run `oore repo list` to see the repositories")]
    RepositoryNotFound(RepositoryId),
    /// The repository is not active.
    #[error("repository {0} is {1}: builds are paused; activate it with `oore repo activate {0}`")]
    NotActive(RepositoryId, RepositoryState),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for TriggerBuildError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Invalid(_) => ErrorClass::Invalid,
            Self::RepositoryNotFound(_) => ErrorClass::NotFound,
            Self::NotActive(..) => ErrorClass::Conflict,
            Self::Store(e) => store_class(e),
        }
    }

    fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Self::Invalid(f) => Some(f),
            _ => None,
        }
    }
}

/// A commit SHA as given: 7 to 40 hex characters, lowercased.
pub(crate) fn check_commit(raw: &str) -> Result<String, FieldError> {
    let sha = raw.trim().to_ascii_lowercase();
    if !(7..=40).contains(&sha.len()) || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FieldError::new(
            "commit",
            format!("'{raw}' is not a commit SHA: expected 7 to 40 hex characters"),
        ));
    }
    Ok(sha)
}

/// Queues a manual build (priority 1) of the repository and wakes the dispatcher. An
/// active repository and one pending setup (no webhook secret yet) can be built by hand;
/// an inactive one cannot.
/// When a stored pipeline exists, the workflow name is checked against it now.
pub async fn trigger_build(
    svc: &Services,
    signals: &dyn BuildSignals,
    repository: RepositoryId,
    request: TriggerBuild,
) -> Result<Build, TriggerBuildError> {
    let repo = svc
        .repositories
        .get(repository)
        .await?
        .ok_or(TriggerBuildError::RepositoryNotFound(repository))?;
    let mut errors = FieldErrors::new();
    let branch = match &request.branch {
        Some(b) => errors.check(BranchName::new_for("branch", b.trim())),
        None => Some(repo.default_branch.clone()),
    };
    let commit = request
        .commit
        .as_deref()
        .and_then(|c| errors.check(check_commit(c)));
    let workflow = request
        .workflow
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned);
    if let Some(name) = &workflow
        && let Some(stored) = svc.pipelines.current(repository).await?
        && let Ok((p, _)) = pipeline::parse_and_validate(&stored.content, stored.format)
        && let Err(e) = pipeline::select_workflows(
            &p,
            &pipeline::Trigger::Manual {
                workflow: Some(name.clone()),
            },
        )
    {
        errors.push(FieldError::new("workflow", e.to_string()));
    }
    errors.into_result().map_err(TriggerBuildError::Invalid)?;
    if !repo.state.manual_builds_enabled() {
        return Err(TriggerBuildError::NotActive(repository, repo.state));
    }
    let build = Build {
        id: BuildId::from_ulid(svc.ids.new_ulid()),
        repository_id: repository,
        number: 0,
        status: BuildStatus::Pending,
        trigger: TriggerType::Manual,
        priority: Priority::MANUAL,
        branch,
        base_branch: None,
        tag: None,
        pull_request: None,
        commit_sha: commit,
        workflow,
        config_source: None,
        webhook_event_id: None,
        error_message: None,
        created_at: svc.clock.now(),
        started_at: None,
        finished_at: None,
    };
    let stored = svc.builds.create_build(&build).await?;
    signals.wake_dispatcher();
    Ok(stored)
}
