//! `GitFetcher` against real repositories made with the system git, and against tiny
//! local HTTP servers that refuse, hang or record what git sends. The `file://` tests
//! here drive git's transport (`init` + `fetch` + `checkout`) with
//! [`GitConfig::local_clone`] off; `git_local.rs` tests the local clone.
//!
//! The repository helper here is a trimmed copy of `oore_testkit::git::GitFixture`:
//! oore-testkit depends on oore-adapters, so using it here would build two copies of
//! this crate whose types do not match.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use oore_adapters::git::{GitConfig, GitFetcher};
use oore_core::cancel::{CancelReason, CancelToken};
use oore_core::ids::BuildId;
use oore_core::ports::{
    BuildLogs, FetchError, FetchRequest, LogChunk, LogError, LogFile, LogFollower, LogUpdate,
    SourceFetcher,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{eventually, new_build};

/// Records system-log lines.
#[derive(Default)]
pub(crate) struct Recorded(Mutex<Vec<String>>);

impl Recorded {
    pub(crate) fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn count(&self, prefix: &str) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
}

struct NoUpdates;

#[async_trait]
impl LogFollower for NoUpdates {
    async fn next(&mut self) -> Option<LogUpdate> {
        None
    }
}

#[async_trait]
impl BuildLogs for Recorded {
    async fn append_system(&self, _build: BuildId, line: &str) -> Result<(), LogError> {
        self.0.lock().unwrap().push(line.to_owned());
        Ok(())
    }
    async fn read(&self, _: BuildId, _: LogFile, _: u64, _: usize) -> Result<LogChunk, LogError> {
        Err(LogError::NotFound)
    }
    async fn files(&self, _: BuildId) -> Result<Vec<(LogFile, u64)>, LogError> {
        Ok(Vec::new())
    }
    fn follow(&self, _: BuildId) -> Box<dyn LogFollower> {
        Box::new(NoUpdates)
    }
    fn finish(&self, _: BuildId) {}
}

/// A repository on branch `main` in a temporary directory.
pub(crate) struct Repo {
    pub(crate) dir: tempfile::TempDir,
}

impl Repo {
    pub(crate) fn new() -> Self {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "-q", "--initial-branch=main"]);
        repo
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@oore.invalid"])
            .args(args)
            .current_dir(self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "git {args:?}: {stderr}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub(crate) fn commit(&self, file: &str, content: &str) -> String {
        std::fs::write(self.dir.path().join(file), content).unwrap();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", file]);
        self.git(&["rev-parse", "HEAD"])
    }

    pub(crate) fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }
}

/// `main`: a1 -> a2 -> a3 (head); `feature` branches at a2 with f1; tags at a1.
pub(crate) struct History {
    pub(crate) repo: Repo,
    pub(crate) a1: String,
    pub(crate) a2: String,
    pub(crate) a3: String,
    pub(crate) f1: String,
}

pub(crate) fn history() -> History {
    let repo = Repo::new();
    let a1 = repo.commit("app.txt", "one");
    repo.git(&["tag", "v1"]);
    repo.git(&["tag", "-a", "v1-annotated", "-m", "release 1"]);
    let a2 = repo.commit("app.txt", "two");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let f1 = repo.commit("feature.txt", "feature");
    repo.git(&["checkout", "-q", "main"]);
    let a3 = repo.commit("app.txt", "three");
    History {
        repo,
        a1,
        a2,
        a3,
        f1,
    }
}

pub(crate) struct Setup {
    _dir: tempfile::TempDir,
    pub(crate) dest: PathBuf,
    pub(crate) logs: Arc<Recorded>,
    pub(crate) fetcher: GitFetcher,
}

pub(crate) fn setup(config: GitConfig) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ws");
    std::fs::create_dir(&dest).unwrap();
    let logs = Arc::new(Recorded::default());
    let fetcher = GitFetcher::new(logs.clone(), config);
    Setup {
        _dir: dir,
        dest,
        logs,
        fetcher,
    }
}

/// Quick retries; repositories on this machine are cloned locally.
pub(crate) fn quick() -> GitConfig {
    GitConfig {
        retries: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(60),
        local_clone: true,
        owner: None,
    }
}

/// [`quick`], with `file://` repositories fetched through git's transport.
pub(crate) fn transport() -> GitConfig {
    GitConfig {
        local_clone: false,
        ..quick()
    }
}

pub(crate) fn request(url: &str, dest: &Path) -> FetchRequest {
    FetchRequest {
        build: new_build(),
        url: url.to_owned(),
        credentials: None,
        branch: None,
        tag: None,
        commit: None,
        dest: dest.to_path_buf(),
    }
}

pub(crate) async fn fetch(
    s: &Setup,
    edit: impl FnOnce(&mut FetchRequest),
    url: &str,
) -> Result<String, FetchError> {
    let mut req = request(url, &s.dest);
    edit(&mut req);
    s.fetcher.fetch(&req, &CancelToken::new()).await
}

pub(crate) fn read(dest: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dest.join(file)).ok()
}

#[tokio::test]
async fn fetches_a_branch_head_shallowly_and_detached() {
    let h = history();
    let s = setup(transport());
    let sha = fetch(&s, |r| r.branch = Some("main".into()), &h.repo.url())
        .await
        .unwrap();
    assert_eq!(sha, h.a3);
    assert_eq!(read(&s.dest, "app.txt").as_deref(), Some("three"));
    assert!(
        s.dest.join(".git/shallow").exists(),
        "the fetch should be shallow"
    );
    let lines = s.logs.lines();
    assert!(
        lines.iter().any(|l| l.starts_with("$ git fetch --depth=1")),
        "{lines:#?}"
    );

    let s = setup(transport());
    let sha = fetch(&s, |r| r.branch = Some("feature".into()), &h.repo.url())
        .await
        .unwrap();
    assert_eq!(sha, h.f1);
    assert_eq!(read(&s.dest, "feature.txt").as_deref(), Some("feature"));

    // Neither branch nor commit: the remote's HEAD.
    let s = setup(transport());
    assert_eq!(fetch(&s, |_| {}, &h.repo.url()).await.unwrap(), h.a3);
}

#[tokio::test]
async fn fetches_an_exact_commit_by_full_and_short_sha() {
    let h = history();
    let s = setup(transport());
    let sha = fetch(
        &s,
        |r| {
            r.branch = Some("main".into());
            r.commit = Some(h.a2.clone());
        },
        &h.repo.url(),
    )
    .await
    .unwrap();
    assert_eq!(sha, h.a2);
    assert_eq!(read(&s.dest, "app.txt").as_deref(), Some("two"));

    for branch in [Some("main"), None] {
        let s = setup(transport());
        let short = h.a1[..7].to_owned();
        let sha = fetch(
            &s,
            |r| {
                r.branch = branch.map(str::to_owned);
                r.commit = Some(short.to_uppercase());
            },
            &h.repo.url(),
        )
        .await
        .unwrap();
        assert_eq!(sha, h.a1, "branch {branch:?}");
        assert_eq!(read(&s.dest, "app.txt").as_deref(), Some("one"));
    }

    // A short SHA that is the branch head needs no full history.
    let s = setup(transport());
    let head = h.a3[..8].to_owned();
    let sha = fetch(
        &s,
        |r| {
            r.branch = Some("main".into());
            r.commit = Some(head);
        },
        &h.repo.url(),
    )
    .await
    .unwrap();
    assert_eq!(sha, h.a3);
    assert!(s.dest.join(".git/shallow").exists());
}

#[tokio::test]
async fn fetches_lightweight_and_annotated_tags() {
    let h = history();
    for tag in ["v1", "v1-annotated"] {
        let s = setup(transport());
        let sha = fetch(&s, |r| r.tag = Some(tag.into()), &h.repo.url())
            .await
            .unwrap();
        assert_eq!(sha, h.a1, "{tag}");
        assert_eq!(read(&s.dest, "app.txt").as_deref(), Some("one"));
    }
}

#[tokio::test]
async fn missing_branches_commits_and_repositories_are_not_found_at_once() {
    let h = history();
    let s = setup(transport());
    let started = Instant::now();
    let err = fetch(&s, |r| r.branch = Some("nope".into()), &h.repo.url())
        .await
        .unwrap_err();
    let FetchError::NotFound(message) = &err else {
        panic!("expected NotFound, got {err:?}");
    };
    assert!(
        message.contains("branch 'nope' not found in file://"),
        "{message}"
    );
    assert_eq!(
        s.logs.count("$ git fetch"),
        1,
        "not retried: {:#?}",
        s.logs.lines()
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let s = setup(transport());
    let err = fetch(&s, |r| r.tag = Some("v9".into()), &h.repo.url())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound(m) if m.contains("tag 'v9'")),
        "{err:?}"
    );

    let s = setup(transport());
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    let err = fetch(
        &s,
        |r| {
            r.branch = Some("main".into());
            r.commit = Some(unknown.into());
        },
        &h.repo.url(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound(m) if m.contains(unknown) && m.contains("branch 'main'")),
        "{err:?}"
    );

    let s = setup(transport());
    let missing = format!("{}-missing", h.repo.url());
    let err = fetch(&s, |r| r.branch = Some("main".into()), &missing)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound(m) if m.starts_with("repository file://") && m.contains("check the clone URL")),
        "{err:?}"
    );
    assert_eq!(s.logs.count("$ git fetch"), 1);
}

#[tokio::test]
async fn invalid_names_never_reach_git() {
    let s = setup(quick());
    for edit in [
        (|r: &mut FetchRequest| r.branch = Some("--upload-pack=evil".into()))
            as fn(&mut FetchRequest),
        |r| r.tag = Some("a b".into()),
        |r| r.commit = Some("xyz1234".into()),
        |r| r.commit = Some("abc".into()),
    ] {
        let err = fetch(&s, edit, "file:///nowhere").await.unwrap_err();
        assert!(matches!(err, FetchError::NotFound(_)), "{err:?}");
    }
    assert!(s.logs.lines().is_empty());
}

#[tokio::test]
async fn network_errors_are_retried_then_unreachable_without_credentials() {
    let s = setup(quick());
    let url = "http://user:s3cretpass@127.0.0.1:1/x.git";
    let err = fetch(&s, |r| r.branch = Some("main".into()), url)
        .await
        .unwrap_err();
    let FetchError::Unreachable(message) = &err else {
        panic!("expected Unreachable, got {err:?}");
    };
    assert!(
        message.starts_with("could not reach http://***@127.0.0.1:1/x.git after 3 attempts: "),
        "{message}"
    );
    assert!(
        message.ends_with("; check the network and the clone URL"),
        "{message}"
    );
    assert_eq!(s.logs.count("$ git fetch"), 3, "{:#?}", s.logs.lines());
    assert_eq!(s.logs.count("attempt "), 2);
    for line in s.logs.lines().iter().chain([message]) {
        assert!(!line.contains("s3cretpass"), "credential leaked: {line}");
    }
    let config = std::fs::read_to_string(s.dest.join(".git/config")).unwrap();
    assert!(
        !config.contains("s3cretpass") && !config.contains("user@"),
        "{config}"
    );
}

/// Answers every request with 404 and records its `Authorization` header.
async fn recording_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            for line in text.lines() {
                if let Some(v) = line
                    .strip_prefix("Authorization: ")
                    .or_else(|| line.strip_prefix("authorization: "))
                {
                    record.lock().unwrap().push(v.to_owned());
                }
            }
            let _ = socket
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    });
    (format!("127.0.0.1:{}", addr.port()), seen)
}

#[tokio::test]
async fn http_credentials_are_sent_as_a_header_not_stored() {
    let (addr, seen) = recording_server().await;
    let s = setup(quick());
    let url = format!("http://user:s3cretpass@{addr}/o/r.git");
    let err = fetch(&s, |r| r.branch = Some("main".into()), &url)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound(m) if m.starts_with(&format!("repository http://***@{addr}/o/r.git not found"))),
        "{err:?}"
    );
    assert_eq!(
        seen.lock().unwrap().first().map(String::as_str),
        Some("Basic dXNlcjpzM2NyZXRwYXNz")
    );
    let config = std::fs::read_to_string(s.dest.join(".git/config")).unwrap();
    assert!(
        config.contains(&format!("url = http://{addr}/o/r.git")),
        "{config}"
    );
    assert!(!config.contains("s3cretpass"), "{config}");
    for line in s.logs.lines() {
        assert!(
            !line.contains("s3cretpass") && !line.contains("dXNlcjpz"),
            "{line}"
        );
    }
}

/// How the executor fetches a repository whose credentials are stored sealed: the URL
/// without them, the user info apart. git gets the same header, and nothing shows them.
#[tokio::test]
async fn credentials_given_apart_reach_git_as_the_same_header() {
    let (addr, seen) = recording_server().await;
    let s = setup(quick());
    let url = format!("http://{addr}/o/r.git");
    let err = fetch(
        &s,
        |r| {
            r.branch = Some("main".into());
            r.credentials = Some(oore_core::domain::secret::SecretString::new(
                "user:s3cretpass",
            ));
        },
        &url,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound(m) if m.starts_with(&format!("repository http://***@{addr}/o/r.git not found"))),
        "{err:?}"
    );
    assert_eq!(
        seen.lock().unwrap().first().map(String::as_str),
        Some("Basic dXNlcjpzM2NyZXRwYXNz")
    );
    let config = std::fs::read_to_string(s.dest.join(".git/config")).unwrap();
    assert!(!config.contains("s3cretpass"), "{config}");
    for line in s.logs.lines() {
        assert!(!line.contains("s3cretpass"), "{line}");
    }
}

/// Accepts connections and never answers; counts them.
async fn silent_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (format!("http://{addr}/slow.git"), accepted)
}

/// Runs `fetcher` on `req`, cancels it once `started` holds (`what` names the wait), and
/// checks it ends `Cancelled` within 5 s with a log line saying so.
pub(crate) async fn assert_cancel_stops(
    fetcher: GitFetcher,
    logs: &Recorded,
    req: FetchRequest,
    what: &str,
    started: impl FnMut() -> bool,
) {
    let cancel = CancelToken::new();
    let task = {
        let cancel = cancel.clone();
        tokio::spawn(async move { fetcher.fetch(&req, &cancel).await })
    };
    eventually(what, Duration::from_secs(20), started).await;
    let stopped = Instant::now();
    cancel.cancel(CancelReason::User);
    let result = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, Err(FetchError::Cancelled));
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopped.elapsed()
    );
    assert!(logs.lines().iter().any(|l| l.contains("cancelled")));
}

#[tokio::test]
async fn cancel_stops_a_hanging_fetch_promptly() {
    let (url, accepted) = silent_server().await;
    let s = setup(quick());
    let req = request(&url, &s.dest);
    assert_cancel_stops(s.fetcher.clone(), &s.logs, req, "git to connect", || {
        accepted.load(Ordering::SeqCst) > 0
    })
    .await;
}

#[tokio::test]
async fn a_fetch_past_the_timeout_is_stopped() {
    let (url, _accepted) = silent_server().await;
    let s = setup(GitConfig {
        retries: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_millis(1500),
        local_clone: true,
        owner: None,
    });
    let started = Instant::now();
    let err = fetch(&s, |_| {}, &url).await.unwrap_err();
    assert!(
        matches!(&err, FetchError::Unreachable(m) if m.contains("did not finish within 1 s")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(s.logs.count("$ git fetch"), 1, "a timeout is not retried");
}

#[tokio::test]
async fn a_missing_git_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let fetcher = GitFetcher::new(Arc::new(Recorded::default()), quick())
        .with_program(dir.path().join("no-such-git"));
    let err = fetcher
        .fetch(&request("file:///x", dir.path()), &CancelToken::new())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        FetchError::Other(
            "git is not installed: install it (apt-get install git / xcode-select --install)"
                .into()
        )
    );
}

#[tokio::test]
async fn a_broken_submodule_is_a_warning() {
    let repo = Repo::new();
    repo.commit("app.txt", "one");
    let sha = repo.git(&["rev-parse", "HEAD"]);
    std::fs::write(
        repo.dir.path().join(".gitmodules"),
        "[submodule \"lib\"]\n\tpath = lib\n\turl = file:///nonexistent/lib.git\n",
    )
    .unwrap();
    repo.git(&["add", ".gitmodules"]);
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{sha},lib"),
    ]);
    repo.git(&["commit", "-q", "-m", "add a submodule"]);
    let head = repo.git(&["rev-parse", "HEAD"]);

    // Through the transport and through a local clone, branch head and exact commit.
    for (config, commit) in [
        (transport(), None),
        (quick(), None),
        (quick(), Some(head.clone())),
    ] {
        let s = setup(config);
        let got = fetch(
            &s,
            |r| {
                r.branch = Some("main".into());
                r.commit = commit.clone();
            },
            &repo.url(),
        )
        .await
        .unwrap();
        assert_eq!(got, head);
        let lines = s.logs.lines();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("$ git submodule update --init --recursive")),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("warning: submodules were not fetched")),
            "{lines:#?}"
        );
    }
}

/// A repository cannot make git (which may run as root) copy a directory of this
/// machine into the workspace through `.gitmodules`.
#[tokio::test]
async fn a_submodule_naming_a_local_directory_is_not_cloned() {
    let private = Repo::new();
    let secret_sha = private.commit("secret.txt", "not for builds");
    let repo = Repo::new();
    repo.commit("app.txt", "one");
    for url in [
        private.dir.path().display().to_string(),
        format!("file://{}", private.dir.path().display()),
    ] {
        std::fs::write(
            repo.dir.path().join(".gitmodules"),
            format!("[submodule \"lib\"]\n\tpath = lib\n\turl = {url}\n"),
        )
        .unwrap();
        repo.git(&["add", ".gitmodules"]);
        repo.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{secret_sha},lib"),
        ]);
        repo.git(&["commit", "-q", "-m", "a local submodule"]);
        for config in [transport(), quick()] {
            let s = setup(config);
            fetch(&s, |r| r.branch = Some("main".into()), &repo.url())
                .await
                .unwrap();
            assert!(!s.dest.join("lib/secret.txt").exists(), "{url}");
            let lines = s.logs.lines();
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("warning: submodules were not fetched")),
                "{lines:#?}"
            );
        }
    }
}
