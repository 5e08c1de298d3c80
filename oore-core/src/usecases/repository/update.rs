//! Change a repository's settings.

use crate::domain::repository::{
    BranchName, CloneUrl, ForkPolicy, RepoName, RepoOwner, Repository, RepositoryState,
};
use crate::domain::secret::SecretString;
use crate::domain::validation::FieldErrors;
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::RepositoryId;
use crate::ports::{CipherError, StoreError};
use crate::services::Services;

use super::{
    check_webhook_secret, parse_build_concurrency, seal_clone_credentials, state_for, store_class,
    store_webhook_secret,
};

/// The fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateRepository {
    /// New owner (the repository moved).
    pub owner: Option<String>,
    /// New name (the repository was renamed).
    pub name: Option<String>,
    /// New clone URL. Its credentials (`https://user:token@host/...`) replace the stored
    /// ones; a URL without credentials clears them.
    pub clone_url: Option<String>,
    /// New default branch.
    pub default_branch: Option<String>,
    /// New webhook secret.
    pub webhook_secret: Option<SecretString>,
    /// Forget the stored webhook secret (the repository goes back to `pending_setup`).
    pub clear_webhook_secret: bool,
    /// `parallel` or `serial`: whether its builds may run side by side.
    pub build_concurrency: Option<String>,
    /// `never`, `approve` or `always`: what pull/merge requests from forks do.
    pub fork_pull_requests: Option<String>,
}

/// Why a repository could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum UpdateRepositoryError {
    /// Some fields are invalid.
    #[error("invalid repository update: {0}")]
    Invalid(FieldErrors),
    /// No such repository.
    #[error("repository {0} not found; run `oore repo list` to see the repositories")]
    NotFound(RepositoryId),
    /// The new owner/name is taken.
    #[error("another repository is already called {0}")]
    Duplicate(String),
    /// The secret could not be encrypted.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl UseCaseError for UpdateRepositoryError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Invalid(_) => ErrorClass::Invalid,
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Duplicate(_) => ErrorClass::Conflict,
            Self::Cipher(_) => ErrorClass::Internal,
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

/// Applies `change` to repository `id`. Setting a secret on a `pending_setup` repository
/// activates it; clearing the secret of a forge repository puts it back to `pending_setup`.
pub async fn update_repository(
    svc: &Services,
    id: RepositoryId,
    change: UpdateRepository,
) -> Result<Repository, UpdateRepositoryError> {
    let mut repo = svc
        .repositories
        .get(id)
        .await
        .map_err(UpdateRepositoryError::Store)?
        .ok_or(UpdateRepositoryError::NotFound(id))?;

    let mut errors = FieldErrors::new();
    if let Some(owner) = &change.owner
        && let Some(owner) = errors.check(RepoOwner::new(repo.provider, owner))
    {
        repo.owner = owner;
    }
    if let Some(name) = &change.name
        && let Some(name) = errors.check(RepoName::new(name))
    {
        repo.name = name;
    }
    let mut url_credentials = None;
    if let Some(url) = &change.clone_url
        && let Some((url, credentials)) = errors.check(CloneUrl::parse_with_credentials(url))
    {
        repo.clone_url = url;
        url_credentials = Some(credentials);
    }
    if let Some(branch) = &change.default_branch
        && let Some(branch) = errors.check(BranchName::new(branch))
    {
        repo.default_branch = branch;
    }
    if let Some(raw) = &change.build_concurrency
        && let Some(mode) = errors.check(parse_build_concurrency(raw))
    {
        repo.build_concurrency = mode;
    }
    if let Some(raw) = &change.fork_pull_requests
        && let Some(policy) = errors.check(raw.parse::<ForkPolicy>())
    {
        repo.fork_pull_requests = policy;
    }
    if let Some(secret) = &change.webhook_secret {
        errors.check(check_webhook_secret(secret.expose()));
        if change.clear_webhook_secret {
            errors.push(crate::domain::validation::FieldError::new(
                "clear_webhook_secret",
                "cannot be combined with a new webhook_secret: send one or the other",
            ));
        }
    }
    errors
        .into_result()
        .map_err(UpdateRepositoryError::Invalid)?;

    // A new clone URL is the whole truth: its credentials replace the stored ones, and a
    // URL without any clears them (they were for the old URL, maybe another host).
    if let Some(credentials) = url_credentials {
        repo.clone_credentials = match credentials {
            Some(credentials) => Some(seal_clone_credentials(
                svc.cipher.as_ref(),
                id,
                &credentials,
            )?),
            None => None,
        };
    }
    if let Some(secret) = &change.webhook_secret {
        repo.webhook_secret = Some(store_webhook_secret(
            svc.cipher.as_ref(),
            repo.provider,
            id,
            secret,
        )?);
        if repo.state == RepositoryState::PendingSetup {
            repo.state = RepositoryState::Active;
        }
    } else if change.clear_webhook_secret {
        repo.webhook_secret = None;
        if repo.state == RepositoryState::Active {
            repo.state = state_for(repo.provider, false);
        }
    }
    repo.updated_at = svc.clock.now();
    svc.repositories.update(&repo).await.map_err(|e| match e {
        StoreError::NotFound => UpdateRepositoryError::NotFound(id),
        StoreError::Duplicate(_) => {
            UpdateRepositoryError::Duplicate(format!("{} {}", repo.provider, repo.full_name()))
        }
        other => UpdateRepositoryError::Store(other),
    })?;
    Ok(repo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::RepoConcurrency;
    use crate::testing::{block_on, services};
    use crate::usecases::repository::{AddRepository, add_repository};

    fn added(svc: &Services) -> Repository {
        block_on(add_repository(
            svc,
            AddRepository {
                provider: "github".into(),
                owner: "acme".into(),
                name: "app".into(),
                ..AddRepository::default()
            },
        ))
        .unwrap()
    }

    #[test]
    fn build_concurrency_changes_and_is_stored() {
        let svc = services();
        let repo = added(&svc);
        assert_eq!(repo.build_concurrency, RepoConcurrency::Parallel);
        let change = UpdateRepository {
            build_concurrency: Some("serial".into()),
            ..UpdateRepository::default()
        };
        let updated = block_on(update_repository(&svc, repo.id, change)).unwrap();
        assert_eq!(updated.build_concurrency, RepoConcurrency::Serial);
        assert_eq!(
            block_on(svc.repositories.get(repo.id)).unwrap(),
            Some(updated.clone())
        );

        let untouched = block_on(update_repository(
            &svc,
            repo.id,
            UpdateRepository {
                default_branch: Some("develop".into()),
                ..UpdateRepository::default()
            },
        ))
        .unwrap();
        assert_eq!(
            untouched.build_concurrency,
            RepoConcurrency::Serial,
            "a field left out stays as it is"
        );
    }

    #[test]
    fn a_new_clone_url_replaces_or_clears_the_credentials() {
        let svc = services();
        let repo = added(&svc);
        let set = |url: &str| {
            block_on(update_repository(
                &svc,
                repo.id,
                UpdateRepository {
                    clone_url: Some(url.into()),
                    ..UpdateRepository::default()
                },
            ))
            .unwrap()
        };
        let with = set("https://x-access-token:t0ken@github.com/acme/app.git");
        assert_eq!(with.clone_url.as_str(), "https://github.com/acme/app.git");
        let binding = super::super::clone_credentials_binding(repo.id);
        let opened = svc
            .cipher
            .decrypt(with.clone_credentials.as_ref().unwrap(), &binding)
            .unwrap();
        assert_eq!(opened.expose(), "x-access-token:t0ken");

        let untouched = block_on(update_repository(
            &svc,
            repo.id,
            UpdateRepository {
                default_branch: Some("develop".into()),
                ..UpdateRepository::default()
            },
        ))
        .unwrap();
        assert_eq!(untouched.clone_credentials, with.clone_credentials);

        let without = set("https://github.com/acme/renamed.git");
        assert_eq!(without.clone_credentials, None);
    }

    #[test]
    fn bad_build_concurrency_is_a_field_error_and_changes_nothing() {
        let svc = services();
        let repo = added(&svc);
        let change = UpdateRepository {
            build_concurrency: Some("SERIAL!".into()),
            default_branch: Some("develop".into()),
            ..UpdateRepository::default()
        };
        let err = block_on(update_repository(&svc, repo.id, change)).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Invalid);
        let fields = err.field_errors().unwrap().as_slice();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field, "build_concurrency");
        assert_eq!(
            fields[0].message,
            "unknown build concurrency 'SERIAL!': expected parallel or serial"
        );
        assert_eq!(block_on(svc.repositories.get(repo.id)).unwrap(), Some(repo));
    }

    #[test]
    fn the_fork_policy_changes_and_bad_values_change_nothing() {
        let svc = services();
        let repo = added(&svc);
        assert_eq!(repo.fork_pull_requests, ForkPolicy::Approve);
        let always = UpdateRepository {
            fork_pull_requests: Some("always".into()),
            ..UpdateRepository::default()
        };
        let updated = block_on(update_repository(&svc, repo.id, always)).unwrap();
        assert_eq!(updated.fork_pull_requests, ForkPolicy::Always);
        let bad = UpdateRepository {
            fork_pull_requests: Some("maybe".into()),
            ..UpdateRepository::default()
        };
        let err = block_on(update_repository(&svc, repo.id, bad)).unwrap_err();
        assert_eq!(
            err.field_errors().unwrap().as_slice()[0].field,
            "fork_pull_requests"
        );
        assert_eq!(
            block_on(svc.repositories.get(repo.id)).unwrap(),
            Some(updated)
        );
    }
}
