//! The set of ports a use case may call, built once by the binary that embeds the core.

use std::sync::Arc;

use crate::ports::{
    BuildStore, Clock, IdGen, KeyCheckStore, PipelineStore, RepositoryStore, SecretCipher,
    StoreHealth, WebhookEventStore,
};

/// Every port the use cases need. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// Repositories.
    pub repositories: Arc<dyn RepositoryStore>,
    /// Builds, their steps and artifacts (and the build queue).
    pub builds: Arc<dyn BuildStore>,
    /// Stored pipeline configurations and their history.
    pub pipelines: Arc<dyn PipelineStore>,
    /// Received webhook events, the delivery replay window and the event queue.
    pub webhooks: Arc<dyn WebhookEventStore>,
    /// Database liveness.
    pub store_health: Arc<dyn StoreHealth>,
    /// The encryption key's check value.
    pub key_check: Arc<dyn KeyCheckStore>,
    /// Secret encryption.
    pub cipher: Arc<dyn SecretCipher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGen>,
}

/// The ports a build worker needs on top of [`Services`]: processes, logs, workspaces,
/// sources and artifacts.
#[derive(Clone)]
pub struct ExecutionPorts {
    /// Runs step processes.
    pub runner: Arc<dyn crate::ports::StepRunner>,
    /// Per-build log files.
    pub logs: Arc<dyn crate::ports::BuildLogs>,
    /// Build workspaces.
    pub workspaces: Arc<dyn crate::ports::Workspaces>,
    /// Fetches sources.
    pub fetcher: Arc<dyn crate::ports::SourceFetcher>,
    /// Collects artifacts.
    pub artifacts: Arc<dyn crate::ports::ArtifactCollector>,
}
