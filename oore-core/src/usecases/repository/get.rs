//! Show one repository.

use crate::domain::repository::Repository;
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::RepositoryId;
use crate::ports::StoreError;
use crate::services::Services;

use super::store_class;

/// Why a repository could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum GetRepositoryError {
    /// No such repository (or it was removed).
    #[error("repository {0} not found; run `oore repo list` to see the repositories")]
    NotFound(RepositoryId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for GetRepositoryError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Store(e) => store_class(e),
        }
    }
}

/// The repository with `id`, unless it does not exist or was removed.
pub async fn get_repository(
    svc: &Services,
    id: RepositoryId,
) -> Result<Repository, GetRepositoryError> {
    svc.repositories
        .get(id)
        .await?
        .ok_or(GetRepositoryError::NotFound(id))
}
