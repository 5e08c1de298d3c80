//! Stored pipeline configurations with their full version history (spec 5.2, 5.4).

use async_trait::async_trait;
use jiff::Timestamp;

use super::StoreError;
use crate::ids::RepositoryId;
use crate::pipeline::Format;

/// One saved version of a repository's pipeline document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineVersion {
    /// The repository.
    pub repository_id: RepositoryId,
    /// 1, 2, 3, ... per repository.
    pub version: u32,
    /// The document exactly as saved.
    pub content: String,
    /// Its format.
    pub format: Format,
    /// When it was saved.
    pub created_at: Timestamp,
}

/// A version in the history listing, with whether it is the one in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineHistoryEntry {
    /// The version (content included, so a restore needs no second read).
    pub version: PipelineVersion,
    /// True for the version builds use now.
    pub current: bool,
}

/// Stored pipelines.
#[async_trait]
pub trait PipelineStore: Send + Sync {
    /// The version in use, if any (none after `clear` or before the first `save`).
    async fn current(
        &self,
        repository: RepositoryId,
    ) -> Result<Option<PipelineVersion>, StoreError>;

    /// Saves a new version and makes it current.
    /// MUST number versions 1, 2, 3, ... per repository with no repeats, and return it.
    async fn save(
        &self,
        repository: RepositoryId,
        content: &str,
        format: Format,
        at: Timestamp,
    ) -> Result<PipelineVersion, StoreError>;

    /// Stops using a stored pipeline (builds fall back to the repository file); the history
    /// stays. MUST return `NotFound` if there is no current version.
    async fn clear(&self, repository: RepositoryId, at: Timestamp) -> Result<(), StoreError>;

    /// Every version, newest first.
    async fn history(
        &self,
        repository: RepositoryId,
    ) -> Result<Vec<PipelineHistoryEntry>, StoreError>;

    /// One version; `None` if it does not exist.
    async fn version(
        &self,
        repository: RepositoryId,
        version: u32,
    ) -> Result<Option<PipelineVersion>, StoreError>;
}
