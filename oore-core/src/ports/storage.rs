//! Ports for the state of storage itself: free space on the data directory's filesystem
//! ([`DiskSpace`]) and the check value that ties a database to its encryption key
//! ([`KeyCheckStore`]). The rules over them (the free-space gate, health, the key check)
//! are use cases in [`crate::usecases::system`].

use std::path::PathBuf;

use async_trait::async_trait;
use jiff::Timestamp;

use super::StoreError;
use crate::domain::secret::{EncryptedSecret, SecretBinding};

/// Why free space could not be measured; the text names the directory and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpaceError(pub String);

/// Free space on the filesystem that holds `oored`'s data directory.
#[async_trait]
pub trait DiskSpace: Send + Sync {
    /// The directory measured, for messages.
    fn location(&self) -> PathBuf;

    /// Bytes a new file could take on that filesystem now (what an unprivileged writer
    /// may use, not counting blocks reserved for root). MUST fail, not answer 0, when the
    /// directory cannot be measured (missing, not accessible).
    async fn available_bytes(&self) -> Result<u64, SpaceError>;
}

/// The key check: one value sealed with the server key when a database is first used
/// with it, so a later start can tell a wrong (but well-formed) `ENCRYPTION_KEY` before
/// anything is decrypted with it. A plain table in every store.
#[async_trait]
pub trait KeyCheckStore: Send + Sync {
    /// The stored check value; `None` while none was created.
    async fn key_check(&self) -> Result<Option<EncryptedSecret>, StoreError>;

    /// Stores `sealed` as the check value unless one exists.
    /// MUST return `Ok(false)` and keep the existing value if there is one (the first
    /// value written wins, also between concurrent callers).
    async fn create_key_check(
        &self,
        sealed: &EncryptedSecret,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` secrets stored sealed with the server key (not keyed digests), each
    /// with the binding it was sealed for, to check a key against before a check value
    /// exists. MUST include values of soft-deleted rows; MUST return an empty list when
    /// nothing sealed is stored.
    async fn sealed_samples(
        &self,
        limit: usize,
    ) -> Result<Vec<(SecretBinding, EncryptedSecret)>, StoreError>;
}
