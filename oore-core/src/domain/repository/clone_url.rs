//! [`CloneUrl`]: where git fetches a repository from, never with credentials in it, and
//! the one rule that takes credentials out of a URL a user gives
//! ([`split_url_credentials`]) and puts them back for git ([`join_url_credentials`]).

use std::fmt;

use super::{Provider, RepoName, RepoOwner};
use crate::domain::secret::SecretString;
use crate::domain::validation::FieldError;

/// A URL or path that `git clone` accepts: `https://`, `http://`, `ssh://`, `git://`,
/// `file://`, scp-like `user@host:path`, or an absolute local path. It never holds
/// credentials: those are taken out when a user gives a URL
/// ([`CloneUrl::parse_with_credentials`]), sealed, and put back only for git at fetch
/// time ([`CloneUrl::with_credentials`]).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CloneUrl(String);

const CLONE_URL_FIELD: &str = "clone_url";

impl CloneUrl {
    /// Validates a clone URL without credentials (the stored form). A URL carrying
    /// credentials is refused; [`CloneUrl::parse_with_credentials`] takes them apart.
    pub fn new(raw: &str) -> Result<Self, FieldError> {
        let url = Self::checked(raw)?;
        if split_url_credentials(raw).1.is_some() {
            return Err(FieldError::new(
                CLONE_URL_FIELD,
                "must not contain credentials: they are taken out of the URL when the repository is added or updated, and stored encrypted",
            ));
        }
        Ok(url)
    }

    /// Validates a clone URL as a user gives it. The user info of an `http(s)://` URL
    /// (`https://user:token@host/...`, or a token alone) is taken out and returned, to be
    /// stored encrypted; a password in an `ssh://`, `git://` or `file://` URL is refused
    /// with what to do instead (git would not use it).
    pub fn parse_with_credentials(raw: &str) -> Result<(Self, Option<SecretString>), FieldError> {
        Self::checked(raw)?;
        if !raw.contains("://")
            && let Some((_, after_colon)) = raw.split_once(':')
            && after_colon
                .split('/')
                .next()
                .is_some_and(|s| s.contains('@'))
        {
            return Err(FieldError::new(
                CLONE_URL_FIELD,
                "looks like user:password@host:path, and an scp-like URL cannot carry a password: use git@host:owner/repo.git with an SSH key for the user oored runs as, or https://user:token@host/owner/repo.git",
            ));
        }
        let (plain, credentials) = split_url_credentials(raw);
        let Some(credentials) = credentials else {
            return Ok((Self(plain), None));
        };
        let scheme = raw
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        let refusal = match scheme.as_str() {
            "https" | "http" => {
                if credentials.is_empty() || credentials == ":" {
                    Some("has an empty user info before '@': remove it, or put user:token there".to_owned())
                } else {
                    None
                }
            }
            "ssh" => Some(format!(
                "an ssh:// URL cannot carry a password (git does not use it): use {} and give the user oored runs as an SSH key for the host",
                ssh_without_password(raw)
            )),
            "git" => Some(
                "the git:// protocol has no authentication: remove the credentials, or use https://user:token@host/... (the token is stored encrypted)".to_owned(),
            ),
            _ => Some("a file:// URL takes no credentials: remove user:password@".to_owned()),
        };
        match refusal {
            Some(message) => Err(FieldError::new(CLONE_URL_FIELD, message)),
            None => Ok((Self(plain), Some(SecretString::new(credentials)))),
        }
    }

    /// This URL with `credentials` (the user info, as it was in the URL given) put back
    /// before the host: what git is given at fetch time.
    pub fn with_credentials(&self, credentials: &SecretString) -> SecretString {
        SecretString::new(join_url_credentials(&self.0, credentials.expose()))
    }

    /// The shape checks shared by [`CloneUrl::new`] and
    /// [`CloneUrl::parse_with_credentials`].
    fn checked(raw: &str) -> Result<Self, FieldError> {
        const FIELD: &str = CLONE_URL_FIELD;
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
            // Never echo credentials back.
            let shown = split_url_credentials(raw).0;
            return Err(FieldError::new(
                FIELD,
                format!(
                    "'{shown}' is not a clone URL: use https://host/owner/repo.git, \
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

/// The parts of `scheme://authority...`: scheme, user info (before the last `@` of the
/// authority) and the rest after the `@`. `None` without `scheme://` or without `@`.
fn url_userinfo(raw: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = raw.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..end].rfind('@')?;
    Some((scheme, &rest[..at], &rest[at + 1..]))
}

/// Splits a clone URL into the URL without credentials and the credentials (its user
/// info, as written). For `http(s)://` every user info is a credential (a token alone is
/// one); for `ssh://`, `git://` and `file://` only one holding a password
/// (`user:password@`), since an SSH user name is no secret; scp-like URLs and paths
/// carry none. Used for what users give and to migrate URLs stored before credentials
/// were sealed, so every stored URL is split by the same rule.
pub fn split_url_credentials(raw: &str) -> (String, Option<String>) {
    let Some((scheme, userinfo, host_and_path)) = url_userinfo(raw) else {
        return (raw.to_owned(), None);
    };
    let http = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    if !http && !userinfo.contains(':') {
        return (raw.to_owned(), None);
    }
    (
        format!("{scheme}://{host_and_path}"),
        Some(userinfo.to_owned()),
    )
}

/// `url` (`scheme://host/...`, no user info) with `userinfo` put before the host.
pub fn join_url_credentials(url: &str, userinfo: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{userinfo}@{rest}"),
        None => url.to_owned(),
    }
}

/// `ssh://user:password@host/...` as `ssh://user@host/...`, for the refusal message.
fn ssh_without_password(raw: &str) -> String {
    match url_userinfo(raw) {
        Some((scheme, userinfo, host_and_path)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            if user.is_empty() {
                format!("{scheme}://{host_and_path}")
            } else {
                format!("{scheme}://{user}@{host_and_path}")
            }
        }
        None => raw.to_owned(),
    }
}

impl fmt::Debug for CloneUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloneUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let (url, _) = CloneUrl::parse_with_credentials(url).unwrap();
            assert_eq!(url.web_origin().as_deref(), origin, "{url:?}");
        }
    }

    #[test]
    fn https_credentials_are_taken_out_of_the_url_and_put_back_exactly() {
        for (raw, plain, credentials) in [
            (
                "https://user:hunter2@example.com/a/b.git",
                "https://example.com/a/b.git",
                "user:hunter2",
            ),
            (
                "https://ghp_t0ken@github.com/a/b.git",
                "https://github.com/a/b.git",
                "ghp_t0ken",
            ),
            (
                "http://u%40corp:p%3Ass@git.corp:8080/a.git",
                "http://git.corp:8080/a.git",
                "u%40corp:p%3Ass",
            ),
        ] {
            let (url, secret) = CloneUrl::parse_with_credentials(raw).unwrap();
            assert_eq!(url.as_str(), plain);
            let secret = secret.expect("credentials");
            assert_eq!(secret.expose(), credentials);
            assert_eq!(url.with_credentials(&secret).expose(), raw);
            assert!(!format!("{url:?}").contains(credentials));
        }
        for raw in [
            "https://github.com/a/b.git",
            "ssh://git@host:22/a/b.git",
            "git@github.com:a/b.git",
            "/srv/git/repo.git",
            "https://example.com/a@b",
        ] {
            let (url, secret) = CloneUrl::parse_with_credentials(raw).unwrap();
            assert_eq!((url.as_str(), secret.is_none()), (raw, true));
        }
    }

    #[test]
    fn a_stored_url_never_holds_credentials() {
        let err = CloneUrl::new("https://user:hunter2@example.com/a/b.git").unwrap_err();
        assert!(
            err.message.contains("must not contain credentials"),
            "{err}"
        );
        assert!(!err.message.contains("hunter2"));
    }

    #[test]
    fn passwords_where_git_cannot_use_them_are_refused_with_the_alternative() {
        for (raw, hint) in [
            (
                "ssh://git:hunter2@host/a/b.git",
                "use ssh://git@host/a/b.git and give the user oored runs as an SSH key",
            ),
            ("git://u:hunter2@host/a.git", "has no authentication"),
            ("file://u:hunter2@/srv/a.git", "takes no credentials"),
            ("https://@host/a.git", "empty user info"),
        ] {
            let err = CloneUrl::parse_with_credentials(raw).unwrap_err();
            assert_eq!(err.field, "clone_url");
            assert!(err.message.contains(hint), "{raw}: {err}");
            assert!(!err.message.contains("hunter2"), "{err}");
        }
        let err = CloneUrl::parse_with_credentials("me:hunter2@host:a/b.git").unwrap_err();
        assert!(
            err.message.contains("scp-like URL cannot carry a password"),
            "{err}"
        );
        let err = CloneUrl::parse_with_credentials("ftp://u:hunter2@host/a").unwrap_err();
        assert!(!err.message.contains("hunter2"), "{err}");
    }
}
