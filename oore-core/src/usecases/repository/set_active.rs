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
    /// A forge repository pending setup becomes active with its webhook secret, not by
    /// activation; builds by hand already work.
    #[error(
        "repository {0} is pending_setup: builds by hand already work (`oore build trigger {0}`), \
         and its webhooks need a secret: set it with `oore repo update {0} --webhook-secret-stdin` \
         (PUT /api/repositories/{0} with webhook_secret), which makes it active"
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
/// Idempotent: asking for the state it is already in changes nothing. A forge repository
/// without a webhook secret cannot be `active` (its deliveries could not be verified):
/// activating it from `inactive` or `error` makes it `pending_setup` (builds by hand
/// work), and activating it when it is `pending_setup` already is a conflict that says
/// how to set the secret.
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
    let target = if active && repo.provider.has_webhooks() && repo.webhook_secret.is_none() {
        if repo.state == RepositoryState::PendingSetup {
            return Err(SetActiveError::NeedsWebhookSecret(id));
        }
        RepositoryState::PendingSetup
    } else {
        target
    };
    repo.state = target;
    repo.updated_at = svc.clock.now();
    svc.repositories.update(&repo).await.map_err(|e| match e {
        StoreError::NotFound => SetActiveError::NotFound(id),
        other => SetActiveError::Store(other),
    })?;
    Ok(repo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::secret::SecretString;
    use crate::testing::{RecordingSignals, block_on, services};
    use crate::usecases::build::{TriggerBuild, trigger_build, unrunnable_reason};
    use crate::usecases::repository::{
        AddRepository, UpdateRepository, add_repository, update_repository,
    };

    fn github_without_secret(svc: &Services) -> Repository {
        block_on(add_repository(
            svc,
            AddRepository {
                provider: "github".into(),
                owner: "me".into(),
                name: "app1".into(),
                ..AddRepository::default()
            },
        ))
        .unwrap()
    }

    fn trigger(svc: &Services, id: RepositoryId) -> Result<(), String> {
        block_on(trigger_build(
            svc,
            &RecordingSignals::default(),
            id,
            TriggerBuild::default(),
        ))
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_repository_pending_setup_builds_by_hand_and_its_queue_runs() {
        let svc = services();
        let repo = github_without_secret(&svc);
        assert_eq!(repo.state, RepositoryState::PendingSetup);
        trigger(&svc, repo.id).unwrap();
        assert_eq!(block_on(unrunnable_reason(&svc, repo.id)).unwrap(), None);
    }

    #[test]
    fn the_hints_between_trigger_activate_and_update_never_loop() {
        let svc = services();
        let repo = github_without_secret(&svc);
        // Activating a repository pending setup says how to set the secret.
        let err = block_on(set_repository_active(&svc, repo.id, true)).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Conflict);
        let text = err.to_string();
        assert!(text.contains("oore build trigger"), "{text}");
        assert!(text.contains("oore repo update"), "{text}");

        // Paused, it cannot be built; the hint is to activate it, and activating it
        // without a secret makes it pending setup again, where builds by hand work.
        block_on(set_repository_active(&svc, repo.id, false)).unwrap();
        let err = trigger(&svc, repo.id).unwrap_err();
        assert!(err.contains("oore repo activate"), "{err}");
        let back = block_on(set_repository_active(&svc, repo.id, true)).unwrap();
        assert_eq!(back.state, RepositoryState::PendingSetup);
        trigger(&svc, repo.id).unwrap();

        // The update the 409 names makes it active.
        let updated = block_on(update_repository(
            &svc,
            repo.id,
            UpdateRepository {
                webhook_secret: Some(SecretString::new("s3cret")),
                ..UpdateRepository::default()
            },
        ))
        .unwrap();
        assert_eq!(updated.state, RepositoryState::Active);
    }
}
