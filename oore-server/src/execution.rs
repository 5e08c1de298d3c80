//! The production wiring of build execution: the [`ExecutionPorts`] adapters and the
//! [`ExecutionSettings`] from [`Config`], built once at startup.
//!
//! | port | adapter | setting |
//! |---|---|---|
//! | `StepRunner` | `ProcessRunner` | `OORE_CANCEL_GRACE_SECS`, `OORE_BUILD_USER` |
//! | `BuildLogs` | `FsBuildLogs` | `OORE_LOGS_DIR`, `OORE_MAX_LOG_SIZE_BYTES` |
//! | `Workspaces` | `FsWorkspaces` | `OORE_WORKSPACES_DIR`, `OORE_BUILD_USER` |
//! | `SourceFetcher` | `GitFetcher` (system `git`) | `OORE_BUILD_USER` |
//! | `ArtifactCollector` | `FsArtifacts` | `OORE_LOGS_DIR/artifacts`, `OORE_ARTIFACT_ROOTS`, `OORE_BUILD_USER` |
//!
//! The same adapters serve the file ports outside build execution: `FsArtifacts` is the
//! `ArtifactFiles` of downloads and the artifacts zip, and `FsWorkspaces`, `FsBuildLogs`
//! and `FsArtifacts` are the `BuildDirectories` the cleanup task prunes.
//!
//! A step's environment is built from nothing: [`BASE_ENV_VARS`] and the names of
//! `OORE_STEP_ENV_PASSTHROUGH` from `oored`'s own environment (when set; server settings
//! can never be among them), `PATH` falling back to [`DEFAULT_PATH`], then `HOME`, `USER`
//! and `LOGNAME` of the build user when steps run as one (`crate::isolation`), then what
//! the build adds.
//!
//! With a build user the runner drops to it before each step (or, on macOS, enters its
//! login session), the workspace's private files and the checkout are given to it, and
//! artifacts are only collected where it could read them.

use std::sync::Arc;

use oore_adapters::artifacts::FsArtifacts;
use oore_adapters::build_user::BuildUser;
use oore_adapters::git::{GitConfig, GitFetcher};
use oore_adapters::logs::FsBuildLogs;
use oore_adapters::runner::{ProcessRunner, RunnerConfig, launcher_for};
use oore_adapters::workspace::FsWorkspaces;
use oore_core::services::ExecutionPorts;
use oore_core::usecases::build::ExecutionSettings;

use crate::config::Config;
use crate::isolation::StepsRunAs;

/// Variables of `oored`'s environment that every step gets.
pub(crate) const BASE_ENV_VARS: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR", "SHELL",
];

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

/// The variables of [`BASE_ENV_VARS`] and then of `passthrough` that `lookup` has, in
/// that order, with `HOME`, `USER` and `LOGNAME` of `user` (when steps run as one)
/// instead of `oored`'s.
pub(crate) fn base_env(
    lookup: impl Fn(&str) -> Option<String>,
    passthrough: &[String],
    user: Option<&BuildUser>,
) -> Vec<(String, String)> {
    let identity: [(&str, Option<String>); 3] = match user {
        Some(u) => [
            ("HOME", Some(u.home.display().to_string())),
            ("USER", Some(u.name.clone())),
            ("LOGNAME", Some(u.name.clone())),
        ],
        None => [("HOME", None), ("USER", None), ("LOGNAME", None)],
    };
    let mut env: Vec<(String, String)> = Vec::new();
    let names = BASE_ENV_VARS
        .iter()
        .copied()
        .chain(passthrough.iter().map(String::as_str));
    for name in names {
        if env.iter().any(|(k, _)| k == name) {
            continue;
        }
        let value = match identity.iter().find(|(k, _)| *k == name) {
            Some((_, Some(v))) => Some(v.clone()),
            _ => lookup(name),
        };
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            env.push((name.to_owned(), v));
        }
    }
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.insert(0, ("PATH".to_owned(), DEFAULT_PATH.to_owned()));
    }
    env
}

/// Builds the execution adapters for `config`, steps running as `runs_as` with
/// `base_env`.
pub(crate) fn execution(
    config: &Config,
    base_env: Vec<(String, String)>,
    runs_as: &StepsRunAs,
) -> Execution {
    let user = runs_as.build_user();
    let owner = user.map(|u| (u.uid, u.gid));
    let logs = FsBuildLogs::new(config.logs_dir.clone(), config.max_log_size_bytes);
    let mut workspaces = FsWorkspaces::new(config.workspaces_dir.clone());
    let mut artifacts = FsArtifacts::new(config.logs_dir.join("artifacts"))
        .with_allowed_roots(config.artifact_roots.clone());
    if let Some(user) = user {
        workspaces = workspaces.with_owner(user.uid, user.gid);
        artifacts = artifacts.readable_by(user.clone());
    }
    let runner = Arc::new(ProcessRunner::new(
        logs.clone(),
        RunnerConfig {
            cancel_grace: config.cancel_grace,
            script_root: workspaces.private_root(),
            launcher: launcher_for(user.cloned()),
            ..RunnerConfig::default()
        },
    ));
    let shared_logs: Arc<dyn oore_core::ports::BuildLogs> = Arc::new(logs.clone());
    let git = GitConfig {
        owner,
        ..GitConfig::default()
    };
    let fetcher = GitFetcher::new(shared_logs.clone(), git);
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
        let env = base_env(
            |name| match name {
                "HOME" => Some("/home/oore".into()),
                "LANG" => Some("C.UTF-8".into()),
                "TMPDIR" => Some(String::new()),
                "ENCRYPTION_KEY" | "OORE_ADMIN_TOKEN" => Some("secret".into()),
                _ => None,
            },
            &[],
            None,
        );
        assert_eq!(
            env,
            [
                ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
                ("HOME".to_owned(), "/home/oore".to_owned()),
                ("LANG".to_owned(), "C.UTF-8".to_owned()),
            ]
        );
        let env = base_env(
            |name| (name == "PATH").then(|| "/opt/bin".to_owned()),
            &[],
            None,
        );
        assert_eq!(env, [("PATH".to_owned(), "/opt/bin".to_owned())]);
    }

    #[test]
    fn passthrough_adds_names_and_a_build_user_brings_its_identity() {
        let user = BuildUser {
            name: "oore-build".into(),
            uid: 990,
            gid: 990,
            groups: vec![990],
            home: "/var/lib/oore-build".into(),
        };
        let lookup = |name: &str| match name {
            "HOME" => Some("/root".into()),
            "USER" | "LOGNAME" => Some("root".into()),
            "ANDROID_HOME" => Some("/opt/android".into()),
            _ => None,
        };
        let passthrough = vec![
            "ANDROID_HOME".to_owned(),
            "HOME".to_owned(),
            "UNSET".to_owned(),
        ];
        let env = base_env(lookup, &passthrough, Some(&user));
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("PATH", DEFAULT_PATH),
                ("HOME", "/var/lib/oore-build"),
                ("USER", "oore-build"),
                ("LOGNAME", "oore-build"),
                ("ANDROID_HOME", "/opt/android"),
            ]
        );
    }
}
