//! Cloning a repository on this machine (an absolute path, or a `file://` URL whose
//! directory exists) with `git clone`'s local optimisation.
//!
//! Given a path, `git clone` lists the source's refs (through `upload-pack`) and then
//! hardlinks the files of `.git/objects` instead of packing, sending and unpacking them:
//! three processes (`git`, `sh`, `upload-pack`) instead of the seven of `init` + a
//! `file://` fetch + `checkout`, and no packing or unpacking. Hardlinks are safe: git
//! never changes an object file (new objects are new files), and permissions belong to
//! the file, not the link, so a build step gets no access to the source's objects that
//! `oored`'s user did not already have. Where linking fails (another file system, or
//! Linux's `fs.protected_hardlinks` refusing another user's file) git copies. `--local`
//! is not passed: it is already the default for a path, and given explicitly it makes a
//! failed link an error instead of a copy.
//!
//! git speaks its transport protocol to a `file://` URL (the local optimisation is off
//! for it), so such a URL is cloned from its path, and `origin` is then set back to the
//! URL as configured, as the transport path writes it.

use std::path::Path;

use oore_core::ports::FetchError;

use super::classify::Failure;
use super::{Session, Step, config_value, push_origin};

/// The directory to clone from when `url` names one on this machine: an absolute path or
/// a `file:///` URL (a `file://host/` URL or one with escapes is left to git's transport),
/// whose directory exists.
pub(super) fn source_path(url: &str) -> Option<&str> {
    let path = match url.strip_prefix("file://") {
        Some(path) if path.contains(['%', '?', '#']) => return None,
        Some(path) => path,
        None => url,
    };
    (path.starts_with('/') && Path::new(path).is_dir()).then_some(path)
}

/// What `.git/HEAD` says, read without running git.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// Detached at this commit.
    Detached(String),
    /// On this branch (`refs/heads/...`), whose commit the ref files give if they could be
    /// read (the reftable format, for one, cannot).
    Branch(String, Option<String>),
    /// Unreadable.
    Unknown,
}

impl Head {
    fn describe(&self) -> String {
        match self {
            Head::Detached(sha) => sha.clone(),
            Head::Branch(name, _) => name.clone(),
            Head::Unknown => "an unreadable HEAD".to_owned(),
        }
    }
}

impl Session<'_> {
    /// `git clone` of `source` into the workspace, checked out at what the build wants;
    /// returns the commit's full SHA.
    pub(super) async fn clone_local(&self, source: &str) -> Result<String, FetchError> {
        // Without a commit asked for, clone checks out the branch or tag itself (`-b`), or
        // the source's HEAD: one command. With one, the branch does not matter (as with a
        // fetch by SHA): `--no-checkout`, then `checkout --detach` of the commit. No
        // templates, for the reasons `git init` has none on the transport path.
        let mut args = vec!["clone", "-q", "--template="];
        let commit = self.wanted.commit.as_deref();
        if commit.is_some() {
            args.push("--no-checkout");
        } else if let Some((_, name, _)) = &self.wanted.named {
            args.extend(["-b", name.as_str()]);
        }
        args.extend(["--", source, "."]);
        self.local(&args).await?;
        self.set_origin_url().await?;
        let Some(commit) = commit else {
            let sha = self.checked_out_named().await?;
            self.submodules().await?;
            return Ok(sha);
        };
        self.local(&["checkout", "-q", "--detach", commit, "--"])
            .await?;
        self.submodules().await?;
        match self.head().await {
            Head::Detached(sha) if sha.starts_with(commit) => Ok(sha),
            head => Err(FetchError::Other(format!(
                "checked out {} instead of commit {commit}; the workspace may have been changed during the fetch",
                head.describe()
            ))),
        }
    }

    /// After a clone that checked out the branch, tag or default branch itself: checks
    /// that it is the one asked for and returns its commit.
    async fn checked_out_named(&self) -> Result<String, FetchError> {
        let mut head = self.head().await;
        match (&self.wanted.named, &head) {
            // `clone -b` takes a branch before a tag of the same name, and a tag when no
            // branch has the name: either way it is not what the build asked for.
            (Some(("tag", name, _)), Head::Branch(..)) => {
                let tag = format!("refs/tags/{name}");
                self.local(&["checkout", "-q", "--detach", &tag, "--"])
                    .await?;
                head = self.head().await;
            }
            (Some(("branch", name, _)), Head::Detached(_)) => {
                return Err(self.fail(Step::Git(
                    Failure::RefMissing,
                    format!("only a tag is named {name}"),
                )));
            }
            (Some(("branch", name, _)), Head::Branch(branch, _))
                if branch.strip_prefix("refs/heads/") != Some(name.as_str()) =>
            {
                return Err(FetchError::Other(format!(
                    "git checked out {branch} instead of branch '{name}'; the workspace may have been changed during the fetch"
                )));
            }
            _ => {}
        }
        match head {
            Head::Detached(sha) | Head::Branch(_, Some(sha)) => Ok(sha),
            Head::Branch(_, None) | Head::Unknown => match self.resolve("HEAD").await? {
                Some(sha) => Ok(sha),
                // The source has no commit (an empty repository, or its HEAD names a
                // branch that does not exist).
                None => Err(FetchError::NotFound(self.git.url.scrub(&format!(
                    "{} not found in {}: it has no commits; check that they were pushed",
                    self.wanted.describe(),
                    self.git.url.display
                )))),
            },
        }
    }

    async fn head(&self) -> Head {
        let git_dir = self.git.dir.join(".git");
        tokio::task::spawn_blocking(move || read_head(&git_dir))
            .await
            .unwrap_or(Head::Unknown)
    }

    /// Sets `origin` to the URL as configured: `git clone` wrote the path it cloned from.
    async fn set_origin_url(&self) -> Result<(), FetchError> {
        let path = self.git.dir.join(".git/config");
        let config = tokio::fs::read_to_string(&path).await.unwrap_or_default();
        match with_origin_url(&config, &self.git.url.plain) {
            Some(config) => self.write_config(config).await,
            None => Ok(()),
        }
    }
}

/// `config` with the first `url` of `[remote "origin"]` set to `url` (the section added
/// if missing); `None` if it already is.
fn with_origin_url(config: &str, url: &str) -> Option<String> {
    let wanted = format!("\turl = {}\n", config_value(url));
    let mut out = String::with_capacity(config.len() + wanted.len());
    let (mut in_origin, mut found) = (false, false);
    for line in config.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_origin = trimmed == "[remote \"origin\"]";
        } else if in_origin
            && !found
            && trimmed
                .split_once('=')
                .is_some_and(|(key, _)| key.trim().eq_ignore_ascii_case("url"))
        {
            found = true;
            if line == wanted {
                return None;
            }
            out.push_str(&wanted);
            continue;
        }
        out.push_str(line);
    }
    if !found {
        push_origin(&mut out, url);
    }
    Some(out)
}

/// Reads `HEAD` from the files of a `files`-format repository: a detached SHA, or a
/// branch and its loose or packed ref.
fn read_head(git_dir: &Path) -> Head {
    let Ok(text) = std::fs::read_to_string(git_dir.join("HEAD")) else {
        return Head::Unknown;
    };
    let text = text.trim();
    if is_sha(text) {
        return Head::Detached(text.to_owned());
    }
    let Some(name) = text.strip_prefix("ref: ") else {
        return Head::Unknown;
    };
    if !name.starts_with("refs/heads/") || name.contains("..") {
        return Head::Unknown;
    }
    let loose = std::fs::read_to_string(git_dir.join(name))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| is_sha(s));
    let sha = loose.or_else(|| {
        let packed = std::fs::read_to_string(git_dir.join("packed-refs")).ok()?;
        packed.lines().find_map(|line| {
            let (sha, refname) = line.split_once(' ')?;
            (refname == name && is_sha(sha)).then(|| sha.to_owned())
        })
    });
    Head::Branch(name.to_owned(), sha)
}

fn is_sha(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_sources_are_absolute_paths_and_file_urls_of_existing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        assert_eq!(source_path(path), Some(path));
        assert_eq!(source_path(&format!("file://{path}")), Some(path));
        for url in [
            format!("{path}/missing"),
            format!("file://{path}/missing"),
            format!("file://{path}/%20"),
            format!("file://localhost{path}"),
            "https://example.com/o/r.git".to_owned(),
            "git@example.com:o/r.git".to_owned(),
            "relative/path".to_owned(),
        ] {
            assert_eq!(source_path(&url), None, "{url}");
        }
    }

    #[test]
    fn origin_url_is_replaced_in_place() {
        let config = "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = /tmp/r\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch \"main\"]\n\tremote = origin\n";
        assert_eq!(
            with_origin_url(config, "file:///tmp/r").as_deref(),
            Some(
                "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = file:///tmp/r\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch \"main\"]\n\tremote = origin\n"
            )
        );
        assert_eq!(with_origin_url(config, "/tmp/r"), None);
        assert_eq!(
            with_origin_url("[core]\n\tbare = false", "/tmp/a#b").as_deref(),
            Some(
                "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = \"/tmp/a#b\"\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
            )
        );
    }

    #[test]
    fn head_is_read_from_loose_and_packed_refs() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path();
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        std::fs::write(git.join("HEAD"), format!("{a}\n")).unwrap();
        assert_eq!(read_head(git), Head::Detached(a.clone()));

        std::fs::write(git.join("HEAD"), "ref: refs/heads/dev\n").unwrap();
        assert_eq!(read_head(git), Head::Branch("refs/heads/dev".into(), None));
        std::fs::write(
            git.join("packed-refs"),
            format!("# pack-refs with: peeled fully-peeled sorted\n{b} refs/heads/dev\n^{a}\n"),
        )
        .unwrap();
        assert_eq!(
            read_head(git),
            Head::Branch("refs/heads/dev".into(), Some(b.clone()))
        );
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("refs/heads/dev"), format!("{a}\n")).unwrap();
        assert_eq!(
            read_head(git),
            Head::Branch("refs/heads/dev".into(), Some(a))
        );

        std::fs::write(git.join("HEAD"), "ref: refs/heads/../../etc\n").unwrap();
        assert_eq!(read_head(git), Head::Unknown);
    }
}
