//! Port for reading stored artifact files: what a download and the artifacts zip need.
//! The files are written by [`ArtifactCollector`](super::ArtifactCollector) and removed by
//! retention ([`BuildDirectories`](super::BuildDirectories)); a build's artifact rows stay,
//! so a file may be gone while its row exists.

use async_trait::async_trait;

use crate::ids::BuildId;

/// Failure to read a stored artifact file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactFileError {
    /// The stored path is not a plain relative path (empty, absolute, `..`, NUL): it would
    /// leave the build's artifact directory, so it is never opened.
    #[error("artifact path '{0}' would leave the build's artifact directory; it cannot be served")]
    BadPath(String),
    /// The file is no longer stored (removed by log retention or by hand).
    #[error(
        "the file of artifact '{0}' is no longer on the server (log retention or removed by hand); trigger the build again to recreate it"
    )]
    Missing(String),
    /// The storage failed; the text says what and what to do.
    #[error("artifact storage failed: {0}")]
    Io(String),
}

/// Stored artifact files, one tree per build, addressed by the artifact's stored path
/// ([`Artifact::path`](crate::domain::build::Artifact::path), `/`-separated).
#[async_trait]
pub trait ArtifactFiles: Send + Sync {
    /// The size in bytes of the stored file. MUST return `None` when no such file is
    /// stored, and `BadPath` for a path that is empty, absolute, has `.`/`..` segments or
    /// a NUL (before touching storage).
    async fn size(&self, build: BuildId, path: &str) -> Result<Option<u64>, ArtifactFileError>;

    /// Bytes of the stored file from `offset`: exactly `min(max, size - offset)` of them
    /// (never fewer before the end), empty at or past the end. MUST return `Missing` when
    /// no such file is stored and `BadPath` as [`size`](Self::size) does.
    async fn read(
        &self,
        build: BuildId,
        path: &str,
        offset: u64,
        max: usize,
    ) -> Result<Vec<u8>, ArtifactFileError>;

    /// The CRC-32 of the whole file (ISO-HDLC, the polynomial zip and gzip use), for the
    /// artifacts zip. MUST return `None` when no such file is stored and `BadPath` as
    /// [`size`](Self::size) does. MAY read the whole file each time (it is computed on
    /// demand; recording it at collection time would make it free).
    async fn crc32(&self, build: BuildId, path: &str) -> Result<Option<u32>, ArtifactFileError>;
}
