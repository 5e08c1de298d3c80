//! Activate or deactivate a repository (pause builds without deleting it).

use crate::domain::repository::{Repository, RepositoryState};
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::RepositoryId;
use crate::ports::StoreError;
use crate::services::Services;

use super::store_class;

/// Why the state could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum SetActiveError {
    /// No such repository.
    #[error("repository {0} not found; run `oore repo list` to see the repositories")]
    NotFound(RepositoryId),
    /// A forge repository cannot be active before it has a webhook secret.
    #[error(
        "repository {0} has no webhook secret yet, so its webhooks cannot be verified: \
         set one first (PUT /api/repositories/{0} with webhook_secret, or `oore repo update {0} --webhook-secret ...`)"
    )]
    NeedsWebhookSecret(RepositoryId),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl UseCaseError for SetActiveError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::NeedsWebhookSecret(_) => ErrorClass::Conflict,
            Self::Store(e) => store_class(e),
        }
    }
}

/// Moves the repository to `active` (builds enabled) or `inactive` (paused).
/// Idempotent: asking for the state it is already in changes nothing.
pub async fn set_repository_active(
    svc: &Services,
    id: RepositoryId,
    active: bool,
) -> Result<Repository, SetActiveError> {
    let mut repo = svc
        .repositories
        .get(id)
        .await
        .map_err(SetActiveError::Store)?
        .ok_or(SetActiveError::NotFound(id))?;
    let target = if active {
        RepositoryState::Active
    } else {
        RepositoryState::Inactive
    };
    if repo.state == target {
        return Ok(repo);
    }
    if active && repo.provider.has_webhooks() && repo.webhook_secret.is_none() {
        return Err(SetActiveError::NeedsWebhookSecret(id));
    }
    repo.state = target;
    repo.updated_at = svc.clock.now();
    svc.repositories.update(&repo).await.map_err(|e| match e {
        StoreError::NotFound => SetActiveError::NotFound(id),
        other => SetActiveError::Store(other),
    })?;
    Ok(repo)
}
