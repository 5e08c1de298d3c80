//! Retention of build files (spec 15.3): which per-build directories are old enough to
//! remove. The cleanup task of `oored` calls [`prune_build_directories`] for workspaces
//! (`OORE_WORKSPACE_RETENTION_HOURS`, by last modification) and, with
//! `OORE_LOG_RETENTION_DAYS`, for logs and artifacts (by the build's creation, its ULID
//! time, and last modification). The build rows stay: history is kept, and a download
//! of a removed artifact says the file is gone.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::ids::BuildId;
use crate::ports::{BuildDirectories, Clock, RetentionError};

/// When a build's directory is old enough to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionRule {
    /// Not modified for `max_age` (workspaces).
    Unmodified {
        /// The retention period.
        max_age: Duration,
    },
    /// The build was created more than `max_age` ago and the directory not modified
    /// since then (logs and artifacts: a build's files outlive it by the period).
    CreatedAndUnmodified {
        /// The retention period.
        max_age: Duration,
    },
}

impl RetentionRule {
    fn max_age(self) -> Duration {
        match self {
            Self::Unmodified { max_age } | Self::CreatedAndUnmodified { max_age } => max_age,
        }
    }
}

/// What one [`prune_build_directories`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Builds whose directory was removed, in listing order.
    pub removed: Vec<BuildId>,
    /// Builds whose directory could not be removed, with why (the others went on).
    pub failed: Vec<(BuildId, RetentionError)>,
}

/// When `build` was created: the time part of its ULID.
pub fn build_created_at(build: BuildId) -> Timestamp {
    i64::try_from(build.ulid().timestamp_ms())
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX)
}

/// Removes the directories of `dirs` that `rule` says are old at `clock`'s now, except
/// those of `keep` (the builds running here: a retention of 0 must not pull a checkout
/// from under a step). A directory that cannot be removed is reported and skipped; only
/// a failure to list fails the whole call.
pub async fn prune_build_directories(
    clock: &dyn Clock,
    dirs: &dyn BuildDirectories,
    rule: RetentionRule,
    keep: &[BuildId],
) -> Result<PruneReport, RetentionError> {
    let now = clock.now();
    let cutoff = SignedDuration::try_from(rule.max_age())
        .ok()
        .and_then(|age| now.checked_sub(age).ok());
    let Some(cutoff) = cutoff else {
        // A period reaching before the representable past: nothing is that old.
        return Ok(PruneReport::default());
    };
    let mut report = PruneReport::default();
    for dir in dirs.list().await? {
        let old = dir.modified <= cutoff
            && match rule {
                RetentionRule::Unmodified { .. } => true,
                RetentionRule::CreatedAndUnmodified { .. } => build_created_at(dir.build) <= cutoff,
            };
        if !old || keep.contains(&dir.build) {
            continue;
        }
        match dirs.remove(dir.build).await {
            Ok(()) => report.removed.push(dir.build),
            Err(e) => report.failed.push((dir.build, e)),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FixedClock, MemoryBuildDirectories, block_on};

    const DAY: Duration = Duration::from_secs(86_400);

    /// A build created at `t` (the random part from a counter, so ids differ).
    fn build_at(t: Timestamp) -> BuildId {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ms = u64::try_from(t.as_millisecond()).expect("after 1970");
        BuildId::from_ulid(ulid::Ulid::from_parts(ms, u128::from(n)))
    }

    fn ago(clock: &FixedClock, days: i64) -> Timestamp {
        clock.now() - SignedDuration::from_hours(24 * days)
    }

    #[test]
    fn unmodified_directories_past_the_period_go_except_kept_ones() {
        let clock = FixedClock::default();
        let dirs = MemoryBuildDirectories::new("workspaces");
        let (old, kept, fresh) = (
            build_at(ago(&clock, 1)),
            build_at(ago(&clock, 2)),
            build_at(ago(&clock, 3)),
        );
        dirs.put(old, ago(&clock, 2));
        dirs.put(kept, ago(&clock, 2));
        // Created long ago, but touched recently: a workspace counts from its last change.
        dirs.put(fresh, clock.now());
        let rule = RetentionRule::Unmodified { max_age: DAY };
        let report =
            block_on(prune_build_directories(&clock, &dirs, rule, &[kept])).expect("prune");
        assert_eq!(report.removed, [old]);
        assert!(report.failed.is_empty());
        assert_eq!(dirs.builds(), sorted([kept, fresh]));
    }

    #[test]
    fn exactly_the_period_old_is_old_enough() {
        let clock = FixedClock::default();
        let dirs = MemoryBuildDirectories::new("workspaces");
        let id = build_at(ago(&clock, 5));
        dirs.put(id, ago(&clock, 1));
        let rule = RetentionRule::Unmodified { max_age: DAY };
        let report = block_on(prune_build_directories(&clock, &dirs, rule, &[])).expect("prune");
        assert_eq!(report.removed, [id]);
    }

    #[test]
    fn logs_go_only_when_the_build_is_old_and_the_directory_untouched() {
        let clock = FixedClock::default();
        let dirs = MemoryBuildDirectories::new("logs");
        let old = build_at(ago(&clock, 40));
        let recent_build = build_at(ago(&clock, 10));
        let touched = build_at(ago(&clock, 40));
        let running = build_at(ago(&clock, 40));
        dirs.put(old, ago(&clock, 39));
        // Files of a recent build are old only once the build is.
        dirs.put(recent_build, ago(&clock, 35));
        dirs.put(touched, ago(&clock, 1));
        dirs.put(running, ago(&clock, 39));
        let rule = RetentionRule::CreatedAndUnmodified { max_age: 30 * DAY };
        let report =
            block_on(prune_build_directories(&clock, &dirs, rule, &[running])).expect("prune");
        assert_eq!(report.removed, [old]);
        assert_eq!(dirs.builds(), sorted([recent_build, touched, running]));
    }

    #[test]
    fn a_directory_that_cannot_be_removed_is_reported_and_the_rest_go_on() {
        let clock = FixedClock::default();
        let dirs = MemoryBuildDirectories::new("artifacts");
        let (stuck, gone) = (build_at(ago(&clock, 9)), build_at(ago(&clock, 8)));
        dirs.put(stuck, ago(&clock, 9));
        dirs.put(gone, ago(&clock, 8));
        dirs.refuse_removal(stuck, "permission denied");
        let rule = RetentionRule::CreatedAndUnmodified { max_age: DAY };
        let report = block_on(prune_build_directories(&clock, &dirs, rule, &[])).expect("prune");
        assert_eq!(report.removed, [gone]);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0, stuck);
        assert!(report.failed[0].1.0.contains("permission denied"));
    }

    #[test]
    fn a_period_longer_than_time_itself_removes_nothing() {
        let clock = FixedClock::default();
        let dirs = MemoryBuildDirectories::new("logs");
        dirs.put(build_at(ago(&clock, 9)), ago(&clock, 9));
        let rule = RetentionRule::CreatedAndUnmodified {
            max_age: Duration::MAX,
        };
        let report = block_on(prune_build_directories(&clock, &dirs, rule, &[])).expect("prune");
        assert_eq!(report, PruneReport::default());
    }

    #[test]
    fn creation_time_is_the_ulid_time() {
        let t = Timestamp::from_millisecond(1_767_225_600_123).expect("valid");
        assert_eq!(build_created_at(build_at(t)), t);
    }

    fn sorted<const N: usize>(mut ids: [BuildId; N]) -> Vec<BuildId> {
        ids.sort();
        ids.to_vec()
    }
}
