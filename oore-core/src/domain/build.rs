//! Builds and their steps: status enums and the one function that decides which status
//! changes are legal (spec 6.3 and 6.3.1). Every status change in the system goes through
//! [`BuildStatus::transition`] or [`StepStatus::transition`].

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use super::repository::BranchName;
use crate::ids::{ArtifactId, BuildId, RepositoryId, StepId, WebhookEventId};

/// An illegal status change, e.g. `success -> running`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move a {what} from {from} to {to}")]
pub struct IllegalTransition {
    what: &'static str,
    from: &'static str,
    to: &'static str,
}

impl IllegalTransition {
    pub(crate) fn new(what: &'static str, from: &'static str, to: &'static str) -> Self {
        Self { what, from, to }
    }
}

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every status.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable lowercase name used in the API and the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} status '{s}': expected one of {}",
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

status_enum!(
    /// Status of a build (spec 6.3).
    BuildStatus, "build" {
        /// Queued, waiting for a worker.
        Pending => "pending",
        /// A worker is executing it.
        Running => "running",
        /// Every step not marked `ignore_failure` exited 0.
        Success => "success",
        /// A step failed, timed out, or the build could not run.
        Failure => "failure",
        /// A user cancelled it.
        Cancelled => "cancelled",
    }
);

impl BuildStatus {
    /// True once the build can no longer change.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Success | Self::Failure | Self::Cancelled)
    }

    /// Checks a status change. Legal: pending -> running, pending -> cancelled,
    /// pending -> failure (it could not start, e.g. interrupted or misconfigured),
    /// running -> success | failure | cancelled.
    pub fn transition(self, to: BuildStatus) -> Result<BuildStatus, IllegalTransition> {
        use BuildStatus::*;
        match (self, to) {
            (Pending, Running | Cancelled | Failure) | (Running, Success | Failure | Cancelled) => {
                Ok(to)
            }
            _ => Err(IllegalTransition {
                what: "build",
                from: self.as_str(),
                to: to.as_str(),
            }),
        }
    }
}

status_enum!(
    /// Status of one build step (spec 6.3.1).
    StepStatus, "step" {
        /// Not started yet.
        Pending => "pending",
        /// Its process is running.
        Running => "running",
        /// Exited 0.
        Success => "success",
        /// Exited non-zero, or timed out.
        Failure => "failure",
        /// Not run because an earlier step failed or the build was cancelled.
        Skipped => "skipped",
        /// Interrupted by cancellation.
        Cancelled => "cancelled",
    }
);

impl StepStatus {
    /// True once the step can no longer change.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }

    /// Checks a status change. Legal: pending -> running | skipped | cancelled,
    /// running -> success | failure | cancelled.
    pub fn transition(self, to: StepStatus) -> Result<StepStatus, IllegalTransition> {
        use StepStatus::*;
        match (self, to) {
            (Pending, Running | Skipped | Cancelled) | (Running, Success | Failure | Cancelled) => {
                Ok(to)
            }
            _ => Err(IllegalTransition {
                what: "step",
                from: self.as_str(),
                to: to.as_str(),
            }),
        }
    }
}

status_enum!(
    /// What started a build (`OORE_TRIGGER_TYPE`).
    TriggerType, "trigger" {
        /// A push to a branch or tag.
        Push => "push",
        /// A GitHub pull request.
        PullRequest => "pull_request",
        /// A GitLab merge request.
        MergeRequest => "merge_request",
        /// A person or script asked for it.
        Manual => "manual",
    }
);

/// Scheduling priority, 1 (highest) to 4 (spec 16.3). Lower numbers run first; FIFO
/// within a priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(u8);

impl Priority {
    /// Manual triggers.
    pub const MANUAL: Priority = Priority(1);
    /// Pull and merge requests.
    pub const REVIEW: Priority = Priority(2);
    /// Pushes to the repository's default branch.
    pub const DEFAULT_BRANCH_PUSH: Priority = Priority(3);
    /// Every other push.
    pub const OTHER_PUSH: Priority = Priority(4);

    /// The priority for a trigger; `to_default_branch` matters only for pushes.
    pub fn for_trigger(trigger: TriggerType, to_default_branch: bool) -> Self {
        match trigger {
            TriggerType::Manual => Self::MANUAL,
            TriggerType::PullRequest | TriggerType::MergeRequest => Self::REVIEW,
            TriggerType::Push if to_default_branch => Self::DEFAULT_BRANCH_PUSH,
            TriggerType::Push => Self::OTHER_PUSH,
        }
    }

    /// From the stored number; `None` outside 1..=4.
    pub fn from_number(n: u8) -> Option<Self> {
        (1..=4).contains(&n).then_some(Self(n))
    }

    /// 1 to 4.
    pub fn number(self) -> u8 {
        self.0
    }
}

/// One build of one commit of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// Identity.
    pub id: BuildId,
    /// The repository built.
    pub repository_id: RepositoryId,
    /// Per-repository sequence number (#1, #2, ...), `BUILD_NUMBER` in steps.
    pub number: u64,
    /// Current status.
    pub status: BuildStatus,
    /// What started it.
    pub trigger: TriggerType,
    /// Scheduling priority.
    pub priority: Priority,
    /// Branch built (the source branch of a pull/merge request).
    pub branch: Option<BranchName>,
    /// The target branch of a pull/merge request (`CM_PULL_REQUEST_DEST`); `None` for
    /// other builds.
    pub base_branch: Option<BranchName>,
    /// Tag built, for tag pushes (`CM_TAG`).
    pub tag: Option<String>,
    /// Pull/merge request number.
    pub pull_request: Option<u64>,
    /// Commit built; `None` until resolved from the branch head.
    pub commit_sha: Option<String>,
    /// Workflow selected from the pipeline (or asked for by a manual trigger).
    pub workflow: Option<String>,
    /// Where the pipeline came from: `database`, `repository` or `default`.
    pub config_source: Option<String>,
    /// The webhook delivery that caused it.
    pub webhook_event_id: Option<WebhookEventId>,
    /// Why it failed, in words a user can act on.
    pub error_message: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When a worker picked it up.
    pub started_at: Option<Timestamp>,
    /// When it reached a terminal status.
    pub finished_at: Option<Timestamp>,
}

/// One step (script) of a build, numbered from 0 as in its log file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    /// Identity.
    pub id: StepId,
    /// The build it belongs to.
    pub build_id: BuildId,
    /// 0-based position, as in `step-N-stdout.log`.
    pub index: u32,
    /// Display name.
    pub name: String,
    /// Current status.
    pub status: StepStatus,
    /// Whether a failure of this step leaves the build's outcome alone.
    pub ignore_failure: bool,
    /// Process exit code once finished.
    pub exit_code: Option<i32>,
    /// Why it failed when the exit code alone does not say (timeout, could not start).
    pub error_message: Option<String>,
    /// When its process started.
    pub started_at: Option<Timestamp>,
    /// When it reached a terminal status.
    pub finished_at: Option<Timestamp>,
}

/// A file collected from a build's workspace by the pipeline's `artifacts` globs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Identity.
    pub id: ArtifactId,
    /// The build that produced it.
    pub build_id: BuildId,
    /// Path relative to the build's artifact directory (`/`-separated).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// When it was collected.
    pub created_at: Timestamp,
}

/// The commit coordinates requested for a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildTarget {
    /// Branch to build.
    pub branch: BranchName,
    /// Exact commit, else the branch head.
    pub commit_sha: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_transitions_follow_the_spec_table() {
        use BuildStatus::*;
        let legal = [
            (Pending, Running),
            (Pending, Cancelled),
            (Pending, Failure),
            (Running, Success),
            (Running, Failure),
            (Running, Cancelled),
        ];
        for &from in BuildStatus::ALL {
            for &to in BuildStatus::ALL {
                let ok = from.transition(to).is_ok();
                assert_eq!(ok, legal.contains(&(from, to)), "{from} -> {to}");
            }
        }
        let err = Success.transition(Running).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot move a build from success to running"
        );
    }

    #[test]
    fn step_transitions_follow_the_spec_table() {
        use StepStatus::*;
        let legal = [
            (Pending, Running),
            (Pending, Skipped),
            (Pending, Cancelled),
            (Running, Success),
            (Running, Failure),
            (Running, Cancelled),
        ];
        for &from in StepStatus::ALL {
            for &to in StepStatus::ALL {
                assert_eq!(
                    from.transition(to).is_ok(),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn terminal_statuses_have_no_way_out() {
        for &s in BuildStatus::ALL.iter().filter(|s| s.is_terminal()) {
            assert!(BuildStatus::ALL.iter().all(|&t| s.transition(t).is_err()));
        }
        for &s in StepStatus::ALL.iter().filter(|s| s.is_terminal()) {
            assert!(StepStatus::ALL.iter().all(|&t| s.transition(t).is_err()));
        }
    }

    #[test]
    fn priorities_follow_spec_16_3() {
        assert!(
            Priority::for_trigger(TriggerType::Manual, false)
                < Priority::for_trigger(TriggerType::PullRequest, false)
        );
        assert!(
            Priority::for_trigger(TriggerType::MergeRequest, false)
                < Priority::for_trigger(TriggerType::Push, true)
        );
        assert!(
            Priority::for_trigger(TriggerType::Push, true)
                < Priority::for_trigger(TriggerType::Push, false)
        );
        assert_eq!(Priority::from_number(0), None);
        assert_eq!(Priority::from_number(4), Some(Priority::OTHER_PUSH));
    }

    #[test]
    fn status_names_round_trip() {
        for &s in BuildStatus::ALL {
            assert_eq!(s.as_str().parse::<BuildStatus>().unwrap(), s);
        }
        for &s in StepStatus::ALL {
            assert_eq!(s.as_str().parse::<StepStatus>().unwrap(), s);
        }
        assert!(
            "done"
                .parse::<BuildStatus>()
                .unwrap_err()
                .contains("pending, running")
        );
    }
}
