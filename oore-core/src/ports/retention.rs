//! Ports for retention: the per-build directories that `oored` prunes (workspaces, logs,
//! artifacts). The rules (what is old, what is kept) are the use case
//! [`prune_build_directories`](crate::usecases::build::prune_build_directories); the
//! adapters only list and remove.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::ids::BuildId;

/// Failure to list or remove stored build directories; the text says what and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RetentionError(pub String);

/// One build's directory, as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBuildDir {
    /// The build it belongs to.
    pub build: BuildId,
    /// When its top-level directory was last modified.
    pub modified: Timestamp,
}

/// Directories kept per build by one adapter (workspaces, logs or artifacts).
#[async_trait]
pub trait BuildDirectories: Send + Sync {
    /// What these directories hold, plural, for messages: `workspaces`, `logs`, `artifacts`.
    fn kind(&self) -> &'static str;

    /// Every build that has a directory here, once each, with its last modification.
    /// MUST ignore entries that are not a build's directory (not named by a build id, not a
    /// directory), and MUST return an empty list when nothing was ever stored.
    async fn list(&self) -> Result<Vec<StoredBuildDir>, RetentionError>;

    /// Removes everything stored here for `build`, read-only trees included. MUST succeed
    /// when nothing is stored for it; after it, [`list`](Self::list) MUST NOT name it.
    async fn remove(&self, build: BuildId) -> Result<(), RetentionError>;
}
