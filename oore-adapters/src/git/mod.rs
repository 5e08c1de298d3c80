//! Fetching sources with the system `git`: [`GitFetcher`] implements [`SourceFetcher`].
//!
//! **A repository on this machine** (an absolute path, or a `file://` URL, whose
//! directory exists; [`GitConfig::local_clone`]) is cloned, not fetched: `git clone -q
//! --template= [-b <branch or tag>] -- <path> .` hardlinks the source's object files
//! and checks out, one git command (three processes: git, `sh` and `upload-pack` to
//! list the refs) where the transport path below runs seven, and the whole history
//! comes along with no shallow or deepen steps. With a commit asked for: `clone
//! --no-checkout`, then `checkout --detach <commit>`. A `file://` URL is cloned from
//! its path because git turns its local optimisation off for `file://` (it packs and
//! sends objects through `upload-pack` as for a remote). Hardlinks are safe: git never
//! rewrites an object file (new objects are new files), and a link grants no access
//! beyond what `oored`'s user already has to the source's files; where linking fails
//! git copies. `origin` is set back to the URL as configured, so `git remote -v` shows
//! what the transport path would. The checked-out SHA is read from `.git/HEAD` and the
//! ref files, without a `rev-parse` process. See `local.rs`.
//!
//! **Strategy for a remote.** In the (empty) workspace: `git init`, `origin` set to the
//! clone URL, then one shallow fetch (`--depth=1 --no-tags`) of exactly what the build needs:
//!
//! * a full commit SHA: `git fetch --depth=1 origin <sha>` (GitHub, GitLab and git's own
//!   protocol v2 servers allow it);
//! * otherwise the branch (`refs/heads/B`), the tag (`refs/tags/T`) or `HEAD`.
//!
//! then `git checkout --detach` of that commit (of `FETCH_HEAD` when no commit was asked
//! for), whose SHA is read from `.git/HEAD`. When a commit was asked for but cannot be
//! fetched by SHA (a short SHA, or a server that refuses unadvertised objects), the named
//! branch or tag is fetched first (enough when the commit is its head), then its full
//! history, then every branch and tag, and the commit is looked up locally. Submodules (`.gitmodules`) are updated recursively, best effort:
//! a failure is logged as a warning and the build goes on.
//!
//! **Errors.** git's stderr (read with `LC_ALL=C`) decides: a missing repository, branch,
//! tag or commit is [`FetchError::NotFound`] at once; network and server trouble is
//! retried [`GitConfig::retries`] times in all, waiting [`GitConfig::backoff`] and
//! doubling, then [`FetchError::Unreachable`]; a cancel kills git's process group and
//! returns [`FetchError::Cancelled`].
//!
//! **Environment.** stdin is closed, `GIT_TERMINAL_PROMPT=0` (never wait for a password),
//! `GIT_CONFIG_NOSYSTEM=1` (no system-wide helpers such as a keychain prompt; the user's
//! `~/.gitconfig`, e.g. proxies or SSH settings for `oored`'s user, still applies), and
//! variables such as `GIT_DIR` are removed. Automatic maintenance after a fetch (`git
//! maintenance run --auto`, `git gc --auto`) is turned off: the workspace is thrown away.
//!
//! **Ownership.** git runs as `oored`'s user. With a build user
//! ([`GitConfig::owner`]), the checkout is given to it after the fetch (`ownership`):
//! the token never reaches a process a step could inspect, and the build user owns its
//! clone, so git in steps needs no `safe.directory`.
//!
//! **Credentials.** For `http(s)://user:token@host/...` git is given the URL without them
//! and an `http.<scheme>://<host>/.extraHeader` with `Authorization: Basic ...` through the
//! `GIT_CONFIG_*` environment: nothing lands in `.git/config` (which build steps and
//! artifact globs can read) or on a command line, and submodules on the same host are
//! authenticated too. Every logged line and every error message is scrubbed: URLs show
//! `https://***@host/...`.

mod classify;
mod command;
mod head;
mod local;
mod ownership;
mod url;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use oore_core::cancel::CancelToken;
use oore_core::domain::repository::join_url_credentials;
use oore_core::ports::{BuildLogs, FetchError, FetchRequest, SourceFetcher};

use classify::{Failure, classify, summary};
use command::{GitContext, GitEnd};
use url::RemoteUrl;
pub use url::redact_credentials;

/// How fetches retry and how long git may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitConfig {
    /// How many times a network operation is tried in all, the first included (default
    /// 3; 0 counts as 1).
    pub retries: u32,
    /// Wait before the second try; doubled before each later one (default 1 s).
    pub backoff: Duration,
    /// Longest one git command may run (default 30 min); past it git is killed and the
    /// fetch fails.
    pub timeout: Duration,
    /// Clone a repository on this machine (an absolute path or a `file://` URL whose
    /// directory exists) with `git clone`'s local optimisation instead of fetching it
    /// through git's transport (default true). Off, such URLs take the same `init` +
    /// shallow `fetch` path as remote ones (tests use it to drive that path).
    pub local_clone: bool,
    /// The build user's uid and gid: the checkout is handed over to it once fetched
    /// (`ownership`). `None` when steps run as `oored`'s own user.
    pub owner: Option<(u32, u32)>,
}

impl Default for GitConfig {
    fn default() -> Self {
        Self {
            retries: 3,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(30 * 60),
            local_clone: true,
            owner: None,
        }
    }
}

/// Fetches with the system `git`, logging to the build's system log.
#[derive(Clone)]
pub struct GitFetcher {
    logs: Arc<dyn BuildLogs>,
    config: GitConfig,
    program: PathBuf,
}

impl std::fmt::Debug for GitFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitFetcher")
            .field("config", &self.config)
            .field("program", &self.program)
            .finish_non_exhaustive()
    }
}

impl GitFetcher {
    /// A fetcher running `git` from `PATH` (looked up now, once).
    pub fn new(logs: Arc<dyn BuildLogs>, config: GitConfig) -> Self {
        Self {
            logs,
            config,
            program: git_in_path(),
        }
    }

    /// Runs this git executable instead of `git` from `PATH`.
    #[must_use]
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }
}

#[async_trait]
impl SourceFetcher for GitFetcher {
    async fn fetch(
        &self,
        request: &FetchRequest,
        cancel: &CancelToken,
    ) -> Result<String, FetchError> {
        let wanted = Wanted::from_request(request)?;
        // Credentials are given apart and put back only here, where git gets them (as
        // an `Authorization` header for HTTP(S), see `url.rs`).
        let url = match &request.credentials {
            Some(credentials) => {
                RemoteUrl::parse(&join_url_credentials(&request.url, credentials.expose()))
            }
            None => RemoteUrl::parse(&request.url),
        };
        std::fs::create_dir_all(&request.dest).map_err(|e| {
            FetchError::Other(format!(
                "cannot create {}: {e}; check OORE_WORKSPACES_DIR",
                request.dest.display()
            ))
        })?;
        let session = Session {
            git: GitContext {
                program: &self.program,
                dir: &request.dest,
                url: &url,
                logs: &self.logs,
                build: request.build,
                timeout: self.config.timeout,
                cancel,
            },
            config: &self.config,
            wanted,
        };
        let sha = session.fetch().await?;
        if let Some((uid, gid)) = self.config.owner {
            ownership::give(&request.dest, uid, gid).await?;
        }
        Ok(sha)
    }

    async fn default_branch(&self, url: &str) -> Result<Option<String>, FetchError> {
        head::default_branch(&self.program, url).await
    }
}

/// `git`'s absolute path from the absolute directories of `PATH`, else plain `git`
/// (the spawn then fails with the usual "not found"). Given a bare name, every spawn
/// searches `PATH` itself with one failed `execve` per directory before git's: about
/// 1 ms per git process with a developer's `PATH` on the machines measured, on the path
/// from trigger to first step.
fn git_in_path() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .filter(|dir| dir.is_absolute())
                .map(|dir| dir.join("git"))
                .find(|git| {
                    git.metadata()
                        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                })
        })
        .unwrap_or_else(|| PathBuf::from("git"))
}

/// What the request asks for, validated (names cannot smuggle options into git).
#[derive(Debug)]
struct Wanted {
    commit: Option<String>,
    /// `(kind, name, refspec)` of the branch or tag, if one was named.
    named: Option<(&'static str, String, String)>,
}

impl Wanted {
    fn from_request(request: &FetchRequest) -> Result<Self, FetchError> {
        let commit = match request.commit.as_deref().map(str::trim) {
            Some(c) if (7..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(c.to_ascii_lowercase())
            }
            Some(c) => {
                return Err(FetchError::NotFound(format!(
                    "'{c}' is not a commit SHA: give 7 to 40 hexadecimal characters"
                )));
            }
            None => None,
        };
        let named = match (&request.branch, &request.tag) {
            (_, Some(tag)) => Some((
                "tag",
                check_ref("tag", tag)?,
                format!("+refs/tags/{tag}:refs/tags/{tag}"),
            )),
            (Some(b), None) => Some((
                "branch",
                check_ref("branch", b)?,
                format!("+refs/heads/{b}:refs/remotes/origin/{b}"),
            )),
            (None, None) => None,
        };
        Ok(Self { commit, named })
    }

    fn describe(&self) -> String {
        match (&self.commit, &self.named) {
            (Some(c), Some((kind, name, _))) => format!("commit {c} ({kind} '{name}')"),
            (Some(c), None) => format!("commit {c}"),
            (None, Some((kind, name, _))) => format!("{kind} '{name}'"),
            (None, None) => "the default branch".to_owned(),
        }
    }
}

fn check_ref(kind: &str, name: &str) -> Result<String, FetchError> {
    let bad = name.is_empty()
        || name.starts_with(['-', '/'])
        || name.contains("..")
        || name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || ":^~?*[\\".contains(c));
    if bad {
        return Err(FetchError::NotFound(format!(
            "'{name}' is not a valid {kind} name; check the build's {kind}"
        )));
    }
    Ok(name.to_owned())
}

struct Session<'a> {
    git: GitContext<'a>,
    config: &'a GitConfig,
    wanted: Wanted,
}

/// A failed step: either the fetch's final error, or a git failure the caller may
/// recover from (try another way to find a commit).
enum Step {
    Fatal(FetchError),
    Git(Failure, String),
}

impl From<FetchError> for Step {
    fn from(e: FetchError) -> Self {
        Step::Fatal(e)
    }
}

impl Session<'_> {
    async fn fetch(&self) -> Result<String, FetchError> {
        let url = self.git.url;
        if self.config.local_clone
            && let Some(source) = local::source_path(&url.plain)
        {
            return self.clone_local(source).await;
        }
        // Each git process costs milliseconds on the path from trigger to first step, so
        // the common case (a branch, a tag or HEAD) runs three: `init`, `fetch` and
        // `checkout`. No templates: nothing of them is used, copying them costs time, and
        // a user's template directory could bring hooks into the workspace.
        self.local(&["-c", "init.defaultBranch=main", "init", "-q", "--template="])
            .await?;
        // The remote is written into .git/config directly rather than with two more `git
        // config` processes.
        self.add_origin(&url.plain).await?;
        let wanted = match self.wanted.commit.clone() {
            Some(commit) => Some(self.fetch_commit(&commit).await?),
            None => {
                let refspec = self.wanted.named.as_ref().map_or("HEAD", |(_, _, r)| r);
                self.shallow(refspec).await.map_err(|s| self.fail(s))?;
                None
            }
        };
        // Without a commit asked for, FETCH_HEAD (one line: one refspec was fetched) is
        // checked out as it is: checkout peels an annotated tag to its commit and refuses
        // anything that is not a commit, and the detached HEAD it leaves is the commit's
        // SHA, so no `rev-parse` process is needed.
        let target = wanted.as_deref().unwrap_or("FETCH_HEAD");
        self.local(&["checkout", "-q", "--detach", target, "--"])
            .await?;
        self.submodules().await?;
        let head = tokio::fs::read_to_string(self.git.dir.join(".git/HEAD"))
            .await
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        let is_sha = matches!(head.len(), 40 | 64) && head.bytes().all(|b| b.is_ascii_hexdigit());
        match wanted {
            Some(sha) if head != sha => Err(FetchError::Other(format!(
                "checked out {head} instead of {sha}; the workspace may have been changed during the fetch"
            ))),
            None if !is_sha => Err(FetchError::Other(format!(
                "git fetched {} but HEAD is '{head}' after checking it out, not a commit; the workspace may have been changed during the fetch",
                self.wanted.describe()
            ))),
            _ => Ok(head),
        }
    }

    /// Fetches `commit` the cheapest way that works and returns its full SHA.
    async fn fetch_commit(&self, commit: &str) -> Result<String, FetchError> {
        let full = commit.len() == 40 || commit.len() == 64;
        let first = if full {
            self.shallow(commit).await
        } else if let Some((_, _, refspec)) = &self.wanted.named {
            self.shallow(refspec).await
        } else {
            Err(Step::Git(Failure::RefMissing, String::new()))
        };
        match first {
            Ok(()) => {
                if let Some(sha) = self.resolve_commit(commit).await? {
                    return Ok(sha);
                }
            }
            Err(Step::Git(Failure::RefMissing, _)) => {}
            Err(step) => return Err(self.fail(step)),
        }
        let mut deeper: Vec<Vec<String>> = Vec::new();
        if let Some((_, _, refspec)) = &self.wanted.named {
            deeper.push(vec![refspec.clone()]);
        }
        deeper.push(vec![
            "+refs/heads/*:refs/remotes/origin/*".to_owned(),
            "+refs/tags/*:refs/tags/*".to_owned(),
        ]);
        for refspecs in deeper {
            let mut args = vec!["fetch", "--no-tags", "--recurse-submodules=no"];
            if self.git.dir.join(".git/shallow").exists() {
                args.push("--unshallow");
            }
            args.push("origin");
            args.extend(refspecs.iter().map(String::as_str));
            match self.network(&args).await {
                Ok(_) | Err(Step::Git(Failure::RefMissing, _)) => {}
                Err(step) => return Err(self.fail(step)),
            }
            if let Some(sha) = self.resolve_commit(commit).await? {
                return Ok(sha);
            }
        }
        Err(FetchError::NotFound(format!(
            "{} not found in {}; check that it was pushed",
            self.wanted.describe(),
            self.git.url.display
        )))
    }

    async fn shallow(&self, refspec: &str) -> Result<(), Step> {
        let args = [
            "fetch",
            "--depth=1",
            "--no-tags",
            "--recurse-submodules=no",
            "origin",
            refspec,
        ];
        self.network(&args).await.map(drop)
    }

    async fn resolve_commit(&self, commit: &str) -> Result<Option<String>, FetchError> {
        Ok(self
            .resolve(commit)
            .await?
            .filter(|sha| sha.starts_with(commit)))
    }

    /// The full SHA of the commit `rev` names, if it is in the local repository.
    async fn resolve(&self, rev: &str) -> Result<Option<String>, FetchError> {
        let spec = format!("{rev}^{{commit}}");
        match self
            .once(&[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ])
            .await
        {
            Ok(out) => Ok(Some(out.trim().to_owned()).filter(|s| !s.is_empty())),
            Err(Step::Fatal(e)) => Err(e),
            Err(Step::Git(..)) => Ok(None),
        }
    }

    /// `.gitmodules` present: `git submodule update --init --recursive`, best effort.
    async fn submodules(&self) -> Result<(), FetchError> {
        if !self.git.dir.join(".gitmodules").is_file() {
            return Ok(());
        }
        match self
            .network(&["submodule", "update", "--init", "--recursive"])
            .await
        {
            Ok(_) => Ok(()),
            Err(Step::Fatal(FetchError::Cancelled)) => Err(FetchError::Cancelled),
            Err(Step::Fatal(e)) => {
                self.git
                    .log(&format!(
                        "warning: submodules were not fetched: {e}; the build goes on without them"
                    ))
                    .await;
                Ok(())
            }
            Err(Step::Git(_, line)) => {
                self.git.log(&format!("warning: submodules were not fetched: {line}; the build goes on without them")).await;
                Ok(())
            }
        }
    }

    /// Appends the `origin` remote (fetching every branch) to the new repository's config.
    async fn add_origin(&self, url: &str) -> Result<(), FetchError> {
        let path = self.git.dir.join(".git/config");
        let mut config = tokio::fs::read_to_string(&path).await.unwrap_or_default();
        push_origin(&mut config, url);
        self.write_config(config).await
    }

    /// Replaces the workspace's `.git/config`.
    async fn write_config(&self, config: String) -> Result<(), FetchError> {
        let path = self.git.dir.join(".git/config");
        tokio::fs::write(&path, config).await.map_err(|e| {
            FetchError::Other(format!(
                "cannot write {}: {e}; check OORE_WORKSPACES_DIR",
                path.display()
            ))
        })
    }

    /// A git command that does not touch the network; any failure is fatal.
    async fn local(&self, args: &[&str]) -> Result<String, FetchError> {
        self.once(args).await.map_err(|s| self.fail(s))
    }

    /// Runs a command once; a failure is returned classified.
    async fn once(&self, args: &[&str]) -> Result<String, Step> {
        match self.git.run(args).await {
            GitEnd::Succeeded(out) => Ok(out),
            GitEnd::Failed(stderr) => Err(Step::Git(classify(&stderr), summary(&stderr))),
            GitEnd::Cancelled => Err(Step::Fatal(FetchError::Cancelled)),
            GitEnd::TimedOut => Err(Step::Fatal(FetchError::Unreachable(format!(
                "git {} from {} did not finish within {} s; check the network, or raise the fetch timeout for a big repository",
                args.first().copied().unwrap_or_default(),
                self.git.url.display,
                self.config.timeout.as_secs()
            )))),
            GitEnd::NotStarted(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Step::Fatal(FetchError::Other(
                    "git is not installed: install it (apt-get install git / xcode-select --install)".to_owned(),
                )))
            }
            GitEnd::NotStarted(e) => Err(Step::Fatal(FetchError::Other(format!(
                "cannot run {}: {e}; check that git is installed and executable",
                self.git.program.display()
            )))),
        }
    }

    /// Runs a network command, retrying network failures with backoff.
    async fn network(&self, args: &[&str]) -> Result<String, Step> {
        let attempts = self.config.retries.max(1);
        let mut wait = self.config.backoff;
        let mut attempt = 1;
        loop {
            match self.once(args).await {
                Err(Step::Git(Failure::Network, line)) if attempt < attempts => {
                    self.git
                        .log(&format!(
                            "attempt {attempt} of {attempts} failed: {line}; retrying in {} ms",
                            wait.as_millis()
                        ))
                        .await;
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        _ = self.git.cancel.cancelled() => return Err(Step::Fatal(FetchError::Cancelled)),
                    }
                    wait = wait.saturating_mul(2);
                    attempt += 1;
                }
                Err(Step::Git(Failure::Network, line)) => {
                    return Err(Step::Fatal(FetchError::Unreachable(format!(
                        "could not reach {} after {attempts} attempt{}: {line}; check the network and the clone URL",
                        self.git.url.display,
                        if attempts == 1 { "" } else { "s" }
                    ))));
                }
                other => return other,
            }
        }
    }

    /// The final error for a failed step, scrubbed of credentials.
    fn fail(&self, step: Step) -> FetchError {
        let url = &self.git.url.display;
        let what = self.wanted.describe();
        let error = match step {
            Step::Fatal(e) => e,
            Step::Git(Failure::RepoMissing, line) => FetchError::NotFound(format!(
                "repository {url} not found ({line}); check the clone URL and that oored's credentials can read it"
            )),
            Step::Git(Failure::RefMissing, line) => FetchError::NotFound(format!(
                "{what} not found in {url} ({line}); check that it exists and was pushed"
            )),
            Step::Git(Failure::Auth, line) => FetchError::Other(format!(
                "{url} refused the credentials ({line}); reconnect the repository's forge or fix its access token"
            )),
            Step::Git(Failure::DiskFull, _) => FetchError::Other(format!(
                "no space left on device in {}; free space or change OORE_WORKSPACES_DIR",
                workspace_parent(self.git.dir).display()
            )),
            Step::Git(Failure::Network, line) => FetchError::Unreachable(format!(
                "could not reach {url}: {line}; check the network and the clone URL"
            )),
            Step::Git(Failure::Other, line) => FetchError::Other(format!(
                "git failed while fetching {what} from {url}: {line}"
            )),
        };
        let scrub = |m: String| self.git.url.scrub(&m);
        match error {
            FetchError::NotFound(m) => FetchError::NotFound(scrub(m)),
            FetchError::Unreachable(m) => FetchError::Unreachable(scrub(m)),
            FetchError::Other(m) => FetchError::Other(scrub(m)),
            FetchError::Cancelled => FetchError::Cancelled,
        }
    }
}

/// `url` as a git config value: quoted only when it holds `;`, `#`, a quote or a
/// backslash.
fn config_value(url: &str) -> String {
    if url.contains([';', '#', '"', '\\']) {
        format!("\"{}\"", url.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        url.to_owned()
    }
}

/// Appends an `origin` remote (fetching every branch) to a git config text.
fn push_origin(config: &mut String, url: &str) {
    if !config.is_empty() && !config.ends_with('\n') {
        config.push('\n');
    }
    config.push_str(&format!(
        "[remote \"origin\"]\n\turl = {}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
        config_value(url)
    ));
}

fn workspace_parent(dir: &Path) -> &Path {
    dir.parent().unwrap_or(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_is_found_once_by_its_absolute_path() {
        let git = git_in_path();
        assert!(git.is_absolute(), "{}", git.display());
        assert_eq!(git.file_name(), Some(std::ffi::OsStr::new("git")));
    }
}
