//! After a crash: `stop_interrupted` stops what a build's steps left, by the recorded
//! group (checked to be the same process) and by the build's marker, and nothing else.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use oore_adapters::runner::process_start;
use oore_core::ports::{StepProcess, StepRunner};

use super::{Fixture, proc_exists};
use crate::eventually;

/// `script` in its own group with the build's marker, as a step left by a dead `oored`.
fn leftover(f: &Fixture, script: &str) -> std::process::Child {
    Command::new("/bin/bash")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OORE_BUILD_ID", f.build.to_string())
        .current_dir(&f.work)
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap()
}

fn record(pid: u32) -> StepProcess {
    StepProcess {
        pid,
        process_group: pid,
        started: process_start(pid).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorded_group_and_the_marked_processes_are_stopped() {
    let f = Fixture::new();
    // Background, detached (setsid), unmarked (env -u) and foreground processes.
    let mut step = leftover(
        &f,
        "sleep 150 & setsid sleep 151 & env -u OORE_BUILD_ID sleep 153 & echo ready > ready; sleep 152; true",
    );
    eventually("the step to start", Duration::from_secs(10), || {
        f.work.join("ready").exists() && f.marked_processes().len() >= 4
    })
    .await;
    let leader = step.id();
    let stopped = f.runner.stop_interrupted(f.build, &[record(leader)]).await;
    assert_eq!(stopped, 5, "bash and four sleeps");
    let _ = step.wait();
    assert!(
        f.marked_processes().is_empty(),
        "{:?}",
        f.marked_processes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_pid_is_never_taken_for_the_leader() {
    let f = Fixture::new();
    // An unrelated process that got the recorded pid: not marked, another start time.
    let mut other = Command::new("sleep")
        .arg("30")
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = other.id();
    let stale = StepProcess {
        pid,
        process_group: pid,
        started: "linux:another-boot:1".to_owned(),
    };
    assert_eq!(f.runner.stop_interrupted(f.build, &[stale]).await, 0);
    assert!(proc_exists(pid));
    assert!(other.try_wait().unwrap().is_none(), "it was signalled");
    other.kill().unwrap();
    let _ = other.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_left_is_quick_and_counts_zero() {
    let f = Fixture::new();
    let started = std::time::Instant::now();
    assert_eq!(f.runner.stop_interrupted(f.build, &[]).await, 0);
    assert!(started.elapsed() < Duration::from_secs(1));
}
