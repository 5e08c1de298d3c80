//! Ports: the traits through which the core talks to the world. Adapters in
//! `oore-adapters` implement them; use cases take them as `&dyn Trait`.
//!
//! Each method documents its contract in MUST terms; the contract test suite in
//! [`crate::testing::contract`] checks every implementation against it.

mod artifacts;
mod builds;
mod execution;
mod pipelines;
mod retention;
mod storage;
mod webhooks;

pub use artifacts::{ArtifactFileError, ArtifactFiles};
pub use retention::{BuildDirectories, RetentionError, StoredBuildDir};
pub use storage::{DiskSpace, KeyCheckStore, SpaceError};

pub use pipelines::{PipelineHistoryEntry, PipelineStore, PipelineVersion};

pub use builds::{BuildPage, BuildQuery, BuildStore, BuildUpdate};

pub use webhooks::{
    EventFinish, InsertOutcome, NewWebhookEvent, RejectedWebhookEvent, WebhookEventPage,
    WebhookEventQuery, WebhookEventStore,
};

pub use execution::{
    ArtifactCollector, ArtifactError, BuildLogs, BuildSignals, CollectOutcome, CollectRequest,
    CollectedFile, FetchError, FetchRequest, LogChunk, LogError, LogFile, LogFollower, LogStream,
    LogUpdate, RunError, SourceFetcher, StepCommand, StepEnd, StepProcess, StepRunner, StepStarted,
    Unrecorded, WorkspaceError, Workspaces,
};

use async_trait::async_trait;
use jiff::Timestamp;
use ulid::Ulid;

use crate::domain::repository::{Provider, Repository, RepositoryState};
use crate::domain::secret::{EncryptedSecret, SecretBinding, SecretString};
use crate::ids::RepositoryId;

/// Failure of a store operation, free of any storage technology's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; the text names what already exists.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// The row to change does not exist (or was deleted).
    #[error("not found")]
    NotFound,
    /// The store cannot be reached or is busy beyond its timeout; retrying may help.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored row could not be read back as a domain value.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Anything else; the text is for the server log.
    #[error("database error: {0}")]
    Other(String),
}

/// Which repositories to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepositoryFilter {
    /// Only this provider.
    pub provider: Option<Provider>,
    /// Only this state.
    pub state: Option<RepositoryState>,
}

/// Persistent repositories.
#[async_trait]
pub trait RepositoryStore: Send + Sync {
    /// Stores a new repository.
    /// MUST return `Duplicate` if a non-deleted repository has the same
    /// [`Repository::identity_key`] or the same id, and store nothing in that case.
    async fn insert(&self, repository: &Repository) -> Result<(), StoreError>;

    /// MUST return `None` for unknown and for soft-deleted repositories.
    async fn get(&self, id: RepositoryId) -> Result<Option<Repository>, StoreError>;

    /// Non-deleted repositories matching `filter`, ordered by owner then name
    /// (case-insensitively), then id.
    async fn list(&self, filter: &RepositoryFilter) -> Result<Vec<Repository>, StoreError>;

    /// Replaces every mutable field of an existing repository.
    /// MUST return `NotFound` if it does not exist or was deleted, and `Duplicate` if the
    /// new identity clashes with another non-deleted repository.
    async fn update(&self, repository: &Repository) -> Result<(), StoreError>;

    /// Soft-deletes: the repository disappears from `get` and `list`, its identity key is
    /// free again, and its history rows stay.
    /// MUST return `NotFound` if it does not exist or was already deleted.
    async fn soft_delete(&self, id: RepositoryId, at: Timestamp) -> Result<(), StoreError>;
}

/// Health of the storage layer, for `/api/health`.
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// MUST run a trivial query and return `Ok` only if it succeeded.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Whether the store takes writes. MUST return `Ok` at once while no write failed
    /// since the last call that returned `Ok`; after a failed write it MUST try a small
    /// committed write that needs free space (a probe) and return its result, so the
    /// answer turns `Ok` again only once writes succeed. Probing at most once a second
    /// (answering the last result in between) is allowed. Stores that cannot fail a
    /// write this way keep the default, always `Ok`.
    async fn writable(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Wall-clock time, UTC.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// Fresh ULIDs.
pub trait IdGen: Send + Sync {
    /// MUST return a ULID greater than every one it returned before (monotonic).
    fn new_ulid(&self) -> Ulid;
}

/// Failure to seal or open a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// Wrong key, tampered bytes, or a ciphertext moved to another row or column.
    #[error(
        "secret could not be decrypted: wrong ENCRYPTION_KEY, or the stored value was altered or moved"
    )]
    Undecryptable,
    /// The random source failed.
    #[error("secret could not be encrypted: {0}")]
    Seal(String),
}

/// Authenticated encryption of secrets at rest.
pub trait SecretCipher: Send + Sync {
    /// Seals `plaintext` for `binding`. MUST use a fresh random nonce per call.
    fn encrypt(
        &self,
        plaintext: &SecretString,
        binding: &SecretBinding,
    ) -> Result<EncryptedSecret, CipherError>;

    /// Opens a value sealed for exactly `binding`.
    /// MUST return `Undecryptable` for any other binding, key or altered byte.
    fn decrypt(
        &self,
        ciphertext: &EncryptedSecret,
        binding: &SecretBinding,
    ) -> Result<SecretString, CipherError>;

    /// A keyed digest of `value` for `binding`: what is stored of secrets that only ever
    /// need comparing (GitLab webhook tokens, [`StoredSecret::Digest`](crate::domain::secret::StoredSecret::Digest)).
    /// MUST be deterministic for one key, value and binding; MUST differ (except with
    /// negligible probability) for another value, binding or key; MUST NOT let anyone
    /// without the key compute or invert it (a keyed MAC such as HMAC-SHA256 with a
    /// subkey derived from the server key, never a plain hash).
    fn keyed_digest(&self, value: &SecretString, binding: &SecretBinding) -> [u8; 32];
}
