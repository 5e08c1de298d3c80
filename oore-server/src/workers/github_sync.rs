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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use oore_core::github::ports::GitHubStore as _;
    use oore_core::github::{
        GitHubLocation, RemoteInstallation, RemoteRepository, RepositorySelection,
    };
    use oore_core::ports::RepositoryFilter;
    use oore_core::testing::{
        DirectTokens, FakeCipher, MemoryGitHubStore, MemoryRepositoryStore, ScriptedGitHubApi,
        sample_app,
    };

    use super::*;

    #[tokio::test]
    async fn it_syncs_every_interval_until_stopped() {
        let repositories = MemoryRepositoryStore::default();
        let mut services = oore_core::testing::services();
        services.repositories = Arc::new(repositories.clone());
        services.cipher = Arc::new(FakeCipher);
        let store = Arc::new(MemoryGitHubStore::new(repositories));
        let api = Arc::new(ScriptedGitHubApi::default());
        let tokens = Arc::new(DirectTokens::new(
            store.clone(),
            api.clone(),
            services.cipher.clone(),
        ));
        store
            .replace_app(&sample_app(&FakeCipher, ulid::Ulid::from_parts(1, 1), 1))
            .await
            .unwrap();
        api.set(|s| {
            s.installations = Some(Ok(vec![RemoteInstallation {
                id: 7,
                account_login: "acme".into(),
                account_type: "Organization".into(),
                repository_selection: RepositorySelection::All,
                suspended: false,
                permissions: Vec::new(),
            }]));
            s.repositories.insert(
                7,
                Ok(vec![RemoteRepository {
                    github_id: 1,
                    owner: "acme".into(),
                    name: "app".into(),
                    clone_url: "https://github.com/acme/app.git".into(),
                    default_branch: None,
                }]),
            );
        });
        let sync = GitHubSync {
            services: services.clone(),
            github: GitHubServices {
                store,
                api: api.clone(),
                tokens,
                location: GitHubLocation::public(),
                base_url: "https://ci.example.com".into(),
            },
            interval: Duration::from_millis(20),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(sync.run(stop_rx));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let listed = services
                .repositories
                .list(&RepositoryFilter::default())
                .await
                .unwrap();
            let syncs = api.calls().iter().filter(|c| *c == "installations").count();
            if listed.len() == 1 && syncs >= 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no periodic sync: {:?}",
                api.calls()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
