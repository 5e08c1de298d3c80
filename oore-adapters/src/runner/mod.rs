//! Step processes: [`ProcessRunner`] implements [`StepRunner`].
//!
//! Each step runs as `/bin/bash <file>` (`/bin/sh` where there is no bash), its script
//! written to a file in the build's private directory (`script`: any size; an argument
//! is capped at 128 KiB), in its working directory, with exactly the environment the
//! caller gave (nothing inherited from `oored`), stdin from `/dev/null`, and in a new
//! process group, as the user the [`StepLauncher`] says (`launch`: `oored`'s own, the
//! build user with privileges dropped before `exec`, or the build user's login session on
//! macOS). Its stdout and stderr are pipes copied into the step's log files by one thread
//! each as output arrives (`pump`). Right after it started, the leader's pid, group and
//! start time are handed to the caller's [`StepStarted`] (stored on the step's row), and
//! after a crash [`ProcessRunner::stop_interrupted`] stops what is left (`recover`).
//!
//! **Process trees** (design decision 7). `oored` calls [`become_subreaper`] at startup, so
//! on Linux descendants that leave the step's group with `setsid` are reparented to it
//! rather than to init. Every step process carries `OORE_BUILD_ID=<build>` (the caller's
//! environment has it), which the `sweep` uses to find such processes through `/proc`.
//! Cancel, timeout, shutdown and the end of a build all go through one `stop` routine:
//! SIGTERM to the group (and to the build's other processes), up to
//! [`RunnerConfig::cancel_grace`] for the leader and the rest to exit, then SIGKILL to the
//! group and to whatever the sweep still finds.
//!
//! **Reaping.** Step leaders are `tokio::process` children, so tokio collects their exit
//! status; nothing here calls `waitpid(-1)`, which would steal exit statuses from
//! `tokio::process` and `std::process` users elsewhere in the server (git, for one).
//! Orphans that became ours are reaped one by one, only when they provably belong to a
//! step: zombies in a step's process group, and processes pinned by pidfd after being seen
//! alive with a build's marker (`reaper` has the rules and the one known gap).
//!
//! **Draining.** When the leader exits by itself, the pipes are read until EOF or
//! [`RunnerConfig::drain_timeout`] (a background job may hold them open; its later output is
//! not captured). After a stop, reading ends [`STOPPED_DRAIN`] after the kill, so a process
//! that escaped the sweep and keeps the pipe open cannot hang the step.
//!
//! A failure to write the logs (a full disk) stops the step and returns [`RunError::Logs`].

mod launch;
#[cfg(target_os = "linux")]
mod procfs;
mod pump;
mod reaper;
mod recover;
mod script;
mod stop;
mod sweep;
mod sys;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use oore_core::cancel::CancelToken;
use oore_core::ids::BuildId;
use oore_core::ports::{
    LogStream, RunError, StepCommand, StepEnd, StepProcess, StepRunner, StepStarted,
};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::logs::{FsBuildLogs, LogWriter};
pub use launch::{AsServer, DropPrivileges, LoginSession, StepLauncher, launcher_for};
use stop::Leader;
pub use sys::become_subreaper;

/// When process `pid` started, in the form [`StepProcess::started`] records (`None` when
/// it is gone or the system cannot tell).
pub fn process_start(pid: u32) -> Option<String> {
    sys::process_start(sys::Pid::try_from(pid).ok()?)
}

/// The environment entry that marks a step process (the caller's env already has it).
pub(crate) const MARKER_VAR: &str = "OORE_BUILD_ID";

/// `OORE_CANCEL_GRACE_SECS` default.
pub const DEFAULT_CANCEL_GRACE: Duration = Duration::from_secs(10);
/// How long output is still read after a leader exits by itself, if the pipes stay open.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long output is still read after a step was stopped.
pub const STOPPED_DRAIN: Duration = Duration::from_millis(500);

/// How the runner starts, stops and drains steps.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Between SIGTERM and SIGKILL (`OORE_CANCEL_GRACE_SECS`, default 10 s).
    pub cancel_grace: Duration,
    /// After a leader exits by itself, how long to keep reading pipes that some other
    /// process still holds open (default 2 s).
    pub drain_timeout: Duration,
    /// Where step scripts are written: `<script_root>/<build id>/step-<n>.sh`. The server
    /// passes the workspaces' private directory (`OORE_WORKSPACES_DIR/.meta`); the
    /// default is `oore-step-scripts` in the system's temporary directory.
    pub script_root: PathBuf,
    /// As whom steps run (default: `oored`'s own user).
    pub launcher: Arc<dyn StepLauncher>,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            cancel_grace: DEFAULT_CANCEL_GRACE,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            script_root: std::env::temp_dir().join("oore-step-scripts"),
            launcher: Arc::new(AsServer),
        }
    }
}

/// Runs steps as local processes, writing their output to [`FsBuildLogs`].
#[derive(Debug, Clone)]
pub struct ProcessRunner {
    logs: FsBuildLogs,
    config: RunnerConfig,
}

/// Why the wait for the leader ended.
enum Outcome {
    Exited(ExitStatus),
    WaitFailed(std::io::Error),
    LogsFailed(String),
    Cancelled,
    TimedOut,
}

impl ProcessRunner {
    /// A runner writing to `logs`.
    pub fn new(logs: FsBuildLogs, config: RunnerConfig) -> Self {
        #[cfg(target_os = "linux")]
        if let Some((uid, _)) = config.launcher.step_owner() {
            procfs::also_list_uid(uid);
        }
        Self { logs, config }
    }

    /// The logs it writes to.
    pub fn logs(&self) -> &FsBuildLogs {
        &self.logs
    }

    /// Stops every remaining process of `build` (background jobs and daemons its steps left
    /// behind) with the same TERM, grace, KILL routine. Call it when a build ends; the
    /// runner leaves processes running between steps so a step can start a service for the
    /// next one.
    pub async fn stop_build_processes(&self, build: BuildId) {
        stop::stop(None, &build.to_string(), self.config.cancel_grace).await;
    }

    fn open_log(&self, command: &StepCommand, stream: LogStream) -> Result<LogWriter, RunError> {
        let (build, index) = (command.build_id, command.index);
        self.logs
            .step_writer(build, index, stream)
            .map_err(|e| RunError::Logs {
                index,
                message: format!(
                    "cannot open the {} log: {e}; check that the logs directory is writable",
                    stream.as_str()
                ),
            })
    }

    fn command(&self, command: &StepCommand, script: &Path) -> Command {
        let shell = if Path::new("/bin/bash").is_file() {
            "/bin/bash"
        } else {
            "/bin/sh"
        };
        let mut cmd = self
            .config
            .launcher
            .command(Path::new(shell), script, &command.working_dir);
        cmd.env_clear()
            .envs(command.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false);
        cmd
    }

    fn spawn(&self, command: &StepCommand) -> Result<(Child, sys::Pid), RunError> {
        let index = command.index;
        let spawn_error = |message: String| RunError::Spawn { index, message };
        if !command.working_dir.is_dir() {
            return Err(spawn_error(format!(
                "working directory {} does not exist: check that the checkout succeeded and the step's working_dir is right",
                command.working_dir.display()
            )));
        }
        let script = script::write(
            &self.config.script_root,
            &command.build_id.to_string(),
            index,
            &command.script,
            self.config.launcher.step_owner(),
        )
        .map_err(|e| {
            spawn_error(format!(
                "cannot write the step's script under {}: {e}; check that OORE_WORKSPACES_DIR is writable and has free space",
                self.config.script_root.display()
            ))
        })?;
        let child = self.command(command, &script).spawn().map_err(|e| {
            spawn_error(format!(
                "cannot start the shell: {e}; check that /bin/bash or /bin/sh exists and the environment has no NUL bytes"
            ))
        })?;
        let Some(pid) = child.id() else {
            return Err(spawn_error(
                "the shell exited before it could be tracked; retry the build".into(),
            ));
        };
        Ok((child, pid as sys::Pid))
    }
}

#[async_trait]
impl StepRunner for ProcessRunner {
    async fn run(
        &self,
        command: &StepCommand,
        cancel: &CancelToken,
        started: &dyn StepStarted,
    ) -> Result<StepEnd, RunError> {
        let index = command.index;
        let logs_error = |message: String| RunError::Logs { index, message };
        if cancel.is_cancelled() {
            return Ok(StepEnd::Cancelled);
        }
        let marker = command.build_id.to_string();
        if !command
            .env
            .iter()
            .any(|(k, v)| k == MARKER_VAR && *v == marker)
        {
            tracing::warn!(
                build = %marker,
                "step {index} env lacks {}={marker}: processes that leave its group cannot be found",
                MARKER_VAR
            );
        }
        let out_log = self.open_log(command, LogStream::Stdout)?;
        let err_log = self.open_log(command, LogStream::Stderr)?;

        let (child, pid) = self.spawn(command)?;
        // From here on, returning early drops `leader`, which kills the step's processes.
        let mut leader = Leader::new(child, pid, marker.clone());
        let child = leader.child_mut();
        let pipes = [
            child.stdout.take().map(|p| p.into_owned_fd()),
            child.stderr.take().map(|p| p.into_owned_fd()),
        ];
        let (failed_tx, mut failed_rx) = mpsc::unbounded_channel();
        let mut pumps = Vec::with_capacity(2);
        for (pipe, writer) in pipes.into_iter().zip([out_log, err_log]) {
            let fd = pipe
                .unwrap_or_else(|| Err(std::io::Error::other("pipe missing")))
                .map_err(|e| logs_error(format!("cannot read the step's output: {e}")))?;
            let pump = pump::start(fd, writer, failed_tx.clone())
                .map_err(|e| logs_error(format!("cannot start copying the step's output: {e}")))?;
            pumps.push(pump);
        }
        drop(failed_tx);
        // Recorded for restart recovery. While this awaits, the pumps copy the output.
        let process = StepProcess {
            pid: pid as u32,
            process_group: pid as u32,
            started: sys::process_start(pid).unwrap_or_default(),
        };
        started.started(&process).await;

        let outcome = tokio::select! {
            status = leader.wait() => match status {
                Ok(status) => Outcome::Exited(status),
                Err(e) => Outcome::WaitFailed(e),
            },
            Some(message) = failed_rx.recv() => Outcome::LogsFailed(message),
            _ = cancel.cancelled() => Outcome::Cancelled,
            _ = tokio::time::sleep(command.timeout) => Outcome::TimedOut,
        };
        let stopped = !matches!(outcome, Outcome::Exited(_));
        if stopped {
            stop::stop(Some(&mut leader), &marker, self.config.cancel_grace).await;
        }
        let drain = if stopped {
            STOPPED_DRAIN
        } else {
            self.config.drain_timeout
        };
        let until = Instant::now() + drain;
        let mut copied = Ok(());
        for pump in &pumps {
            pump.stop_by(until);
        }
        for pump in pumps {
            if let Err(message) = pump.finish().await {
                copied = Err(message);
            }
        }
        leader.finish();
        // Adopt what the step left running, so it is reaped when it exits.
        let _ = tokio::task::spawn_blocking(reaper::tick).await;

        let end = match outcome {
            Outcome::Exited(status) => StepEnd::Exited(exit_code(status)),
            Outcome::Cancelled => StepEnd::Cancelled,
            Outcome::TimedOut => StepEnd::TimedOut,
            Outcome::LogsFailed(message) => return Err(logs_error(message)),
            Outcome::WaitFailed(e) => {
                return Err(RunError::Spawn {
                    index,
                    message: format!(
                        "lost track of the step's process: {e}; it was stopped, retry the build"
                    ),
                });
            }
        };
        copied.map(|()| end).map_err(logs_error)
    }

    async fn stop_interrupted(&self, build: BuildId, recorded: &[StepProcess]) -> usize {
        recover::stop_interrupted(&build.to_string(), recorded, self.config.cancel_grace).await
    }
}

/// The exit code, or `128 + signal` for a signal death (as shells report it).
fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}
