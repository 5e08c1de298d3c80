//! [`App`]: what every request handler shares: the core's [`Services`], the build
//! dispatcher's signals, the build logs and artifacts, the webhook receivers' state, the
//! GitHub App's ports, and the few settings the HTTP layer needs. Cheap to clone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use oore_adapters::space::StatvfsSpace;
use oore_core::domain::secret::SecretString;
use oore_core::github::ports::GitHubServices;
use oore_core::ports::{ArtifactFiles, BuildLogs, BuildSignals, DiskSpace, SourceFetcher};
use oore_core::services::Services;

use crate::config::Config;
use crate::webhooks::Webhooks;
use crate::workers::Dispatcher;

/// Shared state of the HTTP API.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    services: Services,
    space: Arc<dyn DiskSpace>,
    min_free_bytes: u64,
    dispatcher: Arc<Dispatcher>,
    logs: Arc<dyn BuildLogs>,
    artifacts: Arc<dyn ArtifactFiles>,
    webhooks: Arc<Webhooks>,
    github: GitHubServices,
    sources: Arc<dyn SourceFetcher>,
    base_url: String,
    admin_token: SecretString,
    dashboard_origin: String,
    max_concurrent_builds: u32,
    started: Instant,
}

impl App {
    /// The API over `services`, with the HTTP-relevant settings of `config` (free space is
    /// measured on its data directory); builds are signalled through `dispatcher`, their
    /// logs read from `logs` and their artifacts from `artifacts`; webhook deliveries are
    /// stored through `webhooks`; the GitHub App's ports are `github`; `sources` reads a
    /// local repository's default branch when one is added.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site (startup.rs), each argument a distinct part of the state"
    )]
    pub(crate) fn new(
        config: &Config,
        services: Services,
        dispatcher: Arc<Dispatcher>,
        logs: Arc<dyn BuildLogs>,
        artifacts: Arc<dyn ArtifactFiles>,
        webhooks: Arc<Webhooks>,
        github: GitHubServices,
        sources: Arc<dyn SourceFetcher>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                services,
                space: Arc::new(StatvfsSpace::new(config.data_dir())),
                min_free_bytes: config.min_free_bytes,
                dispatcher,
                logs,
                artifacts,
                webhooks,
                github,
                sources,
                base_url: config.base_url.clone(),
                admin_token: config.admin_token.clone(),
                dashboard_origin: config.dashboard_origin.clone(),
                max_concurrent_builds: config.max_concurrent_builds,
                started: Instant::now(),
            }),
        }
    }

    /// The use cases' ports.
    pub fn services(&self) -> &Services {
        &self.inner.services
    }

    /// Free space of the data directory.
    pub(crate) fn space(&self) -> &dyn DiskSpace {
        &*self.inner.space
    }

    /// Free space of the data directory, shared (the dispatcher's gate reads it too).
    pub(crate) fn space_handle(&self) -> Arc<dyn DiskSpace> {
        Arc::clone(&self.inner.space)
    }

    /// `OORE_MIN_FREE_BYTES`.
    pub(crate) fn min_free_bytes(&self) -> u64 {
        self.inner.min_free_bytes
    }

    /// Wakes the dispatcher and cancels running builds.
    pub fn signals(&self) -> &dyn BuildSignals {
        &*self.inner.dispatcher
    }

    /// The build dispatcher (live builds).
    pub(crate) fn dispatcher(&self) -> &Dispatcher {
        &self.inner.dispatcher
    }

    /// Build logs.
    pub(crate) fn logs(&self) -> &dyn BuildLogs {
        &*self.inner.logs
    }

    /// Build logs, shared (a log follow keeps them).
    pub(crate) fn log_store(&self) -> Arc<dyn BuildLogs> {
        Arc::clone(&self.inner.logs)
    }

    /// Stored artifact files (`OORE_LOGS_DIR/artifacts/<build_id>/<path>`).
    pub(crate) fn artifacts(&self) -> &dyn ArtifactFiles {
        &*self.inner.artifacts
    }

    /// Repository sources (`git`), for reading a local repository's default branch.
    pub(crate) fn sources(&self) -> &dyn SourceFetcher {
        &*self.inner.sources
    }

    /// The webhook receivers' settings, writer and worker wake-up.
    pub(crate) fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    /// The GitHub App's ports.
    pub fn github(&self) -> &GitHubServices {
        &self.inner.github
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    pub(crate) fn admin_token(&self) -> &SecretString {
        &self.inner.admin_token
    }

    pub(crate) fn dashboard_origin(&self) -> &str {
        &self.inner.dashboard_origin
    }

    pub(crate) fn max_concurrent_builds(&self) -> u32 {
        self.inner.max_concurrent_builds
    }

    pub(crate) fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }
}
