//! List repositories.

use crate::domain::repository::Repository;
use crate::error::{ErrorClass, UseCaseError};
use crate::ports::{RepositoryFilter, StoreError};
use crate::services::Services;

use super::store_class;

/// Why repositories could not be listed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ListRepositoriesError(#[from] StoreError);

impl UseCaseError for ListRepositoriesError {
    fn class(&self) -> ErrorClass {
        store_class(&self.0)
    }
}

/// Every non-deleted repository matching `filter`, ordered by owner and name.
pub async fn list_repositories(
    svc: &Services,
    filter: &RepositoryFilter,
) -> Result<Vec<Repository>, ListRepositoriesError> {
    Ok(svc.repositories.list(filter).await?)
}
