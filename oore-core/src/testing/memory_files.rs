//! In-memory fakes of the file ports: [`MemoryArtifactFiles`] (stored artifact files) and
//! [`MemoryBuildDirectories`] (per-build directories for retention). They pass the same
//! contract suites as the file adapters ([`contract::artifact_files_contract`],
//! [`contract::build_directories_contract`]).
//!
//! Both are cheap to clone; clones share their contents, so a test keeps one to seed
//! and inspect while the code under test holds another.
//!
//! [`contract::artifact_files_contract`]: super::contract_files::artifact_files_contract
//! [`contract::build_directories_contract`]: super::contract_files::build_directories_contract

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use jiff::Timestamp;

use crate::ids::BuildId;
use crate::ports::{
    ArtifactFileError, ArtifactFiles, BuildDirectories, RetentionError, StoredBuildDir,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `path` is a plain relative path: non-empty `/`-separated names, none `.` or
/// `..`, no NUL, not absolute (what [`ArtifactFiles`] accepts).
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\0')
        && !path.starts_with('/')
        && path
            .split('/')
            .filter(|s| !s.is_empty())
            .all(|s| s != "." && s != "..")
}

/// CRC-32/ISO-HDLC (the zip checksum), bitwise: slow, but enough for fakes and tests.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// File bytes by build and stored path.
type StoredFiles = HashMap<(BuildId, String), Vec<u8>>;

/// Artifact files in memory, by build and stored path.
#[derive(Clone, Default)]
pub struct MemoryArtifactFiles {
    files: Arc<Mutex<StoredFiles>>,
    /// Every `read` and `crc32` call, for tests that count file reads: `(path, offset, max)`
    /// (`crc32` is recorded with `max` = `usize::MAX`).
    pub reads: Arc<Mutex<Vec<(String, u64, usize)>>>,
}

impl MemoryArtifactFiles {
    /// Stores `data` as the file of `path` (as collection would).
    pub fn put(&self, build: BuildId, path: &str, data: &[u8]) {
        lock(&self.files).insert((build, path.to_owned()), data.to_vec());
    }

    /// Forgets the file of `path` (as retention or an operator would).
    pub fn delete(&self, build: BuildId, path: &str) {
        lock(&self.files).remove(&(build, path.to_owned()));
    }

    fn get(&self, build: BuildId, path: &str) -> Result<Option<Vec<u8>>, ArtifactFileError> {
        if !is_plain_relative(path) {
            return Err(ArtifactFileError::BadPath(path.to_owned()));
        }
        Ok(lock(&self.files).get(&(build, path.to_owned())).cloned())
    }
}

#[async_trait]
impl ArtifactFiles for MemoryArtifactFiles {
    async fn size(&self, build: BuildId, path: &str) -> Result<Option<u64>, ArtifactFileError> {
        Ok(self.get(build, path)?.map(|d| d.len() as u64))
    }

    async fn read(
        &self,
        build: BuildId,
        path: &str,
        offset: u64,
        max: usize,
    ) -> Result<Vec<u8>, ArtifactFileError> {
        let data = self
            .get(build, path)?
            .ok_or_else(|| ArtifactFileError::Missing(path.to_owned()))?;
        lock(&self.reads).push((path.to_owned(), offset, max));
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let end = start.saturating_add(max).min(data.len());
        Ok(data[start..end].to_vec())
    }

    async fn crc32(&self, build: BuildId, path: &str) -> Result<Option<u32>, ArtifactFileError> {
        let Some(data) = self.get(build, path)? else {
            return Ok(None);
        };
        lock(&self.reads).push((path.to_owned(), 0, usize::MAX));
        Ok(Some(crc32(&data)))
    }
}

/// Per-build directories in memory: build -> last modification.
#[derive(Clone)]
pub struct MemoryBuildDirectories {
    kind: &'static str,
    dirs: Arc<Mutex<BTreeMap<BuildId, Timestamp>>>,
    refused: Arc<Mutex<HashMap<BuildId, String>>>,
}

impl MemoryBuildDirectories {
    /// An empty set of directories holding `kind` (`workspaces`, `logs`, `artifacts`).
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            dirs: Arc::default(),
            refused: Arc::default(),
        }
    }

    /// Stores a directory for `build`, last modified at `modified`.
    pub fn put(&self, build: BuildId, modified: Timestamp) {
        lock(&self.dirs).insert(build, modified);
    }

    /// Makes removing `build`'s directory fail with `why`.
    pub fn refuse_removal(&self, build: BuildId, why: &str) {
        lock(&self.refused).insert(build, why.to_owned());
    }

    /// The builds that have a directory, sorted.
    pub fn builds(&self) -> Vec<BuildId> {
        lock(&self.dirs).keys().copied().collect()
    }
}

#[async_trait]
impl BuildDirectories for MemoryBuildDirectories {
    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn list(&self) -> Result<Vec<StoredBuildDir>, RetentionError> {
        Ok(lock(&self.dirs)
            .iter()
            .map(|(build, modified)| StoredBuildDir {
                build: *build,
                modified: *modified,
            })
            .collect())
    }

    async fn remove(&self, build: BuildId) -> Result<(), RetentionError> {
        if let Some(why) = lock(&self.refused).get(&build) {
            return Err(RetentionError(format!(
                "cannot remove the {} of build {build}: {why}",
                self.kind
            )));
        }
        lock(&self.dirs).remove(&build);
        Ok(())
    }
}
