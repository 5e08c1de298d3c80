//! The production wiring of build execution: the [`ExecutionPorts`] adapters and the
//! [`ExecutionSettings`] from [`Config`], built once at startup.
//!
//! | port | adapter | setting |
//! |---|---|---|
//! | `StepRunner` | `ProcessRunner` | `OORE_CANCEL_GRACE_SECS` |
//! | `BuildLogs` | `FsBuildLogs` | `OORE_LOGS_DIR`, `OORE_MAX_LOG_SIZE_BYTES` |
//! | `Workspaces` | `FsWorkspaces` | `OORE_WORKSPACES_DIR` |
//! | `SourceFetcher` | `GitFetcher` (system `git`) | |
//! | `ArtifactCollector` | `FsArtifacts` | `OORE_LOGS_DIR/artifacts` |
//!
//! The same adapters serve the file ports outside build execution: `FsArtifacts` is the
//! `ArtifactFiles` of downloads and the artifacts zip, and `FsWorkspaces`, `FsBuildLogs`
//! and `FsArtifacts` are the `BuildDirectories` the cleanup task prunes.
//!
//! Steps inherit only [`BASE_ENV_VARS`] from `oored`'s own environment (when set), never
//! its secrets; `PATH` falls back to [`DEFAULT_PATH`].

use std::sync::Arc;

use oore_adapters::artifacts::FsArtifacts;
use oore_adapters::git::{GitConfig, GitFetcher};
use oore_adapters::logs::FsBuildLogs;
use oore_adapters::runner::{ProcessRunner, RunnerConfig};
use oore_adapters::workspace::FsWorkspaces;
use oore_core::services::ExecutionPorts;
use oore_core::usecases::build::ExecutionSettings;

use crate::config::Config;

/// Variables of `oored`'s environment that every step gets.
pub(crate) const BASE_ENV_VARS: &[&str] =
    &["PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "SHELL"];

/// `PATH` for steps when `oored` has none.
pub(crate) const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The adapters of build execution, typed (the dispatcher and the cleanup task need more
/// than the ports), and the ports over them.
#[derive(Clone)]
pub(crate) struct Execution {
    pub(crate) ports: ExecutionPorts,
    pub(crate) settings: Arc<ExecutionSettings>,
    pub(crate) runner: Arc<ProcessRunner>,
    pub(crate) logs: FsBuildLogs,
    pub(crate) workspaces: FsWorkspaces,
    pub(crate) artifacts: FsArtifacts,
}

/// The variables of [`BASE_ENV_VARS`] that `lookup` has, in that order.
pub(crate) fn base_env(lookup: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = BASE_ENV_VARS
        .iter()
        .filter_map(|name| {
            lookup(name)
                .filter(|v| !v.is_empty())
                .map(|v| ((*name).to_owned(), v))
        })
        .collect();
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.insert(0, ("PATH".to_owned(), DEFAULT_PATH.to_owned()));
    }
    env
}

/// Builds the execution adapters for `config`; steps get `base_env`.
pub(crate) fn execution(config: &Config, base_env: Vec<(String, String)>) -> Execution {
    let logs = FsBuildLogs::new(config.logs_dir.clone(), config.max_log_size_bytes);
    let runner = Arc::new(ProcessRunner::new(
        logs.clone(),
        RunnerConfig {
            cancel_grace: config.cancel_grace,
            ..RunnerConfig::default()
        },
    ));
    let workspaces = FsWorkspaces::new(config.workspaces_dir.clone());
    let artifacts = FsArtifacts::new(config.logs_dir.join("artifacts"));
    let shared_logs: Arc<dyn oore_core::ports::BuildLogs> = Arc::new(logs.clone());
    let fetcher = GitFetcher::new(shared_logs.clone(), GitConfig::default());
    let ports = ExecutionPorts {
        runner: runner.clone(),
        logs: shared_logs,
        workspaces: Arc::new(workspaces.clone()),
        fetcher: Arc::new(fetcher),
        artifacts: Arc::new(artifacts.clone()),
    };
    let settings = ExecutionSettings {
        max_build_duration: config.max_build_duration,
        max_step_duration: config.max_step_duration,
        precedence: config.pipeline_precedence,
        base_env,
    };
    Execution {
        ports,
        settings: Arc::new(settings),
        runner,
        logs,
        workspaces,
        artifacts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_env_takes_only_the_listed_variables() {
        let env = base_env(|name| match name {
            "HOME" => Some("/home/oore".into()),
            "LANG" => Some("C.UTF-8".into()),
            "TMPDIR" => Some(String::new()),
            _ => None,
        });
        assert_eq!(
            env,
            [
                ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
                ("HOME".to_owned(), "/home/oore".to_owned()),
                ("LANG".to_owned(), "C.UTF-8".to_owned()),
            ]
        );
        let env = base_env(|name| (name == "PATH").then(|| "/opt/bin".to_owned()));
        assert_eq!(env, [("PATH".to_owned(), "/opt/bin".to_owned())]);
    }
}
