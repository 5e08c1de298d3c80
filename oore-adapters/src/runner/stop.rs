//! The one stop routine, used for cancel, timeout, shutdown and the end of a build.
//!
//! Stop: SIGTERM to the step's process group and to every other process of the build the
//! sweep finds; wait up to the grace period for the leader to exit and for the rest to go
//! (ending early when nothing is left); then SIGKILL to the group and to everything the
//! sweep still finds, repeated until a scan comes back empty (a process may fork while we
//! kill); then reap what became ours (see [`super::reaper`]).
//!
//! Finding the build's processes is [`super::sweep`]'s job; reaping them is
//! [`super::reaper`]'s.

use std::io;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tokio::process::Child;

use super::reaper;
use super::sweep::{self, Target};
use super::sys::{Pid, PidFd};

/// Upper bound for the SIGKILL phase (a process in uninterruptible sleep may take long).
const KILL_BOUND: Duration = Duration::from_secs(5);
/// Upper bound for reaping what was killed.
const SETTLE_BOUND: Duration = Duration::from_secs(2);
/// How often the grace phase looks whether anything is left once the leader is gone.
pub(crate) const GRACE_POLL: Duration = Duration::from_millis(50);

/// A running step's leader process (its pid is also its process group id).
#[derive(Debug)]
pub(crate) struct Leader {
    child: Child,
    pgid: Pid,
    marker: String,
    reaped: bool,
    done: bool,
}

impl Leader {
    /// Registers a freshly spawned leader with the reaper.
    pub(crate) fn new(child: Child, pgid: Pid, marker: String) -> Self {
        reaper::step_started(&marker, pgid);
        Self {
            child,
            pgid,
            marker,
            reaped: false,
            done: false,
        }
    }

    pub(crate) fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Waits for the leader to exit (cancel-safe).
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait().await?;
        self.mark_reaped();
        Ok(status)
    }

    fn mark_reaped(&mut self) {
        if !self.reaped {
            self.reaped = true;
            reaper::leader_reaped(self.pgid);
        }
    }

    /// The step is over: nothing to clean up on drop.
    pub(crate) fn finish(mut self) {
        self.done = true;
        // If the kill phase could not collect it, tokio's orphan queue will.
        self.mark_reaped();
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // The run was abandoned (its future dropped): kill everything without a grace
        // period. One sweep now, while the unreaped leader still pins its pid so its
        // descendants can be found; the rest (repeat until empty, reap) off this thread.
        let mut target = Target {
            marker: self.marker.clone(),
            pgid: Some(self.pgid),
            leader: (!self.reaped).then_some(self.pgid),
        };
        let pinned = sweep::signal_found(&target, libc::SIGKILL);
        target.leader = None;
        let spawned = std::thread::Builder::new()
            .name("oore-step-kill".into())
            .spawn(move || settle(kill_found(&target, pinned)));
        if let Err(e) = spawned {
            tracing::warn!("cannot start a thread to kill an abandoned step: {e}");
        }
        self.mark_reaped();
    }
}

/// Stops a step (`leader`) or, without one, every remaining process of build `marker`.
/// Returns once everything found was killed and reaped, or the bounds passed.
pub(crate) async fn stop(mut leader: Option<&mut Leader>, marker: &str, grace: Duration) {
    let pgid = leader.as_ref().map(|l| l.pgid);
    let target = |leader: &Option<&mut Leader>| Target {
        marker: marker.to_owned(),
        pgid,
        leader: leader.as_ref().filter(|l| !l.reaped).map(|l| l.pgid),
    };
    let deadline = Instant::now() + grace;

    // 1. TERM to the group and to everything else of the build, pinning what was found.
    let t = target(&leader);
    let pinned = blocking(move || sweep::signal_found(&t, libc::SIGTERM)).await;

    // 2. Grace: the leader first, then whatever is left.
    if let Some(l) = leader.as_deref_mut()
        && !l.reaped
    {
        let _ = tokio::time::timeout_at(deadline.into(), l.wait()).await;
    }
    while Instant::now() < deadline {
        let t = target(&leader);
        if !blocking(move || sweep::any_left(&t)).await && !sweep::any_alive(&pinned) {
            break;
        }
        tokio::time::sleep(GRACE_POLL).await;
    }

    // 3. KILL to everything still there, until a scan finds nothing.
    let t = target(&leader);
    let killed = blocking(move || kill_found(&t, pinned)).await;
    if let Some(l) = leader
        && !l.reaped
    {
        let _ = tokio::time::timeout(KILL_BOUND, l.wait()).await;
    }

    // 4. Reap what was killed and became ours.
    blocking(move || settle(killed)).await;
}

pub(crate) async fn blocking<T: Send + Default + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    tokio::task::spawn_blocking(f).await.unwrap_or_default()
}

fn settle(killed: Vec<PidFd>) {
    reaper::settle(killed, Instant::now() + SETTLE_BOUND);
}

/// SIGKILL to the processes pinned before and to everything found, again until a scan
/// finds nothing (or [`KILL_BOUND`]); returns everything pinned.
pub(crate) fn kill_found(target: &Target, mut all: Vec<PidFd>) -> Vec<PidFd> {
    let until = Instant::now() + KILL_BOUND;
    sweep::signal_pinned(&all, libc::SIGKILL);
    while sweep::any_left(target) {
        for fd in sweep::signal_found(target, libc::SIGKILL) {
            if !all.iter().any(|a| a.pid() == fd.pid()) {
                all.push(fd);
            }
        }
        if Instant::now() >= until {
            tracing::warn!(
                build = %target.marker,
                "some processes of the build survived SIGKILL for {KILL_BOUND:?}; they may be stuck in uninterruptible IO"
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    all
}
