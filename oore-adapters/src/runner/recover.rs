//! Restart recovery of processes: stopping what the steps of a build left running when
//! `oored` died (a crash, `kill -9`, a power cut of the service but not the machine).
//!
//! Each step's leader pid, process group and start ([`sys::process_start`]) are on its
//! row. For each record whose leader is still the same process (same boot, same start
//! time: a reused pid never matches), its group and its descendants are targets; in every
//! case so is whatever carries the build's marker (`OORE_BUILD_ID=<id>`), which finds
//! processes that left the group with `setsid` and were reparented to init when `oored`
//! died. Then the one stop routine: TERM, up to the grace period, KILL until a scan finds
//! nothing. The count returned is of the distinct processes signalled.
//!
//! On macOS there is no `/proc`: the recorded groups are what is used. A group is
//! signalled only while its leader is the recorded process (`proc_pidinfo` start time),
//! and the count is of groups stopped.

use std::time::Duration;

use oore_core::ports::StepProcess;

#[cfg(target_os = "linux")]
pub(crate) async fn stop_interrupted(
    marker: &str,
    recorded: &[StepProcess],
    grace: Duration,
) -> usize {
    use super::stop::{GRACE_POLL, blocking};
    use super::sweep;
    use super::sys::PidFd;

    fn add(all: &mut Vec<PidFd>, found: Vec<PidFd>) {
        for fd in found {
            if !all.iter().any(|a| a.pid() == fd.pid()) {
                all.push(fd);
            }
        }
    }

    // Targets are worked out afresh for each scan: a leader that exits stops naming its
    // group and descendants at once, before its pid could be reused.
    let (m, r) = (marker.to_owned(), recorded.to_vec());
    let pinned = blocking(move || {
        let mut all = Vec::new();
        for target in targets(&m, &r) {
            add(&mut all, sweep::signal_found(&target, libc::SIGTERM));
        }
        all
    })
    .await;
    let deadline = std::time::Instant::now() + grace;
    loop {
        let (m, r) = (marker.to_owned(), recorded.to_vec());
        let left = blocking(move || targets(&m, &r).iter().any(sweep::any_left)).await;
        if !left && !sweep::any_alive(&pinned) {
            return pinned.len();
        }
        if std::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(GRACE_POLL).await;
    }
    let (m, r) = (marker.to_owned(), recorded.to_vec());
    let all = blocking(move || {
        let mut all = pinned;
        sweep::signal_pinned(&all, libc::SIGKILL);
        for target in targets(&m, &r) {
            let killed = super::stop::kill_found(&target, Vec::new());
            add(&mut all, killed);
        }
        all
    })
    .await;
    all.len()
}

/// What to look for: the groups and descendants of recorded leaders that are still the
/// same processes, and the build's marker.
#[cfg(target_os = "linux")]
fn targets(marker: &str, recorded: &[StepProcess]) -> Vec<super::sweep::Target> {
    use super::sweep::Target;
    use super::sys::Pid;
    let mut targets: Vec<Target> = recorded
        .iter()
        .filter(|p| same_leader(p))
        .map(|p| Target {
            marker: marker.to_owned(),
            pgid: Pid::try_from(p.process_group).ok(),
            leader: Pid::try_from(p.pid).ok(),
        })
        .collect();
    targets.push(Target {
        marker: marker.to_owned(),
        pgid: None,
        leader: None,
    });
    targets
}

/// True when the recorded leader is still that process.
#[cfg(target_os = "linux")]
fn same_leader(p: &StepProcess) -> bool {
    let (Ok(pid), Ok(group)) = (
        super::sys::Pid::try_from(p.pid),
        super::sys::Pid::try_from(p.process_group),
    ) else {
        return false;
    };
    pid > 1 && group > 1 && super::sys::process_start(pid).as_deref() == Some(p.started.as_str())
}

#[cfg(not(target_os = "linux"))]
pub(crate) async fn stop_interrupted(
    _marker: &str,
    recorded: &[StepProcess],
    grace: Duration,
) -> usize {
    use super::sys::{self, Pid};

    let groups: Vec<Pid> = recorded
        .iter()
        .filter_map(|p| {
            Some((
                Pid::try_from(p.pid).ok()?,
                Pid::try_from(p.process_group).ok()?,
                p,
            ))
        })
        .filter(|(pid, group, p)| {
            *pid > 1
                && *group > 1
                && sys::process_start(*pid).as_deref() == Some(p.started.as_str())
        })
        .map(|(_, group, _)| group)
        .collect();
    let mut stopped = 0;
    for &group in &groups {
        if sys::signal_group(group, libc::SIGTERM).unwrap_or(false) {
            stopped += 1;
        }
    }
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline && groups.iter().any(|g| sys::group_exists(*g)) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for &group in &groups {
        let _ = sys::signal_group(group, libc::SIGKILL);
    }
    stopped
}
