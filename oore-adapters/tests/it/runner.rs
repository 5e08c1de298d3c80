//! `ProcessRunner`: real shells, real process trees, real log files. Tests that look at
//! processes through `/proc` run on Linux only.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oore_adapters::logs::FsBuildLogs;
use oore_adapters::runner::{ProcessRunner, RunnerConfig, become_subreaper};
use oore_core::cancel::{CancelReason, CancelToken};
use oore_core::ids::BuildId;
use oore_core::ports::{
    BuildLogs, LogFile, LogStream, LogUpdate, RunError, StepCommand, StepEnd, StepRunner,
    Unrecorded,
};

use crate::{eventually, new_build};

mod accounts;
#[cfg(target_os = "linux")]
mod recovery;
mod scripts;
#[cfg(target_os = "linux")]
mod trees;

const GRACE: Duration = Duration::from_secs(1);
const STDOUT0: LogFile = LogFile::Step {
    index: 0,
    stream: LogStream::Stdout,
};
const STDERR0: LogFile = LogFile::Step {
    index: 0,
    stream: LogStream::Stderr,
};

struct Fixture {
    _dir: tempfile::TempDir,
    work: PathBuf,
    logs: FsBuildLogs,
    runner: ProcessRunner,
    build: BuildId,
}

impl Fixture {
    fn new() -> Self {
        Self::with_cap(64 << 20)
    }

    fn with_cap(cap: u64) -> Self {
        Self::with_config(cap, |_, _| {})
    }

    /// A fixture whose runner config `adjust` changes (given the temporary directory).
    fn with_config(cap: u64, adjust: impl FnOnce(&Path, &mut RunnerConfig)) -> Self {
        become_subreaper().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let logs = FsBuildLogs::new(dir.path().join("logs"), cap);
        let mut config = RunnerConfig {
            cancel_grace: GRACE,
            script_root: dir.path().join("private"),
            ..RunnerConfig::default()
        };
        adjust(dir.path(), &mut config);
        let runner = ProcessRunner::new(logs.clone(), config);
        Self {
            _dir: dir,
            work,
            logs,
            runner,
            build: new_build(),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "PATH".into(),
                std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
            ),
            ("HOME".into(), self.work.display().to_string()),
            ("OORE_BUILD_ID".into(), self.build.to_string()),
        ]
    }

    fn step(&self, script: &str) -> StepCommand {
        StepCommand {
            build_id: self.build,
            index: 0,
            script: script.to_owned(),
            working_dir: self.work.clone(),
            env: self.env(),
            timeout: Duration::from_secs(60),
        }
    }

    async fn run(&self, script: &str) -> Result<StepEnd, RunError> {
        self.runner
            .run(&self.step(script), &CancelToken::new(), &Unrecorded)
            .await
    }

    async fn output(&self, file: LogFile) -> Vec<u8> {
        self.logs
            .read(self.build, file, 0, usize::MAX)
            .await
            .unwrap()
            .data
    }

    #[cfg(target_os = "linux")]
    /// Live processes (not zombies) whose environment has this build's marker.
    fn marked_processes(&self) -> Vec<u32> {
        let marker = format!("OORE_BUILD_ID={}", self.build);
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            if environ.split(|&b| b == 0).any(|e| e == marker.as_bytes()) {
                found.push(pid);
            }
        }
        found
    }
}

#[cfg(target_os = "linux")]
fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(target_os = "linux")]
fn proc_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(target_os = "linux")]
fn session_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(3)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_are_reported() {
    let f = Fixture::new();
    assert_eq!(f.run("true").await, Ok(StepEnd::Exited(0)));
    assert_eq!(f.run("exit 3").await, Ok(StepEnd::Exited(3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_death_is_128_plus_the_signal() {
    let f = Fixture::new();
    assert_eq!(f.run("kill -KILL $$").await, Ok(StepEnd::Exited(128 + 9)));
    assert_eq!(f.run("kill -TERM $$").await, Ok(StepEnd::Exited(128 + 15)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_is_closed() {
    let f = Fixture::new();
    let started = Instant::now();
    assert_eq!(
        f.run("cat; read line; echo \"read=$?\"").await,
        Ok(StepEnd::Exited(0))
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(f.output(STDOUT0).await, b"read=1\n");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_is_exactly_the_one_given() {
    let f = Fixture::new();
    let mut step = f.step("tr '\\0' '\\n' < /proc/$$/environ; true");
    step.env.push(("DUP".into(), "first".into()));
    step.env.push(("DUP".into(), "second".into()));
    assert_eq!(
        f.runner.run(&step, &CancelToken::new(), &Unrecorded).await,
        Ok(StepEnd::Exited(0))
    );
    let text = String::from_utf8(f.output(STDOUT0).await).unwrap();
    let got: BTreeSet<&str> = text.lines().collect();
    let mut want: BTreeSet<String> = f.env().iter().map(|(k, v)| format!("{k}={v}")).collect();
    want.insert("DUP=second".into());
    assert_eq!(
        got,
        want.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_working_directory_is_honoured() {
    let f = Fixture::new();
    assert_eq!(f.run("pwd -P").await, Ok(StepEnd::Exited(0)));
    let want = format!("{}\n", f.work.canonicalize().unwrap().display());
    assert_eq!(String::from_utf8(f.output(STDOUT0).await).unwrap(), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_working_directory_is_a_spawn_error() {
    let f = Fixture::new();
    let mut step = f.step("true");
    step.working_dir = f.work.join("nope");
    match f.runner.run(&step, &CancelToken::new(), &Unrecorded).await {
        Err(RunError::Spawn { index: 0, message }) => {
            assert!(message.contains("does not exist"), "{message}");
            assert!(message.contains("nope"), "{message}");
        }
        other => panic!("expected a spawn error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_token_does_not_start_the_step() {
    let f = Fixture::new();
    let cancel = CancelToken::new();
    cancel.cancel(CancelReason::Shutdown);
    assert_eq!(
        f.runner
            .run(&f.step("touch ran"), &cancel, &Unrecorded)
            .await,
        Ok(StepEnd::Cancelled)
    );
    assert!(!f.work.join("ran").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_readable_while_the_step_runs() {
    let f = Fixture::new();
    let step =
        f.step("echo first-line; while [ ! -e release ]; do sleep 0.02; done; echo >&2 done");
    let task = {
        let runner = f.runner.clone();
        tokio::spawn(async move { runner.run(&step, &CancelToken::new(), &Unrecorded).await })
    };
    let (logs, build) = (f.logs.clone(), f.build);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(chunk) = logs.read(build, STDOUT0, 0, 1024).await
            && chunk.data == b"first-line\n"
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the line never showed up while the step ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!task.is_finished());
    std::fs::write(f.work.join("release"), b"").unwrap();
    assert_eq!(task.await.unwrap(), Ok(StepEnd::Exited(0)));
    assert_eq!(f.output(STDERR0).await, b"done\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_past_the_cap_keeps_the_newest_bytes() {
    let cap = 64 * 1024;
    let f = Fixture::with_cap(cap);
    let mut follower = f.logs.follow(f.build);
    assert_eq!(f.run("seq 1 200000").await, Ok(StepEnd::Exited(0)));
    f.logs.finish(f.build);

    let all: Vec<u8> = (1..=200_000)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect();
    let path = f.logs.path(f.build, STDOUT0);
    let raw = std::fs::read(&path).unwrap();
    let marker_end = raw.iter().position(|&b| b == b'\n').unwrap() + 1;
    let kept = &raw[marker_end..];
    let dropped = all.len() - kept.len();
    assert!(raw.len() as u64 <= cap + marker_end as u64);
    assert_eq!(
        std::str::from_utf8(&raw[..marker_end]).unwrap(),
        format!(
            "[oore: {dropped} earlier bytes dropped: log limit OORE_MAX_LOG_SIZE_BYTES={cap}]\n"
        )
    );
    assert!(all.ends_with(kept));

    let chunk = f.logs.read(f.build, STDOUT0, 0, usize::MAX).await.unwrap();
    assert_eq!(
        (chunk.offset as usize, chunk.next_offset as usize),
        (dropped, all.len())
    );

    let mut lens = Vec::new();
    while let Some(update) = follower.next().await {
        if let LogUpdate::Grew { file: STDOUT0, len } = update {
            lens.push(len);
        }
    }
    assert!(
        lens.windows(2).all(|w| w[0] <= w[1]),
        "offsets only grow: {lens:?}"
    );
    assert_eq!(lens.last().copied(), Some(all.len() as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_output_is_stored_byte_exact() {
    let f = Fixture::new();
    let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    std::fs::write(f.work.join("bytes.bin"), &bytes).unwrap();
    assert_eq!(
        f.run("cat bytes.bin; cat bytes.bin >&2").await,
        Ok(StepEnd::Exited(0))
    );
    assert_eq!(f.output(STDOUT0).await, bytes);
    assert_eq!(f.output(STDERR0).await, bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_see_growth_and_the_end() {
    let f = Fixture::new();
    let mut follower = f.logs.follow(f.build);
    assert_eq!(
        f.run("echo hi; echo oops >&2").await,
        Ok(StepEnd::Exited(0))
    );
    f.logs.finish(f.build);
    let mut updates = Vec::new();
    while let Some(update) = follower.next().await {
        updates.push(update);
    }
    assert!(
        updates.contains(&LogUpdate::Grew {
            file: STDOUT0,
            len: 3
        }),
        "{updates:?}"
    );
    assert!(
        updates.contains(&LogUpdate::Grew {
            file: STDERR0,
            len: 5
        }),
        "{updates:?}"
    );
    assert_eq!(updates.last(), Some(&LogUpdate::Finished));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_never_reads_does_not_slow_the_step() {
    let f = Fixture::new();
    let _idle = f.logs.follow(f.build);
    let started = Instant::now();
    assert_eq!(
        f.run("head -c 52428800 /dev/zero").await,
        Ok(StepEnd::Exited(0))
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let files = f.logs.files(f.build).await.unwrap();
    assert!(files.contains(&(STDOUT0, 52_428_800)), "{files:?}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_write_failure_stops_the_step() {
    let f = Fixture::new();
    // Every write to this log fails as on a full disk.
    let path = f.logs.path(f.build, STDOUT0);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/dev/full", &path).unwrap();
    let started = Instant::now();
    match f.run("echo $$ > leader.pid; yes").await {
        Err(RunError::Logs { index: 0, message }) => {
            assert!(message.contains("No space left"), "{message}");
            assert!(message.contains("free disk space"), "{message}");
        }
        other => panic!("expected a logs error, got {other:?}"),
    }
    assert!(started.elapsed() < GRACE + Duration::from_secs(5));
    let leader = read_pid(&f.work.join("leader.pid")).unwrap();
    eventually("the step to be gone", Duration::from_secs(5), || {
        !proc_exists(leader)
    })
    .await;
    assert!(f.marked_processes().is_empty());
}
