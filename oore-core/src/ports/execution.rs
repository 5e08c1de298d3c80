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
