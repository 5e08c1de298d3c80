//! Add a repository by hand (spec 4.1, manual add).

use crate::domain::repository::{
    BranchName, CloneUrl, ForkPolicy, Provider, RepoName, RepoOwner, Repository,
};
use crate::domain::secret::SecretString;
use crate::domain::validation::{FieldError, FieldErrors};
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::RepositoryId;
use crate::ports::{CipherError, StoreError};
use crate::scheduling::RepoConcurrency;
use crate::services::Services;

use super::{
    check_webhook_secret, parse_build_concurrency, seal_clone_credentials, state_for, store_class,
    store_webhook_secret,
};

/// Raw input, validated by [`add_repository`].
#[derive(Debug, Clone, Default)]
pub struct AddRepository {
    /// `github`, `gitlab` or `git`.
    pub provider: String,
    /// Account, organisation or group path.
    pub owner: String,
    /// Repository name.
    pub name: String,
    /// Required for `git`; defaults to the forge's https URL otherwise. Credentials in an
    /// `https://user:token@host/...` URL are taken out and stored encrypted.
    pub clone_url: Option<String>,
    /// Defaults to `main`.
    pub default_branch: Option<String>,
    /// The secret configured on the forge's webhook.
    pub webhook_secret: Option<SecretString>,
    /// `parallel` (the default) or `serial`.
    pub build_concurrency: Option<String>,
    /// `never`, `approve` (the default) or `always`: what pull/merge requests from forks
    /// do.
    pub fork_pull_requests: Option<String>,
}

/// Why a repository could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddRepositoryError {
    /// Some fields are invalid.
    #[error("invalid repository: {0}")]
    Invalid(FieldErrors),
    /// It exists already.
    #[error("repository {0} already exists; use `oore repo list` to find it")]
    Duplicate(String),
    /// The secret could not be encrypted.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl UseCaseError for AddRepositoryError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Invalid(_) => ErrorClass::Invalid,
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

/// Validates `input`, encrypts the secret and the clone URL's credentials (taken out of
/// the URL) bound to the new row, and stores the repository: `pending_setup` for a forge
/// repository without a secret, else `active`.
pub async fn add_repository(
    svc: &Services,
    input: AddRepository,
) -> Result<Repository, AddRepositoryError> {
    let mut errors = FieldErrors::new();
    let provider = errors.check(input.provider.parse::<Provider>());
    let owner = provider.and_then(|p| errors.check(RepoOwner::new(p, &input.owner)));
    let name = errors.check(RepoName::new(&input.name));
    let default_branch = match &input.default_branch {
        Some(b) => errors.check(BranchName::new(b)),
        None => Some(BranchName::main()),
    };
    let clone_url = match (&input.clone_url, provider, &owner, &name) {
        (Some(url), _, _, _) => errors.check(CloneUrl::parse_with_credentials(url)),
        (None, Some(Provider::Git), _, _) => {
            errors.push(FieldError::new(
                "clone_url",
                "is required for provider git: pass the URL git clones from",
            ));
            None
        }
        (None, Some(p), Some(o), Some(n)) => CloneUrl::default_for(p, o, n).map(|u| (u, None)),
        _ => None,
    };
    if let Some(secret) = &input.webhook_secret {
        errors.check(check_webhook_secret(secret.expose()));
    }
    let build_concurrency = match &input.build_concurrency {
        Some(raw) => errors.check(parse_build_concurrency(raw)),
        None => Some(RepoConcurrency::Parallel),
    };
    let fork_pull_requests = match &input.fork_pull_requests {
        Some(raw) => errors.check(raw.parse::<ForkPolicy>()),
        None => Some(ForkPolicy::default()),
    };
    let (
        Some(provider),
        Some(owner),
        Some(name),
        Some(default_branch),
        Some((clone_url, url_credentials)),
        Some(build_concurrency),
        Some(fork_pull_requests),
        true,
    ) = (
        provider,
        owner,
        name,
        default_branch,
        clone_url,
        build_concurrency,
        fork_pull_requests,
        errors.is_empty(),
    )
    else {
        return Err(AddRepositoryError::Invalid(errors));
    };

    let id = RepositoryId::from_ulid(svc.ids.new_ulid());
    let webhook_secret = match &input.webhook_secret {
        Some(secret) => Some(store_webhook_secret(
            svc.cipher.as_ref(),
            provider,
            id,
            secret,
        )?),
        None => None,
    };
    let clone_credentials = match &url_credentials {
        Some(credentials) => Some(seal_clone_credentials(
            svc.cipher.as_ref(),
            id,
            credentials,
        )?),
        None => None,
    };
    let now = svc.clock.now();
    let repository = Repository {
        id,
        state: state_for(provider, webhook_secret.is_some()),
        provider,
        owner,
        name,
        clone_url,
        default_branch,
        webhook_secret,
        clone_credentials,
        build_concurrency,
        fork_pull_requests,
        created_at: now,
        updated_at: now,
    };
    svc.repositories
        .insert(&repository)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => AddRepositoryError::Duplicate(format!(
                "{} {}",
                repository.provider,
                repository.full_name()
            )),
            other => AddRepositoryError::Store(other),
        })?;
    Ok(repository)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::RepositoryState;
    use crate::domain::secret::StoredSecret;
    use crate::testing::{block_on, services};

    fn input(provider: &str, owner: &str, name: &str) -> AddRepository {
        AddRepository {
            provider: provider.into(),
            owner: owner.into(),
            name: name.into(),
            ..AddRepository::default()
        }
    }

    #[test]
    fn forge_repo_without_secret_is_pending_setup_with_default_url() {
        let svc = services();
        let repo = block_on(add_repository(&svc, input("github", "acme", "app"))).unwrap();
        assert_eq!(repo.state, RepositoryState::PendingSetup);
        assert_eq!(repo.clone_url.as_str(), "https://github.com/acme/app.git");
        assert_eq!(repo.default_branch.as_str(), "main");
        assert_eq!(repo.build_concurrency, RepoConcurrency::Parallel);
        assert_eq!(repo.fork_pull_requests, ForkPolicy::Approve);
    }

    #[test]
    fn the_fork_policy_can_be_chosen_and_is_validated() {
        let svc = services();
        let mut i = input("github", "acme", "app");
        i.fork_pull_requests = Some("Never".into());
        let repo = block_on(add_repository(&svc, i)).unwrap();
        assert_eq!(repo.fork_pull_requests, ForkPolicy::Never);
        assert_eq!(
            block_on(svc.repositories.get(repo.id)).unwrap().unwrap(),
            repo
        );
        let mut bad = input("github", "acme", "other");
        bad.fork_pull_requests = Some("sometimes".into());
        let err = block_on(add_repository(&svc, bad)).unwrap_err();
        let fields = err.field_errors().unwrap().as_slice();
        assert_eq!(fields[0].field, "fork_pull_requests");
        assert!(
            fields[0]
                .message
                .contains("expected never, approve or always"),
            "{}",
            fields[0].message
        );
    }

    #[test]
    fn build_concurrency_can_be_chosen_and_is_validated() {
        let svc = services();
        let mut i = input("git", "me", "tool");
        i.clone_url = Some("/srv/git/tool.git".into());
        i.build_concurrency = Some("serial".into());
        let repo = block_on(add_repository(&svc, i)).unwrap();
        assert_eq!(repo.build_concurrency, RepoConcurrency::Serial);
        assert_eq!(
            block_on(svc.repositories.get(repo.id)).unwrap().unwrap(),
            repo
        );

        let mut bad = input("github", "acme", "app");
        bad.build_concurrency = Some("sometimes".into());
        let err = block_on(add_repository(&svc, bad)).unwrap_err();
        let fields = err.field_errors().unwrap().as_slice();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field, "build_concurrency");
        assert!(
            fields[0].message.contains("expected parallel or serial"),
            "{}",
            fields[0].message
        );
    }

    #[test]
    fn github_secret_is_encrypted_and_bound_to_the_row() {
        let svc = services();
        let mut i = input("github", "acme", "app");
        i.webhook_secret = Some(SecretString::new("s3cret"));
        let repo = block_on(add_repository(&svc, i)).unwrap();
        assert_eq!(repo.state, RepositoryState::Active);
        let Some(StoredSecret::Sealed(sealed)) = repo.webhook_secret.clone() else {
            panic!("a GitHub secret is sealed: {:?}", repo.webhook_secret);
        };
        assert!(!String::from_utf8_lossy(sealed.as_bytes()).contains("s3cret"));
        let binding = super::super::webhook_secret_binding(repo.id);
        let opened = svc.cipher.decrypt(&sealed, &binding).unwrap();
        assert_eq!(opened.expose(), "s3cret");
    }

    #[test]
    fn gitlab_token_is_kept_as_a_keyed_digest_only() {
        let svc = services();
        let mut i = input("gitlab", "group/sub", "app");
        i.webhook_secret = Some(SecretString::new("t0ken"));
        let repo = block_on(add_repository(&svc, i)).unwrap();
        assert_eq!(repo.state, RepositoryState::Active);
        let binding = super::super::webhook_secret_binding(repo.id);
        assert_eq!(
            repo.webhook_secret,
            Some(StoredSecret::Digest(
                svc.cipher
                    .keyed_digest(&SecretString::new("t0ken"), &binding)
            ))
        );
    }

    #[test]
    fn clone_url_credentials_are_sealed_to_the_row_and_out_of_the_url() {
        let svc = services();
        let mut i = input("git", "me", "tool");
        i.clone_url = Some("https://me:s3cret-t0ken@git.example.com/me/tool.git".into());
        let repo = block_on(add_repository(&svc, i)).unwrap();
        assert_eq!(
            repo.clone_url.as_str(),
            "https://git.example.com/me/tool.git"
        );
        let sealed = repo.clone_credentials.clone().expect("credentials stored");
        assert!(!String::from_utf8_lossy(sealed.as_bytes()).contains("s3cret"));
        let binding = super::super::clone_credentials_binding(repo.id);
        assert_eq!(
            svc.cipher.decrypt(&sealed, &binding).unwrap().expose(),
            "me:s3cret-t0ken"
        );
        assert_eq!(block_on(svc.repositories.get(repo.id)).unwrap(), Some(repo));

        let mut ssh = input("git", "me", "other");
        ssh.clone_url = Some("ssh://git:s3cret@git.example.com/me/other.git".into());
        let err = block_on(add_repository(&svc, ssh)).unwrap_err();
        let fields = err.field_errors().unwrap().as_slice();
        assert_eq!(fields[0].field, "clone_url");
        assert!(
            fields[0].message.contains("SSH key"),
            "{}",
            fields[0].message
        );
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let svc = services();
        let mut i = input("bitbucket", "", "a/b");
        i.default_branch = Some("bad branch".into());
        let AddRepositoryError::Invalid(errors) = block_on(add_repository(&svc, i)).unwrap_err()
        else {
            panic!("expected field errors");
        };
        let fields: Vec<_> = errors.as_slice().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["provider", "name", "default_branch"]);
    }

    #[test]
    fn git_provider_needs_a_clone_url() {
        let svc = services();
        let err = block_on(add_repository(&svc, input("git", "me", "tool"))).unwrap_err();
        assert_eq!(err.field_errors().unwrap().as_slice()[0].field, "clone_url");
    }

    #[test]
    fn duplicates_are_conflicts_case_insensitively() {
        let svc = services();
        block_on(add_repository(&svc, input("github", "Acme", "App"))).unwrap();
        let err = block_on(add_repository(&svc, input("github", "acme", "app"))).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Conflict);
        assert!(err.to_string().contains("already exists"), "{err}");
        // Same name on another provider is a different repository.
        block_on(add_repository(&svc, input("gitlab", "acme", "app"))).unwrap();
    }
}
