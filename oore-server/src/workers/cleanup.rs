//! The cleanup task (spec 15.3, 11.4): every `OORE_CLEANUP_INTERVAL_SECS` (5 minutes by
//! default), and once at startup,
//!
//! * deletes build workspaces older than `OORE_WORKSPACE_RETENTION_HOURS` (by the mtime of
//!   the workspace directory), never those of builds running here;
//! * with `OORE_LOG_RETENTION_DAYS` set, deletes the logs (`OORE_LOGS_DIR/<build_id>/`)
//!   and artifacts (`OORE_LOGS_DIR/artifacts/<build_id>/`) of builds created longer ago
//!   than that (a build's creation time is in its ULID), never those of builds running
//!   here. The build rows stay: their history is kept, and downloading a deleted artifact
//!   answers 404 saying the file was removed;
//! * fails running builds that no worker of this process runs and that started longer ago
//!   than `OORE_MAX_BUILD_DURATION_SECS` (the reaper for builds stuck by a lost worker);
//! * ends the webhook replay window: delivery ids registered more than 24 hours ago
//!   ([`REPLAY_WINDOW`]) are forgotten; the events themselves stay as the audit trail.
//!
//! Every part logs what it did and carries on when another part fails.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oore_adapters::workspace::FsWorkspaces;
use oore_core::ids::BuildId;
use oore_core::ports::{BuildLogs, StoreError};
use oore_core::services::Services;
use oore_core::usecases::build::fail_overdue_builds;
use oore_core::webhook::REPLAY_WINDOW;
use tokio::sync::watch;

use super::dispatcher::Dispatcher;

/// What the cleanup task removes and when.
#[derive(Debug, Clone)]
pub(crate) struct CleanupConfig {
    /// `OORE_CLEANUP_INTERVAL_SECS`.
    pub(crate) interval: Duration,
    /// `OORE_WORKSPACE_RETENTION_HOURS`.
    pub(crate) workspace_retention: Duration,
    /// `OORE_LOG_RETENTION_DAYS`; `None` keeps logs and artifacts.
    pub(crate) log_retention: Option<Duration>,
    /// `OORE_MAX_BUILD_DURATION_SECS`: a running build without a worker is failed after it.
    pub(crate) max_build_duration: Duration,
    /// `OORE_LOGS_DIR`.
    pub(crate) logs_dir: PathBuf,
    /// `OORE_LOGS_DIR/artifacts`.
    pub(crate) artifacts_dir: PathBuf,
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CleanupReport {
    /// Builds whose workspace was deleted.
    pub(crate) workspaces: Vec<BuildId>,
    /// Builds whose logs or artifacts were deleted.
    pub(crate) logs: Vec<BuildId>,
    /// Running builds without a worker that were failed.
    pub(crate) overdue: Vec<BuildId>,
    /// Webhook delivery ids forgotten (out of the replay window).
    pub(crate) deliveries: u64,
}

/// The cleanup task's state.
pub(crate) struct Cleanup {
    /// Stores and clock.
    pub(crate) services: Services,
    /// The workspaces to prune.
    pub(crate) workspaces: FsWorkspaces,
    /// Which builds are live here.
    pub(crate) dispatcher: Arc<Dispatcher>,
    /// Build logs: live viewers of a reaped build are told it finished.
    pub(crate) logs: Arc<dyn BuildLogs>,
    /// What to remove and when.
    pub(crate) config: CleanupConfig,
}

impl Cleanup {
    /// Runs a pass now and then every interval until `stop` turns true.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            let report = self.pass().await;
            if report != CleanupReport::default() {
                tracing::info!(
                    workspaces = report.workspaces.len(),
                    logs = report.logs.len(),
                    overdue = report.overdue.len(),
                    deliveries = report.deliveries,
                    "cleanup done"
                );
            }
        }
    }

    /// One pass (see the module doc).
    pub(crate) async fn pass(&self) -> CleanupReport {
        let mut report = CleanupReport::default();
        let live = self.dispatcher.live_builds();
        match self
            .workspaces
            .remove_older_than_except(self.config.workspace_retention, &live)
            .await
        {
            Ok(removed) => report.workspaces = removed,
            Err(e) => tracing::warn!(error = %e, "removing old workspaces failed"),
        }
        if let Some(retention) = self.config.log_retention {
            let dirs = [
                self.config.logs_dir.clone(),
                self.config.artifacts_dir.clone(),
            ];
            let keep = live.clone();
            let removed = tokio::task::spawn_blocking(move || {
                let mut removed = Vec::new();
                for dir in &dirs {
                    match remove_builds_older_than(dir, retention, &keep, SystemTime::now()) {
                        Ok(mut r) => removed.append(&mut r),
                        Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "removing old build logs failed"),
                    }
                }
                removed
            })
            .await
            .unwrap_or_default();
            report.logs = removed;
            report.logs.sort();
            report.logs.dedup();
        }
        match self.fail_overdue().await {
            Ok(failed) => {
                for id in &failed {
                    tracing::warn!(build_id = %id, "running build without a worker failed by the reaper");
                    let _ = self
                        .logs
                        .append_system(
                            *id,
                            "build failure: no worker was running it; marked failed",
                        )
                        .await;
                    self.logs.finish(*id);
                }
                report.overdue = failed;
            }
            Err(e) => tracing::warn!(error = %e, "failing overdue builds failed"),
        }
        match self.services.clock.now().checked_sub(REPLAY_WINDOW) {
            Ok(cutoff) => match self
                .services
                .webhooks
                .forget_deliveries_before(cutoff)
                .await
            {
                Ok(n) => report.deliveries = n,
                Err(e) => tracing::warn!(error = %e, "forgetting old webhook delivery ids failed"),
            },
            Err(e) => tracing::warn!(error = %e, "the webhook replay window cannot be computed"),
        }
        report
    }
}

impl Cleanup {
    /// The reaper. `fail_overdue_builds` holds its `&dyn Fn` (not `Sync`) across awaits, so
    /// its future is not `Send`: it runs on a blocking thread, driven by this runtime.
    async fn fail_overdue(&self) -> Result<Vec<BuildId>, StoreError> {
        let services = self.services.clone();
        let dispatcher = Arc::clone(&self.dispatcher);
        let max = self.config.max_build_duration;
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let is_live = |id: BuildId| dispatcher.is_live(id);
            runtime.block_on(fail_overdue_builds(&services, &is_live, max))
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::Other(format!("reaper task failed: {e}"))))
    }
}

/// Deletes the `<build_id>` directories under `dir` of builds created more than `age`
/// before `now` (by their ULID) whose directory was not modified since, except `keep`.
fn remove_builds_older_than(
    dir: &Path,
    age: Duration,
    keep: &[BuildId],
    now: SystemTime,
) -> io::Result<Vec<BuildId>> {
    let Some(cutoff) = now.checked_sub(age) else {
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<BuildId>().ok())
        else {
            continue;
        };
        if keep.contains(&id) {
            continue;
        }
        let created = SystemTime::UNIX_EPOCH + Duration::from_millis(id.ulid().timestamp_ms());
        let modified = entry.metadata().and_then(|m| m.modified()).unwrap_or(now);
        if created > cutoff || modified > cutoff {
            continue;
        }
        match std::fs::remove_dir_all(entry.path()) {
            Ok(()) => removed.push(id),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %entry.path().display(), error = %e, "cannot remove old build files");
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ulid::Ulid;

    fn build_at(ms: u64) -> BuildId {
        BuildId::from_ulid(Ulid::from_parts(ms, 1))
    }

    #[test]
    fn removes_only_old_build_directories_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let day = Duration::from_secs(86_400);
        let now = SystemTime::now() + 60 * day;
        let now_ms = |t: SystemTime| {
            u64::try_from(
                t.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_millis(),
            )
            .unwrap()
        };
        let old = build_at(1_000);
        let kept = build_at(2_000);
        let recent = build_at(now_ms(now - day));
        for id in [old, kept, recent] {
            std::fs::create_dir_all(dir.path().join(id.to_string()).join("x")).unwrap();
        }
        std::fs::create_dir(dir.path().join("artifacts")).unwrap();
        let removed = remove_builds_older_than(dir.path(), 30 * day, &[kept], now).unwrap();
        assert_eq!(removed, [old]);
        for left in [kept, recent] {
            assert!(dir.path().join(left.to_string()).is_dir());
        }
        assert!(dir.path().join("artifacts").is_dir());
        // Directories modified after the cutoff stay, whatever their build's age.
        let removed =
            remove_builds_older_than(dir.path(), 30 * day, &[], SystemTime::now()).unwrap();
        assert!(removed.is_empty(), "{removed:?}");
    }
}
