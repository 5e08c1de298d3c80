//! The default branch of a repository on this machine: what its `HEAD` names, read the
//! way `git clone` reads it (`git ls-remote --symref <path> HEAD`, through `upload-pack`,
//! so a bare repository, a work tree and a `file://` URL all work and a directory that
//! is not a repository is refused rather than a parent repository read). A repository
//! without a commit yet lists nothing; its unborn branch is then read with `git
//! symbolic-ref`, with `GIT_CEILING_DIRECTORIES` stopping git from looking above it.
//!
//! This runs while an API request waits, so it has a short timeout and never touches
//! the network: remote URLs are not probed.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use oore_core::ports::FetchError;
use tokio::process::Command;

use super::local::source_path;

/// How long one git command may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// See the module doc; `Ok(None)` for a URL that is not on this machine.
pub(super) async fn default_branch(
    program: &Path,
    url: &str,
) -> Result<Option<String>, FetchError> {
    let is_local = url.starts_with('/') || url.starts_with("file://");
    if !is_local {
        return Ok(None);
    }
    let Some(path) = source_path(url) else {
        return Err(FetchError::NotFound(format!(
            "{url} is not a directory on the server's machine"
        )));
    };
    let listed = git(
        program,
        None,
        &["ls-remote", "--symref", "--", path, "HEAD"],
    )
    .await?;
    let listed = match listed {
        Ok(stdout) => stdout,
        Err(stderr) => {
            return Err(FetchError::NotFound(format!(
                "{path} is not a git repository the server can read ({})",
                first_line(&stderr)
            )));
        }
    };
    if let Some(branch) = symref_branch(&listed) {
        return Ok(Some(branch.to_owned()));
    }
    if !listed.trim().is_empty() {
        return Err(FetchError::Other(format!(
            "the HEAD of {path} is detached, so it names no default branch"
        )));
    }
    // No commit yet: HEAD is unborn, `ls-remote` lists nothing.
    let parent = Path::new(path).parent().unwrap_or(Path::new("/"));
    match git(
        program,
        Some(parent),
        &["-C", path, "symbolic-ref", "--short", "HEAD"],
    )
    .await?
    {
        Ok(stdout) if !stdout.trim().is_empty() => Ok(Some(stdout.trim().to_owned())),
        _ => Err(FetchError::Other(format!(
            "cannot read which branch {path} checks out"
        ))),
    }
}

/// `refs/heads/<branch>` from `ref: refs/heads/<branch>\tHEAD`.
fn symref_branch(listed: &str) -> Option<&str> {
    listed.lines().find_map(|line| {
        let rest = line.strip_prefix("ref: ")?;
        let (target, name) = rest.split_once('\t')?;
        (name.trim() == "HEAD").then_some(())?;
        target.strip_prefix("refs/heads/")
    })
}

fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("git failed")
}

/// Runs git prompt-free with the system and global configuration ignored: `Ok(stdout)` or
/// `Err(stderr)`; a failure to start or a timeout is a `FetchError`.
async fn git(
    program: &Path,
    ceiling: Option<&Path>,
    args: &[&str],
) -> Result<Result<String, String>, FetchError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(ceiling) = ceiling {
        command.env("GIT_CEILING_DIRECTORIES", ceiling);
    }
    let output = tokio::time::timeout(TIMEOUT, command.output())
        .await
        .map_err(|_| {
            FetchError::Other(format!(
                "git {} did not answer within {} s",
                args.first().copied().unwrap_or_default(),
                TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| {
            FetchError::Other(format!("cannot run git: {e}; install git on the server"))
        })?;
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Ok(if output.status.success() {
        Ok(text(output.stdout))
    } else {
        Err(text(output.stderr))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_symref_line_names_the_branch() {
        assert_eq!(
            symref_branch("ref: refs/heads/master\tHEAD\n0123abcd\tHEAD\n"),
            Some("master")
        );
        assert_eq!(
            symref_branch("ref: refs/heads/feature/x\tHEAD\n"),
            Some("feature/x")
        );
        assert_eq!(symref_branch("0123abcd\tHEAD\n"), None);
        assert_eq!(symref_branch(""), None);
    }
}
