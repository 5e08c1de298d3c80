//! In-memory fakes: they keep the same contracts as the real adapters (checked by
//! [`super::contract`]) so use-case tests can run without a database.

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use ulid::Ulid;

use crate::domain::repository::Repository;
use crate::domain::secret::{EncryptedSecret, SecretBinding, SecretString, StoredSecret};
use crate::ids::RepositoryId;
use crate::ports::{
    CipherError, Clock, DiskSpace, IdGen, KeyCheckStore, RepositoryFilter, RepositoryStore,
    SecretCipher, SpaceError, StoreError, StoreHealth,
};
use crate::scheduling::RepoConcurrency;
use crate::usecases::repository::{clone_credentials_binding, webhook_secret_binding};

/// Every repository ever inserted, with its deletion time once soft-deleted.
type Rows = Vec<(Repository, Option<Timestamp>)>;

/// Repositories in a `Vec` behind a mutex; deleted rows are kept with their deletion time.
/// Clones share the same rows, like two handles on one database. Also the key check
/// value ([`KeyCheckStore`]), which looks at the repositories' sealed secrets.
#[derive(Default, Clone)]
pub struct MemoryRepositoryStore {
    rows: Arc<Mutex<Rows>>,
    key_check: Arc<Mutex<Option<EncryptedSecret>>>,
}

impl MemoryRepositoryStore {
    /// The concurrency mode of repository `id`, deleted or not; `None` if it was never
    /// stored (what a foreign key would check).
    pub(crate) fn concurrency_of(&self, id: RepositoryId) -> Option<RepoConcurrency> {
        self.rows()
            .iter()
            .find(|(r, _)| r.id == id)
            .map(|(r, _)| r.build_concurrency)
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, Rows> {
        self.rows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn clashes(rows: &[(Repository, Option<Timestamp>)], repo: &Repository) -> bool {
    rows.iter().any(|(r, deleted)| {
        deleted.is_none() && r.id != repo.id && r.identity_key() == repo.identity_key()
    })
}

#[async_trait]
impl RepositoryStore for MemoryRepositoryStore {
    async fn insert(&self, repository: &Repository) -> Result<(), StoreError> {
        let mut rows = self.rows();
        if rows.iter().any(|(r, _)| r.id == repository.id) || clashes(&rows, repository) {
            return Err(StoreError::Duplicate(repository.identity_key()));
        }
        rows.push((repository.clone(), None));
        Ok(())
    }

    async fn get(&self, id: RepositoryId) -> Result<Option<Repository>, StoreError> {
        Ok(self
            .rows()
            .iter()
            .find(|(r, d)| r.id == id && d.is_none())
            .map(|(r, _)| r.clone()))
    }

    async fn list(&self, filter: &RepositoryFilter) -> Result<Vec<Repository>, StoreError> {
        let mut out: Vec<Repository> = self
            .rows()
            .iter()
            .filter(|(r, d)| {
                d.is_none()
                    && filter.provider.is_none_or(|p| p == r.provider)
                    && filter.state.is_none_or(|s| s == r.state)
            })
            .map(|(r, _)| r.clone())
            .collect();
        out.sort_by_key(|r| {
            (
                r.owner.as_str().to_lowercase(),
                r.name.as_str().to_lowercase(),
                r.id,
            )
        });
        Ok(out)
    }

    async fn update(&self, repository: &Repository) -> Result<(), StoreError> {
        let mut rows = self.rows();
        if clashes(&rows, repository) {
            return Err(StoreError::Duplicate(repository.identity_key()));
        }
        let row = rows
            .iter_mut()
            .find(|(r, d)| r.id == repository.id && d.is_none())
            .ok_or(StoreError::NotFound)?;
        row.0 = repository.clone();
        Ok(())
    }

    async fn soft_delete(&self, id: RepositoryId, at: Timestamp) -> Result<(), StoreError> {
        let mut rows = self.rows();
        let row = rows
            .iter_mut()
            .find(|(r, d)| r.id == id && d.is_none())
            .ok_or(StoreError::NotFound)?;
        row.1 = Some(at);
        Ok(())
    }
}

#[async_trait]
impl StoreHealth for MemoryRepositoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl KeyCheckStore for MemoryRepositoryStore {
    async fn key_check(&self) -> Result<Option<EncryptedSecret>, StoreError> {
        Ok(self
            .key_check
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    async fn create_key_check(
        &self,
        sealed: &EncryptedSecret,
        _at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut check = self.key_check.lock().unwrap_or_else(|p| p.into_inner());
        if check.is_some() {
            return Ok(false);
        }
        *check = Some(sealed.clone());
        Ok(true)
    }

    async fn sealed_samples(
        &self,
        limit: usize,
    ) -> Result<Vec<(SecretBinding, EncryptedSecret)>, StoreError> {
        let rows = self.rows();
        let webhook_secrets = rows.iter().filter_map(|(r, _)| match &r.webhook_secret {
            Some(StoredSecret::Sealed(sealed)) => {
                Some((webhook_secret_binding(r.id), sealed.clone()))
            }
            _ => None,
        });
        let clone_credentials = rows.iter().filter_map(|(r, _)| {
            r.clone_credentials
                .as_ref()
                .map(|sealed| (clone_credentials_binding(r.id), sealed.clone()))
        });
        Ok(webhook_secrets
            .chain(clone_credentials)
            .take(limit)
            .collect())
    }
}

/// Free space set by hand, for the storage use cases.
#[derive(Debug)]
pub struct FakeDiskSpace {
    location: std::path::PathBuf,
    available: AtomicU64,
}

impl FakeDiskSpace {
    /// `available` bytes free at `location`.
    pub fn new(location: impl Into<std::path::PathBuf>, available: u64) -> Self {
        Self {
            location: location.into(),
            available: AtomicU64::new(available),
        }
    }

    /// Changes the free space.
    pub fn set_available(&self, bytes: u64) {
        self.available.store(bytes, Ordering::SeqCst);
    }
}

#[async_trait]
impl DiskSpace for FakeDiskSpace {
    fn location(&self) -> std::path::PathBuf {
        self.location.clone()
    }

    async fn available_bytes(&self) -> Result<u64, SpaceError> {
        Ok(self.available.load(Ordering::SeqCst))
    }
}

/// A clock that returns a fixed instant, advanced by hand.
pub struct FixedClock(Mutex<Timestamp>);

impl Default for FixedClock {
    fn default() -> Self {
        Self(Mutex::new(
            Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH),
        ))
    }
}

impl FixedClock {
    /// Moves time forward.
    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t = t.checked_add(by).unwrap_or(*t);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// ULIDs 1, 2, 3, ... with a fixed timestamp part: deterministic and monotonic.
#[derive(Default)]
pub struct SequentialIds(AtomicU64);

impl IdGen for SequentialIds {
    fn new_ulid(&self) -> Ulid {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        Ulid::from_parts(1_767_225_600_000, u128::from(n))
    }
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0x5a, |acc, b| acc.rotate_left(1) ^ b)
}

/// A stand-in cipher that is not secret at all but keeps the binding contract: the
/// "ciphertext" embeds the associated data, the reversed plaintext and a checksum.
pub struct FakeCipher;

impl SecretCipher for FakeCipher {
    fn encrypt(
        &self,
        plaintext: &SecretString,
        binding: &SecretBinding,
    ) -> Result<EncryptedSecret, CipherError> {
        let mut out = binding.associated_data();
        out.push(0xff);
        out.extend(plaintext.expose().bytes().rev());
        out.push(checksum(&out));
        Ok(EncryptedSecret::from_bytes(out))
    }

    fn decrypt(
        &self,
        ciphertext: &EncryptedSecret,
        binding: &SecretBinding,
    ) -> Result<SecretString, CipherError> {
        let ad = binding.associated_data();
        let (sum, bytes) = ciphertext
            .as_bytes()
            .split_last()
            .ok_or(CipherError::Undecryptable)?;
        if checksum(bytes) != *sum {
            return Err(CipherError::Undecryptable);
        }
        let rest = bytes
            .strip_prefix(ad.as_slice())
            .and_then(|r| r.strip_prefix(&[0xff]))
            .ok_or(CipherError::Undecryptable)?;
        let plain: Vec<u8> = rest.iter().rev().copied().collect();
        String::from_utf8(plain)
            .map(SecretString::new)
            .map_err(|_| CipherError::Undecryptable)
    }

    /// A real HMAC-SHA256, keyed by a constant instead of a server key.
    fn keyed_digest(&self, value: &SecretString, binding: &SecretBinding) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = crate::webhook::github::hmac_sha256(b"oore fake cipher digest key");
        let ad = binding.associated_data();
        mac.update(&(ad.len() as u64).to_be_bytes());
        mac.update(&ad);
        mac.update(value.expose().as_bytes());
        mac.finalize().into_bytes().into()
    }
}
