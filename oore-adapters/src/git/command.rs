//! Running one git command for a fetch: a fixed, prompt-free environment, its own
//! process group, stderr copied to the build's system log as it arrives, and a stop by
//! cancel or timeout that kills the whole group (git's helpers included) and reaps it.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use oore_core::cancel::CancelToken;
use oore_core::ids::BuildId;
use oore_core::ports::BuildLogs;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;

use super::url::RemoteUrl;

/// Most stdout kept (only `rev-parse` output is used).
const MAX_STDOUT: u64 = 64 * 1024;
/// Most stderr kept for classification (the whole of it goes to the log).
const MAX_STDERR: usize = 64 * 1024;
/// How long stopped processes are given to be reaped.
const REAP_BOUND: Duration = Duration::from_secs(2);

/// Variables that would point git at another repository or change its behaviour.
const CLEARED_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_TRACE",
    "LANGUAGE",
];

/// Configuration given to every command. A workspace is used once and thrown away, so
/// the automatic housekeeping `git fetch` starts after every fetch (`git maintenance run
/// --auto`, or `git gc --auto` before git 2.29: one more process, milliseconds on the path
/// from trigger to first step) is useless; checking out a fetched commit detached is the
/// intent, not a mistake to advise about. `protocol.file.allow=user` (git's default since
/// 2.38.1, stated for older ones): a repository's `.gitmodules` cannot make git, which
/// may run as root, clone a directory of this machine into the build's workspace; only
/// the clone URL the operator configured may be local.
const QUIET_SETTINGS: &[(&str, &str)] = &[
    ("maintenance.auto", "false"),
    ("gc.auto", "0"),
    ("advice.detachedHead", "false"),
    ("protocol.file.allow", "user"),
];

/// How a git command ended.
#[derive(Debug)]
pub(crate) enum GitEnd {
    /// Exit code 0; its stdout.
    Succeeded(String),
    /// Non-zero exit; its stderr.
    Failed(String),
    /// git could not be started.
    NotStarted(std::io::Error),
    /// Killed after the timeout.
    TimedOut,
    /// Killed because the cancel token fired.
    Cancelled,
}

/// Everything a command needs besides its arguments.
pub(crate) struct GitContext<'a> {
    pub(crate) program: &'a Path,
    pub(crate) dir: &'a Path,
    pub(crate) url: &'a RemoteUrl,
    pub(crate) logs: &'a Arc<dyn BuildLogs>,
    pub(crate) build: BuildId,
    pub(crate) timeout: Duration,
    pub(crate) cancel: &'a CancelToken,
}

impl GitContext<'_> {
    pub(crate) async fn log(&self, line: &str) {
        // A log failure must not fail the fetch; the build's own outcome says more.
        let _ = self
            .logs
            .append_system(self.build, &self.url.scrub(line))
            .await;
    }

    /// Runs `git <args>` in the workspace, logging the command line and its stderr.
    pub(crate) async fn run(&self, args: &[&str]) -> GitEnd {
        self.log(&format!("$ git {}", args.join(" "))).await;
        if self.cancel.is_cancelled() {
            return GitEnd::Cancelled;
        }
        let mut command = Command::new(self.program);
        command
            .args(args)
            .current_dir(self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C");
        for name in CLEARED_ENV {
            command.env_remove(name);
        }
        // Settings for every command, through the environment so that neither the
        // command line (logged) nor `.git/config` (readable by build steps) carries them.
        let mut settings = QUIET_SETTINGS.to_vec();
        if let Some((key, value)) = &self.url.auth {
            settings.push((key.as_str(), value.as_str()));
        }
        command.env("GIT_CONFIG_COUNT", settings.len().to_string());
        for (i, (key, value)) in settings.iter().enumerate() {
            command
                .env(format!("GIT_CONFIG_KEY_{i}"), key)
                .env(format!("GIT_CONFIG_VALUE_{i}"), value);
        }
        #[cfg(unix)]
        command.process_group(0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return GitEnd::NotStarted(e),
        };
        let pid = child.id();
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return GitEnd::NotStarted(std::io::Error::other("git's output pipes are missing"));
        };
        let finished = {
            let work =
                async { tokio::join!(child.wait(), read_stdout(stdout), self.copy_stderr(stderr)) };
            tokio::select! {
                done = work => Some(done),
                _ = self.cancel.cancelled() => None,
                () = tokio::time::sleep(self.timeout) => None,
            }
        };
        match finished {
            Some((Ok(status), out, _)) if status.success() => GitEnd::Succeeded(out),
            Some((Ok(_), _, err)) => GitEnd::Failed(err),
            Some((Err(e), _, _)) => GitEnd::Failed(format!("fatal: waiting for git failed: {e}")),
            None => {
                let _ = child.start_kill();
                kill_group(pid);
                let _ = child.wait().await;
                reap_group(pid).await;
                if self.cancel.is_cancelled() {
                    self.log("git stopped: the build was cancelled").await;
                    GitEnd::Cancelled
                } else {
                    self.log(&format!(
                        "git stopped: still running after {} s",
                        self.timeout.as_secs()
                    ))
                    .await;
                    GitEnd::TimedOut
                }
            }
        }
    }

    /// Copies stderr line by line to the log; returns its (capped) text.
    async fn copy_stderr(&self, stderr: impl AsyncRead + Unpin) -> String {
        let mut reader = BufReader::new(stderr);
        let mut kept = String::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end();
            for part in text.split('\r').filter(|p| !p.trim().is_empty()) {
                self.log(&format!("  {part}")).await;
            }
            if kept.len() < MAX_STDERR {
                kept.push_str(text);
                kept.push('\n');
            }
        }
        kept
    }
}

async fn read_stdout(stdout: impl AsyncRead + Unpin) -> String {
    let mut bytes = Vec::new();
    let _ = stdout.take(MAX_STDOUT).read_to_end(&mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

/// SIGKILL to git's process group: `git fetch` runs `git-remote-https`, `index-pack`
/// and `ssh` under it.
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is
        // involved. The group was created for this git and its leader is not yet reaped.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Reaps the killed group's processes that were reparented to us (`oored` is a child
/// subreaper on Linux), so stopped fetches leave no zombies. Only that group is waited
/// for, so no other child's exit status is taken.
async fn reap_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let deadline = tokio::time::Instant::now() + REAP_BOUND;
        while tokio::time::Instant::now() < deadline {
            let mut status = 0;
            // SAFETY: waitpid(2) on a process group we created, with a valid out pointer.
            let r = unsafe { libc::waitpid(-pgid, &mut status, libc::WNOHANG) };
            match r {
                r if r > 0 => continue,
                0 => tokio::time::sleep(Duration::from_millis(10)).await,
                _ => break,
            }
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}
