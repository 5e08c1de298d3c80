//! Read builds, steps, artifacts and logs (spec 6.4, 7.2, 10.2).

use crate::domain::build::{Artifact, Build, BuildStep};
use crate::domain::validation::{FieldError, FieldErrors};
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::{ArtifactId, BuildId};
use crate::ports::{BuildLogs, BuildPage, BuildQuery, LogChunk, LogError, LogFile, StoreError};
use crate::services::Services;
use crate::usecases::store_class;

/// Why a build query failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildQueryError {
    /// Bad filter values.
    #[error("invalid build query: {0}")]
    Invalid(FieldErrors),
    /// No such build.
    #[error("build {0} not found; run `oore build list` to see builds")]
    NotFound(BuildId),
    /// No such step.
    #[error("build {0} has no step {1}; run `oore build steps {0}` to see its steps")]
    NoStep(BuildId, u32),
    /// No such artifact.
    #[error("build {0} has no artifact {1}; run `oore build artifacts {0}` to list them")]
    NoArtifact(BuildId, ArtifactId),
    /// The log could not be read.
    #[error("could not read the log: {0}")]
    Log(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for BuildQueryError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Invalid(_) => ErrorClass::Invalid,
            Self::NotFound(_) | Self::NoStep(..) | Self::NoArtifact(..) => ErrorClass::NotFound,
            Self::Log(_) => ErrorClass::Internal,
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

/// A build with its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildView {
    /// The build.
    pub build: Build,
    /// Its steps by index (empty until the pipeline was resolved).
    pub steps: Vec<BuildStep>,
}

/// One build with its steps.
pub async fn get_build(svc: &Services, id: BuildId) -> Result<BuildView, BuildQueryError> {
    let build = svc
        .builds
        .get_build(id)
        .await?
        .ok_or(BuildQueryError::NotFound(id))?;
    let steps = svc.builds.list_steps(id).await?;
    Ok(BuildView { build, steps })
}

/// Builds matching `query`, one keyset page. A commit prefix needs at least 4 hex
/// characters (shorter ones match too much to be useful, and cost a scan).
pub async fn list_builds(
    svc: &Services,
    mut query: BuildQuery,
) -> Result<BuildPage, BuildQueryError> {
    if let Some(prefix) = &query.commit_prefix {
        let p = prefix.trim().to_ascii_lowercase();
        if p.len() < 4 || p.len() > 40 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BuildQueryError::Invalid(
                FieldError::new("commit", "a commit prefix is 4 to 40 hex characters").into(),
            ));
        }
        query.commit_prefix = Some(p);
    }
    if let (Some(from), Some(until)) = (query.created_from, query.created_until)
        && from > until
    {
        return Err(BuildQueryError::Invalid(
            FieldError::new("from", "must not be after `until`").into(),
        ));
    }
    Ok(svc.builds.list_builds(&query).await?)
}

/// The steps of a build.
pub async fn list_build_steps(
    svc: &Services,
    id: BuildId,
) -> Result<Vec<BuildStep>, BuildQueryError> {
    Ok(get_build(svc, id).await?.steps)
}

/// The artifacts of a build.
pub async fn list_build_artifacts(
    svc: &Services,
    id: BuildId,
) -> Result<Vec<Artifact>, BuildQueryError> {
    svc.builds
        .get_build(id)
        .await?
        .ok_or(BuildQueryError::NotFound(id))?;
    Ok(svc.builds.list_artifacts(id).await?)
}

/// One artifact of a build.
pub async fn get_build_artifact(
    svc: &Services,
    id: BuildId,
    artifact: ArtifactId,
) -> Result<Artifact, BuildQueryError> {
    svc.builds
        .get_build(id)
        .await?
        .ok_or(BuildQueryError::NotFound(id))?;
    svc.builds
        .get_artifact(id, artifact)
        .await?
        .ok_or(BuildQueryError::NoArtifact(id, artifact))
}

/// Up to `max_bytes` of a build log from logical `offset`. A step log of a step that
/// exists but has not written yet reads as empty.
pub async fn read_build_log(
    svc: &Services,
    logs: &dyn BuildLogs,
    id: BuildId,
    file: LogFile,
    offset: u64,
    max_bytes: usize,
) -> Result<LogChunk, BuildQueryError> {
    let view = get_build(svc, id).await?;
    if let LogFile::Step { index, .. } = file
        && !view.steps.iter().any(|s| s.index == index)
    {
        return Err(BuildQueryError::NoStep(id, index));
    }
    match logs.read(id, file, offset, max_bytes).await {
        Ok(chunk) => Ok(chunk),
        Err(LogError::NotFound) => Ok(LogChunk {
            data: Vec::new(),
            offset,
            next_offset: offset,
        }),
        Err(LogError::Io(e)) => Err(BuildQueryError::Log(e)),
    }
}
