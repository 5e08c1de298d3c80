//! Reaping orphaned step processes without stealing anybody else's exit status.
//!
//! `oored` is a child subreaper, so a step's descendants whose parent dies are reparented to
//! it, and when they exit they stay zombies until it reaps them. A global `waitpid(-1)` would
//! reap them, but it would also take the exit statuses that `tokio::process` and
//! `std::process` (the step leaders here, `git` in other adapters) are waiting for. So this
//! reaper only ever reaps processes it can prove are step processes that nobody else waits
//! for:
//!
//! 1. **Zombies in a step's process group.** A zombie child of ours whose process group is a
//!    registered step group and which is not that step's leader (the leader is
//!    `tokio::process`'s to wait for) was reparented to us; it is reaped with
//!    `waitpid(pid, WNOHANG)`. A group id cannot be reused while the group has members, and
//!    a group is forgotten once it is empty.
//! 2. **Watched processes.** Live processes carrying the marker of a build that ran here
//!    (`OORE_BUILD_ID=<id>`) that are our children already or left our session with
//!    `setsid` are pinned with a pidfd (at most 1024); when one exits as our child,
//!    `waitid(P_PIDFD)` reaps exactly it. The stop routine hands over the processes it
//!    killed the same way.
//!
//! Not watched: a marked process that is our *direct* child outside any step group and in
//! our own session, because that is what a child spawned by other code with the build's
//! environment looks like (so other code must not start children with `setsid` and a
//! build's environment). Known gaps, both leaving a zombie until `oored` exits: a process
//! that escapes with `setsid`, is orphaned and exits between two scans (never seen alive);
//! and an orphan that moved to a new process group without a new session.
//!
//! The work runs on a small thread (`oore-reaper`) that scans `/proc` once a second while
//! any step, step group or watched process exists and sleeps otherwise; the runner also
//! calls [`tick`] at the end of each step and during the stop routine. Reaping happens on
//! Linux only (elsewhere `oored` is not a subreaper and init reaps orphans).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::sys::Pid;

/// How often the thread scans while there is something to watch.
const TICK: Duration = Duration::from_secs(1);
/// How many recent builds' markers count as ours.
const REMEMBERED_BUILDS: usize = 64;

struct Registry {
    /// Step leaders not yet reaped by `tokio::process`: never reaped here.
    leaders: BTreeSet<Pid>,
    /// Step process groups that may still have members.
    groups: BTreeSet<Pid>,
    /// Markers of builds whose steps ran in this process.
    builds: VecDeque<String>,
    #[cfg(target_os = "linux")]
    watched: Vec<super::sys::PidFd>,
    thread_started: bool,
}

impl Registry {
    const fn new() -> Self {
        Self {
            leaders: BTreeSet::new(),
            groups: BTreeSet::new(),
            builds: VecDeque::new(),
            #[cfg(target_os = "linux")]
            watched: Vec::new(),
            thread_started: false,
        }
    }

    fn idle(&self) -> bool {
        #[cfg(target_os = "linux")]
        let watching = !self.watched.is_empty();
        #[cfg(not(target_os = "linux"))]
        let watching = false;
        self.leaders.is_empty() && self.groups.is_empty() && !watching
    }
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry::new());
static WAKE: Condvar = Condvar::new();

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// A step leader `leader` (also its group id) of build `build` was just spawned.
pub(crate) fn step_started(build: &str, leader: Pid) {
    let mut reg = registry();
    reg.leaders.insert(leader);
    reg.groups.insert(leader);
    if !reg.builds.iter().any(|b| b == build) {
        reg.builds.push_back(build.to_owned());
        if reg.builds.len() > REMEMBERED_BUILDS {
            reg.builds.pop_front();
        }
    }
    if !reg.thread_started {
        let spawned = std::thread::Builder::new()
            .name("oore-reaper".into())
            .spawn(thread_main);
        match spawned {
            Ok(_) => reg.thread_started = true,
            Err(e) => tracing::warn!("cannot start the orphan reaper thread: {e}"),
        }
    }
    drop(reg);
    WAKE.notify_all();
}

/// `tokio::process` collected the leader's status: it is no longer excluded from reaping.
pub(crate) fn leader_reaped(leader: Pid) {
    registry().leaders.remove(&leader);
    WAKE.notify_all();
}

fn thread_main() {
    loop {
        let reg = registry();
        let reg = if reg.idle() {
            WAKE.wait(reg).unwrap_or_else(|p| p.into_inner())
        } else {
            WAKE.wait_timeout(reg, TICK)
                .unwrap_or_else(|p| p.into_inner())
                .0
        };
        drop(reg);
        tick();
    }
}

/// One pass: reap what may be reaped, pin newly seen step processes, forget empty groups.
/// Blocking (reads `/proc`); a few milliseconds.
pub(crate) fn tick() {
    let mut reg = registry();
    #[cfg(target_os = "linux")]
    linux::tick(&mut reg);
    let Registry {
        leaders, groups, ..
    } = &mut *reg;
    groups.retain(|g| leaders.contains(g) || super::sys::group_exists(*g));
}

/// Hands over processes the stop routine pinned and killed, then waits (up to `until`) for
/// each to be gone: reaped here if it became our child, or by its own parent.
#[cfg(target_os = "linux")]
pub(crate) fn settle(killed: Vec<super::sys::PidFd>, until: Instant) {
    let pids: Vec<Pid> = killed.iter().map(|fd| fd.pid()).collect();
    {
        let mut reg = registry();
        for fd in killed {
            linux::watch(&mut reg, fd);
        }
    }
    WAKE.notify_all();
    loop {
        tick();
        let reg = registry();
        if !reg.watched.iter().any(|fd| pids.contains(&fd.pid())) || Instant::now() >= until {
            return;
        }
        drop(reg);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Without pidfds there is nothing to hand over; one pass reaps what it can.
#[cfg(not(target_os = "linux"))]
pub(crate) fn settle(killed: Vec<super::sys::PidFd>, _until: Instant) {
    drop(killed);
    tick();
}

#[cfg(target_os = "linux")]
mod linux {
    use super::super::procfs::{self, Proc};
    use super::super::sys::{self, PidFd, Reap};
    use super::Registry;

    /// At most this many pidfds are held for watched processes.
    const MAX_WATCHED: usize = 1024;

    pub(super) fn tick(reg: &mut Registry) {
        let procs = procfs::list();
        let me = sys::our_pid();
        let sid = sys::our_sid();

        // 1. Zombies reparented to us from a step group.
        for p in &procs {
            if p.dead
                && p.ppid == me
                && reg.groups.contains(&p.pgrp)
                && !reg.leaders.contains(&p.pid)
            {
                sys::reap_pid(p.pid);
            }
        }

        // 2. Watched processes: reap the exited ones that are ours, forget the gone ones.
        reg.watched.retain(|fd| match fd.try_reap() {
            Ok(Reap::Running) => true,
            Ok(Reap::Reaped) | Err(_) => false,
            Ok(Reap::NotOurChild) => fd.signal(0).unwrap_or(false),
        });

        // 3. Pin live processes of our builds not seen before.
        if reg.builds.is_empty() {
            return;
        }
        for p in &procs {
            // Our children, and processes that left our session: the others stay in a step's
            // group (rule 1 reaps them) or have a parent that will.
            let may_become_ours = p.ppid == me || p.session != sid;
            if p.dead
                || !may_become_ours
                || reg.leaders.contains(&p.pid)
                || looks_foreign(reg, p, me, sid)
                || reg.watched.len() >= MAX_WATCHED
                || reg.watched.iter().any(|fd| fd.pid() == p.pid)
            {
                continue;
            }
            let Some(build) = procfs::build_marker(p.pid) else {
                continue;
            };
            if !reg.builds.contains(&build) {
                continue;
            }
            if let Some(fd) = procfs::pin(p) {
                reg.watched.push(fd);
            }
        }
    }

    /// A direct child of ours outside every step group and in our session: spawned by
    /// other code, whose owner waits for it.
    fn looks_foreign(reg: &Registry, p: &Proc, me: sys::Pid, sid: sys::Pid) -> bool {
        p.ppid == me && !reg.groups.contains(&p.pgrp) && p.session == sid
    }

    pub(super) fn watch(reg: &mut Registry, fd: PidFd) {
        let Some(p) = procfs::stat(fd.pid()) else {
            return; // already reaped by someone
        };
        let foreign = looks_foreign(reg, &p, sys::our_pid(), sys::our_sid());
        if !foreign
            && !reg.leaders.contains(&p.pid)
            && !reg.watched.iter().any(|w| w.pid() == p.pid)
        {
            reg.watched.push(fd);
        }
    }
}
