//! Repositories: a forge project (or any git remote) that Oore builds.
//!
//! Every field is a validated newtype, so a `Repository` value is always one the rest of
//! the system can act on: names are non-empty and free of control characters, the clone
//! URL is one `git` understands, and the default branch is a legal ref name.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use super::secret::StoredSecret;
use super::validation::FieldError;
use crate::ids::RepositoryId;
use crate::scheduling::RepoConcurrency;

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

/// A URL or path that `git clone` accepts: `https://`, `http://`, `ssh://`, `git://`,
/// `file://`, scp-like `user@host:path`, or an absolute local path.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CloneUrl(String);

impl CloneUrl {
    /// Validates a clone URL.
    pub fn new(raw: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "clone_url";
        if raw.trim().is_empty() {
            return Err(FieldError::new(FIELD, "must not be empty"));
        }
        if raw.trim() != raw || raw.chars().any(|c| c.is_control() || c == ' ') {
            return Err(FieldError::new(
                FIELD,
                "must not contain spaces or control characters",
            ));
        }
        if raw.starts_with('-') {
            return Err(FieldError::new(FIELD, "must not start with '-'"));
        }
        if raw.len() > 2048 {
            return Err(FieldError::new(FIELD, "must be at most 2048 characters"));
        }
        let ok = if let Some((scheme, rest)) = raw.split_once("://") {
            matches!(scheme, "https" | "http" | "ssh" | "git" | "file") && rest.len() > 1
        } else if raw.starts_with('/') {
            true
        } else if let Some((user_host, path)) = raw.split_once(':') {
            // scp-like: git@github.com:owner/repo.git
            !user_host.is_empty() && !user_host.contains('/') && !path.is_empty()
        } else {
            false
        };
        if !ok {
            return Err(FieldError::new(
                FIELD,
                format!(
                    "'{raw}' is not a clone URL: use https://host/owner/repo.git, \
                     ssh://git@host/owner/repo.git, git@host:owner/repo.git or an absolute path"
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The default clone URL for a forge-hosted repository.
    pub fn default_for(provider: Provider, owner: &RepoOwner, name: &RepoName) -> Option<Self> {
        let host = match provider {
            Provider::GitHub => "github.com",
            Provider::GitLab => "gitlab.com",
            Provider::Git => return None,
        };
        Some(Self(format!(
            "https://{host}/{}/{}.git",
            owner.as_str(),
            name.as_str()
        )))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host a forge serves its web pages from, as `https://host[:port]`, read from
    /// an `http(s)://`, `ssh://` or scp-like (`git@host:owner/repo`) clone URL; `None` for
    /// paths and `file://`. An SSH port is dropped: the web pages are not served there.
    pub fn web_origin(&self) -> Option<String> {
        let raw = self.0.as_str();
        let (host, keep_port) = if let Some((scheme, rest)) = raw.split_once("://") {
            let keep_port = match scheme.to_ascii_lowercase().as_str() {
                "http" | "https" => true,
                "ssh" | "git" => false,
                _ => return None,
            };
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            (
                authority.rsplit_once('@').map_or(authority, |(_, h)| h),
                keep_port,
            )
        } else if raw.starts_with('/') {
            return None;
        } else {
            let (user_host, _) = raw.split_once(':')?;
            (
                user_host.rsplit_once('@').map_or(user_host, |(_, h)| h),
                false,
            )
        };
        let host = if keep_port {
            host
        } else {
            host.split(':').next().unwrap_or_default()
        };
        (!host.is_empty()).then(|| format!("https://{host}"))
    }

    /// The URL with any `user:password@` credentials replaced by `***`, for display.
    pub fn redacted(&self) -> String {
        if let Some((scheme, rest)) = self.0.split_once("://")
            && let Some((userinfo, host)) = rest.split_once('@')
            && userinfo.contains(':')
            && !userinfo.contains('/')
        {
            return format!("{scheme}://***@{host}");
        }
        self.0.clone()
    }
}

impl fmt::Debug for CloneUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloneUrl({})", self.redacted())
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
    /// Whether its builds may run side by side or queue behind each other.
    pub build_concurrency: RepoConcurrency,
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
    fn clone_urls_of_every_usual_shape() {
        for ok in [
            "https://github.com/a/b.git",
            "ssh://git@host:22/a/b.git",
            "git@github.com:a/b.git",
            "file:///tmp/repo",
            "/srv/git/repo.git",
        ] {
            assert!(CloneUrl::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "ftp://x/y", "not a url", "-uhttps://x", "relative/path"] {
            assert!(CloneUrl::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn web_origins_come_from_the_clone_urls_host() {
        for (url, origin) in [
            ("https://github.com/a/b.git", Some("https://github.com")),
            (
                "https://user:tok@gitlab.example.com:8443/g/s/b.git",
                Some("https://gitlab.example.com:8443"),
            ),
            (
                "ssh://git@gitlab.example.com:2222/a/b.git",
                Some("https://gitlab.example.com"),
            ),
            (
                "git@ghe.corp.example:a/b.git",
                Some("https://ghe.corp.example"),
            ),
            ("file:///tmp/repo", None),
            ("/srv/git/repo.git", None),
        ] {
            let url = CloneUrl::new(url).unwrap();
            assert_eq!(url.web_origin().as_deref(), origin, "{url:?}");
        }
    }

    #[test]
    fn clone_url_debug_hides_credentials() {
        let url = CloneUrl::new("https://user:hunter2@example.com/a/b.git").unwrap();
        assert_eq!(url.redacted(), "https://***@example.com/a/b.git");
        assert!(!format!("{url:?}").contains("hunter2"));
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
