//! [`FailingWrites`]: a [`BuildStore`] around a real one whose writes fail on demand with
//! the error a full disk gives, to test that a failed write never strands a build.
//! Reads always go through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use async_trait::async_trait;

use crate::domain::build::{Artifact, Build, BuildStatus, BuildStep, StepStatus};
use crate::ids::{ArtifactId, BuildId, RepositoryId, StepId};
use crate::ports::{BuildPage, BuildQuery, BuildStore, BuildUpdate, StepProcess, StoreError};
use crate::scheduling::{QueuedBuild, RunningBuild};

/// Which writes fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FailMode {
    /// None.
    Off = 0,
    /// Every write.
    AllWrites = 1,
    /// Only moving a build to a terminal status (recording its end).
    BuildEnds = 2,
}

/// See the module doc. Cheap to share: the mode is atomic.
pub struct FailingWrites {
    inner: Arc<dyn BuildStore>,
    mode: AtomicU8,
}

impl FailingWrites {
    /// Around `inner`, failing nothing yet.
    pub fn new(inner: Arc<dyn BuildStore>) -> Self {
        Self {
            inner,
            mode: AtomicU8::new(FailMode::Off as u8),
        }
    }

    /// Which writes fail from now on.
    pub fn set(&self, mode: FailMode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    fn mode(&self) -> FailMode {
        match self.mode.load(Ordering::SeqCst) {
            1 => FailMode::AllWrites,
            2 => FailMode::BuildEnds,
            _ => FailMode::Off,
        }
    }

    fn check(&self, build_end: bool) -> Result<(), StoreError> {
        match (self.mode(), build_end) {
            (FailMode::AllWrites, _) | (FailMode::BuildEnds, true) => Err(disk_full()),
            _ => Ok(()),
        }
    }
}

/// The error the SQLite store gives for `SQLITE_FULL`.
pub fn disk_full() -> StoreError {
    StoreError::Unavailable(
        "database or disk is full: no space left on device; free disk space on the database's filesystem"
            .to_owned(),
    )
}

#[async_trait]
impl BuildStore for FailingWrites {
    async fn create_build(&self, build: &Build) -> Result<Build, StoreError> {
        self.check(false)?;
        self.inner.create_build(build).await
    }

    async fn get_build(&self, id: BuildId) -> Result<Option<Build>, StoreError> {
        self.inner.get_build(id).await
    }

    async fn list_builds(&self, query: &BuildQuery) -> Result<BuildPage, StoreError> {
        self.inner.list_builds(query).await
    }

    async fn queued_builds(&self) -> Result<Vec<QueuedBuild>, StoreError> {
        self.inner.queued_builds().await
    }

    async fn running_builds(&self) -> Result<Vec<RunningBuild>, StoreError> {
        self.inner.running_builds().await
    }

    async fn transition_build(
        &self,
        id: BuildId,
        from: BuildStatus,
        to: BuildStatus,
        update: &BuildUpdate,
    ) -> Result<bool, StoreError> {
        self.check(to.is_terminal())?;
        self.inner.transition_build(id, from, to, update).await
    }

    async fn annotate_build(
        &self,
        id: BuildId,
        status: BuildStatus,
        update: &BuildUpdate,
    ) -> Result<bool, StoreError> {
        self.check(false)?;
        self.inner.annotate_build(id, status, update).await
    }

    async fn put_steps(&self, build: BuildId, steps: &[BuildStep]) -> Result<(), StoreError> {
        self.check(false)?;
        self.inner.put_steps(build, steps).await
    }

    async fn transition_step(
        &self,
        step: &BuildStep,
        from: StepStatus,
    ) -> Result<bool, StoreError> {
        self.check(false)?;
        self.inner.transition_step(step, from).await
    }

    async fn list_steps(&self, build: BuildId) -> Result<Vec<BuildStep>, StoreError> {
        self.inner.list_steps(build).await
    }

    async fn record_step_process(
        &self,
        build: BuildId,
        step: StepId,
        process: &StepProcess,
    ) -> Result<bool, StoreError> {
        self.check(false)?;
        self.inner.record_step_process(build, step, process).await
    }

    async fn step_processes(&self, build: BuildId) -> Result<Vec<StepProcess>, StoreError> {
        self.inner.step_processes(build).await
    }

    async fn add_artifacts(&self, artifacts: &[Artifact]) -> Result<(), StoreError> {
        self.check(false)?;
        self.inner.add_artifacts(artifacts).await
    }

    async fn list_artifacts(&self, build: BuildId) -> Result<Vec<Artifact>, StoreError> {
        self.inner.list_artifacts(build).await
    }

    async fn get_artifact(
        &self,
        build: BuildId,
        id: ArtifactId,
    ) -> Result<Option<Artifact>, StoreError> {
        self.inner.get_artifact(build, id).await
    }

    async fn get_build_by_number(
        &self,
        repository: RepositoryId,
        number: u64,
    ) -> Result<Option<Build>, StoreError> {
        self.inner.get_build_by_number(repository, number).await
    }

    async fn find_builds_by_id_suffix(
        &self,
        suffix: &str,
        limit: u32,
    ) -> Result<Vec<Build>, StoreError> {
        self.inner.find_builds_by_id_suffix(suffix, limit).await
    }
}
