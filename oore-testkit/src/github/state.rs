//! The fake GitHub's world: the App created from a manifest, its keys, installations
//! and their repositories, issued tokens, check runs and statuses, injected failures,
//! the clock, and the record of every call.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::{Value, json};

/// How a call authenticated, as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAuth {
    /// No `Authorization`.
    None,
    /// A valid App JWT.
    Jwt,
    /// A valid installation token of this installation.
    Installation(u64),
    /// Anything refused.
    Refused,
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, API calls without the `/api/v3` prefix.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// What the fake answered.
    pub status: u16,
    /// How it authenticated.
    pub auth: CallAuth,
}

/// A repository an installation covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRepo {
    /// GitHub's numeric id.
    pub id: u64,
    /// Owner login.
    pub owner: String,
    /// Name.
    pub name: String,
    /// Default branch.
    pub default_branch: String,
}

/// An installation of the App.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeInstallation {
    /// GitHub's installation id.
    pub id: u64,
    /// The account.
    pub account: String,
    /// `User` or `Organization`.
    pub account_type: String,
    /// `all` or `selected`.
    pub selection: String,
    /// Suspended (tokens cannot be minted).
    pub suspended: bool,
    /// The repositories it covers.
    pub repos: Vec<FakeRepo>,
}

/// A failure the next matching call gets instead of its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The primary rate limit: 403, `x-ratelimit-remaining: 0`, reset this many seconds
    /// ahead.
    RateLimited {
        /// Seconds until `x-ratelimit-reset`.
        reset_in: u64,
    },
    /// A secondary limit: 429 with `Retry-After`.
    RetryAfter {
        /// Seconds.
        secs: u64,
    },
    /// Any status with GitHub's error body.
    Status {
        /// The status.
        status: u16,
        /// The `message`.
        message: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Injected {
    pub(crate) method: String,
    pub(crate) path_prefix: String,
    pub(crate) failure: Failure,
    pub(crate) times: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub(crate) manifest: Value,
    pub(crate) owner: String,
    pub(crate) created_at: i64,
    pub(crate) used: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct App {
    pub(crate) id: u64,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) client_id: String,
    pub(crate) owner: String,
    pub(crate) webhook_secret: String,
    pub(crate) client_secret: String,
    pub(crate) keys: Vec<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) installation: u64,
    pub(crate) expires_at: i64,
}

/// A check run as created and updated.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRun {
    /// Its id.
    pub id: u64,
    /// `owner/name`.
    pub repo: String,
    /// The body of the create call merged with every update.
    pub fields: Value,
    /// Every status it went through, in order.
    pub statuses: Vec<String>,
}

/// A commit status as posted.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitStatus {
    /// `owner/name`.
    pub repo: String,
    /// The commit.
    pub sha: String,
    /// The body.
    pub fields: Value,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) offset_secs: i64,
    pub(crate) manifests: HashMap<String, Manifest>,
    pub(crate) key_pem: String,
    pub(crate) app: Option<App>,
    pub(crate) next_app_id: u64,
    pub(crate) installations: BTreeMap<u64, FakeInstallation>,
    pub(crate) deleted_installations: Vec<u64>,
    pub(crate) tokens: HashMap<String, Token>,
    pub(crate) check_runs: Vec<CheckRun>,
    pub(crate) statuses: Vec<CommitStatus>,
    pub(crate) calls: Vec<Call>,
    pub(crate) injected: Vec<Injected>,
    pub(crate) git_roots: HashMap<String, PathBuf>,
    pub(crate) rate_remaining: u32,
}

impl State {
    /// The fake's clock: the real one plus the test's offset, in unix seconds.
    pub(crate) fn now(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        i64::try_from(real).unwrap_or(i64::MAX) + self.offset_secs
    }

    pub(crate) fn take_failure(&mut self, method: &str, path: &str) -> Option<Failure> {
        let i = self.injected.iter().position(|f| {
            (f.method == method || f.method == "*") && path.starts_with(&f.path_prefix)
        })?;
        let failure = self.injected[i].failure.clone();
        self.injected[i].times -= 1;
        if self.injected[i].times == 0 {
            self.injected.remove(i);
        }
        Some(failure)
    }

    pub(crate) fn installation_json(&self, i: &FakeInstallation, base: &str) -> Value {
        let app = self.app.as_ref();
        json!({
            "id": i.id,
            "account": {"login": i.account, "id": i.id * 10, "type": i.account_type},
            "app_id": app.map(|a| a.id),
            "app_slug": app.map(|a| a.slug.clone()),
            "target_id": i.id * 10,
            "target_type": i.account_type,
            "repository_selection": i.selection,
            "permissions": {"checks": "write", "statuses": "write", "contents": "read", "metadata": "read", "pull_requests": "read"},
            "events": ["push", "pull_request"],
            "access_tokens_url": format!("{base}/api/v3/app/installations/{}/access_tokens", i.id),
            "repositories_url": format!("{base}/api/v3/installation/repositories"),
            "html_url": format!("{base}/settings/installations/{}", i.id),
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "suspended_at": if i.suspended { json!("2026-01-02T00:00:00Z") } else { Value::Null },
            "suspended_by": Value::Null,
            "single_file_name": Value::Null,
        })
    }
}

pub(crate) fn repo_json(r: &FakeRepo, base: &str) -> Value {
    json!({
        "id": r.id,
        "node_id": format!("R_{}", r.id),
        "name": r.name,
        "full_name": format!("{}/{}", r.owner, r.name),
        "private": true,
        "owner": {"login": r.owner, "id": 1, "type": "Organization"},
        "html_url": format!("{base}/{}/{}", r.owner, r.name),
        "clone_url": format!("{base}/{}/{}.git", r.owner, r.name),
        "default_branch": r.default_branch,
    })
}
