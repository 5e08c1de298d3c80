//! The sweep: finds a build's live processes wherever they went, and signals them.
//!
//! On Linux it reads `/proc` and takes live processes of our uid that are members of the
//! step's process group, descendants of its leader (while the leader is unreaped its pid
//! cannot be reused), or carry `OORE_BUILD_ID=<build>` in their environment, which every
//! step process inherits unless it clears its environment. Each is pinned with a pidfd and
//! its start time checked again before it is signalled, so a reused pid is never hit.
//!
//! cgroups are not used: Oore runs as an unprivileged service, where cgroup v2 is writable
//! only with delegation (and this host mounts v1), so the environment marker plus the
//! subreaper is the mechanism that works everywhere. On macOS there is no `/proc`: only the
//! process group is signalled, and processes that left it are not found.

use super::sys::{self, Pid, PidFd};

/// What to stop.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The build id (value of `OORE_BUILD_ID`).
    pub(crate) marker: String,
    /// The step's process group, if there is a step.
    pub(crate) pgid: Option<Pid>,
    /// The leader's pid while it is unreaped (its descendants are ours too).
    pub(crate) leader: Option<Pid>,
}

/// True if any live process of `target` is left.
pub(crate) fn any_left(target: &Target) -> bool {
    imp::any_left(target)
}

/// Sends `sig` to every live process of `target` and returns them pinned.
pub(crate) fn signal_found(target: &Target, sig: libc::c_int) -> Vec<PidFd> {
    // Find and pin first: once the group is signalled its members start dying and their
    // children are reparented to us, which would hide them from the descendant check.
    let found = imp::pin_found(target);
    if let Some(pgid) = target.pgid {
        let _ = sys::signal_group(pgid, sig);
    }
    imp::signal(found, sig)
}

/// Sends `sig` to processes pinned earlier (a process that left the group and whose parent
/// died is no longer found by the sweep, but a pidfd still names it).
pub(crate) fn signal_pinned(pinned: &[PidFd], sig: libc::c_int) {
    imp::signal_pinned(pinned, sig);
}

/// True while some pinned process has not exited.
pub(crate) fn any_alive(pinned: &[PidFd]) -> bool {
    imp::any_alive(pinned)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::super::procfs::{self, Proc};
    use super::super::sys::{self, PidFd};
    use super::Target;

    fn find(target: &Target) -> Vec<Proc> {
        let procs = procfs::list();
        procs
            .iter()
            .filter(|p| !p.dead)
            .filter(|p| {
                Some(p.pgrp) == target.pgid
                    || target
                        .leader
                        .is_some_and(|l| p.pid == l || procfs::descends_from(&procs, p, l))
                    || procfs::build_marker(p.pid).as_deref() == Some(target.marker.as_str())
            })
            .copied()
            .collect()
    }

    pub(super) fn any_left(target: &Target) -> bool {
        !find(target).is_empty()
    }

    pub(super) fn signal_pinned(pinned: &[PidFd], sig: libc::c_int) {
        for fd in pinned {
            let _ = fd.signal(sig);
        }
    }

    pub(super) fn any_alive(pinned: &[PidFd]) -> bool {
        // The pidfd keeps the pid from being reused, so its /proc entry is this process.
        pinned
            .iter()
            .any(|fd| procfs::stat(fd.pid()).is_some_and(|p| !p.dead))
    }

    /// A process found by the sweep, pinned when the kernel has pidfds.
    pub(super) enum Found {
        Pinned(PidFd),
        /// No pidfd could be had; a start-time check guards against pid reuse.
        Unpinned(Proc),
    }

    fn same(p: &Proc) -> bool {
        procfs::stat(p.pid).is_some_and(|now| now.start_time == p.start_time)
    }

    pub(super) fn pin_found(target: &Target) -> Vec<Found> {
        let mut found = Vec::new();
        for p in find(target) {
            match PidFd::open(p.pid) {
                Ok(fd) if same(&p) => found.push(Found::Pinned(fd)),
                Ok(_) => {} // the pid was reused: not ours
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {} // gone already
                // No pidfd (a kernel before 5.3, or out of descriptors): signal by pid.
                Err(_) => found.push(Found::Unpinned(p)),
            }
        }
        found
    }

    pub(super) fn signal(found: Vec<Found>, sig: libc::c_int) -> Vec<PidFd> {
        let mut pinned = Vec::new();
        for f in found {
            match f {
                Found::Pinned(fd) => {
                    let _ = fd.signal(sig);
                    pinned.push(fd);
                }
                Found::Unpinned(p) => {
                    if same(&p) {
                        let _ = sys::signal_pid(p.pid, sig);
                    }
                }
            }
        }
        pinned
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::super::sys::{self, PidFd};
    use super::Target;

    pub(super) fn any_left(target: &Target) -> bool {
        let _ = (&target.marker, target.leader);
        target.pgid.is_some_and(sys::group_exists)
    }

    pub(super) type Found = ();

    pub(super) fn signal_pinned(_pinned: &[PidFd], _sig: libc::c_int) {}

    pub(super) fn any_alive(_pinned: &[PidFd]) -> bool {
        false
    }

    pub(super) fn pin_found(_target: &Target) -> Vec<Found> {
        Vec::new()
    }

    pub(super) fn signal(_found: Vec<Found>, _sig: libc::c_int) -> Vec<PidFd> {
        Vec::new()
    }
}
