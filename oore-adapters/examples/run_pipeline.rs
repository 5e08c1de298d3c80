//! Runs a pipeline on a local git repository through `oore-core` and `oore-adapters`
//! alone, with no HTTP server: the same use cases `oored`'s dispatcher drives.
//!
//! ```sh
//! cargo run -p oore-adapters --example run_pipeline -- /path/to/repo [branch]
//! ```
//!
//! Without arguments it makes a small repository with an `oore.yaml` in a temp dir.
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example shows its result"
)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use oore_adapters::artifacts::FsArtifacts;
use oore_adapters::crypto::EncryptionKey;
use oore_adapters::git::{GitConfig, GitFetcher};
use oore_adapters::logs::FsBuildLogs;
use oore_adapters::runner::{ProcessRunner, RunnerConfig, become_subreaper};
use oore_adapters::services::sqlite_services;
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_adapters::workspace::FsWorkspaces;
use oore_core::cancel::CancelToken;
use oore_core::domain::build::BuildStatus;
use oore_core::ids::BuildId;
use oore_core::pipeline::PipelinePrecedence;
use oore_core::ports::{BuildLogs, BuildSignals, BuildUpdate, LogFile, LogStream};
use oore_core::services::ExecutionPorts;
use oore_core::usecases::build::{ExecutionSettings, TriggerBuild, execute_build, trigger_build};
use oore_core::usecases::repository::{AddRepository, add_repository};

/// This example runs the build itself right after queueing it, so there is no
/// dispatcher to wake and no other worker to signal.
struct Inline;

impl BuildSignals for Inline {
    fn wake_dispatcher(&self) {}

    fn cancel_running(&self, _: BuildId, _: oore_core::cancel::CancelReason) -> bool {
        false
    }
}

fn sample_repository(dir: &Path) -> Result<PathBuf, Box<dyn Error>> {
    let repo = dir.join("app");
    std::fs::create_dir_all(&repo)?;
    std::fs::write(
        repo.join("oore.yaml"),
        "workflows:\n  demo:\n    scripts:\n      - name: hello\n        script: echo \"hello from build $BUILD_NUMBER of $CM_REPO_SLUG at $CM_COMMIT\"\n      - echo \"VERSION=1.0.$BUILD_NUMBER\" >> $CM_ENV\n      - mkdir -p out && echo \"app $VERSION\" > out/app.txt\n    artifacts:\n      - out/*.txt\n",
    )?;
    let git = |args: &[&str]| Command::new("git").args(args).current_dir(&repo).status();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=oore",
            "-c",
            "user.email=oore@example.invalid",
            "commit",
            "-qm",
            "demo",
        ],
    ] {
        if !git(args)?.success() {
            return Err(format!("git {} failed", args.join(" ")).into());
        }
    }
    Ok(repo)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let data = tempfile::tempdir()?;
    let mut args = std::env::args().skip(1);
    let repo_path = match args.next() {
        Some(path) => std::fs::canonicalize(path)?,
        None => sample_repository(data.path())?,
    };
    let branch = args.next();
    become_subreaper()?;

    let store = SqliteStore::open(&data.path().join("oore.db"), SqliteConfig::default()).await?;
    let svc = sqlite_services(store, &EncryptionKey::generate());
    let logs = FsBuildLogs::new(data.path().join("logs"), 50 * 1024 * 1024);
    let shared_logs: Arc<dyn BuildLogs> = Arc::new(logs.clone());
    let workspaces = FsWorkspaces::new(data.path().join("workspaces"));
    let runner_config = RunnerConfig {
        script_root: workspaces.private_root(),
        ..RunnerConfig::default()
    };
    let ports = ExecutionPorts {
        runner: Arc::new(ProcessRunner::new(logs.clone(), runner_config)),
        logs: shared_logs.clone(),
        workspaces: Arc::new(workspaces),
        fetcher: Arc::new(GitFetcher::new(shared_logs, GitConfig::default())),
        artifacts: Arc::new(FsArtifacts::new(data.path().join("logs/artifacts"))),
    };
    let settings = ExecutionSettings {
        max_build_duration: std::time::Duration::from_secs(3600),
        max_step_duration: std::time::Duration::from_secs(1800),
        precedence: PipelinePrecedence::Database,
        base_env: vec![(
            "PATH".into(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        )],
    };

    let repo = add_repository(
        &svc,
        AddRepository {
            provider: "git".into(),
            owner: "local".into(),
            name: repo_path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("repo")
                .into(),
            clone_url: Some(format!("file://{}", repo_path.display())),
            ..AddRepository::default()
        },
    )
    .await?;
    let build = trigger_build(
        &svc,
        &Inline,
        repo.id,
        TriggerBuild {
            branch,
            ..TriggerBuild::default()
        },
    )
    .await?;
    let started = BuildUpdate {
        started_at: Some(svc.clock.now()),
        ..BuildUpdate::default()
    };
    svc.builds
        .transition_build(
            build.id,
            BuildStatus::Pending,
            BuildStatus::Running,
            &started,
        )
        .await?;
    let status = execute_build(&svc, &ports, &settings, build.id, &CancelToken::new()).await?;

    println!("build #{} {}: {status}", build.number, build.id);
    for step in svc.builds.list_steps(build.id).await? {
        println!("step {} {:<40} {}", step.index, step.name, step.status);
        let out = logs
            .read(
                build.id,
                LogFile::Step {
                    index: step.index,
                    stream: LogStream::Stdout,
                },
                0,
                64 * 1024,
            )
            .await;
        if let Ok(chunk) = out {
            print!("{}", String::from_utf8_lossy(&chunk.data));
        }
    }
    for artifact in svc.builds.list_artifacts(build.id).await? {
        println!(
            "artifact {} ({} bytes, sha256 {})",
            artifact.path, artifact.size, artifact.sha256
        );
    }
    if status != BuildStatus::Success {
        let system = logs.read(build.id, LogFile::System, 0, 64 * 1024).await?;
        eprint!("{}", String::from_utf8_lossy(&system.data));
        std::process::exit(1);
    }
    Ok(())
}
