//! Per-build log files: [`FsBuildLogs`] implements [`BuildLogs`] on a directory tree.
//!
//! Layout (spec 17.3): `root/<build_id>/system.log`, `root/<build_id>/step-N-stdout.log`
//! and `step-N-stderr.log`. Output is written as it arrives through a [`LogWriter`] (one per
//! file), stored byte for byte, binary included.
//!
//! * **Size cap.** Each file keeps at most `max_file_bytes` of data (`OORE_MAX_LOG_SIZE_BYTES`,
//!   default 50 MiB). Past it the oldest part (whole lines when possible) is dropped, the
//!   newest half of the cap is kept, and a marker line at the top says how much was
//!   dropped; the step is never blocked. See `writer` for the cut and `file` for the
//!   on-disk format.
//! * **Logical offsets.** [`BuildLogs::read`] offsets count every byte ever written, dropped
//!   ones included, so a follower's offset stays valid across cuts and restarts: the dropped
//!   count lives in the file's own marker line, which is renamed into place atomically
//!   together with the bytes it describes; a sidecar `<file>.dropped` says the first line is
//!   that marker, so output that merely looks like one is left alone.
//! * **Live follow.** Each build has a `tokio::sync::broadcast` of [`LogUpdate`]s (see
//!   `follow`); writers coalesce `Grew` updates and never wait for a viewer. A follower of
//!   a build whose `finish` was recently called gets `Finished` at once; following a build
//!   finished long ago (not remembered) waits for updates that never come, so callers
//!   should check the build's status before following it.
//!
//! Reads and `files` use the same blocking code whether a writer is live or the server was
//! restarted; async methods run it on the blocking pool.

mod file;
mod follow;
mod writer;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use oore_core::ids::BuildId;
use oore_core::ports::{
    BuildDirectories, BuildLogs, LogChunk, LogError, LogFile, LogFollower, LogStream, LogUpdate,
    RetentionError, StoredBuildDir,
};
use tokio::sync::broadcast;

pub use follow::NOTIFY_INTERVAL;
pub use writer::LogWriter;

use crate::build_dirs;
use crate::workspace::force_remove_dir;
use follow::{BroadcastFollower, CHANNEL_CAPACITY, Notifier};
use writer::{Claim, Claims};

/// `OORE_MAX_LOG_SIZE_BYTES` default: 50 MiB per file.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;

/// The setting that moves the log directory (for error messages).
const SETTING: &str = "OORE_LOGS_DIR";

/// How many finished builds are remembered so a late `follow` ends at once.
const REMEMBERED_FINISHED: usize = 4096;

/// Per-build log files under one root directory. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub struct FsBuildLogs {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    cap: u64,
    builds: Mutex<Builds>,
}

#[derive(Debug, Default)]
struct Builds {
    live: HashMap<BuildId, Arc<BuildState>>,
    finished_order: VecDeque<BuildId>,
    finished: HashSet<BuildId>,
}

#[derive(Debug)]
struct BuildState {
    tx: broadcast::Sender<LogUpdate>,
    claims: Claims,
    system: Mutex<Option<LogWriter>>,
}

impl BuildState {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
            claims: Claims::default(),
            system: Mutex::new(None),
        })
    }
}

impl FsBuildLogs {
    /// Logs under `root`, each file capped at `max_file_bytes` of data (at least 1).
    pub fn new(root: PathBuf, max_file_bytes: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                root,
                cap: max_file_bytes.max(1),
                builds: Mutex::new(Builds::default()),
            }),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The per-file cap in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.inner.cap
    }

    /// `root/<build_id>`.
    pub fn build_dir(&self, build: BuildId) -> PathBuf {
        self.inner.root.join(build.to_string())
    }

    /// Where `file` of `build` is stored.
    pub fn path(&self, build: BuildId, file: LogFile) -> PathBuf {
        self.build_dir(build).join(file_name(file))
    }

    /// A writer for one step stream; see `writer`(Self::writer).
    pub fn step_writer(
        &self,
        build: BuildId,
        index: u32,
        stream: LogStream,
    ) -> io::Result<LogWriter> {
        self.writer(build, LogFile::Step { index, stream })
    }

    /// A writer for `file`, creating the build directory and the file if needed, or
    /// continuing an existing file. At most one writer per file at a time: a second one
    /// fails with `AlreadyExists` until the first is dropped. `system.log` is written by
    /// [`BuildLogs::append_system`], which holds its writer until [`BuildLogs::finish`].
    pub fn writer(&self, build: BuildId, file: LogFile) -> io::Result<LogWriter> {
        let state = self.state(build);
        self.open_writer(&state, build, file)
    }

    fn open_writer(
        &self,
        state: &BuildState,
        build: BuildId,
        file: LogFile,
    ) -> io::Result<LogWriter> {
        let claim = Claim::take(&state.claims, file)?;
        let notifier = Notifier::new(state.tx.clone(), file);
        LogWriter::open(
            self.path(build, file),
            file,
            self.inner.cap,
            notifier,
            claim,
        )
    }

    fn builds(&self) -> MutexGuard<'_, Builds> {
        self.inner.builds.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state(&self, build: BuildId) -> Arc<BuildState> {
        self.builds()
            .live
            .entry(build)
            .or_insert_with(BuildState::new)
            .clone()
    }

    /// Blocking body of `append_system`.
    fn append_system_blocking(&self, build: BuildId, line: &str) -> io::Result<()> {
        let state = self.state(build);
        let mut system = state.system.lock().unwrap_or_else(|p| p.into_inner());
        if system.is_none() {
            *system = Some(self.open_writer(&state, build, LogFile::System)?);
        }
        let Some(writer) = system.as_mut() else {
            return Ok(());
        };
        let now = jiff::Timestamp::now();
        let line = line.strip_suffix('\n').unwrap_or(line);
        writer.write_all(format!("{now:.3} {line}\n").as_bytes())?;
        writer.flush();
        Ok(())
    }

    fn files_blocking(&self, build: BuildId) -> io::Result<Vec<(LogFile, u64)>> {
        let dir = self.build_dir(build);
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let Some(file) = entry.file_name().to_str().and_then(parse_file_name) else {
                continue;
            };
            match file::logical_len(&entry.path()) {
                Ok(len) => files.push((file, len)),
                // Removed between listing and opening: not there any more.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        files.sort_by_key(|(file, _)| sort_key(*file));
        Ok(files)
    }
}

/// `system.log` or `step-N-stdout.log` / `step-N-stderr.log`.
pub fn file_name(file: LogFile) -> String {
    match file {
        LogFile::System => "system.log".to_owned(),
        LogFile::Step { index, stream } => format!("step-{index}-{}.log", stream.as_str()),
    }
}

/// The inverse of [`file_name`]; `None` for anything else in the directory.
pub fn parse_file_name(name: &str) -> Option<LogFile> {
    if name == "system.log" {
        return Some(LogFile::System);
    }
    let rest = name.strip_prefix("step-")?.strip_suffix(".log")?;
    let (index, stream) = rest.split_once('-')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let stream = match stream {
        "stdout" => LogStream::Stdout,
        "stderr" => LogStream::Stderr,
        _ => return None,
    };
    Some(LogFile::Step {
        index: index.parse().ok()?,
        stream,
    })
}

fn sort_key(file: LogFile) -> (u8, u32, u8) {
    match file {
        LogFile::System => (0, 0, 0),
        LogFile::Step {
            index,
            stream: LogStream::Stdout,
        } => (1, index, 0),
        LogFile::Step {
            index,
            stream: LogStream::Stderr,
        } => (1, index, 1),
    }
}

fn io_error(what: &str, path: &Path, e: io::Error) -> LogError {
    if e.kind() == io::ErrorKind::NotFound {
        return LogError::NotFound;
    }
    LogError::Io(format!(
        "cannot {what} {}: {e}; check that the logs directory exists, is writable and has free space",
        path.display()
    ))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, LogError> + Send + 'static,
) -> Result<T, LogError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| LogError::Io(format!("log task failed: {e}; retry the request")))?
}

#[async_trait]
impl BuildLogs for FsBuildLogs {
    async fn append_system(&self, build: BuildId, line: &str) -> Result<(), LogError> {
        let this = self.clone();
        let line = line.to_owned();
        blocking(move || {
            this.append_system_blocking(build, &line)
                .map_err(|e| io_error("append to", &this.path(build, LogFile::System), e))
        })
        .await
    }

    async fn read(
        &self,
        build: BuildId,
        file: LogFile,
        offset: u64,
        max_bytes: usize,
    ) -> Result<LogChunk, LogError> {
        let path = self.path(build, file);
        blocking(move || {
            file::read_chunk(&path, offset, max_bytes).map_err(|e| io_error("read", &path, e))
        })
        .await
    }

    async fn files(&self, build: BuildId) -> Result<Vec<(LogFile, u64)>, LogError> {
        let this = self.clone();
        blocking(move || {
            this.files_blocking(build)
                .map_err(|e| io_error("list", &this.build_dir(build), e))
        })
        .await
    }

    fn follow(&self, build: BuildId) -> Box<dyn LogFollower> {
        let mut builds = self.builds();
        if builds.finished.contains(&build) {
            return Box::new(BroadcastFollower::already_finished());
        }
        let state = builds
            .live
            .entry(build)
            .or_insert_with(BuildState::new)
            .clone();
        Box::new(BroadcastFollower::live(state.tx.subscribe()))
    }

    fn finish(&self, build: BuildId) {
        let state = {
            let mut builds = self.builds();
            if builds.finished.insert(build) {
                builds.finished_order.push_back(build);
                if builds.finished_order.len() > REMEMBERED_FINISHED
                    && let Some(old) = builds.finished_order.pop_front()
                {
                    builds.finished.remove(&old);
                }
            }
            builds.live.remove(&build)
        };
        if let Some(state) = state {
            // Drop the system writer first: it announces its final length.
            drop(
                state
                    .system
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take(),
            );
            let _ = state.tx.send(LogUpdate::Finished);
        }
    }
}

/// Retention: each build's log directory, `root/<build_id>/` (the `artifacts`
/// directory beside them is not a build's).
#[async_trait]
impl BuildDirectories for FsBuildLogs {
    fn kind(&self) -> &'static str {
        "logs"
    }

    async fn list(&self) -> Result<Vec<StoredBuildDir>, RetentionError> {
        let root = self.inner.root.clone();
        build_dirs::blocking(move || build_dirs::list(&root, SETTING)).await
    }

    async fn remove(&self, build: BuildId) -> Result<(), RetentionError> {
        let (root, dir) = (self.inner.root.clone(), self.build_dir(build));
        build_dirs::blocking(move || {
            force_remove_dir(&dir).map_err(|e| build_dirs::remove_error(&dir, &e, &root, SETTING))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        for file in [
            LogFile::System,
            LogFile::Step {
                index: 0,
                stream: LogStream::Stdout,
            },
            LogFile::Step {
                index: 12,
                stream: LogStream::Stderr,
            },
        ] {
            assert_eq!(parse_file_name(&file_name(file)), Some(file));
        }
        for other in [
            "step-1-stdout.log.dropped",
            "step--stdout.log",
            "step-x-stdout.log",
            "a",
        ] {
            assert_eq!(parse_file_name(other), None, "{other}");
        }
    }
}
