//! `GitFetcher` cloning repositories on this machine (absolute paths and `file://` URLs)
//! with `git clone`'s local optimisation: what is checked out, how few git processes it
//! takes, what `origin` says, that the source is left alone, and cancel and timeout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use oore_adapters::git::{GitConfig, GitFetcher};
use oore_core::cancel::CancelToken;
use oore_core::ports::{FetchError, FetchRequest, SourceFetcher};

use crate::git::{
    Recorded, Repo, Setup, assert_cancel_stops, fetch, history, quick, read, request, setup,
};

/// The `$ git ...` command lines logged, without their arguments past the subcommand.
fn commands(s: &Setup) -> Vec<String> {
    s.logs
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("$ git "))
        .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

/// `git remote get-url origin` in the workspace.
fn origin(dest: &Path) -> String {
    let out = Command::new("git")
        .args(["remote", "get-url", "origin"])
        .current_dir(dest)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn a_branch_head_is_cloned_with_one_git_process() {
    let h = history();
    let s = setup(quick());
    let sha = fetch(&s, |r| r.branch = Some("main".into()), &h.repo.url())
        .await
        .unwrap();
    assert_eq!(sha, h.a3);
    assert_eq!(read(&s.dest, "app.txt").as_deref(), Some("three"));
    let source = h.repo.dir.path().display().to_string();
    assert_eq!(
        s.logs.lines(),
        [format!("$ git clone -q --template= -b main -- {source} .")]
    );
    assert!(!s.dest.join(".git/shallow").exists(), "full history");
    assert_eq!(origin(&s.dest), h.repo.url(), "origin is the URL as given");

    let s = setup(quick());
    let sha = fetch(&s, |r| r.branch = Some("feature".into()), &h.repo.url())
        .await
        .unwrap();
    assert_eq!(sha, h.f1);
    assert_eq!(read(&s.dest, "feature.txt").as_deref(), Some("feature"));

    // Neither branch nor commit: the source's HEAD; a plain path stays a path in origin.
    let s = setup(quick());
    assert_eq!(fetch(&s, |_| {}, &source).await.unwrap(), h.a3);
    assert_eq!(commands(&s), ["clone"]);
    assert_eq!(origin(&s.dest), source);
}

#[tokio::test]
async fn exact_commits_are_checked_out_detached_by_full_and_short_sha() {
    let h = history();
    // a2 is not the head of main, f1 is not on main at all: the branch does not matter.
    for (commit, branch, file, content) in [
        (h.a2.clone(), Some("main"), "app.txt", "two"),
        (h.a1[..7].to_uppercase(), Some("main"), "app.txt", "one"),
        (h.a1[..7].to_owned(), None, "app.txt", "one"),
        (h.f1.clone(), Some("main"), "feature.txt", "feature"),
    ] {
        let s = setup(quick());
        let sha = fetch(
            &s,
            |r| {
                r.branch = branch.map(str::to_owned);
                r.commit = Some(commit.clone());
            },
            &h.repo.url(),
        )
        .await
        .unwrap();
        assert!(
            sha.starts_with(&commit.to_lowercase()) && sha.len() == 40,
            "{commit}: {sha}"
        );
        assert_eq!(read(&s.dest, file).as_deref(), Some(content), "{commit}");
        assert_eq!(commands(&s), ["clone", "checkout"], "{commit}");
        let head = std::fs::read_to_string(s.dest.join(".git/HEAD")).unwrap();
        assert_eq!(head.trim(), sha, "detached");
    }
}

#[tokio::test]
async fn tags_are_checked_out_even_when_a_branch_has_the_same_name() {
    let h = history();
    for tag in ["v1", "v1-annotated"] {
        let s = setup(quick());
        let sha = fetch(&s, |r| r.tag = Some(tag.into()), &h.repo.url())
            .await
            .unwrap();
        assert_eq!(sha, h.a1, "{tag}");
        assert_eq!(read(&s.dest, "app.txt").as_deref(), Some("one"));
        assert_eq!(commands(&s), ["clone"]);
    }

    // `clone -b v1` would take this branch (at a3) before the tag (at a1).
    h.repo.git(&["branch", "v1", &h.a3]);
    let s = setup(quick());
    let sha = fetch(&s, |r| r.tag = Some("v1".into()), &h.repo.url())
        .await
        .unwrap();
    assert_eq!(sha, h.a1);
    assert_eq!(read(&s.dest, "app.txt").as_deref(), Some("one"));
    assert_eq!(commands(&s), ["clone", "checkout"]);
    let s = setup(quick());
    let sha = fetch(&s, |r| r.branch = Some("v1".into()), &h.repo.url())
        .await
        .unwrap();
    assert_eq!(sha, h.a3);
}

#[tokio::test]
async fn missing_branches_tags_and_commits_are_not_found() {
    let h = history();
    let s = setup(quick());
    let err = fetch(&s, |r| r.branch = Some("nope".into()), &h.repo.url())
        .await
        .unwrap_err();
    let FetchError::NotFound(message) = &err else {
        panic!("expected NotFound, got {err:?}");
    };
    assert!(
        message.starts_with(&format!("branch 'nope' not found in {} (", h.repo.url())),
        "{message}"
    );
    assert_eq!(commands(&s), ["clone"]);

    // A tag is not a branch, even though `clone -b` takes either.
    let s = setup(quick());
    let err = fetch(&s, |r| r.branch = Some("v1".into()), &h.repo.url())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound(m) if m.starts_with("branch 'v1' not found")),
        "{err:?}"
    );

    let s = setup(quick());
    let err = fetch(&s, |r| r.tag = Some("v9".into()), &h.repo.url())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound(m) if m.starts_with("tag 'v9' not found")),
        "{err:?}"
    );

    for unknown in ["0123456789abcdef0123456789abcdef01234567", "0123456"] {
        let s = setup(quick());
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
            matches!(&err, FetchError::NotFound(m) if m.starts_with(&format!("commit {unknown} (branch 'main') not found in file://"))),
            "{err:?}"
        );
    }

    // A directory that is not a repository.
    let dir = tempfile::tempdir().unwrap();
    let s = setup(quick());
    let err = fetch(&s, |_| {}, dir.path().to_str().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound(m) if m.starts_with("repository /") && m.contains("check the clone URL")),
        "{err:?}"
    );

    // A repository without commits.
    let empty = Repo::new();
    let s = setup(quick());
    let err = fetch(&s, |_| {}, &empty.url()).await.unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound(m) if m.starts_with("the default branch not found")),
        "{err:?}"
    );
}

/// Every file under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            } else {
                files.insert(entry.path(), (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    files
}

#[cfg(unix)]
#[tokio::test]
async fn objects_are_hardlinked_and_the_source_is_left_alone() {
    use std::os::unix::fs::MetadataExt;

    let h = history();
    let before = snapshot(h.repo.dir.path());
    let s = setup(quick());
    fetch(&s, |r| r.commit = Some(h.a2.clone()), &h.repo.url())
        .await
        .unwrap();
    std::fs::write(s.dest.join("app.txt"), "changed by a build").unwrap();
    assert_eq!(snapshot(h.repo.dir.path()), before);
    assert_eq!(h.repo.git(&["status", "--porcelain"]), "");

    let object = format!(".git/objects/{}/{}", &h.a2[..2], &h.a2[2..]);
    let meta = std::fs::metadata(s.dest.join(&object)).unwrap();
    let source = std::fs::metadata(h.repo.dir.path().join(&object)).unwrap();
    assert_eq!((meta.dev(), meta.ino()), (source.dev(), source.ino()));
}

#[cfg(unix)]
/// A `git` that runs the real one, except that `clone` first leaves a mark and hangs.
fn hanging_clone(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;

    let mark = dir.join("clone-started");
    let program = dir.join("git");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\nif [ \"$1\" = clone ]; then touch '{}'; sleep 60; fi\nexec git \"$@\"\n",
            mark.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    (program, mark)
}

#[cfg(unix)]
#[tokio::test]
async fn cancel_and_timeout_stop_a_local_clone() {
    let h = history();
    let bin = tempfile::tempdir().unwrap();
    let (program, mark) = hanging_clone(bin.path());

    let logs = Arc::new(Recorded::default());
    let fetcher = GitFetcher::new(logs.clone(), quick()).with_program(&program);
    let s = setup(quick());
    let req = request(&h.repo.url(), &s.dest);
    assert_cancel_stops(fetcher, &logs, req, "the clone to start", || mark.exists()).await;

    let fetcher = GitFetcher::new(
        logs.clone(),
        GitConfig {
            timeout: Duration::from_millis(1500),
            ..quick()
        },
    )
    .with_program(&program);
    let s = setup(quick());
    let started = Instant::now();
    let req = FetchRequest {
        branch: Some("main".into()),
        ..request(&h.repo.url(), &s.dest)
    };
    let err = fetcher.fetch(&req, &CancelToken::new()).await.unwrap_err();
    assert!(
        matches!(&err, FetchError::Unreachable(m) if m.starts_with("git clone from file://") && m.contains("did not finish within 1 s")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn with_a_build_user_the_clone_is_theirs_but_linked_objects_stay_read_only() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let Some(user) = crate::test_build_user() else {
        return;
    };
    let h = history();
    let s = setup(GitConfig {
        owner: Some((user.uid, user.gid)),
        ..quick()
    });
    let parent = s.dest.parent().unwrap();
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o711)).unwrap();
    let sha = fetch(&s, |r| r.branch = Some("main".into()), &h.repo.url())
        .await
        .unwrap();

    let (mut theirs, mut linked) = (0, 0);
    let mut stack = vec![s.dest.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = entry.path().symlink_metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            }
            if meta.is_file() && meta.nlink() > 1 {
                linked += 1;
                assert_ne!(meta.uid(), user.uid, "{}", entry.path().display());
                assert_eq!(meta.mode() & 0o022, 0, "{}", entry.path().display());
            } else {
                theirs += 1;
                assert_eq!(
                    (meta.uid(), meta.gid()),
                    (user.uid, user.gid),
                    "{}",
                    entry.path().display()
                );
            }
        }
    }
    assert!(
        theirs > 0 && linked > 0,
        "{theirs} handed over, {linked} linked"
    );
    assert_eq!(std::fs::metadata(&s.dest).unwrap().uid(), user.uid);
    let source_objects = h.repo.dir.path().join(".git/objects");
    assert_eq!(
        std::fs::metadata(source_objects).unwrap().uid(),
        0,
        "the source is left alone"
    );

    // git as the build user works in its clone without any safe.directory exception.
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&s.dest)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .uid(user.uid)
        .gid(user.gid)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), sha);
}
