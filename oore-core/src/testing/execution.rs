//! Fakes of the execution ports, so the build use cases can be tested without processes,
//! git or files. The real adapters are tested against real processes in `oore-adapters`
//! and end to end in `oore-server`.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::MemoryLogs;
use crate::cancel::{CancelReason, CancelToken};
use crate::ids::BuildId;
use crate::ports::{
    ArtifactCollector, ArtifactError, BuildSignals, CollectOutcome, CollectRequest, FetchError,
    FetchRequest, RunError, SourceFetcher, StepCommand, StepEnd, StepProcess, StepRunner,
    StepStarted, WorkspaceError, Workspaces,
};
use crate::services::ExecutionPorts;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a scripted step does.
pub type StepScript = Box<dyn Fn(&StepCommand, &FakeWorkspaces) -> StepEnd + Send + Sync>;

/// A runner that answers by a closure and records every command. A script `wait` waits
/// for the cancel token and ends `Cancelled`. Each step "starts" as process `1000 +
/// index` (told to `started`); `stop_interrupted` records its arguments and reports one
/// process stopped per record.
pub struct ScriptedRunner {
    script: StepScript,
    workspaces: Arc<FakeWorkspaces>,
    /// Every command run, in order.
    pub commands: Mutex<Vec<StepCommand>>,
    /// Every `stop_interrupted` call: the build and what was recorded for it.
    pub interrupted: Mutex<Vec<(BuildId, Vec<StepProcess>)>>,
}

/// The process [`ScriptedRunner`] reports for step `index`.
pub fn scripted_process(index: u32) -> StepProcess {
    StepProcess {
        pid: 1000 + index,
        process_group: 1000 + index,
        started: format!("fake:{index}"),
    }
}

#[async_trait]
impl StepRunner for ScriptedRunner {
    async fn run(
        &self,
        command: &StepCommand,
        cancel: &CancelToken,
        started: &dyn StepStarted,
    ) -> Result<StepEnd, RunError> {
        lock(&self.commands).push(command.clone());
        started.started(&scripted_process(command.index)).await;
        if command.script.trim() == "wait" {
            cancel.cancelled().await;
            return Ok(StepEnd::Cancelled);
        }
        Ok((self.script)(command, &self.workspaces))
    }

    async fn stop_interrupted(&self, build: BuildId, recorded: &[StepProcess]) -> usize {
        lock(&self.interrupted).push((build, recorded.to_vec()));
        recorded.len()
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
        max_bytes: usize,
    ) -> Result<Option<String>, WorkspaceError> {
        // As the real workspaces: plain relative paths only, `./` allowed.
        let refused = || {
            WorkspaceError(format!(
                "refusing to read '{relative}': only paths inside the workspace, without '..', can be read"
            ))
        };
        let mut parts = Vec::new();
        for component in Path::new(relative).components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy()),
                Component::CurDir => {}
                _ => return Err(refused()),
            }
        }
        if parts.is_empty() {
            return Err(refused());
        }
        let content = lock(&self.files).get(&parts.join("/")).cloned();
        match content {
            Some(text) if text.len() > max_bytes => Err(WorkspaceError(format!(
                "{relative} is larger than {max_bytes} bytes; make it smaller"
            ))),
            other => Ok(other),
        }
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

    fn cancel_running(&self, build: BuildId, _: CancelReason) -> bool {
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
                interrupted: Mutex::new(Vec::new()),
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
