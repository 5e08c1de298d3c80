//! Ports for running a build: processes, with their output captured to logs.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use crate::cancel::CancelToken;
use crate::ids::BuildId;

/// One step's process, fully described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCommand {
    /// The build it belongs to (its log directory, and the process marker).
    pub build_id: BuildId,
    /// 0-based step index, as in `step-N-stdout.log`.
    pub index: u32,
    /// Shell script, run with `/bin/bash -c` (fallback `sh -c`).
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

/// Runs step processes.
#[async_trait]
pub trait StepRunner: Send + Sync {
    /// Runs `command` to its end. MUST start it in a new process group with stdin closed,
    /// write stdout and stderr to the step's log files as output arrives, and on timeout or
    /// cancellation stop every process it started (TERM to the group, a grace period, then
    /// KILL to everything left, including processes that left the group).
    async fn run(&self, command: &StepCommand, cancel: &CancelToken) -> Result<StepEnd, RunError>;
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
