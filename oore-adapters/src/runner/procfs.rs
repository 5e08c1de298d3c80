//! Reading `/proc` (Linux): which processes exist, how they relate, and which carry a
//! build's marker (`OORE_BUILD_ID=<id>` in their initial environment).
//!
//! Only processes owned by our uid, or by the build user's (see [`also_list_uid`]), are
//! listed: the only ones a build can have started. A process's identity is `(pid, start_time)`;
//! callers pin it with a pidfd and check `start_time` again before acting, so a pid reused
//! between the scan and the action is never hit.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU32, Ordering};

use super::MARKER_VAR;
use super::sys::Pid;

/// One process, from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Proc {
    pub(crate) pid: Pid,
    pub(crate) ppid: Pid,
    pub(crate) pgrp: Pid,
    pub(crate) session: Pid,
    /// Exited but not yet reaped (`Z`) or being torn down (`X`).
    pub(crate) dead: bool,
    /// Clock ticks since boot when it started: with the pid, its identity.
    pub(crate) start_time: u64,
}

/// The build user's uid, whose processes are listed too (`u32::MAX`: none).
static STEP_UID: AtomicU32 = AtomicU32::new(u32::MAX);

/// Lists processes of `uid` too (the build user's): steps run as it.
pub(crate) fn also_list_uid(uid: u32) {
    STEP_UID.store(uid, Ordering::Relaxed);
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`): a start time means nothing after
/// a reboot.
pub(crate) fn boot_id() -> Option<String> {
    let id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_owned()).filter(|id| !id.is_empty())
}

/// Every process of our uid (and the build user's) except ourselves.
pub(crate) fn list() -> Vec<Proc> {
    let Ok(our_uid) = fs::metadata("/proc/self").map(|m| m.uid()) else {
        return Vec::new();
    };
    let step_uid = STEP_UID.load(Ordering::Relaxed);
    let me = super::sys::our_pid();
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let entry = entry.ok()?;
        let pid: Pid = entry.file_name().to_str()?.parse().ok()?;
        let uid = entry.metadata().ok()?.uid();
        if pid == me || (uid != our_uid && uid != step_uid) {
            return None;
        }
        stat(pid)
    })
    .collect()
}

/// `/proc/<pid>/stat`, or `None` if it is gone.
pub(crate) fn stat(pid: Pid) -> Option<Proc> {
    let text = fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &text)
}

fn parse_stat(pid: Pid, text: &[u8]) -> Option<Proc> {
    // "pid (comm) state ppid pgrp session ..."; comm may hold spaces and parentheses.
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(text.get(close + 2..)?).ok()?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // Indexes after the comm: 0 state, 1 ppid, 2 pgrp, 3 session, 19 starttime.
    Some(Proc {
        pid,
        dead: matches!(*fields.first()?, "Z" | "X" | "x"),
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// A pidfd for `p` if it is still the same process (same start time), so that acting on
/// the pidfd can never hit a process that reused the pid.
pub(crate) fn pin(p: &Proc) -> Option<super::sys::PidFd> {
    let fd = super::sys::PidFd::open(p.pid).ok()?;
    let now = stat(p.pid)?;
    (now.start_time == p.start_time).then_some(fd)
}

/// The value of `OORE_BUILD_ID` in `pid`'s initial environment (empty for zombies).
pub(crate) fn build_marker(pid: Pid) -> Option<String> {
    let environ = fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{MARKER_VAR}=");
    environ
        .split(|&b| b == 0)
        .find_map(|entry| entry.strip_prefix(prefix.as_bytes()))
        .and_then(|value| String::from_utf8(value.to_vec()).ok())
}

/// True if `ancestor` is `proc`'s parent, grandparent, ... according to `procs`.
pub(crate) fn descends_from(procs: &[Proc], proc: &Proc, ancestor: Pid) -> bool {
    let mut ppid = proc.ppid;
    // Bounded: a scan is not atomic, so guard against a cycle made of reused pids.
    for _ in 0..procs.len() + 1 {
        if ppid == ancestor {
            return true;
        }
        if ppid <= 1 {
            return false;
        }
        match procs.iter().find(|p| p.pid == ppid) {
            Some(parent) => ppid = parent.ppid,
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_comm_parses() {
        let line = b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200";
        let p = parse_stat(4242, line).unwrap();
        assert_eq!(
            (p.ppid, p.pgrp, p.session, p.start_time, p.dead),
            (1, 4242, 4242, 987654, false)
        );
        let zombie = b"7 (sh) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0";
        assert!(parse_stat(7, zombie).unwrap().dead);
    }

    #[test]
    fn our_own_stat_is_readable() {
        let me = super::super::sys::our_pid();
        let p = stat(me).unwrap();
        assert_eq!(p.pid, me);
        assert!(!p.dead);
    }
}
