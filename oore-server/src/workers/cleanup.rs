//! The cleanup task (spec 15.3, 11.4): every `OORE_CLEANUP_INTERVAL_SECS` (5 minutes by
//! default), and once at startup,
//!
//! * deletes build workspaces older than `OORE_WORKSPACE_RETENTION_HOURS` (by the mtime of
//!   the workspace directory), never those of builds running here;
//! * with `OORE_LOG_RETENTION_DAYS` set, deletes the logs (`OORE_LOGS_DIR/<build_id>/`)
//!   and artifacts (`OORE_LOGS_DIR/artifacts/<build_id>/`) of builds created longer ago
//!   than that (a build's creation time is in its ULID) whose directory was not
//!   modified since, never those of builds running here. The build rows stay: their history is kept, and downloading a deleted artifact
//!   answers 404 saying the file was removed;
//! * fails running builds that no worker of this process runs and that started longer ago
//!   than `OORE_MAX_BUILD_DURATION_SECS` (the reaper for builds stuck by a lost worker);
//! * ends the webhook replay window: delivery ids registered more than 24 hours ago
//!   ([`REPLAY_WINDOW`]) are forgotten; the events themselves stay as the audit trail;
//! * deletes rejected webhook attempts older than `OORE_REJECTED_RETENTION_HOURS`, and
//!   the oldest beyond `OORE_REJECTED_MAX_ROWS` ([`prune_rejected_events`]; the writer
//!   keeps that bound as it records them too). They are unauthenticated: kept for
//!   debugging, not as history.
//!
//! Every part logs what it did and carries on when another part fails.
//!
//! The rules are core use cases ([`prune_build_directories`], [`fail_overdue_builds`]) and
//! the files are behind the [`BuildDirectories`] port (`FsWorkspaces`, `FsBuildLogs`,
//! `FsArtifacts`): this task only schedules them and logs. Every call is awaited in the
//! task itself; the reaper's `is_live` predicate is `Sync`, so its future is `Send`.

use std::sync::Arc;
use std::time::Duration;

use oore_core::ids::BuildId;
use oore_core::ports::{BuildDirectories, BuildLogs, StoreError};
use oore_core::services::Services;
use oore_core::usecases::build::{RetentionRule, fail_overdue_builds, prune_build_directories};
use oore_core::usecases::webhook::{RejectedRetention, prune_rejected_events};
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
    /// `OORE_REJECTED_RETENTION_HOURS`, `OORE_REJECTED_MAX_ROWS`.
    pub(crate) rejected: RejectedRetention,
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
    /// Rejected webhook attempts deleted.
    pub(crate) rejected: u64,
}

/// The cleanup task's state.
pub(crate) struct Cleanup {
    /// Stores and clock.
    pub(crate) services: Services,
    /// The workspaces to prune (`OORE_WORKSPACES_DIR/<build_id>`).
    pub(crate) workspaces: Arc<dyn BuildDirectories>,
    /// The log directories to prune (`OORE_LOGS_DIR/<build_id>`).
    pub(crate) log_dirs: Arc<dyn BuildDirectories>,
    /// The artifact directories to prune (`OORE_LOGS_DIR/artifacts/<build_id>`).
    pub(crate) artifact_dirs: Arc<dyn BuildDirectories>,
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
                    rejected = report.rejected,
                    "cleanup done"
                );
            }
        }
    }

    /// One pass (see the module doc).
    pub(crate) async fn pass(&self) -> CleanupReport {
        let mut report = CleanupReport::default();
        let live = self.dispatcher.live_builds();
        let workspace_rule = RetentionRule::Unmodified {
            max_age: self.config.workspace_retention,
        };
        report.workspaces = self.prune(&*self.workspaces, workspace_rule, &live).await;
        if let Some(max_age) = self.config.log_retention {
            let rule = RetentionRule::CreatedAndUnmodified { max_age };
            report.logs = self.prune(&*self.log_dirs, rule, &live).await;
            report
                .logs
                .extend(self.prune(&*self.artifact_dirs, rule, &live).await);
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
        match prune_rejected_events(&self.services, self.config.rejected).await {
            Ok(n) => report.rejected = n,
            Err(e) => tracing::warn!(error = %e, "deleting old rejected webhook attempts failed"),
        }
        report
    }
}

impl Cleanup {
    /// Removes what `rule` says is old in `dirs`, except `live`; logs what failed.
    async fn prune(
        &self,
        dirs: &dyn BuildDirectories,
        rule: RetentionRule,
        live: &[BuildId],
    ) -> Vec<BuildId> {
        match prune_build_directories(self.services.clock.as_ref(), dirs, rule, live).await {
            Ok(report) => {
                for (build, e) in &report.failed {
                    tracing::warn!(build_id = %build, kind = dirs.kind(), error = %e, "cannot remove old build files");
                }
                report.removed
            }
            Err(e) => {
                tracing::warn!(kind = dirs.kind(), error = %e, "removing old build files failed");
                Vec::new()
            }
        }
    }

    /// The reaper: running builds no worker of this process owns, past the limit.
    async fn fail_overdue(&self) -> Result<Vec<BuildId>, StoreError> {
        let is_live = |id: BuildId| self.dispatcher.is_live(id);
        fail_overdue_builds(&self.services, &is_live, self.config.max_build_duration).await
    }
}
