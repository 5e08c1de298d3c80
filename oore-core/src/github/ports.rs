//! The GitHub App's ports: its API ([`GitHubApi`]), its rows ([`GitHubStore`]) and the
//! installation tokens builds and syncs use ([`InstallationTokens`]), bundled with
//! where GitHub is in [`GitHubServices`].

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;

use super::{
    AppAuth, AppInfo, GitHubApp, GitHubLocation, Installation, InstallationState,
    InstallationToken, NewAppCredentials, RemoteInstallation, RemoteRepository, SetupOutcome,
    SetupState,
};
use crate::domain::secret::{EncryptedSecret, SecretString};
use crate::forge::ForgeError;
use crate::ids::RepositoryId;
use crate::ports::{CipherError, StoreError};

/// GitHub's REST API, as the App uses it. Implementations authenticate as the App with
/// a JWT signed by `auth`'s key (re-minting once on a clock-skew 401), follow `Link`
/// pagination, and map refusals to [`ForgeError`].
#[async_trait]
pub trait GitHubApi: Send + Sync {
    /// `POST /app-manifests/{code}/conversions`: the new App's credentials.
    /// MUST return `NotFound` for an unknown, used or expired code.
    async fn convert_manifest(&self, code: &str) -> Result<NewAppCredentials, ForgeError>;

    /// `GET /app` as the App: proves the key belongs to it.
    async fn app(&self, auth: &AppAuth) -> Result<AppInfo, ForgeError>;

    /// `GET /app/installations`, every page.
    async fn installations(&self, auth: &AppAuth) -> Result<Vec<RemoteInstallation>, ForgeError>;

    /// `POST /app/installations/{id}/access_tokens`.
    /// MUST return `Forbidden` for a suspended installation and `NotFound` for an
    /// unknown or uninstalled one.
    async fn create_installation_token(
        &self,
        auth: &AppAuth,
        installation_id: u64,
    ) -> Result<InstallationToken, ForgeError>;

    /// `GET /installation/repositories` with an installation token, every page.
    async fn installation_repositories(
        &self,
        token: &SecretString,
    ) -> Result<Vec<RemoteRepository>, ForgeError>;

    /// Checks that `pem` is an RSA private key this client can sign with; `Err` says
    /// what is wrong with it (no network).
    fn check_private_key(&self, pem: &SecretString) -> Result<(), String>;
}

/// A repository to bring in line with GitHub during a sync, with the id it gets if it
/// has to be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedRepository {
    /// What GitHub says.
    pub remote: RemoteRepository,
    /// The id of the repository row if none exists yet.
    pub new_id: RepositoryId,
}

/// What [`GitHubStore::apply_repository_sync`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Repositories created.
    pub added: u32,
    /// Repositories renamed, adopted (added by hand before) or reactivated.
    pub updated: u32,
    /// Repositories no longer covered, deactivated.
    pub deactivated: u32,
    /// Repositories covered now.
    pub total: u32,
}

/// What [`GitHubStore::claim_setup_state`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It was unused and is now used; the state as stored.
    Claimed(SetupState),
    /// It had been used already.
    AlreadyUsed(SetupState),
    /// No such state.
    Unknown,
}

/// The App's rows: setup states, the App, its installations and which repositories they
/// cover. Secrets arrive sealed; the store never sees plaintext.
#[async_trait]
pub trait GitHubStore: Send + Sync {
    /// Stores a new setup state. MUST return `Duplicate` for a digest already stored.
    async fn insert_setup_state(&self, state: &SetupState) -> Result<(), StoreError>;

    /// The setup state stored under `digest`, used or not.
    async fn setup_state(&self, digest: &[u8; 32]) -> Result<Option<SetupState>, StoreError>;

    /// Marks the state used at `at` if it was not, atomically: of two concurrent
    /// claims exactly one MUST get `Claimed`.
    async fn claim_setup_state(
        &self,
        digest: &[u8; 32],
        at: Timestamp,
    ) -> Result<Claim, StoreError>;

    /// Makes a claimed state usable again (its callback failed for a reason a retry may
    /// fix: GitHub was unavailable), unless an outcome is recorded.
    /// MUST return `NotFound` for an unknown digest.
    async fn release_setup_claim(&self, digest: &[u8; 32]) -> Result<(), StoreError>;

    /// Records how the setup ended. MUST return `NotFound` for an unknown digest.
    async fn finish_setup_state(
        &self,
        digest: &[u8; 32],
        outcome: &SetupOutcome,
    ) -> Result<(), StoreError>;

    /// The App, if one is configured.
    async fn app(&self) -> Result<Option<GitHubApp>, StoreError>;

    /// Stores `app` as the only App: any previous App, its installations and their
    /// repository links are removed in the same transaction (the repositories stay,
    /// deactivated as in [`remove_app`](Self::remove_app)).
    async fn replace_app(&self, app: &GitHubApp) -> Result<(), StoreError>;

    /// Replaces the App's sealed private key. MUST return `NotFound` when `row_id` is
    /// not the stored App.
    async fn update_private_key(
        &self,
        row_id: ulid::Ulid,
        key: &EncryptedSecret,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Removes the App, its installations and their links; the repositories the
    /// installations covered stay (their builds are history) but are deactivated.
    /// Returns how many were deactivated. MUST return `NotFound` when no App is stored.
    async fn remove_app(&self, at: Timestamp) -> Result<u32, StoreError>;

    /// Creates or updates an installation from GitHub's listing. A new one is `Active`;
    /// an existing one keeps its state (the caller sets it).
    async fn upsert_installation(
        &self,
        installation: &RemoteInstallation,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Sets an installation's state and detail; `synced` records a complete sync.
    /// MUST return `NotFound` for an unknown installation.
    async fn set_installation_state(
        &self,
        id: u64,
        state: InstallationState,
        detail: Option<&str>,
        synced: bool,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Every installation, by account then id, with how many repositories each covers.
    async fn installations(&self) -> Result<Vec<Installation>, StoreError>;

    /// Brings the repositories of installation `installation_id` in line with `repos`,
    /// in one transaction:
    /// - a live repository with the same GitHub id is updated (owner, name, clone URL,
    ///   default branch: renames and transfers), and reactivated if a sync deactivated it;
    /// - else a live GitHub repository with the same identity (added by hand) is adopted:
    ///   it gets the GitHub id, and keeps its state and secret;
    /// - else a repository is created with `new_id`: provider github, `active`,
    ///   parallel builds;
    /// - repositories this installation covered that are not in `repos` are
    ///   deactivated (state `inactive`) and no longer counted as covered.
    ///
    /// MUST return `NotFound` for an unknown installation.
    async fn apply_repository_sync(
        &self,
        installation_id: u64,
        repos: &[SyncedRepository],
        at: Timestamp,
    ) -> Result<SyncCounts, StoreError>;

    /// Deactivates every repository installation `installation_id` covers (it was
    /// uninstalled or revoked) and stops counting them as covered. Returns how many.
    async fn release_installation_repositories(
        &self,
        installation_id: u64,
        at: Timestamp,
    ) -> Result<u32, StoreError>;

    /// The GitHub id and installation of a live repository, if an installation covers
    /// it.
    async fn repository_link(&self, id: RepositoryId) -> Result<Option<(u64, u64)>, StoreError>;
}

/// Why an installation token could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No App is configured.
    #[error("no GitHub App is configured; run `oore github setup`")]
    NotConfigured,
    /// GitHub refused or failed.
    #[error(transparent)]
    Forge(#[from] ForgeError),
    /// The App could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The App's key could not be decrypted.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

/// Installation tokens for clones and API calls. Implementations cache a token per
/// installation until [`TOKEN_REFRESH_MARGIN`](super::TOKEN_REFRESH_MARGIN) before it
/// expires, mint at most one at a time per installation (concurrent callers share the
/// result), and never log or write a token anywhere.
#[async_trait]
pub trait InstallationTokens: Send + Sync {
    /// A token for `installation_id` valid for at least the refresh margin.
    async fn token(&self, installation_id: u64) -> Result<InstallationToken, TokenError>;

    /// Drops the cached token of `installation_id` (it was refused), or every cached
    /// token with `None` (the App changed).
    fn forget(&self, installation_id: Option<u64>);
}

/// Everything the GitHub use cases need besides [`Services`](crate::services::Services).
#[derive(Clone)]
pub struct GitHubServices {
    /// Rows.
    pub store: Arc<dyn GitHubStore>,
    /// The API.
    pub api: Arc<dyn GitHubApi>,
    /// Installation tokens.
    pub tokens: Arc<dyn InstallationTokens>,
    /// Where GitHub is.
    pub location: GitHubLocation,
    /// `OORE_BASE_URL`: the URLs the manifest names.
    pub base_url: String,
}
