//! `FsWorkspaces` against the `Workspaces` contract, plus what only real files show: fresh
//! workspaces, the `CM_ENV` format, links, and retention by age.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use oore_adapters::system::SystemClock;
use oore_adapters::workspace::FsWorkspaces;
use oore_core::ids::BuildId;
use oore_core::ports::{BuildDirectories, Workspaces};
use oore_core::testing::contract::WorkspaceFixture;
use oore_core::usecases::build::{RetentionRule, prune_build_directories};

use crate::new_build;

fn workspaces() -> (tempfile::TempDir, FsWorkspaces) {
    let dir = tempfile::tempdir().unwrap();
    let ws = FsWorkspaces::new(dir.path().join("workspaces"));
    (dir, ws)
}

/// Plays the checkout and the steps on real files.
struct OnDisk<'a>(&'a FsWorkspaces);

impl WorkspaceFixture for OnDisk<'_> {
    fn write_file(&self, build: BuildId, relative: &str, content: &str) {
        let path = self.0.path(build).join(relative);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).expect("create the file's directory");
        }
        fs::write(&path, content).expect("write the file");
    }

    fn append_cm_env(&self, build: BuildId, key: &str, value: &str) {
        use std::io::Write as _;
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(self.0.cm_env_path(build))
            .expect("open CM_ENV");
        writeln!(file, "{key}={value}").expect("append to CM_ENV");
    }
}

oore_core::contract_tests!(workspaces, |case| {
    let (_dir, ws) = workspaces();
    crate::runtime().block_on(case(&ws, &OnDisk(&ws)))
});

fn age(path: &Path, by: Duration) {
    let when = SystemTime::now() - by;
    fs::File::open(path).unwrap().set_modified(when).unwrap();
}

#[tokio::test]
async fn create_makes_a_fresh_workspace_and_an_empty_cm_env_outside_it() {
    let (_dir, ws) = workspaces();
    let build = new_build();
    let path = ws.create(build).await.unwrap();
    assert_eq!(path, ws.path(build));
    assert!(path.is_dir());
    assert_eq!(fs::read_dir(&path).unwrap().count(), 0);

    let cm_env = ws.cm_env_path(build);
    assert!(!cm_env.starts_with(&path), "{}", cm_env.display());
    assert_eq!(fs::read(&cm_env).unwrap(), b"");

    // Leftovers of an earlier attempt are removed.
    fs::write(path.join("stale.txt"), "old").unwrap();
    fs::create_dir_all(path.join("build/ios")).unwrap();
    fs::write(&cm_env, "OLD=1\n").unwrap();
    let again = ws.create(build).await.unwrap();
    assert_eq!(fs::read_dir(&again).unwrap().count(), 0);
    assert!(ws.read_cm_env(build).await.unwrap().is_empty());
}

#[tokio::test]
async fn create_says_what_to_do_when_the_directory_cannot_be_made() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    fs::write(&blocker, "file").unwrap();
    let ws = FsWorkspaces::new(blocker.join("workspaces"));
    let err = ws.create(new_build()).await.unwrap_err().to_string();
    assert!(err.contains("OORE_WORKSPACES_DIR"), "{err}");
    assert!(err.starts_with("cannot create"), "{err}");
}

#[tokio::test]
async fn cm_env_lines_appended_by_steps_are_read_in_order() {
    let (_dir, ws) = workspaces();
    let build = new_build();
    ws.create(build).await.unwrap();
    let cm_env = ws.cm_env_path(build);
    // What `echo "KEY=value" >> $CM_ENV` produces, step after step.
    let mut text = String::new();
    for line in [
        "APP_VERSION=1.2.3",
        "# a comment",
        "",
        "QUOTED=\"with spaces\"",
        "URL=https://example.com/?a=b",
        "not an assignment",
        "APP_VERSION=1.2.4",
        "NOTES<<EOF",
        "first",
        "second",
        "EOF",
    ] {
        text.push_str(line);
        text.push('\n');
    }
    fs::write(&cm_env, text).unwrap();
    let vars = ws.read_cm_env(build).await.unwrap();
    let expected: Vec<(String, String)> = [
        ("APP_VERSION", "1.2.3"),
        ("QUOTED", "with spaces"),
        ("URL", "https://example.com/?a=b"),
        ("APP_VERSION", "1.2.4"),
        ("NOTES", "first\nsecond"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(vars, expected);

    // A build whose CM_ENV is gone has no additions rather than an error.
    fs::remove_file(&cm_env).unwrap();
    assert!(ws.read_cm_env(build).await.unwrap().is_empty());
}

#[tokio::test]
async fn read_text_reads_checkout_files_and_stays_inside() {
    let (dir, ws) = workspaces();
    let build = new_build();
    let path = ws.create(build).await.unwrap();
    fs::write(path.join("codemagic.yaml"), "workflows: {}\n").unwrap();
    fs::create_dir_all(path.join("ci")).unwrap();
    fs::write(path.join("ci/oore.huml"), "x: 1\n").unwrap();

    let read = |rel: &'static str| ws.read_text(build, rel, 1024);
    assert_eq!(
        read("codemagic.yaml").await.unwrap().as_deref(),
        Some("workflows: {}\n")
    );
    assert_eq!(
        read("./ci/oore.huml").await.unwrap().as_deref(),
        Some("x: 1\n")
    );
    assert_eq!(read("missing.yaml").await.unwrap(), None);
    assert_eq!(read("codemagic.yaml/below").await.unwrap(), None);

    for escape in ["../outside.txt", "/etc/passwd", "ci/../../x"] {
        let err = read(escape).await.unwrap_err().to_string();
        assert!(err.contains("refusing to read"), "{escape}: {err}");
    }

    // A link inside the workspace is fine; one leading out of it is refused.
    let secret = dir.path().join("secret.txt");
    fs::write(&secret, "top secret").unwrap();
    std::os::unix::fs::symlink(&secret, path.join("link-out.yaml")).unwrap();
    std::os::unix::fs::symlink("codemagic.yaml", path.join("link-in.yaml")).unwrap();
    let err = read("link-out.yaml").await.unwrap_err().to_string();
    assert!(err.contains("outside the workspace"), "{err}");
    assert!(!err.contains("top secret"));
    assert_eq!(
        read("link-in.yaml").await.unwrap().as_deref(),
        Some("workflows: {}\n")
    );
}

#[tokio::test]
async fn read_text_refuses_big_binary_and_non_files() {
    let (_dir, ws) = workspaces();
    let build = new_build();
    let path = ws.create(build).await.unwrap();
    fs::write(path.join("big.yaml"), vec![b'a'; 2048]).unwrap();
    fs::write(path.join("exact.yaml"), vec![b'a'; 1024]).unwrap();
    fs::write(path.join("latin1.yaml"), b"name: caf\xe9\n").unwrap();
    fs::create_dir(path.join("dir.yaml")).unwrap();

    let err = ws
        .read_text(build, "big.yaml", 1024)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(err, "big.yaml is larger than 1024 bytes; make it smaller");
    assert_eq!(
        ws.read_text(build, "exact.yaml", 1024)
            .await
            .unwrap()
            .map(|s| s.len()),
        Some(1024)
    );
    let err = ws
        .read_text(build, "latin1.yaml", 1024)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "latin1.yaml is not UTF-8 text (invalid byte at offset 9); save it as UTF-8"
    );
    let err = ws
        .read_text(build, "dir.yaml", 1024)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

/// One retention pass over `ws` as the cleanup task runs it.
async fn prune(ws: &FsWorkspaces, max_age: Duration, keep: &[BuildId]) -> Vec<BuildId> {
    let rule = RetentionRule::Unmodified { max_age };
    let report = prune_build_directories(&SystemClock, ws, rule, keep)
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let mut removed = report.removed;
    removed.sort();
    removed
}

#[tokio::test]
async fn old_workspaces_are_removed_with_their_cm_env() {
    let (_dir, ws) = workspaces();
    let (old, fresh, running, orphan) = (new_build(), new_build(), new_build(), new_build());
    for build in [old, fresh, running, orphan] {
        let path = ws.create(build).await.unwrap();
        fs::write(path.join("file.txt"), "x").unwrap();
    }
    let day = Duration::from_secs(24 * 3600);
    let two_days = 2 * day;
    age(&ws.path(old), two_days);
    age(&ws.path(running), two_days);
    // A workspace removed by hand leaves its .meta directory behind.
    fs::remove_dir_all(ws.path(orphan)).unwrap();
    age(ws.cm_env_path(orphan).parent().unwrap(), two_days);
    // Directories that are not build workspaces are never touched.
    let other = ws.root().join("operator-notes");
    fs::create_dir(&other).unwrap();
    age(&other, two_days);

    let mut expected = vec![old, orphan];
    expected.sort();
    assert_eq!(prune(&ws, day, &[running]).await, expected);
    assert!(!ws.path(old).exists());
    assert!(!ws.cm_env_path(old).exists());
    assert!(!ws.cm_env_path(orphan).parent().unwrap().exists());
    assert!(ws.path(fresh).join("file.txt").exists());
    assert!(ws.cm_env_path(fresh).exists());
    assert!(ws.path(running).exists());
    assert!(other.exists());

    // Without an exception list, the old running one goes too.
    assert_eq!(prune(&ws, day, &[]).await, vec![running]);
    assert!(prune(&ws, day, &[]).await.is_empty());
    BuildDirectories::remove(&ws, fresh).await.unwrap();
    assert!(!ws.path(fresh).exists() && !ws.cm_env_path(fresh).exists());
    BuildDirectories::remove(&ws, fresh).await.unwrap();
}

#[tokio::test]
async fn retention_of_a_missing_directory_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ws = FsWorkspaces::new(dir.path().join("never-created"));
    assert!(prune(&ws, Duration::ZERO, &[]).await.is_empty());
}

#[tokio::test]
async fn with_a_build_user_it_owns_cm_env_but_not_the_private_directory() {
    use std::os::unix::fs::MetadataExt;
    let Some(user) = crate::test_build_user() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = FsWorkspaces::new(dir.path().join("workspaces")).with_owner(user.uid, user.gid);
    let build = new_build();
    ws.create(build).await.unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o7777;
    let owner = |p: &Path| fs::metadata(p).unwrap().uid();
    let private = ws.private_root().join(build.to_string());
    for searchable in [ws.root(), &ws.private_root(), &private] {
        assert_eq!(mode(searchable), 0o711, "{}", searchable.display());
        assert_eq!(owner(searchable), 0, "{}", searchable.display());
    }
    let cm_env = ws.cm_env_path(build);
    assert_eq!((owner(&cm_env), mode(&cm_env)), (user.uid, 0o600));

    // A link planted as CM_ENV is not followed when it is read.
    fs::remove_file(&cm_env).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    fs::write(&elsewhere, "SECRET=1\n").unwrap();
    std::os::unix::fs::symlink(&elsewhere, &cm_env).unwrap();
    let err = ws.read_cm_env(build).await.unwrap_err().to_string();
    assert!(err.contains("cannot read"), "{err}");
}
