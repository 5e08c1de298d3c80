//! `oore github remove`: forget the App and its installations; the repositories stay,
//! deactivated.

use crate::error::{ErrorClass, UseCaseError};
use crate::github::ports::GitHubServices;
use crate::ports::StoreError;
use crate::services::Services;
use crate::usecases::store_class;

/// Why the App could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveAppError {
    /// Nothing to remove.
    #[error("no GitHub App is configured; nothing to remove")]
    NotConfigured,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl UseCaseError for RemoveAppError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotConfigured => ErrorClass::NotFound,
            Self::Store(e) => store_class(e),
        }
    }
}

/// Removes the stored App and its installations, drops cached tokens, and returns how
/// many repositories were deactivated. The App itself stays on GitHub (delete it in its
/// settings there).
pub async fn remove_app(svc: &Services, gh: &GitHubServices) -> Result<u32, RemoveAppError> {
    let deactivated = gh
        .store
        .remove_app(svc.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => RemoveAppError::NotConfigured,
            other => RemoveAppError::Store(other),
        })?;
    gh.tokens.forget(None);
    Ok(deactivated)
}
