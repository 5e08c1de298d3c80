//! The periodic GitHub sync (spec Journey 21): every `OORE_GITHUB_SYNC_INTERVAL_SECS`
//! (hourly by default) a full refresh of the App's installations and repositories, which
//! catches installation events that never arrived (GitHub does not retry a failed
//! delivery). The first run is one interval after startup; without an App it does
//! nothing. Failures are logged and retried at the next tick.

use std::time::Duration;

use oore_core::github::ports::GitHubServices;
use oore_core::services::Services;
use oore_core::usecases::github::{InstallationOutcome, SyncError, sync_installations};
use tokio::sync::watch;

/// The periodic sync task.
pub(crate) struct GitHubSync {
    pub(crate) services: Services,
    pub(crate) github: GitHubServices,
    pub(crate) interval: Duration,
}

impl GitHubSync {
    /// Runs until `stop` turns true.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let start = tokio::time::Instant::now() + self.interval;
        let mut ticker = tokio::time::interval_at(start, self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            self.pass().await;
        }
    }

    /// One sync, logged.
    pub(crate) async fn pass(&self) {
        match sync_installations(&self.services, &self.github, None).await {
            Ok(report) => {
                for i in &report.installations {
                    match &i.outcome {
                        InstallationOutcome::Synced(c) => tracing::info!(
                            installation = i.id,
                            account = %i.account_login,
                            added = c.added,
                            updated = c.updated,
                            deactivated = c.deactivated,
                            total = c.total,
                            "GitHub installation synced"
                        ),
                        InstallationOutcome::Suspended { message }
                        | InstallationOutcome::Revoked { message, .. }
                        | InstallationOutcome::Failed { message } => tracing::warn!(
                            installation = i.id,
                            account = %i.account_login,
                            "GitHub installation not synced: {message}"
                        ),
                    }
                }
            }
            Err(SyncError::NotConfigured) => {}
            Err(e) => {
                tracing::warn!(error = %e, "periodic GitHub sync failed; retrying at the next interval")
            }
        }
    }
}
