//! Wire types of the build endpoints.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{BuildStatusDto, ConfigSourceDto, StepStatusDto, TriggerDto};
use crate::domain::build::{Artifact, Build, BuildStep};

/// `POST /api/repositories/{id}/trigger`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerBuildRequest {
    /// Branch; the repository's default branch when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Exact commit SHA (7 to 40 hex); the branch head when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Workflow; the only/first one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
}

/// A build as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct BuildDto {
    /// ULID.
    pub id: String,
    /// Per-repository number (#1, #2, ...).
    pub number: u64,
    /// The repository.
    pub repository_id: String,
    /// Where it is in its life.
    pub status: BuildStatusDto,
    /// What started it.
    pub trigger: TriggerDto,
    /// 1 (highest) to 4.
    pub priority: u8,
    /// Branch built.
    #[schema(required)]
    pub branch: Option<String>,
    /// Target branch of a pull/merge request build. Absent from older servers.
    #[serde(default)]
    #[schema(required)]
    pub base_branch: Option<String>,
    /// Tag built.
    #[schema(required)]
    pub tag: Option<String>,
    /// Pull/merge request number.
    #[schema(required)]
    pub pull_request: Option<u64>,
    /// Commit built (resolved once fetched).
    #[schema(required)]
    pub commit_sha: Option<String>,
    /// Workflow run.
    #[schema(required)]
    pub workflow: Option<String>,
    /// Where its pipeline came from, once the build has read it.
    #[schema(required)]
    pub config_source: Option<ConfigSourceDto>,
    /// The webhook event that caused it.
    #[schema(required)]
    pub webhook_event_id: Option<String>,
    /// Why it failed or was cancelled.
    #[schema(required)]
    pub error_message: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    #[schema(required)]
    pub started_at: Option<String>,
    /// RFC 3339.
    #[schema(required)]
    pub finished_at: Option<String>,
    /// Run time so far or in total, in milliseconds (`null` before it starts).
    #[schema(required)]
    pub duration_ms: Option<u64>,
    /// Steps by index (only in single-build answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepDto>>,
    /// Why a pending build does not start although a slot may be free (e.g. low disk
    /// space), with what to do. Not stored: computed by the dispatcher when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_reason: Option<String>,
}

impl BuildDto {
    /// From a build; `now` gives the running duration of unfinished builds.
    pub fn new(b: &Build, steps: Option<&[BuildStep]>, now: jiff::Timestamp) -> Self {
        let duration_ms = b.started_at.map(|s| {
            let end = b.finished_at.unwrap_or(now);
            u64::try_from(end.duration_since(s).as_millis()).unwrap_or(0)
        });
        Self {
            id: b.id.to_string(),
            number: b.number,
            repository_id: b.repository_id.to_string(),
            status: b.status.into(),
            trigger: b.trigger.into(),
            priority: b.priority.number(),
            branch: b.branch.as_ref().map(|x| x.as_str().to_owned()),
            base_branch: b.base_branch.as_ref().map(|x| x.as_str().to_owned()),
            tag: b.tag.clone(),
            pull_request: b.pull_request,
            commit_sha: b.commit_sha.clone(),
            workflow: b.workflow.clone(),
            // Stored as `ConfigSource::as_str`.
            config_source: b.config_source.as_deref().map(ConfigSourceDto::from_wire),
            webhook_event_id: b.webhook_event_id.map(|i| i.to_string()),
            error_message: b.error_message.clone(),
            created_at: b.created_at.to_string(),
            started_at: b.started_at.map(|t| t.to_string()),
            finished_at: b.finished_at.map(|t| t.to_string()),
            duration_ms,
            steps: steps.map(|s| s.iter().map(|x| StepDto::new(x, now)).collect()),
            waiting_reason: None,
        }
    }
}

/// A build step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct StepDto {
    /// 0-based index, as in `step-N-stdout.log`.
    pub index: u32,
    /// Display name.
    pub name: String,
    /// Where it is in its life.
    pub status: StepStatusDto,
    /// Whether its failure is ignored.
    pub ignore_failure: bool,
    /// Exit code once finished.
    #[schema(required)]
    pub exit_code: Option<i32>,
    /// Why it failed (timeout, could not start).
    #[schema(required)]
    pub error_message: Option<String>,
    /// RFC 3339.
    #[schema(required)]
    pub started_at: Option<String>,
    /// RFC 3339.
    #[schema(required)]
    pub finished_at: Option<String>,
    /// Milliseconds.
    #[schema(required)]
    pub duration_ms: Option<u64>,
}

impl StepDto {
    /// From a step.
    pub fn new(s: &BuildStep, now: jiff::Timestamp) -> Self {
        Self {
            index: s.index,
            name: s.name.clone(),
            status: s.status.into(),
            ignore_failure: s.ignore_failure,
            exit_code: s.exit_code,
            error_message: s.error_message.clone(),
            started_at: s.started_at.map(|t| t.to_string()),
            finished_at: s.finished_at.map(|t| t.to_string()),
            duration_ms: s.started_at.map(|st| {
                u64::try_from(s.finished_at.unwrap_or(now).duration_since(st).as_millis())
                    .unwrap_or(0)
            }),
        }
    }
}

/// `GET /api/builds`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct BuildListResponse {
    /// One page.
    pub builds: Vec<BuildDto>,
    /// Pass as `after=` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `GET /api/builds/{id}/steps`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct StepListResponse {
    /// By index.
    pub steps: Vec<StepDto>,
}

/// An artifact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ArtifactDto {
    /// ULID.
    pub id: String,
    /// Relative path (`/`-separated).
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&Artifact> for ArtifactDto {
    fn from(a: &Artifact) -> Self {
        Self {
            id: a.id.to_string(),
            path: a.path.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
            created_at: a.created_at.to_string(),
        }
    }
}

/// `GET /api/builds/{id}/artifacts`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ArtifactListResponse {
    /// By path.
    pub artifacts: Vec<ArtifactDto>,
}
