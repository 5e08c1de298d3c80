//! Stored pipelines: show, set (validated, versioned), delete, history and restore.

use crate::error::{ErrorClass, ErrorDetail, UseCaseError, report_details};
use crate::ids::RepositoryId;
use crate::pipeline::{self, Format, ValidationReport};
use crate::ports::{PipelineHistoryEntry, PipelineVersion, StoreError};
use crate::services::Services;

/// Why a pipeline operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// No such repository.
    #[error("repository {0} not found; run `oore repo list` to see the repositories")]
    RepositoryNotFound(RepositoryId),
    /// The repository has no stored pipeline.
    #[error(
        "repository {0} has no stored pipeline; builds use its oore.yaml, oore.huml or codemagic.yaml, \
         or store one with `oore pipeline set {0} --file FILE`"
    )]
    NoPipeline(RepositoryId),
    /// No such version in the history.
    #[error(
        "repository {repository} has no pipeline version {version}; see `oore pipeline history {repository}`"
    )]
    NoVersion {
        /// The repository.
        repository: RepositoryId,
        /// The version asked for.
        version: u32,
    },
    /// The document is invalid; nothing was stored.
    #[error("the pipeline is invalid and was not saved: {0}")]
    Invalid(ValidationReport),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl UseCaseError for PipelineError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::RepositoryNotFound(_) | Self::NoPipeline(_) | Self::NoVersion { .. } => {
                ErrorClass::NotFound
            }
            Self::Invalid(_) => ErrorClass::Invalid,
            Self::Store(e) => crate::usecases::store_class(e),
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        match self {
            Self::Invalid(report) => report_details(report),
            _ => Vec::new(),
        }
    }
}

async fn ensure_repository(svc: &Services, id: RepositoryId) -> Result<(), PipelineError> {
    match svc.repositories.get(id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(PipelineError::RepositoryNotFound(id)),
        Err(e) => Err(PipelineError::Store(e)),
    }
}

/// The stored pipeline in use for the repository.
pub async fn get_pipeline(
    svc: &Services,
    repository: RepositoryId,
) -> Result<PipelineVersion, PipelineError> {
    ensure_repository(svc, repository).await?;
    svc.pipelines
        .current(repository)
        .await
        .map_err(PipelineError::Store)?
        .ok_or(PipelineError::NoPipeline(repository))
}

/// Validates and stores `content` as the repository's new pipeline version. Invalid
/// documents are refused with every error and nothing is stored.
pub async fn set_pipeline(
    svc: &Services,
    repository: RepositoryId,
    content: &str,
    format: Format,
) -> Result<(PipelineVersion, ValidationReport), PipelineError> {
    ensure_repository(svc, repository).await?;
    let (_, report) =
        pipeline::parse_and_validate(content, format).map_err(PipelineError::Invalid)?;
    let saved = svc
        .pipelines
        .save(repository, content, format, svc.clock.now())
        .await
        .map_err(PipelineError::Store)?;
    Ok((saved, report))
}

/// Stops using the stored pipeline; builds fall back to the repository's file. History
/// is kept, so it can be restored.
pub async fn delete_pipeline(
    svc: &Services,
    repository: RepositoryId,
) -> Result<(), PipelineError> {
    ensure_repository(svc, repository).await?;
    svc.pipelines
        .clear(repository, svc.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => PipelineError::NoPipeline(repository),
            other => PipelineError::Store(other),
        })
}

/// Every saved version, newest first.
pub async fn pipeline_history(
    svc: &Services,
    repository: RepositoryId,
) -> Result<Vec<PipelineHistoryEntry>, PipelineError> {
    ensure_repository(svc, repository).await?;
    svc.pipelines
        .history(repository)
        .await
        .map_err(PipelineError::Store)
}

/// Makes an old version current again by saving its content as a new version (history
/// stays linear). The old content is validated again, since the rules may have changed.
pub async fn restore_pipeline(
    svc: &Services,
    repository: RepositoryId,
    version: u32,
) -> Result<(PipelineVersion, ValidationReport), PipelineError> {
    ensure_repository(svc, repository).await?;
    let old = svc
        .pipelines
        .version(repository, version)
        .await
        .map_err(PipelineError::Store)?
        .ok_or(PipelineError::NoVersion {
            repository,
            version,
        })?;
    set_pipeline(svc, repository, &old.content, old.format).await
}
