//! Fakes of the execution ports, so the build use cases can be tested without processes,
//! git or files. The real adapters are tested against real processes in `oore-adapters`
//! and end to end in `oore-server`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::cancel::CancelToken;
use crate::ids::BuildId;
use crate::ports::{
    ArtifactCollector, ArtifactError, BuildLogs, BuildSignals, CollectOutcome, CollectRequest,
    FetchError, FetchRequest, LogChunk, LogError, LogFile, LogFollower, LogUpdate, RunError,
    SourceFetcher, StepCommand, StepEnd, StepRunner, WorkspaceError, Workspaces,
};
use crate::services::ExecutionPorts;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a scripted step does.
pub type StepScript = Box<dyn Fn(&StepCommand, &FakeWorkspaces) -> StepEnd + Send + Sync>;

/// A runner that answers by a closure and records every command. A script `wait` waits
/// for the cancel token and ends `Cancelled`.
pub struct ScriptedRunner {
    script: StepScript,
    workspaces: Arc<FakeWorkspaces>,
    /// Every command run, in order.
    pub commands: Mutex<Vec<StepCommand>>,
}

#[async_trait]
impl StepRunner for ScriptedRunner {
    async fn run(&self, command: &StepCommand, cancel: &CancelToken) -> Result<StepEnd, RunError> {
        lock(&self.commands).push(command.clone());
        if command.script.trim() == "wait" {
            cancel.cancelled().await;
            return Ok(StepEnd::Cancelled);
        }
        Ok((self.script)(command, &self.workspaces))
    }
}

/// Build logs in memory: system log lines (also kept as the `system` file's bytes) and
/// any file's bytes written with [`MemoryLogs::write`]. Offsets are plain byte indexes
/// (no size cap). `follow` yields nothing: tests drive followers with their own updates.
#[derive(Default)]
pub struct MemoryLogs {
    /// System log lines per build.
    pub lines: Mutex<HashMap<BuildId, Vec<String>>>,
    /// Builds whose logs were finished.
    pub finished: Mutex<Vec<BuildId>>,
    /// Every file's bytes, in creation order.
    files: Mutex<Vec<(BuildId, LogFile, Vec<u8>)>>,
}

impl MemoryLogs {
    /// Appends `data` to `file` of `build` (creating it) and returns its new length.
    pub fn write(&self, build: BuildId, file: LogFile, data: &[u8]) -> u64 {
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
    }
}

struct NoUpdates;

#[async_trait]
impl LogFollower for NoUpdates {
    async fn next(&mut self) -> Option<LogUpdate> {
        None
    }
}

#[async_trait]
impl BuildLogs for MemoryLogs {
    async fn append_system(&self, build: BuildId, line: &str) -> Result<(), LogError> {
        lock(&self.lines)
            .entry(build)
            .or_default()
            .push(line.to_owned());
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
        let end = start.saturating_add(max_bytes).min(data.len());
        Ok(LogChunk {
            data: data[start..end].to_vec(),
            offset: start as u64,
            next_offset: end as u64,
        })
    }

    async fn files(&self, build: BuildId) -> Result<Vec<(LogFile, u64)>, LogError> {
        Ok(lock(&self.files)
            .iter()
            .filter(|(b, _, _)| *b == build)
            .map(|(_, f, data)| (*f, data.len() as u64))
            .collect())
    }

    fn follow(&self, _: BuildId) -> Box<dyn LogFollower> {
        Box::new(NoUpdates)
    }

    fn finish(&self, build: BuildId) {
        lock(&self.finished).push(build);
    }
}

/// Workspaces under a made-up `/ws`, with repository files and `CM_ENV` lines in memory.
#[derive(Default)]
pub struct FakeWorkspaces {
    /// Files of every checkout: relative path -> content.
    pub files: Mutex<HashMap<String, String>>,
    /// Lines "appended to CM_ENV" so far.
    pub cm_env: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl Workspaces for FakeWorkspaces {
    async fn create(&self, build: BuildId) -> Result<PathBuf, WorkspaceError> {
        Ok(PathBuf::from(format!("/ws/{build}")))
    }

    async fn read_text(
        &self,
        _: BuildId,
        relative: &str,
        _: usize,
    ) -> Result<Option<String>, WorkspaceError> {
        Ok(lock(&self.files).get(relative).cloned())
    }

    fn cm_env_path(&self, build: BuildId) -> PathBuf {
        PathBuf::from(format!("/ws/.meta/{build}/cm_env"))
    }

    async fn read_cm_env(&self, _: BuildId) -> Result<Vec<(String, String)>, WorkspaceError> {
        Ok(lock(&self.cm_env).clone())
    }
}

/// A fetcher that "checks out" a fixed commit, or fails as told.
pub struct FakeFetcher {
    /// The answer.
    pub result: Mutex<Result<String, FetchError>>,
    /// Every request.
    pub requests: Mutex<Vec<FetchRequest>>,
}

#[async_trait]
impl SourceFetcher for FakeFetcher {
    async fn fetch(&self, request: &FetchRequest, _: &CancelToken) -> Result<String, FetchError> {
        lock(&self.requests).push(request.clone());
        lock(&self.result).clone()
    }
}

/// Artifacts "collected" as told.
#[derive(Default)]
pub struct FakeArtifacts {
    /// The answer.
    pub outcome: Mutex<CollectOutcome>,
}

#[async_trait]
impl ArtifactCollector for FakeArtifacts {
    async fn collect(&self, _: &CollectRequest) -> Result<CollectOutcome, ArtifactError> {
        Ok(lock(&self.outcome).clone())
    }
}

/// Records wake-ups and cancel requests; `live` lists builds a worker "owns".
#[derive(Default)]
pub struct RecordingSignals {
    /// Number of wake-ups.
    pub wakes: Mutex<u32>,
    /// Builds a worker owns.
    pub live: Mutex<Vec<BuildId>>,
    /// Cancel requests delivered to a worker.
    pub cancelled: Mutex<Vec<BuildId>>,
}

impl BuildSignals for RecordingSignals {
    fn wake_dispatcher(&self) {
        *lock(&self.wakes) += 1;
    }

    fn cancel_running(&self, build: BuildId) -> bool {
        let owned = lock(&self.live).contains(&build);
        if owned {
            lock(&self.cancelled).push(build);
        }
        owned
    }
}

/// The fakes, reachable for assertions, and the [`ExecutionPorts`] over them.
pub struct FakeExecution {
    /// The runner.
    pub runner: Arc<ScriptedRunner>,
    /// The logs.
    pub logs: Arc<MemoryLogs>,
    /// The workspaces.
    pub workspaces: Arc<FakeWorkspaces>,
    /// The fetcher.
    pub fetcher: Arc<FakeFetcher>,
    /// The artifact collector.
    pub artifacts: Arc<FakeArtifacts>,
}

impl FakeExecution {
    /// Fakes whose steps behave as `script` says and whose fetch returns `sha`.
    pub fn new(
        sha: &str,
        script: impl Fn(&StepCommand, &FakeWorkspaces) -> StepEnd + Send + Sync + 'static,
    ) -> Self {
        let workspaces = Arc::new(FakeWorkspaces::default());
        Self {
            runner: Arc::new(ScriptedRunner {
                script: Box::new(script),
                workspaces: workspaces.clone(),
                commands: Mutex::new(Vec::new()),
            }),
            logs: Arc::new(MemoryLogs::default()),
            workspaces,
            fetcher: Arc::new(FakeFetcher {
                result: Mutex::new(Ok(sha.to_owned())),
                requests: Mutex::new(Vec::new()),
            }),
            artifacts: Arc::new(FakeArtifacts::default()),
        }
    }

    /// The ports, for `execute_build`.
    pub fn ports(&self) -> ExecutionPorts {
        ExecutionPorts {
            runner: self.runner.clone(),
            logs: self.logs.clone(),
            workspaces: self.workspaces.clone(),
            fetcher: self.fetcher.clone(),
            artifacts: self.artifacts.clone(),
        }
    }

    /// The system log lines of `build`.
    pub fn system_log(&self, build: BuildId) -> Vec<String> {
        lock(&self.logs.lines)
            .get(&build)
            .cloned()
            .unwrap_or_default()
    }
}
