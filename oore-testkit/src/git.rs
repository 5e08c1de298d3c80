//! [`GitFixture`]: real git repositories in a temporary directory, made with the system
//! `git`, for tests that fetch, check out or read commits.
//!
//! Every command runs with the system and global git configuration ignored
//! (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`), a fixed identity and commit
//! dates that advance one second per commit from a fixed start, so the same sequence of
//! calls gives the same SHAs on every machine. Failures panic with git's stderr: this is
//! test support.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use tempfile::TempDir;

/// Commit date of the first commit (2024-01-01T00:00:00Z); later ones add a second each.
const EPOCH: u64 = 1_704_067_200;

/// A git repository on disk with `main` as its default branch. Removed when dropped.
#[derive(Debug)]
pub struct GitFixture {
    _dir: TempDir,
    repo: PathBuf,
    commits: AtomicU64,
}

impl Default for GitFixture {
    fn default() -> Self {
        Self::new()
    }
}

impl GitFixture {
    /// An empty repository (no commit yet) on branch `main`.
    ///
    /// # Panics
    /// If the temporary directory cannot be created or `git` is missing or fails.
    pub fn new() -> GitFixture {
        let dir = tempfile::tempdir().expect("create a temporary directory for a git fixture");
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).expect("create the fixture repository directory");
        let fixture = GitFixture {
            _dir: dir,
            repo,
            commits: AtomicU64::new(0),
        };
        fixture.git(&["init", "-q", "--initial-branch=main"]);
        for (key, value) in [
            ("user.name", "Oore Test"),
            ("user.email", "test@oore.invalid"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("core.autocrlf", "false"),
        ] {
            fixture.git(&["config", key, value]);
        }
        fixture
    }

    /// The repository's working tree.
    pub fn path(&self) -> &Path {
        &self.repo
    }

    /// A `file://` URL of the repository. git speaks its smart protocol over `file://`
    /// (shallow fetches, fetching a commit by SHA), which it does not for a bare path.
    pub fn url(&self) -> String {
        format!("file://{}", self.repo.display())
    }

    /// Writes `content` to `path` (relative to the working tree), creating directories.
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) -> &Self {
        let file = self.repo.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("create the fixture file's directory");
        }
        std::fs::write(&file, content).expect("write the fixture file");
        self
    }

    /// Stages everything and commits (an empty commit is allowed); returns the full SHA.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&[
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-m",
            message,
        ]);
        self.head()
    }

    /// The full SHA of `HEAD`.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Creates branch `name` at `HEAD` without switching to it.
    pub fn branch(&self, name: &str) -> &Self {
        self.git(&["branch", name]);
        self
    }

    /// Switches to branch `name` (or detaches at a commit or tag).
    pub fn checkout(&self, name: &str) -> &Self {
        self.git(&["checkout", "-q", name]);
        self
    }

    /// Creates the lightweight tag `name` at `HEAD`.
    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", name]);
        self
    }

    /// Creates the annotated tag `name` at `HEAD` (a tag object pointing at the commit).
    pub fn annotated_tag(&self, name: &str, message: &str) -> &Self {
        self.git(&["tag", "-a", name, "-m", message]);
        self
    }

    /// Runs `git <args>` in the repository and returns its stdout.
    ///
    /// # Panics
    /// If git cannot be started or exits with an error (its stderr is in the message).
    pub fn git(&self, args: &[&str]) -> String {
        let dated = matches!(args.first(), Some(&("commit" | "tag")));
        let n = if dated {
            self.commits.fetch_add(1, Ordering::Relaxed)
        } else {
            self.commits.load(Ordering::Relaxed)
        };
        let date = format!("@{} +0000", EPOCH + n);
        let output = Command::new("git")
            .args(args)
            .current_dir(&self.repo)
            .stdin(Stdio::null())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .unwrap_or_else(|e| panic!("cannot run git (is it installed?): {e}"));
        assert!(
            output.status.success(),
            "git {} failed in {}: {}",
            args.join(" "),
            self.repo.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_branches_and_tags() {
        let repo = GitFixture::new();
        repo.write("README.md", "one\n");
        let first = repo.commit("first");
        assert_eq!(first.len(), 40);
        repo.branch("feature")
            .tag("v1")
            .annotated_tag("v1-annotated", "release 1");
        repo.write("src/lib.txt", "two\n");
        let second = repo.commit("second");
        assert_ne!(first, second);
        assert_eq!(repo.git(&["rev-parse", "feature"]).trim(), first);
        assert_eq!(
            repo.git(&["rev-parse", "v1-annotated^{commit}"]).trim(),
            first
        );
        repo.checkout("feature");
        assert!(!repo.path().join("src/lib.txt").exists());
        assert_eq!(
            repo.git(&["symbolic-ref", "--short", "HEAD"]).trim(),
            "feature"
        );
        assert!(repo.url().starts_with("file:///"));
    }

    #[test]
    fn same_steps_give_the_same_shas() {
        let make = || {
            let repo = GitFixture::new();
            repo.write("a.txt", "a");
            repo.commit("a");
            repo.write("b.txt", "b");
            repo.commit("b")
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn a_clone_sees_the_commits() {
        let repo = GitFixture::new();
        repo.write("x", "1");
        let sha = repo.commit("x");
        let into = tempfile::tempdir().unwrap();
        let status = Command::new("git")
            .args(["clone", "-q", &repo.url(), "clone"])
            .current_dir(into.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap();
        assert!(status.success());
        let head = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(into.path().join("clone"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&head.stdout).trim(), sha);
    }
}
