//! Repositories: a forge project (or any git remote) that Oore builds.
//!
//! Every field is a validated newtype, so a `Repository` value is always one the rest of
//! the system can act on: names are non-empty and free of control characters, the clone
//! URL is one `git` understands, and the default branch is a legal ref name.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use super::secret::{EncryptedSecret, StoredSecret};
use super::validation::FieldError;
use crate::ids::RepositoryId;
use crate::scheduling::RepoConcurrency;

mod clone_url;

pub use clone_url::{CloneUrl, join_url_credentials, split_url_credentials};

/// Where a repository is hosted, which decides how webhooks are verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// github.com or GitHub Enterprise: HMAC-SHA256 signed webhooks.
    GitHub,
    /// gitlab.com or self-hosted GitLab: token-authenticated webhooks.
    GitLab,
    /// Any clone URL; builds are triggered manually.
    Git,
}

impl Provider {
    /// Every provider, in display order.
    pub const ALL: [Provider; 3] = [Provider::GitHub, Provider::GitLab, Provider::Git];

    /// The stable lowercase name used in the API, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Git => "git",
        }
    }

    /// True for providers that deliver webhooks.
    pub fn has_webhooks(self) -> bool {
        !matches!(self, Provider::Git)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "github" => Ok(Provider::GitHub),
            "gitlab" => Ok(Provider::GitLab),
            "git" => Ok(Provider::Git),
            _ => Err(FieldError::new(
                "provider",
                format!("unknown provider '{s}': expected one of github, gitlab, git"),
            )),
        }
    }
}

/// Lifecycle state of a repository (spec 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepositoryState {
    /// Receiving webhooks, builds enabled.
    Active,
    /// Paused: no builds, history kept.
    Inactive,
    /// Webhook verification is failing.
    Error,
    /// Added, but webhooks cannot be verified yet (no secret).
    PendingSetup,
}

impl RepositoryState {
    /// The stable name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RepositoryState::Active => "active",
            RepositoryState::Inactive => "inactive",
            RepositoryState::Error => "error",
            RepositoryState::PendingSetup => "pending_setup",
        }
    }

    /// True when builds may start for this repository.
    pub fn builds_enabled(self) -> bool {
        matches!(self, RepositoryState::Active)
    }

    /// True when builds triggered by hand may be queued and run: active repositories, and
    /// also those pending setup (no webhook secret yet), so a pipeline can be tried before
    /// the forge is wired. Webhook builds still need [`Self::builds_enabled`].
    pub fn manual_builds_enabled(self) -> bool {
        matches!(
            self,
            RepositoryState::Active | RepositoryState::PendingSetup
        )
    }
}

impl fmt::Display for RepositoryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RepositoryState {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            "error" => Ok(Self::Error),
            "pending_setup" => Ok(Self::PendingSetup),
            _ => Err(FieldError::new(
                "state",
                format!("unknown state '{s}': expected active, inactive, error or pending_setup"),
            )),
        }
    }
}

/// What happens to pull/merge requests from forks (`--fork-pull-requests`): code from
/// outside the repository must not run with what a build may be given unless someone
/// says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ForkPolicy {
    /// Never built; the event is recorded `ignored`.
    Never,
    /// Held `awaiting_approval` until someone approves the event (the default). Authors
    /// GitHub marks OWNER, MEMBER or COLLABORATOR are trusted and built at once.
    #[default]
    Approve,
    /// Built like any other pull request.
    Always,
}

impl ForkPolicy {
    /// Every policy, in display order.
    pub const ALL: [ForkPolicy; 3] = [Self::Never, Self::Approve, Self::Always];

    /// The stable name used in the API, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::Approve => "approve",
            Self::Always => "always",
        }
    }
}

impl fmt::Display for ForkPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ForkPolicy {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == folded)
            .ok_or_else(|| {
                FieldError::new(
                    "fork_pull_requests",
                    format!(
                        "unknown fork pull request policy '{s}': expected never, approve or always"
                    ),
                )
            })
    }
}

const MAX_NAME_LEN: usize = 255;

fn check_text(field: &'static str, raw: &str) -> Result<(), FieldError> {
    if raw.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if raw.trim() != raw {
        return Err(FieldError::new(
            field,
            "must not start or end with whitespace",
        ));
    }
    if raw.chars().count() > MAX_NAME_LEN {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_NAME_LEN} characters"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check_segment(field: &'static str, segment: &str) -> Result<(), FieldError> {
    if segment.is_empty() {
        return Err(FieldError::new(
            field,
            "must not contain empty path segments",
        ));
    }
    if segment == "." || segment == ".." {
        return Err(FieldError::new(field, "must not be '.' or '..'"));
    }
    if segment
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '\\' | ':' | '?' | '#' | '%'))
    {
        return Err(FieldError::new(
            field,
            "must not contain whitespace or any of \\ : ? # %",
        ));
    }
    Ok(())
}

/// The account, organisation or (GitLab) group path owning a repository. Unicode is
/// allowed; GitLab subgroups (`group/sub`) are allowed for GitLab and plain git only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoOwner(String);

impl RepoOwner {
    /// Validates an owner for `provider`.
    pub fn new(provider: Provider, raw: &str) -> Result<Self, FieldError> {
        check_text("owner", raw)?;
        if provider == Provider::GitHub && raw.contains('/') {
            return Err(FieldError::new(
                "owner",
                "a GitHub owner is a single account or organisation name, without '/'",
            ));
        }
        for segment in raw.split('/') {
            check_segment("owner", segment)?;
        }
        Ok(Self(raw.to_owned()))
    }

    /// The owner as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A repository (project) name. Unicode is allowed; `/` is not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoName(String);

impl RepoName {
    /// Validates a repository name.
    pub fn new(raw: &str) -> Result<Self, FieldError> {
        check_text("name", raw)?;
        if raw.contains('/') {
            return Err(FieldError::new(
                "name",
                "must be the repository name alone, without the owner or '/'",
            ));
        }
        check_segment("name", raw)?;
        Ok(Self(raw.to_owned()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A git branch name, checked against `git check-ref-format` rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BranchName(String);

impl BranchName {
    /// Validates a branch name for the field called `field`.
    pub fn new_for(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let bad = |why: &str| {
            Err(FieldError::new(
                field,
                format!("'{raw}' is not a valid branch name: {why}"),
            ))
        };
        if raw.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        if raw.len() > 255 {
            return bad("at most 255 bytes");
        }
        if raw.starts_with('-') || raw.starts_with('/') || raw.ends_with('/') || raw.ends_with('.')
        {
            return bad("must not start with '-' or '/', nor end with '/' or '.'");
        }
        if raw.ends_with(".lock") || raw.contains("..") || raw.contains("//") || raw.contains("@{")
        {
            return bad("must not contain '..', '//' or '@{', nor end with '.lock'");
        }
        if raw == "@" {
            return bad("'@' alone is reserved");
        }
        if raw
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
        {
            return bad("must not contain spaces, control characters or any of ~ ^ : ? * [ \\");
        }
        if raw.split('/').any(|part| part.starts_with('.')) {
            return bad("no path component may start with '.'");
        }
        Ok(Self(raw.to_owned()))
    }

    /// Validates a repository's default branch.
    pub fn new(raw: &str) -> Result<Self, FieldError> {
        Self::new_for("default_branch", raw)
    }

    /// `main`, the default when none is given.
    pub fn main() -> Self {
        Self("main".to_owned())
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A repository Oore knows about. Constructed by use cases and by stores (from rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Identity.
    pub id: RepositoryId,
    /// Forge hosting it.
    pub provider: Provider,
    /// Account, organisation or group.
    pub owner: RepoOwner,
    /// Repository name.
    pub name: RepoName,
    /// Where `git` fetches it from.
    pub clone_url: CloneUrl,
    /// Branch built when no branch is given.
    pub default_branch: BranchName,
    /// Lifecycle state.
    pub state: RepositoryState,
    /// The webhook secret, bound to this row: sealed for GitHub (its HMAC key), a keyed
    /// digest for GitLab (its token only ever needs comparing); see [`StoredSecret`].
    pub webhook_secret: Option<StoredSecret>,
    /// The credentials of the clone URL (its user info, e.g. `user:token`), sealed and
    /// bound to this row; put back into the URL only for git at fetch time.
    pub clone_credentials: Option<EncryptedSecret>,
    /// Whether its builds may run side by side or queue behind each other.
    pub build_concurrency: RepoConcurrency,
    /// What pull/merge requests from forks do.
    pub fork_pull_requests: ForkPolicy,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Repository {
    /// `owner/name`, as forges show it.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner.as_str(), self.name.as_str())
    }

    /// The key two repositories must not share while both exist: provider and
    /// case-folded `owner/name` (forges treat names case-insensitively).
    pub fn identity_key(&self) -> String {
        identity_key(self.provider, &self.owner, &self.name)
    }
}

/// See [`Repository::identity_key`].
pub fn identity_key(provider: Provider, owner: &RepoOwner, name: &RepoName) -> String {
    format!(
        "{}:{}/{}",
        provider.as_str(),
        owner.as_str().to_lowercase(),
        name.as_str().to_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_names_are_accepted() {
        assert!(RepoOwner::new(Provider::GitHub, "zoë-ñandú").is_ok());
        assert!(RepoName::new("アプリ").is_ok());
        assert!(RepoName::new("app_🚀").is_ok());
    }

    #[test]
    fn names_reject_path_tricks_and_blank_input() {
        for bad in ["", "  ", "a/b", "..", ".", "a b", "x\u{7}"] {
            assert!(RepoName::new(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(RepoOwner::new(Provider::GitHub, "org/sub").is_err());
        assert!(RepoOwner::new(Provider::GitLab, "group/sub").is_ok());
        assert!(RepoOwner::new(Provider::GitLab, "group//sub").is_err());
    }

    #[test]
    fn branch_names_follow_git_rules() {
        for ok in ["main", "feature/xyz", "release-1.2", "ü/ñ"] {
            assert!(BranchName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "-x", "a..b", "a b", "x.lock", "a/", "a~1", ".hidden", "a/.b", "@",
        ] {
            assert!(BranchName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_key_folds_case() {
        let o1 = RepoOwner::new(Provider::GitHub, "Acme").unwrap();
        let o2 = RepoOwner::new(Provider::GitHub, "acme").unwrap();
        let n = RepoName::new("App").unwrap();
        assert_eq!(
            identity_key(Provider::GitHub, &o1, &n),
            identity_key(Provider::GitHub, &o2, &n)
        );
    }

    #[test]
    fn provider_and_state_parse_their_own_names() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>().unwrap(), p);
        }
        assert!(
            "bitbucket"
                .parse::<Provider>()
                .unwrap_err()
                .message
                .contains("github, gitlab, git")
        );
        assert_eq!(
            "pending_setup".parse::<RepositoryState>().unwrap(),
            RepositoryState::PendingSetup
        );
    }
}
