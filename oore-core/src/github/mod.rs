//! The GitHub App (spec Journey 2, 21, 12.1): the App created from a manifest, its
//! installations and their repositories, the setup state that guards the manifest flow,
//! and the rules that need no IO (the manifest, the form's action, which base URLs GitHub
//! can reach). The ports it talks through are in [`ports`]; the use cases in
//! [`crate::usecases::github`].

pub mod ports;
mod url;

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use ulid::Ulid;

use crate::domain::secret::{EncryptedSecret, SecretBinding, SecretString};

pub use url::{base_url_warning, host_of};

/// How long a setup state may be used (the page, then the callback).
pub const SETUP_STATE_TTL: SignedDuration = SignedDuration::from_mins(10);

/// The permissions the App asks for (forges.md G1).
pub const APP_PERMISSIONS: [(&str, &str); 5] = [
    ("checks", "write"),
    ("statuses", "write"),
    ("contents", "read"),
    ("metadata", "read"),
    ("pull_requests", "read"),
];

/// The events the App subscribes to.
pub const APP_EVENTS: [&str; 4] = [
    "push",
    "pull_request",
    "installation",
    "installation_repositories",
];

/// Where GitHub is: the web (and git) host and the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubLocation {
    /// `OORE_GITHUB_URL`, e.g. `https://github.com`, without trailing slash.
    pub web_url: String,
    /// `OORE_GITHUB_API_URL`, e.g. `https://api.github.com` or `https://ghe/api/v3`.
    pub api_url: String,
}

impl GitHubLocation {
    /// github.com.
    pub fn public() -> Self {
        Self {
            web_url: "https://github.com".to_owned(),
            api_url: "https://api.github.com".to_owned(),
        }
    }

    /// Where the setup page's form posts the manifest: the personal or the
    /// organisation's "new App" page, with the state.
    pub fn manifest_form_action(&self, org: Option<&str>, state: &str) -> String {
        let state = crate::api::paths::query_component(state);
        match org {
            Some(org) => format!(
                "{}/organizations/{}/settings/apps/new?state={state}",
                self.web_url,
                crate::api::paths::segment(org)
            ),
            None => format!("{}/settings/apps/new?state={state}", self.web_url),
        }
    }

    /// The page that installs the App `slug`.
    pub fn install_url(&self, slug: &str) -> String {
        format!(
            "{}/apps/{}/installations/new",
            self.web_url,
            crate::api::paths::segment(slug)
        )
    }
}

/// The URLs of this server that the manifest names.
pub fn callback_url(base_url: &str) -> String {
    format!("{base_url}/setup/github/callback")
}

/// Where GitHub sends the browser after an installation (spec 2.2).
pub fn installed_url(base_url: &str) -> String {
    format!("{base_url}/setup/github/installed")
}

/// The App's webhook receiver.
pub fn hook_url(base_url: &str) -> String {
    format!("{base_url}/api/webhooks/github")
}

/// The App manifest (forges.md G1) for a server at `base_url`.
pub fn manifest(base_url: &str, name: &str) -> serde_json::Value {
    let permissions: serde_json::Map<String, serde_json::Value> = APP_PERMISSIONS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({
        "name": name,
        "url": base_url,
        "description": format!("Oore CI/CD at {base_url}"),
        "hook_attributes": {"url": hook_url(base_url), "active": true},
        "redirect_url": callback_url(base_url),
        "setup_url": installed_url(base_url),
        "setup_on_update": true,
        "public": false,
        "default_permissions": permissions,
        "default_events": APP_EVENTS,
    })
}

/// GitHub's limit on an App's name.
pub const MAX_APP_NAME: usize = 34;

/// The App name used when none is given: `Oore CI (host)`, cut to GitHub's limit.
pub fn default_app_name(base_url: &str) -> String {
    let name = match host_of(base_url) {
        Some(host) => format!("Oore CI ({host})"),
        None => "Oore CI".to_owned(),
    };
    if name.chars().count() <= MAX_APP_NAME {
        name
    } else {
        let mut cut: String = name.chars().take(MAX_APP_NAME - 1).collect();
        cut.push(')');
        cut
    }
}

/// Checks a user-given App name; `Err` says what is wrong.
pub fn check_app_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the App name must not be empty".to_owned());
    }
    if name.chars().count() > MAX_APP_NAME {
        return Err(format!(
            "the App name must be at most {MAX_APP_NAME} characters (GitHub's limit)"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the App name must not contain control characters".to_owned());
    }
    Ok(())
}

/// Checks an organisation login (GitHub: letters, digits and single hyphens).
pub fn check_org(org: &str) -> Result<(), String> {
    let ok = !org.is_empty()
        && org.len() <= 39
        && org.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !org.starts_with('-')
        && !org.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{org}' is not a GitHub organisation name: use letters, digits and hyphens, as in the organisation's URL"
        ))
    }
}

/// The single-use token that ties a setup page and its callback together. Only its
/// SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupState {
    /// SHA-256 of the state value.
    pub digest: [u8; 32],
    /// The organisation the App is created for; `None` for the user's own account.
    pub org: Option<String>,
    /// The App's name, as the manifest proposes it.
    pub app_name: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops being usable.
    pub expires_at: Timestamp,
    /// When the callback used it (it cannot be used again).
    pub used_at: Option<Timestamp>,
    /// How the callback ended.
    pub outcome: SetupOutcome,
}

impl SetupState {
    /// The digest a state value is stored under.
    pub fn digest_of(state: &str) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(state.as_bytes()).into()
    }

    /// True once `now` is past its expiry.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }
}

/// How a setup's callback ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupOutcome {
    /// No outcome yet.
    Pending,
    /// The App was created and stored.
    Completed {
        /// The App's slug.
        slug: String,
    },
    /// The callback failed; the message says why and what to do.
    Failed {
        /// For the user.
        message: String,
    },
}

/// What converting a manifest code returns (forges.md G1 step 4): the new App's
/// identity and its secrets, in plaintext until stored.
#[derive(Debug, Clone)]
pub struct NewAppCredentials {
    /// The App's numeric id.
    pub app_id: u64,
    /// URL name, as in `github.com/apps/{slug}`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The client id (the JWT's `iss`).
    pub client_id: String,
    /// `https://github.com/apps/{slug}`.
    pub html_url: String,
    /// The owning account or organisation.
    pub owner_login: String,
    /// The OAuth client secret.
    pub client_secret: SecretString,
    /// The webhook secret (GitHub may leave it out).
    pub webhook_secret: Option<SecretString>,
    /// The private key, PEM.
    pub pem: SecretString,
}

/// What `GET /app` says about the App.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInfo {
    /// The App's numeric id.
    pub app_id: u64,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The owning account.
    pub owner_login: String,
}

/// What authenticates as the App: the client id and the private key.
#[derive(Clone)]
pub struct AppAuth {
    /// The App's numeric id (for messages).
    pub app_id: u64,
    /// The JWT's issuer.
    pub client_id: String,
    /// The private key, PEM.
    pub private_key: SecretString,
}

impl fmt::Debug for AppAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppAuth")
            .field("app_id", &self.app_id)
            .field("client_id", &self.client_id)
            .field("private_key", &self.private_key)
            .finish()
    }
}

/// The stored App: one row, its secrets sealed and bound to that row
/// ([`app_secret_binding`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubApp {
    /// The row's id, part of every secret's binding.
    pub row_id: Ulid,
    /// The App's numeric id.
    pub app_id: u64,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The JWT's issuer.
    pub client_id: String,
    /// `https://github.com/apps/{slug}`.
    pub html_url: String,
    /// The owning account.
    pub owner_login: String,
    /// Sealed OAuth client secret.
    pub client_secret: EncryptedSecret,
    /// Sealed webhook secret.
    pub webhook_secret: Option<EncryptedSecret>,
    /// Sealed private key.
    pub private_key: EncryptedSecret,
    /// When it was created here.
    pub created_at: Timestamp,
    /// When it last changed (a key rotation).
    pub updated_at: Timestamp,
}

/// The binding of one of the App row's secret columns (`client_secret`,
/// `webhook_secret`, `private_key`).
pub fn app_secret_binding(row_id: Ulid, column: &'static str) -> SecretBinding {
    SecretBinding::new("github_apps", column, row_id)
}

/// Whether an installation may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstallationState {
    /// Installed and usable.
    Active,
    /// Suspended on GitHub: no tokens can be minted.
    Suspended,
    /// Uninstalled, or its credentials are refused (401/404): gone for Oore.
    Revoked,
}

impl InstallationState {
    /// The stable name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for InstallationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstallationState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "revoked" => Ok(Self::Revoked),
            _ => Err(format!(
                "unknown installation state '{s}': expected active, suspended or revoked"
            )),
        }
    }
}

/// Which repositories an installation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepositorySelection {
    /// Every repository of the account, present and future.
    All,
    /// The ones the user picked.
    Selected,
}

impl RepositorySelection {
    /// GitHub's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Selected => "selected",
        }
    }
}

impl FromStr for RepositorySelection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Self::All),
            "selected" => Ok(Self::Selected),
            _ => Err(format!(
                "unknown repository selection '{s}': expected all or selected"
            )),
        }
    }
}

/// An installation as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteInstallation {
    /// GitHub's installation id.
    pub id: u64,
    /// The account it is installed on.
    pub account_login: String,
    /// `User` or `Organization`.
    pub account_type: String,
    /// All or selected repositories.
    pub repository_selection: RepositorySelection,
    /// Suspended on GitHub.
    pub suspended: bool,
    /// Granted permissions, `name:level`, sorted.
    pub permissions: Vec<String>,
}

/// An installation as Oore keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// GitHub's installation id.
    pub id: u64,
    /// The account it is installed on.
    pub account_login: String,
    /// `User` or `Organization`.
    pub account_type: String,
    /// All or selected repositories.
    pub repository_selection: RepositorySelection,
    /// Granted permissions, `name:level`.
    pub permissions: Vec<String>,
    /// Usable or not.
    pub state: InstallationState,
    /// Why it is not usable, or what the last sync ran into.
    pub detail: Option<String>,
    /// Repositories it covers now.
    pub repository_count: u32,
    /// The last complete sync of its repositories.
    pub synced_at: Option<Timestamp>,
    /// First seen.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// A repository an installation covers, as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRepository {
    /// GitHub's numeric id, stable across renames and transfers.
    pub github_id: u64,
    /// Owner login.
    pub owner: String,
    /// Name.
    pub name: String,
    /// HTTPS clone URL.
    pub clone_url: String,
    /// Default branch; `None` for an empty repository.
    pub default_branch: Option<String>,
}

/// A token that acts as one installation, for an hour.
#[derive(Clone)]
pub struct InstallationToken {
    /// The token (`ghs_...`).
    pub token: SecretString,
    /// When GitHub stops accepting it.
    pub expires_at: Timestamp,
}

impl fmt::Debug for InstallationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationToken")
            .field("token", &self.token)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A cached installation token is used until this long before it expires.
pub const TOKEN_REFRESH_MARGIN: SignedDuration = SignedDuration::from_mins(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_names_this_servers_urls_permissions_and_events() {
        let m = manifest("https://ci.example.com", "Oore CI");
        assert_eq!(
            m["redirect_url"],
            "https://ci.example.com/setup/github/callback"
        );
        assert_eq!(
            m["setup_url"],
            "https://ci.example.com/setup/github/installed"
        );
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://ci.example.com/api/webhooks/github"
        );
        assert_eq!(m["default_permissions"]["checks"], "write");
        assert_eq!(m["default_permissions"]["contents"], "read");
        assert_eq!(m["default_events"][3], "installation_repositories");
    }

    #[test]
    fn form_actions_for_accounts_and_organisations() {
        let gh = GitHubLocation::public();
        assert_eq!(
            gh.manifest_form_action(None, "a b"),
            "https://github.com/settings/apps/new?state=a%20b"
        );
        assert_eq!(
            gh.manifest_form_action(Some("acme"), "s"),
            "https://github.com/organizations/acme/settings/apps/new?state=s"
        );
        assert_eq!(
            gh.install_url("oore-ci"),
            "https://github.com/apps/oore-ci/installations/new"
        );
    }

    #[test]
    fn default_names_fit_githubs_limit() {
        assert_eq!(
            default_app_name("https://ci.example.com"),
            "Oore CI (ci.example.com)"
        );
        let long = default_app_name("https://a-very-long-host-name.example.com");
        assert_eq!(long.chars().count(), MAX_APP_NAME);
        assert!(check_app_name(&long).is_ok());
        assert!(check_app_name("").is_err());
        assert!(check_org("acme-inc").is_ok());
        assert!(check_org("acme/inc").is_err());
    }
}
