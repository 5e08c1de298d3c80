//! [`MemoryBuildStore`]: the in-memory [`BuildStore`], held to the same contract suite
//! as the SQLite store.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::memory::MemoryRepositoryStore;
use crate::domain::build::{Artifact, Build, BuildStatus, BuildStep, StepStatus};
use crate::ids::{ArtifactId, BuildId, RepositoryId};
use crate::ports::{BuildPage, BuildQuery, BuildStore, BuildUpdate, StoreError};
use crate::scheduling::{QueuedBuild, RunningBuild};

/// Builds, steps and artifacts in memory. It reads repositories (for their concurrency
/// mode, and as the foreign key of a build) from the [`MemoryRepositoryStore`] it was
/// made with, so make both from one handle:
///
/// ```
/// use oore_core::testing::{MemoryBuildStore, MemoryRepositoryStore};
/// let repositories = MemoryRepositoryStore::default();
/// let builds = MemoryBuildStore::new(repositories.clone());
/// # drop(builds);
/// ```
pub struct MemoryBuildStore {
    repositories: MemoryRepositoryStore,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// By id, so iteration is in id order like the SQLite primary key.
    builds: BTreeMap<BuildId, Build>,
    steps: Vec<BuildStep>,
    artifacts: Vec<Artifact>,
}

impl MemoryBuildStore {
    /// A store whose builds belong to the repositories of `repositories`.
    pub fn new(repositories: MemoryRepositoryStore) -> Self {
        Self {
            repositories,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether `build` passes every filter of `query` (not the keyset or the limit).
fn matches(query: &BuildQuery, build: &Build) -> bool {
    query.repository_id.is_none_or(|r| r == build.repository_id)
        && (query.statuses.is_empty() || query.statuses.contains(&build.status))
        && query
            .branch
            .as_ref()
            .is_none_or(|b| build.branch.as_ref() == Some(b))
        && query.trigger.is_none_or(|t| t == build.trigger)
        && query.created_from.is_none_or(|t| build.created_at >= t)
        && query.created_until.is_none_or(|t| build.created_at < t)
        && query
            .webhook_event_id
            .is_none_or(|e| build.webhook_event_id == Some(e))
        && query.commit_prefix.as_deref().is_none_or(|prefix| {
            build
                .commit_sha
                .as_deref()
                .is_some_and(|sha| sha.starts_with(prefix))
        })
}

#[async_trait]
impl BuildStore for MemoryBuildStore {
    async fn create_build(&self, build: &Build) -> Result<Build, StoreError> {
        if self
            .repositories
            .concurrency_of(build.repository_id)
            .is_none()
        {
            return Err(StoreError::NotFound);
        }
        let mut state = self.state();
        if state.builds.contains_key(&build.id) {
            return Err(StoreError::Duplicate(format!("build id {}", build.id)));
        }
        let last = state
            .builds
            .values()
            .filter(|b| b.repository_id == build.repository_id)
            .map(|b| b.number)
            .max()
            .unwrap_or(0);
        let stored = Build {
            number: last + 1,
            ..build.clone()
        };
        state.builds.insert(stored.id, stored.clone());
        Ok(stored)
    }

    async fn get_build(&self, id: BuildId) -> Result<Option<Build>, StoreError> {
        Ok(self.state().builds.get(&id).cloned())
    }

    async fn list_builds(&self, query: &BuildQuery) -> Result<BuildPage, StoreError> {
        let state = self.state();
        let size = query.page_size() as usize;
        let matching = state.builds.values().filter(|b| matches(query, b));
        let after = |b: &&Build| match query.after {
            None => true,
            Some(after) if query.oldest_first => b.id > after,
            Some(after) => b.id < after,
        };
        let mut builds: Vec<Build> = if query.oldest_first {
            matching.filter(after).take(size + 1).cloned().collect()
        } else {
            matching
                .rev()
                .filter(after)
                .take(size + 1)
                .cloned()
                .collect()
        };
        let next = if builds.len() > size {
            builds.truncate(size);
            builds.last().map(|b| b.id)
        } else {
            None
        };
        Ok(BuildPage { builds, next })
    }

    async fn queued_builds(&self) -> Result<Vec<QueuedBuild>, StoreError> {
        let pending: Vec<Build> = self
            .state()
            .builds
            .values()
            .filter(|b| b.status == BuildStatus::Pending)
            .cloned()
            .collect();
        let mut queue: Vec<QueuedBuild> = pending
            .into_iter()
            .map(|b| QueuedBuild {
                id: b.id,
                repository_id: b.repository_id,
                priority: b.priority,
                queued_at: b.created_at,
                concurrency: self
                    .repositories
                    .concurrency_of(b.repository_id)
                    .unwrap_or_default(),
            })
            .collect();
        queue.sort_by_key(|q| (q.priority, q.queued_at, q.id));
        Ok(queue)
    }

    async fn running_builds(&self) -> Result<Vec<RunningBuild>, StoreError> {
        Ok(self
            .state()
            .builds
            .values()
            .filter(|b| b.status == BuildStatus::Running)
            .map(|b| RunningBuild {
                id: b.id,
                repository_id: b.repository_id,
            })
            .collect())
    }

    async fn transition_build(
        &self,
        id: BuildId,
        from: BuildStatus,
        to: BuildStatus,
        update: &BuildUpdate,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(build) = state.builds.get_mut(&id).filter(|b| b.status == from) else {
            return Ok(false);
        };
        build.status = to;
        fn set<T: Clone>(field: &mut Option<T>, value: &Option<T>) {
            if value.is_some() {
                field.clone_from(value);
            }
        }
        set(&mut build.started_at, &update.started_at);
        set(&mut build.finished_at, &update.finished_at);
        set(&mut build.error_message, &update.error_message);
        set(&mut build.commit_sha, &update.commit_sha);
        set(&mut build.workflow, &update.workflow);
        set(&mut build.config_source, &update.config_source);
        Ok(true)
    }

    async fn put_steps(&self, build: BuildId, steps: &[BuildStep]) -> Result<(), StoreError> {
        let mut state = self.state();
        if !state.builds.contains_key(&build) {
            return Err(StoreError::NotFound);
        }
        for (i, step) in steps.iter().enumerate() {
            let reused = state
                .steps
                .iter()
                .any(|s| s.id == step.id && s.build_id != build);
            let repeated = steps[..i]
                .iter()
                .any(|s| s.id == step.id || s.index == step.index);
            if reused || repeated {
                return Err(StoreError::Duplicate(format!(
                    "step {} (index {})",
                    step.id, step.index
                )));
            }
        }
        state.steps.retain(|s| s.build_id != build);
        state.steps.extend(steps.iter().map(|s| BuildStep {
            build_id: build,
            ..s.clone()
        }));
        Ok(())
    }

    async fn transition_step(
        &self,
        step: &BuildStep,
        from: StepStatus,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(stored) = state
            .steps
            .iter_mut()
            .find(|s| s.id == step.id && s.build_id == step.build_id && s.status == from)
        else {
            return Ok(false);
        };
        stored.status = step.status;
        stored.exit_code = step.exit_code;
        stored.error_message.clone_from(&step.error_message);
        stored.started_at = step.started_at;
        stored.finished_at = step.finished_at;
        Ok(true)
    }

    async fn list_steps(&self, build: BuildId) -> Result<Vec<BuildStep>, StoreError> {
        let mut steps: Vec<BuildStep> = self
            .state()
            .steps
            .iter()
            .filter(|s| s.build_id == build)
            .cloned()
            .collect();
        steps.sort_by_key(|s| s.index);
        Ok(steps)
    }

    async fn add_artifacts(&self, artifacts: &[Artifact]) -> Result<(), StoreError> {
        let mut state = self.state();
        if artifacts
            .iter()
            .any(|a| !state.builds.contains_key(&a.build_id))
        {
            return Err(StoreError::NotFound);
        }
        for (i, a) in artifacts.iter().enumerate() {
            let clash =
                |b: &Artifact| b.id == a.id || (b.build_id == a.build_id && b.path == a.path);
            if state.artifacts.iter().any(clash) || artifacts[..i].iter().any(clash) {
                return Err(StoreError::Duplicate(format!(
                    "artifact {} of build {}",
                    a.path, a.build_id
                )));
            }
        }
        state.artifacts.extend_from_slice(artifacts);
        Ok(())
    }

    async fn list_artifacts(&self, build: BuildId) -> Result<Vec<Artifact>, StoreError> {
        let mut artifacts: Vec<Artifact> = self
            .state()
            .artifacts
            .iter()
            .filter(|a| a.build_id == build)
            .cloned()
            .collect();
        artifacts.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(artifacts)
    }

    async fn get_artifact(
        &self,
        build: BuildId,
        id: ArtifactId,
    ) -> Result<Option<Artifact>, StoreError> {
        Ok(self
            .state()
            .artifacts
            .iter()
            .find(|a| a.id == id && a.build_id == build)
            .cloned())
    }

    async fn get_build_by_number(
        &self,
        repository: RepositoryId,
        number: u64,
    ) -> Result<Option<Build>, StoreError> {
        Ok(self
            .state()
            .builds
            .values()
            .find(|b| b.repository_id == repository && b.number == number)
            .cloned())
    }

    async fn find_builds_by_id_suffix(
        &self,
        suffix: &str,
        limit: u32,
    ) -> Result<Vec<Build>, StoreError> {
        Ok(self
            .state()
            .builds
            .values()
            .rev()
            .filter(|b| b.id.to_string().ends_with(suffix))
            .take(limit as usize)
            .cloned()
            .collect())
    }
}
