//! Process trees: timeouts, cancel, escaped and orphaned processes, reaping (Linux).

use std::time::{Duration, Instant};

use oore_core::cancel::{CancelReason, CancelToken};
use oore_core::ports::{StepEnd, StepRunner, Unrecorded};

use super::{Fixture, GRACE, proc_exists, read_pid, session_of};
use crate::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_past_its_timeout_is_stopped() {
    let f = Fixture::new();
    let mut step = f.step("echo $$ > leader.pid; sleep 30");
    step.timeout = Duration::from_millis(300);
    let started = Instant::now();
    assert_eq!(
        f.runner.run(&step, &CancelToken::new(), &Unrecorded).await,
        Ok(StepEnd::TimedOut)
    );
    assert!(started.elapsed() < step.timeout + GRACE + Duration::from_secs(3));
    let leader = read_pid(&f.work.join("leader.pid")).unwrap();
    eventually("the leader to be gone", Duration::from_secs(5), || {
        !proc_exists(leader)
    })
    .await;
    assert!(f.marked_processes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_kills_the_whole_tree_including_escaped_processes() {
    let f = Fixture::new();
    // The leader ignores TERM (and so does everything it starts). Three processes leave the
    // group and the session with setsid and would sleep forever: one stays the leader's
    // child, one is orphaned at once (found by its environment marker only), one clears its
    // environment (found as the leader's descendant only).
    let script = r#"
        trap '' TERM
        setsid sh -c 'echo $$ > child.pid; exec sleep 1000' &
        (setsid sh -c 'echo $$ > orphan.pid; exec sleep 1000' &)
        setsid env -i sh -c 'echo $$ > clean.pid; exec sleep 1000' &
        echo $$ > leader.pid
        while :; do sleep 1; done
    "#;
    let step = f.step(script);
    let cancel = CancelToken::new();
    let task = {
        let (runner, cancel) = (f.runner.clone(), cancel.clone());
        tokio::spawn(async move { runner.run(&step, &cancel, &Unrecorded).await })
    };
    let files = ["leader", "child", "orphan", "clean"].map(|n| f.work.join(format!("{n}.pid")));
    eventually("all pid files", Duration::from_secs(10), || {
        files.iter().all(|p| read_pid(p).is_some())
    })
    .await;
    let [leader, child, orphan, clean] = files.map(|p| read_pid(&p).unwrap());
    for escaped in [child, orphan, clean] {
        assert_ne!(
            session_of(escaped),
            session_of(leader),
            "{escaped} escaped the session"
        );
    }

    let cancelled_at = Instant::now();
    cancel.cancel(CancelReason::User);
    let result = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, Ok(StepEnd::Cancelled));
    let took = cancelled_at.elapsed();
    assert!(
        took >= GRACE,
        "TERM is ignored, so the grace period runs out: {took:?}"
    );
    assert!(took < GRACE + Duration::from_secs(4), "took {took:?}");

    eventually(
        "every process to be gone and reaped",
        Duration::from_secs(5),
        || {
            [leader, child, orphan, clean]
                .iter()
                .all(|&p| !proc_exists(p))
        },
    )
    .await;
    assert_eq!(f.marked_processes(), Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftover_processes_are_stopped_at_the_end_of_the_build() {
    let f = Fixture::new();
    let script = "setsid sh -c 'echo $$ > daemon.pid; exec sleep 1000' > /dev/null 2>&1 &";
    assert_eq!(f.run(script).await, Ok(StepEnd::Exited(0)));
    let daemon_file = f.work.join("daemon.pid");
    eventually("the daemon's pid", Duration::from_secs(10), || {
        read_pid(&daemon_file).is_some()
    })
    .await;
    let daemon = read_pid(&daemon_file).unwrap();
    assert!(
        proc_exists(daemon),
        "a step may leave a service running for the next step"
    );

    f.runner.stop_build_processes(f.build).await;
    eventually(
        "the daemon to be gone and reaped",
        Duration::from_secs(5),
        || !proc_exists(daemon),
    )
    .await;
    assert!(f.marked_processes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_that_exit_while_the_step_runs_are_reaped() {
    let f = Fixture::new();
    // The orphan stays in the step's group; it exits while the leader still runs.
    let step = f.step(
        "sh -c 'sleep 0.2 & echo $! > orphan.pid'; while [ ! -e release ]; do sleep 0.02; done",
    );
    let task = {
        let runner = f.runner.clone();
        tokio::spawn(async move { runner.run(&step, &CancelToken::new(), &Unrecorded).await })
    };
    let orphan_file = f.work.join("orphan.pid");
    eventually("the orphan's pid", Duration::from_secs(10), || {
        read_pid(&orphan_file).is_some()
    })
    .await;
    let orphan = read_pid(&orphan_file).unwrap();
    eventually(
        "the orphan to exit and be reaped",
        Duration::from_secs(5),
        || !proc_exists(orphan),
    )
    .await;
    assert!(!task.is_finished());
    std::fs::write(f.work.join("release"), b"").unwrap();
    assert_eq!(task.await.unwrap(), Ok(StepEnd::Exited(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escaped_processes_that_exit_after_the_step_are_reaped() {
    let f = Fixture::new();
    let script = "setsid sh -c 'echo $$ > d.pid; while [ ! -e release ]; do sleep 0.02; done' > /dev/null 2>&1 &";
    assert_eq!(f.run(script).await, Ok(StepEnd::Exited(0)));
    let pid_file = f.work.join("d.pid");
    eventually("the daemon's pid", Duration::from_secs(10), || {
        read_pid(&pid_file).is_some()
    })
    .await;
    let daemon = read_pid(&pid_file).unwrap();
    assert!(proc_exists(daemon));
    std::fs::write(f.work.join("release"), b"").unwrap();
    eventually(
        "the daemon to exit and be reaped",
        Duration::from_secs(5),
        || !proc_exists(daemon),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_run_kills_its_processes() {
    let f = Fixture::new();
    let script = r#"
        setsid env -i sh -c 'echo $$ > clean.pid; exec sleep 1000' &
        echo $$ > leader.pid
        while :; do sleep 1; done
    "#;
    let step = f.step(script);
    let task = {
        let runner = f.runner.clone();
        tokio::spawn(async move { runner.run(&step, &CancelToken::new(), &Unrecorded).await })
    };
    let files = ["leader", "clean"].map(|n| f.work.join(format!("{n}.pid")));
    eventually("the pid files", Duration::from_secs(10), || {
        files.iter().all(|p| read_pid(p).is_some())
    })
    .await;
    let [leader, clean] = files.map(|p| read_pid(&p).unwrap());
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    eventually("every process to be gone", Duration::from_secs(10), || {
        !proc_exists(leader) && !proc_exists(clean)
    })
    .await;
    assert_eq!(f.marked_processes(), Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escaped_process_orphaned_during_the_grace_period_is_still_killed() {
    let f = Fixture::new();
    // The leader dies at TERM; the escaped process ignores TERM, has no marker, and stops
    // being the leader's descendant once the leader is gone.
    let script = r#"
        setsid env -i sh -c 'trap "" TERM; echo $$ > clean.pid; exec sleep 1000' &
        echo $$ > leader.pid
        sleep 1000
    "#;
    let step = f.step(script);
    let cancel = CancelToken::new();
    let task = {
        let (runner, cancel) = (f.runner.clone(), cancel.clone());
        tokio::spawn(async move { runner.run(&step, &cancel, &Unrecorded).await })
    };
    let files = ["leader", "clean"].map(|n| f.work.join(format!("{n}.pid")));
    eventually("the pid files", Duration::from_secs(10), || {
        files.iter().all(|p| read_pid(p).is_some())
    })
    .await;
    let [leader, clean] = files.map(|p| read_pid(&p).unwrap());
    cancel.cancel(CancelReason::User);
    let result = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result, Ok(StepEnd::Cancelled));
    eventually(
        "every process to be gone and reaped",
        Duration::from_secs(5),
        || !proc_exists(leader) && !proc_exists(clean),
    )
    .await;
}
