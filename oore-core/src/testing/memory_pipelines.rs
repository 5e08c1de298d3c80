//! In-memory [`PipelineStore`], keeping the same contract as the SQLite one.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::ids::RepositoryId;
use crate::pipeline::Format;
use crate::ports::{PipelineHistoryEntry, PipelineStore, PipelineVersion, StoreError};

#[derive(Default)]
struct Entry {
    versions: Vec<PipelineVersion>,
    current: Option<u32>,
}

/// Pipelines in a map behind a mutex.
#[derive(Default)]
pub struct MemoryPipelineStore {
    entries: Mutex<HashMap<RepositoryId, Entry>>,
}

impl MemoryPipelineStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<RepositoryId, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl PipelineStore for MemoryPipelineStore {
    async fn current(
        &self,
        repository: RepositoryId,
    ) -> Result<Option<PipelineVersion>, StoreError> {
        let entries = self.entries();
        Ok(entries.get(&repository).and_then(|e| {
            let current = e.current?;
            e.versions.iter().find(|v| v.version == current).cloned()
        }))
    }

    async fn save(
        &self,
        repository: RepositoryId,
        content: &str,
        format: Format,
        at: Timestamp,
    ) -> Result<PipelineVersion, StoreError> {
        let mut entries = self.entries();
        let entry = entries.entry(repository).or_default();
        let version = PipelineVersion {
            repository_id: repository,
            version: entry.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1,
            content: content.to_owned(),
            format,
            created_at: at,
        };
        entry.current = Some(version.version);
        entry.versions.push(version.clone());
        Ok(version)
    }

    async fn clear(&self, repository: RepositoryId, _at: Timestamp) -> Result<(), StoreError> {
        let mut entries = self.entries();
        match entries.get_mut(&repository) {
            Some(e) if e.current.is_some() => {
                e.current = None;
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn history(
        &self,
        repository: RepositoryId,
    ) -> Result<Vec<PipelineHistoryEntry>, StoreError> {
        let entries = self.entries();
        let Some(e) = entries.get(&repository) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<PipelineHistoryEntry> = e
            .versions
            .iter()
            .map(|v| PipelineHistoryEntry {
                version: v.clone(),
                current: e.current == Some(v.version),
            })
            .collect();
        out.sort_by_key(|h| std::cmp::Reverse(h.version.version));
        Ok(out)
    }

    async fn version(
        &self,
        repository: RepositoryId,
        version: u32,
    ) -> Result<Option<PipelineVersion>, StoreError> {
        Ok(self
            .entries()
            .get(&repository)
            .and_then(|e| e.versions.iter().find(|v| v.version == version).cloned()))
    }
}
