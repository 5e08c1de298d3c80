//! [`MemoryLogs`]: build logs in memory, keeping the [`BuildLogs`] contract: the system log
//! through `append_system`, any other file through [`MemoryLogs::write`] (step logs are
//! written by a real runner in production, by the test here).

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use async_trait::async_trait;

use crate::ids::BuildId;
use crate::ports::{BuildLogs, LogChunk, LogError, LogFile, LogFollower, LogUpdate};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Log files in memory, readable by offset and followed live like the real logs. Offsets
/// are plain byte indexes (no size cap); a file never written is [`LogError::NotFound`].
#[derive(Default)]
pub struct MemoryLogs {
    /// System log lines per build, as appended.
    pub lines: Mutex<HashMap<BuildId, Vec<String>>>,
    /// Builds whose logs were finished.
    pub finished: Mutex<Vec<BuildId>>,
    /// Every file's bytes, in creation order.
    files: Mutex<Vec<(BuildId, LogFile, Vec<u8>)>>,
    /// Live followers per build.
    feeds: Mutex<HashMap<BuildId, Vec<Arc<Mutex<Feed>>>>>,
}

/// What one follower has yet to receive.
#[derive(Default)]
struct Feed {
    updates: VecDeque<LogUpdate>,
    /// `Finished` was delivered: only `None` from now on.
    done: bool,
    waker: Option<Waker>,
}

impl Feed {
    fn push(&mut self, update: LogUpdate) {
        self.updates.push_back(update);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

struct MemoryFollower(Arc<Mutex<Feed>>);

#[async_trait]
impl LogFollower for MemoryFollower {
    async fn next(&mut self) -> Option<LogUpdate> {
        poll_fn(|cx| {
            let mut feed = lock(&self.0);
            match feed.updates.pop_front() {
                Some(update) => {
                    feed.done |= update == LogUpdate::Finished;
                    Poll::Ready(Some(update))
                }
                None if feed.done => Poll::Ready(None),
                None => {
                    feed.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl MemoryLogs {
    /// Appends `data` to `file` of `build` (creating it), tells the build's followers,
    /// and returns the file's new length.
    pub fn write(&self, build: BuildId, file: LogFile, data: &[u8]) -> u64 {
        let len = {
            let mut files = lock(&self.files);
            let at = match files.iter().position(|(b, f, _)| *b == build && *f == file) {
                Some(at) => at,
                None => {
                    files.push((build, file, Vec::new()));
                    files.len() - 1
                }
            };
            files[at].2.extend_from_slice(data);
            files[at].2.len() as u64
        };
        if let Some(feeds) = lock(&self.feeds).get_mut(&build) {
            // Dropped followers unsubscribe.
            feeds.retain(|feed| Arc::strong_count(feed) > 1);
            for feed in feeds.iter() {
                lock(feed).push(LogUpdate::Grew { file, len });
            }
        }
        len
    }
}

#[async_trait]
impl BuildLogs for MemoryLogs {
    async fn append_system(&self, build: BuildId, line: &str) -> Result<(), LogError> {
        lock(&self.lines)
            .entry(build)
            .or_default()
            .push(line.to_owned());
        let line = line.strip_suffix('\n').unwrap_or(line);
        self.write(build, LogFile::System, format!("{line}\n").as_bytes());
        Ok(())
    }

    async fn read(
        &self,
        build: BuildId,
        file: LogFile,
        offset: u64,
        max_bytes: usize,
    ) -> Result<LogChunk, LogError> {
        let files = lock(&self.files);
        let (_, _, data) = files
            .iter()
            .find(|(b, f, _)| *b == build && *f == file)
            .ok_or(LogError::NotFound)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let end = start + max_bytes.min(data.len() - start);
        Ok(LogChunk {
            data: data[start..end].to_vec(),
            offset: start as u64,
            next_offset: end as u64,
        })
    }

    async fn files(&self, build: BuildId) -> Result<Vec<(LogFile, u64)>, LogError> {
        let files: Vec<(LogFile, u64)> = lock(&self.files)
            .iter()
            .filter(|(b, _, _)| *b == build)
            .map(|(_, f, data)| (*f, data.len() as u64))
            .collect();
        if files.is_empty() {
            return Err(LogError::NotFound);
        }
        Ok(files)
    }

    fn follow(&self, build: BuildId) -> Box<dyn LogFollower> {
        let feed = Arc::new(Mutex::new(Feed::default()));
        // `feeds` is locked first in `finish` too, so a build finishing meanwhile is seen
        // either as finished here or by its loop over the feeds.
        let mut feeds = lock(&self.feeds);
        if lock(&self.finished).contains(&build) {
            lock(&feed).push(LogUpdate::Finished);
        } else {
            feeds.entry(build).or_default().push(feed.clone());
        }
        Box::new(MemoryFollower(feed))
    }

    fn finish(&self, build: BuildId) {
        let mut feeds = lock(&self.feeds);
        lock(&self.finished).push(build);
        for feed in feeds.remove(&build).unwrap_or_default() {
            lock(&feed).push(LogUpdate::Finished);
        }
    }
}
