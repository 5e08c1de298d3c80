//! [`MemoryLogs`]: build logs in memory, keeping the [`BuildLogs`] contract for the system
//! log (step logs are written by a real runner, so the fake has none).

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

/// System log lines in memory, readable by offset and followed live like the real logs;
/// step logs are not kept (reading one is [`LogError::NotFound`]).
#[derive(Default)]
pub struct MemoryLogs {
    /// System log lines per build, as appended.
    pub lines: Mutex<HashMap<BuildId, Vec<String>>>,
    /// Builds whose logs were finished.
    pub finished: Mutex<Vec<BuildId>>,
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

/// The system log as the real one stores it: one line per append, each ending in `\n`.
fn system_log(lines: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line.strip_suffix('\n').unwrap_or(line).as_bytes());
        out.push(b'\n');
    }
    out
}

impl MemoryLogs {
    fn system_bytes(&self, build: BuildId) -> Result<Vec<u8>, LogError> {
        lock(&self.lines)
            .get(&build)
            .map(|lines| system_log(lines))
            .ok_or(LogError::NotFound)
    }
}

#[async_trait]
impl BuildLogs for MemoryLogs {
    async fn append_system(&self, build: BuildId, line: &str) -> Result<(), LogError> {
        let len = {
            let mut lines = lock(&self.lines);
            let lines = lines.entry(build).or_default();
            lines.push(line.to_owned());
            system_log(lines).len() as u64
        };
        if let Some(feeds) = lock(&self.feeds).get_mut(&build) {
            // Dropped followers unsubscribe.
            feeds.retain(|feed| Arc::strong_count(feed) > 1);
            for feed in feeds.iter() {
                lock(feed).push(LogUpdate::Grew {
                    file: LogFile::System,
                    len,
                });
            }
        }
        Ok(())
    }

    async fn read(
        &self,
        build: BuildId,
        file: LogFile,
        offset: u64,
        max_bytes: usize,
    ) -> Result<LogChunk, LogError> {
        if file != LogFile::System {
            return Err(LogError::NotFound);
        }
        let data = self.system_bytes(build)?;
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
        let len = self.system_bytes(build)?.len() as u64;
        Ok(vec![(LogFile::System, len)])
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
