//! Ports for running a build: processes, with their output captured to logs.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use crate::cancel::{CancelReason, CancelToken};
use crate::domain::secret::SecretString;
use crate::ids::BuildId;

/// One step's process, fully described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCommand {
    /// The build it belongs to (its log directory, and the process marker).
    pub build_id: BuildId,
    /// 0-based step index, as in `step-N-stdout.log`.
    pub index: u32,
    /// Shell script, run by `/bin/bash` (fallback `sh`) from a file, so it may be of any
    /// size; no option such as `-e` is added.
    pub script: String,
    /// Working directory; must exist.
    pub working_dir: PathBuf,
    /// The complete environment, in order (later entries win).
    pub env: Vec<(String, String)>,
    /// Stop the step after this long.
    pub timeout: Duration,
}

/// How a step's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepEnd {
    /// Exited by itself with this code (a signal death is reported as `128 + signal`).
    Exited(i32),
    /// Stopped because `timeout` passed.
    TimedOut,
    /// Stopped because the cancel token fired.
    Cancelled,
}

/// Why a step could not be run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The shell could not be started (missing working directory, no shell, ...).
    #[error("step {index} could not start: {message}")]
    Spawn {
        /// Step index.
        index: u32,
        /// What went wrong and what to do.
        message: String,
    },
    /// The log files could not be written (for example, the disk is full).
    #[error("step {index} logs could not be written: {message}")]
    Logs {
        /// Step index.
        index: u32,
        /// What went wrong and what to do.
        message: String,
    },
}

/// Where a step's processes are, recorded when it starts so that the next start of
/// `oored` can stop what a crash left running (restart recovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProcess {
    /// The step's leader process.
    pub pid: u32,
    /// Its process group (the leader's pid when it started).
    pub process_group: u32,
    /// When the leader started, in the runner's own terms (opaque here): with `pid` it
    /// tells the leader apart from a later process that got the same pid.
    pub started: String,
}

/// Told where a step's processes are as soon as the step started.
#[async_trait]
pub trait StepStarted: Send + Sync {
    /// Records `process`. A failure is the implementation's to report; the step runs on.
    async fn started(&self, process: &StepProcess);
}

/// A [`StepStarted`] that keeps nothing, for callers without restart recovery.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unrecorded;

#[async_trait]
impl StepStarted for Unrecorded {
    async fn started(&self, _: &StepProcess) {}
}

/// Runs step processes.
#[async_trait]
pub trait StepRunner: Send + Sync {
    /// Runs `command` to its end. MUST start it in a new process group with stdin closed,
    /// tell `started` where its processes are before waiting for it, write stdout and
    /// stderr to the step's log files as output arrives, and on timeout or cancellation
    /// stop every process it started (TERM to the group, a grace period, then KILL to
    /// everything left, including processes that left the group).
    async fn run(
        &self,
        command: &StepCommand,
        cancel: &CancelToken,
        started: &dyn StepStarted,
    ) -> Result<StepEnd, RunError>;

    /// At startup, for a build a crash left `running`: stops every process its steps left
    /// (those of `recorded` that are still the same processes, and whatever else carries
    /// the build's marker) with TERM, a grace period, then KILL, and returns how many
    /// processes it stopped. MUST NOT signal a process that merely reuses a recorded pid.
    async fn stop_interrupted(&self, build: BuildId, recorded: &[StepProcess]) -> usize;
}

/// Which of a step's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// Standard output (`step-N-stdout.log`).
    Stdout,
    /// Standard error (`step-N-stderr.log`).
    Stderr,
}

impl LogStream {
    /// `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// One log file of a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFile {
    /// Clone, setup, artifact collection and other messages from Oore itself (`system.log`).
    System,
    /// A step's stdout or stderr.
    Step {
        /// Step index.
        index: u32,
        /// Which stream.
        stream: LogStream,
    },
}

/// Bytes read from a log file. Offsets are logical: they count every byte ever written,
/// including bytes later dropped by the size cap, so a follower's offset stays valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    /// The bytes, exactly as the process wrote them (may be binary).
    pub data: Vec<u8>,
    /// Logical offset of `data[0]` (greater than the requested offset if those bytes
    /// were dropped by the cap).
    pub offset: u64,
    /// Offset to ask for next.
    pub next_offset: u64,
}

/// A change to a build's logs, for live viewers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogUpdate {
    /// `file` now has `len` logical bytes.
    Grew {
        /// Which file.
        file: LogFile,
        /// Its logical length.
        len: u64,
    },
    /// The build ended; no more output will come.
    Finished,
}

/// Failure to read or write logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// That log does not exist (yet).
    #[error("no such log")]
    NotFound,
    /// Filesystem failure; the text says what and what to do.
    #[error("log storage failed: {0}")]
    Io(String),
}

/// Receives [`LogUpdate`]s for one build. Dropping it unsubscribes.
#[async_trait]
pub trait LogFollower: Send {
    /// The next update; `None` once the build has finished and everything was delivered,
    /// or `Some(LogUpdate::Finished)` first. A slow follower MAY miss intermediate `Grew`
    /// updates (it reads the file by offset anyway) but MUST NOT slow the build.
    async fn next(&mut self) -> Option<LogUpdate>;
}

/// Per-build log files: written as output arrives, read by offset, followed live.
#[async_trait]
pub trait BuildLogs: Send + Sync {
    /// Appends a line to the build's system log.
    async fn append_system(&self, build: BuildId, line: &str) -> Result<(), LogError>;

    /// Up to `max_bytes` from logical `offset`. Reading at or past the end returns an
    /// empty chunk with `next_offset` = the end.
    async fn read(
        &self,
        build: BuildId,
        file: LogFile,
        offset: u64,
        max_bytes: usize,
    ) -> Result<LogChunk, LogError>;

    /// The files a build has, with their logical lengths.
    async fn files(&self, build: BuildId) -> Result<Vec<(LogFile, u64)>, LogError>;

    /// Live updates for `build` from now on.
    fn follow(&self, build: BuildId) -> Box<dyn LogFollower>;

    /// Marks the build's logs complete: followers get `Finished`.
    fn finish(&self, build: BuildId);
}

/// Failure to prepare or read a build workspace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WorkspaceError(pub String);

/// Build workspaces: one directory per build, `OORE_WORKSPACES_DIR/<build_id>/`.
#[async_trait]
pub trait Workspaces: Send + Sync {
    /// Creates the build's empty workspace (the checkout goes here) and its private
    /// `CM_ENV` file outside the checkout, returning the workspace path.
    /// MUST fail with a message that says what to do when it cannot (disk full, permissions).
    async fn create(&self, build: BuildId) -> Result<PathBuf, WorkspaceError>;

    /// A text file of the checkout, by path relative to the workspace; `None` when it does
    /// not exist. MUST refuse paths leaving the workspace and files over `max_bytes`.
    async fn read_text(
        &self,
        build: BuildId,
        relative: &str,
        max_bytes: usize,
    ) -> Result<Option<String>, WorkspaceError>;

    /// Path of the build's `CM_ENV` file (set as `CM_ENV` for every step).
    fn cm_env_path(&self, build: BuildId) -> PathBuf;

    /// The `KEY=value` lines steps appended to `CM_ENV` so far, in order (later wins).
    async fn read_cm_env(&self, build: BuildId) -> Result<Vec<(String, String)>, WorkspaceError>;
}

/// What to fetch for a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// The build (for its system log).
    pub build: BuildId,
    /// Clone URL, without credentials.
    pub url: String,
    /// The clone URL's credentials (its user info, as the user wrote it), put back into
    /// the URL only for git; never logged.
    pub credentials: Option<SecretString>,
    /// Branch to check out (its head unless `commit` is given).
    pub branch: Option<String>,
    /// Tag to check out, for tag builds.
    pub tag: Option<String>,
    /// Exact commit to check out.
    pub commit: Option<String>,
    /// Destination directory (the workspace), empty.
    pub dest: PathBuf,
}

/// Why the source could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The repository, branch, tag or commit does not exist (not retried).
    #[error("{0}")]
    NotFound(String),
    /// Network or server failure, still failing after retries with backoff.
    #[error("{0}")]
    Unreachable(String),
    /// The build was cancelled while fetching.
    #[error("cancelled while fetching the source")]
    Cancelled,
    /// Anything else (disk full, git missing, ...), with what to do.
    #[error("{0}")]
    Other(String),
}

/// Fetches repository sources with the system `git`.
#[async_trait]
pub trait SourceFetcher: Send + Sync {
    /// Checks out the requested commit into `request.dest` and returns its full SHA.
    /// MUST retry transient network errors with backoff before failing, write progress
    /// to the build's system log, and stop promptly when `cancel` fires.
    async fn fetch(
        &self,
        request: &FetchRequest,
        cancel: &CancelToken,
    ) -> Result<String, FetchError>;

    /// The branch a repository on this machine checks out by default (what its `HEAD`
    /// names), for `url` an absolute path or a `file://` URL: how `repo add` learns that a
    /// local repository's default branch is `master`. MUST return `Ok(None)` for any other
    /// URL (remote ones are not probed while an API request waits), `NotFound` when no git
    /// repository is there, and `Other` (saying what to do) when `HEAD` names no branch or
    /// git fails. The default implementation probes nothing.
    async fn default_branch(&self, url: &str) -> Result<Option<String>, FetchError> {
        let _ = url;
        Ok(None)
    }
}

/// Which files to collect as artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectRequest {
    /// The build.
    pub build: BuildId,
    /// Shell-like globs (`*` stays within a path segment, `**` crosses them); relative
    /// ones are relative to `base_dir`; absolute ones only collect under the directories
    /// the operator allowed (`OORE_ARTIFACT_ROOTS`); `$VARS` expand from `env`.
    pub patterns: Vec<String>,
    /// Where relative patterns start (the workspace or the workflow's working directory).
    pub base_dir: PathBuf,
    /// The workspace: nothing is collected through a path or link leading out of it.
    pub workspace: PathBuf,
    /// Variables for `$VAR` / `${VAR}` expansion in patterns.
    pub env: Vec<(String, String)>,
}

/// A file copied into the build's artifact directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedFile {
    /// Path relative to the artifact directory, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// Result of collecting artifacts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectOutcome {
    /// What was collected.
    pub files: Vec<CollectedFile>,
    /// Patterns that matched nothing, skipped symlinks, ... (the build continues).
    pub warnings: Vec<String>,
}

/// Failure that stops artifact collection (for example, the disk is full).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArtifactError(pub String);

/// Copies artifacts out of workspaces into `OORE_LOGS_DIR/artifacts/<build_id>/`.
#[async_trait]
pub trait ArtifactCollector: Send + Sync {
    /// Collects every file matching the patterns, keeping relative paths, recording size
    /// and SHA-256. A pattern matching nothing is a warning, not an error.
    async fn collect(&self, request: &CollectRequest) -> Result<CollectOutcome, ArtifactError>;
}

/// Signals between the use cases and the build dispatcher that runs in `oored`. Memory
/// only: they carry ids, never the only copy of anything (the rows are the truth).
pub trait BuildSignals: Send + Sync {
    /// A build was queued or a slot freed: look at the queue again.
    fn wake_dispatcher(&self);

    /// Asks the worker running `build` to stop it. Returns false when no worker in this
    /// process runs it (e.g. it was left running by a crash).
    fn cancel_running(&self, build: BuildId, reason: CancelReason) -> bool;
}
