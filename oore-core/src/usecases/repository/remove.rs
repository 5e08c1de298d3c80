//! Remove (soft-delete) a repository.

use crate::error::{ErrorClass, UseCaseError};
use crate::ids::RepositoryId;
use crate::ports::StoreError;
use crate::services::Services;

use super::store_class;

/// Why a repository could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveRepositoryError {
    /// No such repository (or it was removed already).
    #[error("repository {0} not found; run `oore repo list` to see the repositories")]
    NotFound(RepositoryId),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl UseCaseError for RemoveRepositoryError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Store(e) => store_class(e),
        }
    }
}

/// Soft-deletes the repository: it disappears from lists, its history stays, and the
/// same repository can be added again later.
pub async fn remove_repository(
    svc: &Services,
    id: RepositoryId,
) -> Result<(), RemoveRepositoryError> {
    svc.repositories
        .soft_delete(id, svc.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => RemoveRepositoryError::NotFound(id),
            other => RemoveRepositoryError::Store(other),
        })
}
