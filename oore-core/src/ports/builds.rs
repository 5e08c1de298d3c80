//! The build store: builds, their steps and artifacts. The database is the queue: a
//! pending build row is the only record that a build is waiting.

use async_trait::async_trait;
use jiff::Timestamp;

use super::StoreError;
use crate::domain::build::{Artifact, Build, BuildStatus, BuildStep, StepStatus, TriggerType};
use crate::domain::repository::BranchName;
use crate::ids::{ArtifactId, BuildId, RepositoryId, WebhookEventId};
use crate::scheduling::{QueuedBuild, RunningBuild};

/// Which builds to list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildQuery {
    /// Only this repository.
    pub repository_id: Option<RepositoryId>,
    /// Only these statuses (any of them).
    pub statuses: Vec<BuildStatus>,
    /// Only this branch.
    pub branch: Option<BranchName>,
    /// Only this trigger.
    pub trigger: Option<TriggerType>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_until: Option<Timestamp>,
    /// Commit SHA starts with this (lowercase hex).
    pub commit_prefix: Option<String>,
    /// Only builds caused by this webhook event.
    pub webhook_event_id: Option<WebhookEventId>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Page size: 0 means [`BuildQuery::DEFAULT_LIMIT`], more than
    /// [`BuildQuery::MAX_LIMIT`] means the maximum (see [`BuildQuery::page_size`]).
    pub limit: u32,
    /// Keyset cursor: continue after this build (exclusive), in the chosen order.
    pub after: Option<BuildId>,
}

impl BuildQuery {
    /// The page size when `limit` is 0.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page a store returns, whatever `limit` asks for.
    pub const MAX_LIMIT: u32 = 200;

    /// The number of builds a page of this query holds at most.
    pub fn page_size(&self) -> u32 {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }
}

/// One page of builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildPage {
    /// The builds, in the requested order.
    pub builds: Vec<Build>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<BuildId>,
}

/// Fields written together with a build status change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildUpdate {
    /// Set when moving to running.
    pub started_at: Option<Timestamp>,
    /// Set when moving to a terminal status.
    pub finished_at: Option<Timestamp>,
    /// The failure reason.
    pub error_message: Option<String>,
    /// The resolved commit.
    pub commit_sha: Option<String>,
    /// The selected workflow.
    pub workflow: Option<String>,
    /// `database`, `repository` or `default`.
    pub config_source: Option<String>,
}

/// Persistent builds, steps and artifacts.
#[async_trait]
pub trait BuildStore: Send + Sync {
    /// Stores a new pending build, giving it the next per-repository number.
    /// MUST assign numbers 1, 2, 3, ... per repository without gaps or repeats, even when
    /// called concurrently, and return the stored build (the given one with its number).
    /// MUST return `NotFound` and store nothing if no repository with the build's
    /// `repository_id` was ever stored (a soft-deleted repository still counts).
    async fn create_build(&self, build: &Build) -> Result<Build, StoreError>;

    /// MUST return `None` for unknown ids.
    async fn get_build(&self, id: BuildId) -> Result<Option<Build>, StoreError>;

    /// Builds matching `query`, newest first (or oldest first), keyset-paginated by id.
    /// MUST return at most [`BuildQuery::page_size`] builds, and `next` exactly when more
    /// builds match after the last one returned.
    async fn list_builds(&self, query: &BuildQuery) -> Result<BuildPage, StoreError>;

    /// Every pending build, with its repository's concurrency mode.
    async fn queued_builds(&self) -> Result<Vec<QueuedBuild>, StoreError>;

    /// Every running build.
    async fn running_builds(&self) -> Result<Vec<RunningBuild>, StoreError>;

    /// Compare-and-set: moves build `id` from `from` to `to` (a legal transition, checked by
    /// the caller) writing the `Some` fields of `update`. MUST return `Ok(false)` and change
    /// nothing if the build is not in status `from`.
    async fn transition_build(
        &self,
        id: BuildId,
        from: BuildStatus,
        to: BuildStatus,
        update: &BuildUpdate,
    ) -> Result<bool, StoreError>;

    /// Writes the `Some` fields of `update` to a build that is in status `status`, without
    /// changing the status (e.g. the resolved commit of a running build).
    /// MUST return `Ok(false)` and change nothing if the build is not in `status`.
    async fn annotate_build(
        &self,
        id: BuildId,
        status: BuildStatus,
        update: &BuildUpdate,
    ) -> Result<bool, StoreError> {
        self.transition_build(id, status, status, update).await
    }

    /// Stores the planned steps of a build (all pending), replacing any planned before.
    /// MUST return `NotFound` and change nothing if the build does not exist.
    async fn put_steps(&self, build: BuildId, steps: &[BuildStep]) -> Result<(), StoreError>;

    /// Compare-and-set on one step, writing its other fields from `step`.
    /// MUST return `Ok(false)` if the stored step is not in status `from`.
    async fn transition_step(&self, step: &BuildStep, from: StepStatus)
    -> Result<bool, StoreError>;

    /// The steps of a build, by index.
    async fn list_steps(&self, build: BuildId) -> Result<Vec<BuildStep>, StoreError>;

    /// Records collected artifacts, all or none.
    /// MUST return `NotFound` and store none of them if one's build does not exist.
    async fn add_artifacts(&self, artifacts: &[Artifact]) -> Result<(), StoreError>;

    /// The artifacts of a build, by path.
    async fn list_artifacts(&self, build: BuildId) -> Result<Vec<Artifact>, StoreError>;

    /// One artifact of a build; `None` if unknown or of another build.
    async fn get_artifact(
        &self,
        build: BuildId,
        id: ArtifactId,
    ) -> Result<Option<Artifact>, StoreError>;

    /// The build of `repository` with per-repository `number` (`me/app#42`).
    /// MUST return `None` when there is none; a removed repository's builds stay
    /// findable.
    async fn get_build_by_number(
        &self,
        repository: RepositoryId,
        number: u64,
    ) -> Result<Option<Build>, StoreError>;

    /// The builds whose id ends with `suffix` (uppercase ULID characters), newest first,
    /// at most `limit` of them: how a short id (`oore build list` prints the last 8
    /// characters) is found.
    async fn find_builds_by_id_suffix(
        &self,
        suffix: &str,
        limit: u32,
    ) -> Result<Vec<Build>, StoreError>;
}
