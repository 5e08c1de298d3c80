//! Wire types of the GitHub App endpoints (`/api/github/...`): setup and its status,
//! the headless callback, the App's status and installations, sync, removal and key
//! rotation. No secret of the App is ever part of an answer.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::wire_enum::wire_enum;
use crate::github::{GitHubApp, Installation, InstallationState, RepositorySelection};
use crate::usecases::github::{InstallationOutcome, InstallationSync, SetupProgress};

wire_enum! {
    /// The stage of a GitHub App setup.
    GitHubSetupStageDto {
        /// Waiting for the browser to come back from GitHub.
        Waiting = "waiting",
        /// GitHub sent the browser back; the code is being exchanged.
        Exchanging = "exchanging",
        /// The App is created and its credentials stored.
        Completed = "completed",
        /// The callback failed; `message` says why.
        Failed = "failed",
        /// Nobody came back within 10 minutes.
        Expired = "expired",
    }
}

wire_enum! {
    /// Whether an installation may be used.
    GitHubInstallationStateDto {
        /// Installed and usable.
        Active = "active",
        /// Suspended on GitHub.
        Suspended = "suspended",
        /// Uninstalled, or its access refused.
        Revoked = "revoked",
    }
}

wire_enum! {
    /// Which repositories an installation covers.
    GitHubRepositorySelectionDto {
        /// Every repository of the account.
        All = "all",
        /// The ones picked on GitHub.
        Selected = "selected",
    }
}

wire_enum! {
    /// How one installation's sync ended.
    GitHubSyncOutcomeDto {
        /// Its repositories match GitHub.
        Synced = "synced",
        /// Suspended on GitHub: nothing synced.
        Suspended = "suspended",
        /// Uninstalled or refused: its repositories were deactivated.
        Revoked = "revoked",
        /// GitHub failed for now; the next sync retries.
        Failed = "failed",
    }
}

impl From<InstallationState> for GitHubInstallationStateDto {
    fn from(s: InstallationState) -> Self {
        match s {
            InstallationState::Active => Self::Active,
            InstallationState::Suspended => Self::Suspended,
            InstallationState::Revoked => Self::Revoked,
        }
    }
}

impl From<RepositorySelection> for GitHubRepositorySelectionDto {
    fn from(s: RepositorySelection) -> Self {
        match s {
            RepositorySelection::All => Self::All,
            RepositorySelection::Selected => Self::Selected,
        }
    }
}

/// `POST /api/github/setup`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubSetupRequest {
    /// Create the App for this organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The App's name (GitHub lets the user change it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Replace a configured App.
    #[serde(default)]
    #[schema(required)]
    pub force: bool,
}

/// A started setup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubSetupResponse {
    /// Poll `GET /api/github/setup/status?state=...` with it.
    pub state: String,
    /// The local page to open in a browser.
    pub setup_url: String,
    /// RFC 3339; the state works until then.
    pub expires_at: String,
    /// The App name the manifest proposes.
    pub app_name: String,
    /// Set when GitHub cannot reach `OORE_BASE_URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// `GET /api/github/setup/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubSetupStatusResponse {
    /// The stage.
    pub stage: GitHubSetupStageDto,
    /// What happened and what to do next.
    pub message: String,
    /// RFC 3339, while waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The App's slug, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_slug: Option<String>,
    /// Where to install the App, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_url: Option<String>,
}

impl From<SetupProgress> for GitHubSetupStatusResponse {
    fn from(p: SetupProgress) -> Self {
        let base = |stage, message: &str| Self {
            stage,
            message: message.to_owned(),
            expires_at: None,
            app_slug: None,
            install_url: None,
        };
        match p {
            SetupProgress::Waiting { expires_at } => Self {
                expires_at: Some(expires_at.to_string()),
                ..base(
                    GitHubSetupStageDto::Waiting,
                    "waiting for GitHub: open the setup page, click \"Create GitHub App\" on GitHub",
                )
            },
            SetupProgress::Exchanging => base(
                GitHubSetupStageDto::Exchanging,
                "GitHub sent the browser back; storing the App's credentials",
            ),
            SetupProgress::Completed { slug, install_url } => Self {
                app_slug: Some(slug.clone()),
                install_url: Some(install_url.clone()),
                ..base(
                    GitHubSetupStageDto::Completed,
                    &format!(
                        "GitHub App {slug} created; install it on your repositories: {install_url}"
                    ),
                )
            },
            SetupProgress::Failed { message } => base(GitHubSetupStageDto::Failed, &message),
            SetupProgress::Expired => base(
                GitHubSetupStageDto::Expired,
                "the setup expired (10 minutes) before GitHub sent the browser back; start again with `oore github setup`",
            ),
        }
    }
}

/// `POST /api/github/setup/callback`: the URL GitHub redirected the browser to, for a
/// machine whose browser could not reach this server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubCallbackRequest {
    /// `.../setup/github/callback?code=...&state=...`.
    pub url: String,
}

/// The App the callback created.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubAppCreatedResponse {
    /// GitHub's App id.
    pub app_id: u64,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Its page on GitHub.
    pub html_url: String,
    /// Where to install it.
    pub install_url: String,
}

/// The configured App; no secret, only whether each is stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubAppDto {
    /// GitHub's App id.
    pub app_id: u64,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The owning account.
    pub owner: String,
    /// The OAuth client id (public).
    pub client_id: String,
    /// Its page on GitHub.
    pub html_url: String,
    /// Whether GitHub gave a webhook secret (deliveries can be verified).
    pub webhook_secret_configured: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; changes with a key rotation.
    pub updated_at: String,
}

impl From<&GitHubApp> for GitHubAppDto {
    fn from(a: &GitHubApp) -> Self {
        Self {
            app_id: a.app_id,
            slug: a.slug.clone(),
            name: a.name.clone(),
            owner: a.owner_login.clone(),
            client_id: a.client_id.clone(),
            html_url: a.html_url.clone(),
            webhook_secret_configured: a.webhook_secret.is_some(),
            created_at: a.created_at.to_string(),
            updated_at: a.updated_at.to_string(),
        }
    }
}

/// One installation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubInstallationDto {
    /// GitHub's installation id.
    pub id: u64,
    /// The account it is installed on.
    pub account: String,
    /// `User` or `Organization`.
    pub account_type: String,
    /// All or selected repositories.
    pub repository_selection: GitHubRepositorySelectionDto,
    /// Usable or not.
    pub state: GitHubInstallationStateDto,
    /// Why not usable, or what the last sync ran into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Repositories it covers.
    pub repository_count: u32,
    /// Granted permissions, `name:level`.
    pub permissions: Vec<String>,
    /// RFC 3339 of the last complete sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<String>,
}

impl From<&Installation> for GitHubInstallationDto {
    fn from(i: &Installation) -> Self {
        Self {
            id: i.id,
            account: i.account_login.clone(),
            account_type: i.account_type.clone(),
            repository_selection: i.repository_selection.into(),
            state: i.state.into(),
            detail: i.detail.clone(),
            repository_count: i.repository_count,
            permissions: i.permissions.clone(),
            synced_at: i.synced_at.map(|t| t.to_string()),
        }
    }
}

/// `GET /api/github/installations`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubInstallationListResponse {
    /// By account.
    pub installations: Vec<GitHubInstallationDto>,
}

/// `GET /api/github/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubStatusResponse {
    /// The App, if configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<GitHubAppDto>,
    /// Where to install it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_url: Option<String>,
    /// Its installations.
    pub installations: Vec<GitHubInstallationDto>,
    /// Set when GitHub cannot reach `OORE_BASE_URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// `POST /api/github/sync`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubSyncRequest {
    /// Only this installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<u64>,
}

/// One installation's sync.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubSyncResultDto {
    /// GitHub's installation id.
    pub id: u64,
    /// The account.
    pub account: String,
    /// How it ended.
    pub outcome: GitHubSyncOutcomeDto,
    /// Repositories created.
    pub added: u32,
    /// Repositories renamed, adopted or reactivated.
    pub updated: u32,
    /// Repositories deactivated.
    pub deactivated: u32,
    /// Repositories covered now.
    pub total: u32,
    /// What happened, unless synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl From<&InstallationSync> for GitHubSyncResultDto {
    fn from(s: &InstallationSync) -> Self {
        let mut dto = Self {
            id: s.id,
            account: s.account_login.clone(),
            outcome: GitHubSyncOutcomeDto::Synced,
            added: 0,
            updated: 0,
            deactivated: 0,
            total: 0,
            message: None,
        };
        match &s.outcome {
            InstallationOutcome::Synced(c) => {
                dto.added = c.added;
                dto.updated = c.updated;
                dto.deactivated = c.deactivated;
                dto.total = c.total;
            }
            InstallationOutcome::Suspended { message } => {
                dto.outcome = GitHubSyncOutcomeDto::Suspended;
                dto.message = Some(message.clone());
            }
            InstallationOutcome::Revoked {
                message,
                deactivated,
            } => {
                dto.outcome = GitHubSyncOutcomeDto::Revoked;
                dto.deactivated = *deactivated;
                dto.message = Some(message.clone());
            }
            InstallationOutcome::Failed { message } => {
                dto.outcome = GitHubSyncOutcomeDto::Failed;
                dto.message = Some(message.clone());
            }
        }
        dto
    }
}

/// What `POST /api/github/sync` did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubSyncResponse {
    /// One per installation.
    pub installations: Vec<GitHubSyncResultDto>,
}

/// `PUT /api/github/app/private-key`: a new private key (PEM).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubPrivateKeyRequest {
    /// The `.pem` file's content.
    pub private_key: String,
}

impl fmt::Debug for GitHubPrivateKeyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GitHubPrivateKeyRequest { private_key: *** }")
    }
}

/// `DELETE /api/github/app`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GitHubRemoveResponse {
    /// Repositories the App's installations covered, now deactivated.
    pub deactivated_repositories: u32,
}
