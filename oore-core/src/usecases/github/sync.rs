//! Installation sync (spec Journey 21, `oore github sync`): a full refresh of the App's
//! installations and the repositories each covers, through the API. Also what the
//! periodic sync runs, to catch events that never arrived (GitHub does not retry failed
//! deliveries).

use crate::domain::repository::{BranchName, CloneUrl, Provider, RepoName, RepoOwner};
use crate::error::{ErrorClass, UseCaseError};
use crate::forge::ForgeError;
use crate::github::ports::{GitHubServices, SyncCounts, SyncedRepository, TokenError};
use crate::github::{InstallationState, RemoteInstallation, RemoteRepository};
use crate::ids::RepositoryId;
use crate::ports::{CipherError, StoreError};
use crate::services::Services;
use crate::usecases::store_class;

use super::app_auth;

/// How one installation's sync ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallationOutcome {
    /// Its repositories are in line with GitHub.
    Synced(SyncCounts),
    /// Suspended on GitHub: nothing synced.
    Suspended {
        /// What to do.
        message: String,
    },
    /// Uninstalled, or its credentials are refused: its repositories were deactivated.
    Revoked {
        /// What happened.
        message: String,
        /// Repositories deactivated.
        deactivated: u32,
    },
    /// GitHub failed for now (rate limit, outage); the next sync retries.
    Failed {
        /// What happened.
        message: String,
    },
}

/// One installation's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationSync {
    /// GitHub's installation id.
    pub id: u64,
    /// The account.
    pub account_login: String,
    /// What happened.
    pub outcome: InstallationOutcome,
}

/// Every installation's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// In GitHub's order; revoked ones first.
    pub installations: Vec<InstallationSync>,
}

/// Why nothing could be synced.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No App.
    #[error("no GitHub App is configured; run `oore github setup` first")]
    NotConfigured,
    /// `--installation` named one the App does not have.
    #[error(
        "installation {0} is not one of the App's installations; list them with `oore github installations`"
    )]
    UnknownInstallation(u64),
    /// GitHub refused the App's own credentials.
    #[error(
        "GitHub refused the App's credentials ({0}); if the private key was revoked, install a new one with `oore github key --file KEY.pem`"
    )]
    Credentials(ForgeError),
    /// GitHub could not list the installations.
    #[error("listing the App's installations failed: {0}")]
    Forge(ForgeError),
    /// The App's key could not be decrypted.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for SyncError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotConfigured | Self::UnknownInstallation(_) => ErrorClass::NotFound,
            Self::Credentials(_) => ErrorClass::Invalid,
            Self::Forge(_) => ErrorClass::Unavailable,
            Self::Cipher(_) => ErrorClass::Internal,
            Self::Store(e) => store_class(e),
        }
    }
}

const SUSPENDED: &str = "suspended on GitHub: unsuspend the App in the account's installation settings, then run `oore github sync`";
const UNINSTALLED: &str = "uninstalled on GitHub: its repositories were deactivated; install the App again to bring them back";

/// Refreshes every installation (or only `only`) from GitHub.
pub async fn sync_installations(
    svc: &Services,
    gh: &GitHubServices,
    only: Option<u64>,
) -> Result<SyncReport, SyncError> {
    let app = gh.store.app().await?.ok_or(SyncError::NotConfigured)?;
    let auth = app_auth(svc.cipher.as_ref(), &app)?;
    let remote = gh.api.installations(&auth).await.map_err(|e| match e {
        ForgeError::Unauthorized { .. } => SyncError::Credentials(e),
        other => SyncError::Forge(other),
    })?;
    let known = gh.store.installations().await?;
    let wanted = |id: u64| only.is_none_or(|o| o == id);
    if let Some(id) = only
        && !remote.iter().any(|r| r.id == id)
        && !known.iter().any(|k| k.id == id)
    {
        return Err(SyncError::UnknownInstallation(id));
    }
    let mut report = SyncReport::default();
    for gone in known
        .iter()
        .filter(|k| wanted(k.id) && !remote.iter().any(|r| r.id == k.id))
    {
        let deactivated = revoke(svc, gh, gone.id, UNINSTALLED).await?;
        report.installations.push(InstallationSync {
            id: gone.id,
            account_login: gone.account_login.clone(),
            outcome: InstallationOutcome::Revoked {
                message: UNINSTALLED.to_owned(),
                deactivated,
            },
        });
    }
    for installation in remote.iter().filter(|r| wanted(r.id)) {
        gh.store
            .upsert_installation(installation, svc.clock.now())
            .await?;
        let outcome = sync_one(svc, gh, installation).await?;
        report.installations.push(InstallationSync {
            id: installation.id,
            account_login: installation.account_login.clone(),
            outcome,
        });
    }
    Ok(report)
}

async fn revoke(
    svc: &Services,
    gh: &GitHubServices,
    id: u64,
    message: &str,
) -> Result<u32, StoreError> {
    let now = svc.clock.now();
    gh.tokens.forget(Some(id));
    gh.store
        .set_installation_state(id, InstallationState::Revoked, Some(message), false, now)
        .await?;
    gh.store.release_installation_repositories(id, now).await
}

async fn suspend(
    svc: &Services,
    gh: &GitHubServices,
    id: u64,
) -> Result<InstallationOutcome, StoreError> {
    gh.tokens.forget(Some(id));
    gh.store
        .set_installation_state(
            id,
            InstallationState::Suspended,
            Some(SUSPENDED),
            false,
            svc.clock.now(),
        )
        .await?;
    Ok(InstallationOutcome::Suspended {
        message: SUSPENDED.to_owned(),
    })
}

/// What a refusal of an installation's token or listing means for it.
async fn refused(
    svc: &Services,
    gh: &GitHubServices,
    id: u64,
    error: ForgeError,
) -> Result<InstallationOutcome, SyncError> {
    match error {
        ForgeError::Forbidden { .. } => Ok(suspend(svc, gh, id).await?),
        ForgeError::NotFound { .. } | ForgeError::Unauthorized { .. } => {
            let message = format!(
                "GitHub no longer accepts this installation ({}): it was uninstalled or its access revoked; its repositories were deactivated",
                error.message()
            );
            let deactivated = revoke(svc, gh, id, &message).await?;
            Ok(InstallationOutcome::Revoked {
                message,
                deactivated,
            })
        }
        other => {
            let message = format!("{other}; the next sync retries");
            gh.store
                .set_installation_state(
                    id,
                    InstallationState::Active,
                    Some(&message),
                    false,
                    svc.clock.now(),
                )
                .await?;
            Ok(InstallationOutcome::Failed { message })
        }
    }
}

async fn sync_one(
    svc: &Services,
    gh: &GitHubServices,
    installation: &RemoteInstallation,
) -> Result<InstallationOutcome, SyncError> {
    let id = installation.id;
    if installation.suspended {
        return Ok(suspend(svc, gh, id).await?);
    }
    let token = match gh.tokens.token(id).await {
        Ok(token) => token,
        Err(TokenError::Forge(e)) => return refused(svc, gh, id, e).await,
        Err(TokenError::NotConfigured) => return Err(SyncError::NotConfigured),
        Err(TokenError::Store(e)) => return Err(SyncError::Store(e)),
        Err(TokenError::Cipher(e)) => return Err(SyncError::Cipher(e)),
    };
    let repos = match gh.api.installation_repositories(&token.token).await {
        Ok(repos) => repos,
        Err(e) => {
            gh.tokens.forget(Some(id));
            return refused(svc, gh, id, e).await;
        }
    };
    let synced: Vec<SyncedRepository> = repos
        .into_iter()
        .filter(is_valid)
        .map(|remote| SyncedRepository {
            remote,
            new_id: RepositoryId::from_ulid(svc.ids.new_ulid()),
        })
        .collect();
    let now = svc.clock.now();
    let counts = gh.store.apply_repository_sync(id, &synced, now).await?;
    gh.store
        .set_installation_state(id, InstallationState::Active, None, true, now)
        .await?;
    Ok(InstallationOutcome::Synced(counts))
}

/// GitHub's names always pass; anything else is left out rather than stored broken.
fn is_valid(repo: &RemoteRepository) -> bool {
    RepoOwner::new(Provider::GitHub, &repo.owner).is_ok()
        && RepoName::new(&repo.name).is_ok()
        && CloneUrl::new(&repo.clone_url).is_ok()
        && repo
            .default_branch
            .as_deref()
            .is_none_or(|b| BranchName::new(b).is_ok())
}
