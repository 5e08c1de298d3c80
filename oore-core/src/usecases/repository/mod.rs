//! Repository management: add, list, show, update, activate/deactivate, remove, the
//! webhook URL to paste into the forge, and resolving what a user typed to name one.

mod add;
mod default_branch;
mod get;
mod list;
mod remove;
mod resolve;
mod set_active;
mod update;
mod webhook_url;

pub use add::{AddRepository, AddRepositoryError, add_repository};
pub use default_branch::fill_default_branch;
pub use get::{GetRepositoryError, get_repository};
pub use list::{ListRepositoriesError, list_repositories};
pub use remove::{RemoveRepositoryError, remove_repository};
pub(crate) use resolve::id_suffix;
pub use resolve::{MIN_SUFFIX, RepositoryRef, ResolveRepositoryError, resolve_repository};
pub use set_active::{SetActiveError, set_repository_active};
pub use update::{UpdateRepository, UpdateRepositoryError, update_repository};
pub use webhook_url::{WebhookSetup, webhook_setup};

use crate::domain::repository::{Provider, RepositoryState};
use crate::domain::secret::{EncryptedSecret, SecretBinding, SecretString, StoredSecret};
use crate::domain::validation::FieldError;
use crate::ids::RepositoryId;
use crate::ports::{CipherError, SecretCipher};
use crate::scheduling::RepoConcurrency;

/// Table and column of the repository webhook secret, for its [`SecretBinding`].
pub fn webhook_secret_binding(id: RepositoryId) -> SecretBinding {
    SecretBinding::new("repositories", "webhook_secret", id)
}

/// Table and column of a repository's clone URL credentials, for their [`SecretBinding`].
pub fn clone_credentials_binding(id: RepositoryId) -> SecretBinding {
    SecretBinding::new("repositories", "clone_credentials", id)
}

/// Seals the credentials taken out of a clone URL for repository `id`.
pub fn seal_clone_credentials(
    cipher: &dyn SecretCipher,
    id: RepositoryId,
    credentials: &SecretString,
) -> Result<EncryptedSecret, CipherError> {
    cipher.encrypt(credentials, &clone_credentials_binding(id))
}

/// What a repository stores of its webhook secret (spec 20.2): GitHub secrets are sealed
/// (verifying a signature needs the secret), GitLab tokens are kept as a keyed digest
/// (verifying needs only a comparison); plain git repositories, which receive no
/// webhooks, keep a sealed value.
pub fn store_webhook_secret(
    cipher: &dyn SecretCipher,
    provider: Provider,
    id: RepositoryId,
    secret: &SecretString,
) -> Result<StoredSecret, CipherError> {
    let binding = webhook_secret_binding(id);
    match provider {
        Provider::GitLab => Ok(StoredSecret::Digest(cipher.keyed_digest(secret, &binding))),
        Provider::GitHub | Provider::Git => {
            cipher.encrypt(secret, &binding).map(StoredSecret::Sealed)
        }
    }
}

/// The state a repository is in when it has (or lacks) a webhook secret.
fn state_for(provider: Provider, has_secret: bool) -> RepositoryState {
    if provider.has_webhooks() && !has_secret {
        RepositoryState::PendingSetup
    } else {
        RepositoryState::Active
    }
}

const MAX_SECRET_LEN: usize = 1024;

fn check_webhook_secret(raw: &str) -> Result<(), FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new(
            "webhook_secret",
            "must not be empty; omit it to add the secret later",
        ));
    }
    if raw.len() > MAX_SECRET_LEN {
        return Err(FieldError::new(
            "webhook_secret",
            format!("must be at most {MAX_SECRET_LEN} bytes"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(FieldError::new(
            "webhook_secret",
            "must not contain control characters or newlines",
        ));
    }
    Ok(())
}

/// Parses the `build_concurrency` field: `parallel` or `serial`.
fn parse_build_concurrency(raw: &str) -> Result<RepoConcurrency, FieldError> {
    raw.parse::<RepoConcurrency>()
        .map_err(|message| FieldError::new("build_concurrency", message))
}

use super::store_class;
