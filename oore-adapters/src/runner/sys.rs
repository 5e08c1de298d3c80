//! Safe wrappers over the few libc calls the runner makes; every `unsafe` block of the
//! runner is here, each with its `SAFETY` note. Linux-only calls (subreaper, pidfd,
//! pipe size) are behind `cfg(target_os = "linux")`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use libc::c_int;
use tokio::process::Command;

use crate::build_user::BuildUser;

/// A process id.
pub(crate) type Pid = libc::pid_t;

fn cvt(ret: c_int) -> io::Result<c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn is_esrch(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ESRCH)
}

/// Makes this process a child subreaper (Linux): orphaned descendants, including those that
/// left their process group with `setsid`, are reparented to it instead of to init, so the
/// runner can still find, kill and reap them. Call once at startup; a no-op elsewhere.
pub fn become_subreaper() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes integer arguments only and touches no memory.
        cvt(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) })?;
    }
    Ok(())
}

/// Makes the child that `cmd` starts become `user` before `exec`: supplementary groups,
/// gid, then uid (checked to have stuck), umask 022, and only then `chdir` into `dir`,
/// with the user's own permissions.
pub(crate) fn become_user_on_exec(cmd: &mut Command, user: &BuildUser, dir: &Path) {
    let groups: Vec<libc::gid_t> = user.groups.clone();
    let (uid, gid): (libc::uid_t, libc::gid_t) = (user.uid, user.gid);
    // A path with a NUL byte cannot exist: chdir("") fails with ENOENT and so the spawn.
    let dir = CString::new(dir.as_os_str().as_bytes()).unwrap_or_default();
    let fail = || Err(io::Error::last_os_error());
    // SAFETY: the closure runs in the child between fork and exec. It only makes
    // async-signal-safe system calls (setgroups, setgid, setuid, getuid, geteuid, umask,
    // chdir) on data prepared before the fork, allocates nothing, and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setgroups(groups.len() as _, groups.as_ptr()) != 0 {
                return fail();
            }
            if libc::setgid(gid) != 0 {
                return fail();
            }
            if libc::setuid(uid) != 0 {
                return fail();
            }
            if libc::getuid() != uid || libc::geteuid() != uid {
                return Err(io::Error::from_raw_os_error(libc::EPERM));
            }
            libc::umask(0o022);
            if libc::chdir(dir.as_ptr()) != 0 {
                return fail();
            }
            Ok(())
        });
    }
}

/// When process `pid` started, as a text that names that one process across pid reuse
/// and reboots: `linux:<boot id>:<start ticks>`, `macos:<seconds>.<microseconds>`;
/// `None` when it is gone or the system cannot tell.
pub(crate) fn process_start(pid: Pid) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let ticks = super::procfs::stat(pid)?.start_time;
        Some(format!("linux:{}:{ticks}", super::procfs::boot_id()?))
    }
    #[cfg(target_os = "macos")]
    {
        // SAFETY: an all-zero proc_bsdinfo is a valid value of this plain C struct.
        let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::proc_bsdinfo>() as c_int;
        // SAFETY: `info` is writable for `size` bytes, as the call is told.
        let n = unsafe {
            libc::proc_pidinfo(
                pid,
                libc::PROC_PIDTBSDINFO,
                0,
                (&mut info as *mut libc::proc_bsdinfo).cast(),
                size,
            )
        };
        (n == size).then(|| format!("macos:{}.{}", info.pbi_start_tvsec, info.pbi_start_tvusec))
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = pid;
        None
    }
}

/// Our process id.
#[cfg_attr(not(target_os = "linux"), expect(dead_code))]
pub(crate) fn our_pid() -> Pid {
    std::process::id() as Pid
}

/// Our session id.
#[cfg_attr(not(target_os = "linux"), expect(dead_code))]
pub(crate) fn our_sid() -> Pid {
    // SAFETY: getsid(0) only reads the calling process's session id.
    unsafe { libc::getsid(0) }
}

/// Sends `sig` to process group `pgid`; `Ok(false)` if the group has no member left.
pub(crate) fn signal_group(pgid: Pid, sig: c_int) -> io::Result<bool> {
    if pgid <= 1 {
        // kill(0) or kill(-1) would hit our own group or every process we may signal.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing to signal group <= 1",
        ));
    }
    // SAFETY: kill takes integers only; pgid > 1 so this targets exactly one group.
    match cvt(unsafe { libc::kill(-pgid, sig) }) {
        Ok(_) => Ok(true),
        Err(e) if is_esrch(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// True while process group `pgid` has a member (zombies count until reaped).
pub(crate) fn group_exists(pgid: Pid) -> bool {
    // EPERM means someone is there that we may not signal: still a member.
    signal_group(pgid, 0).unwrap_or(true)
}

/// Sends `sig` to `pid`; `Ok(false)` if it is gone.
#[cfg_attr(not(target_os = "linux"), expect(dead_code))]
pub(crate) fn signal_pid(pid: Pid, sig: c_int) -> io::Result<bool> {
    if pid <= 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing to signal pid <= 1",
        ));
    }
    // SAFETY: kill takes integers only; pid > 1 targets one process.
    match cvt(unsafe { libc::kill(pid, sig) }) {
        Ok(_) => Ok(true),
        Err(e) if is_esrch(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reaps `pid` if it is a zombie child of ours; never blocks. The caller must know that
/// nobody else waits for `pid` (see the reaper's rules).
#[cfg_attr(not(target_os = "linux"), expect(dead_code))]
pub(crate) fn reap_pid(pid: Pid) -> bool {
    if pid <= 0 {
        return false;
    }
    let mut status: c_int = 0;
    // SAFETY: `status` is a valid, writable c_int; pid > 0 names exactly one child.
    let ret = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    ret == pid
}

/// Puts `fd` in non-blocking mode.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on a descriptor we borrow; integer arguments only.
    let flags = cvt(unsafe { libc::fcntl(raw, libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    Ok(())
}

/// Asks for a larger pipe buffer (fewer wake-ups under heavy output); best effort.
pub(crate) fn grow_pipe(fd: BorrowedFd<'_>, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: F_SETPIPE_SZ on a pipe descriptor we borrow; integer arguments only.
        // Failure (EPERM above /proc/sys/fs/pipe-max-size) just keeps the default size.
        let _ = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, bytes as c_int) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (fd, bytes);
}

/// Waits until `fd` is readable (or at EOF/error) or `timeout` passes; true if readable.
pub(crate) fn poll_readable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(c_int::MAX as u128) as c_int;
    // SAFETY: `pfd` is one valid pollfd and we pass a count of 1.
    match cvt(unsafe { libc::poll(&mut pfd, 1, ms) }) {
        Ok(n) => Ok(n > 0),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
        Err(e) => Err(e),
    }
}

/// One `read(2)` into `buf`.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the duration of the call.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(target_os = "linux")]
pub(crate) use pidfd::{PidFd, Reap};

/// Without pidfds (macOS) nothing is ever pinned.
#[cfg(not(target_os = "linux"))]
#[derive(Debug)]
pub(crate) enum PidFd {}

#[cfg(not(target_os = "linux"))]
impl PidFd {
    pub(crate) fn pid(&self) -> Pid {
        match *self {}
    }
}

#[cfg(target_os = "linux")]
mod pidfd {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use super::{Pid, cvt, is_esrch};

    /// A pidfd: names one process for as long as it is held, so its pid cannot be reused
    /// under us between finding it and signalling or reaping it.
    #[derive(Debug)]
    pub(crate) struct PidFd {
        fd: OwnedFd,
        pid: Pid,
    }

    /// Outcome of [`PidFd::try_reap`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Reap {
        /// It had exited and we collected its status.
        Reaped,
        /// It is still running.
        Running,
        /// It is not our child (its parent will reap it, or it is reparented later).
        NotOurChild,
    }

    impl PidFd {
        /// Opens a pidfd for `pid` (close-on-exec). `ESRCH` if it is gone, `ENOSYS` on kernels
        /// before 5.3.
        pub(crate) fn open(pid: Pid) -> io::Result<Self> {
            // SAFETY: pidfd_open takes integers only and returns a new descriptor or -1.
            let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            let fd = cvt(ret as libc::c_int)?;
            // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
            Ok(Self {
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
                pid,
            })
        }

        pub(crate) fn pid(&self) -> Pid {
            self.pid
        }

        /// Sends `sig` (0 probes); `Ok(false)` once the process is gone (reaped).
        pub(crate) fn signal(&self, sig: libc::c_int) -> io::Result<bool> {
            // SAFETY: integer arguments and a null siginfo, as pidfd_send_signal allows.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    self.fd.as_raw_fd(),
                    sig,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
            match cvt(ret as libc::c_int) {
                Ok(_) => Ok(true),
                Err(e) if is_esrch(&e) => Ok(false),
                Err(e) => Err(e),
            }
        }

        /// Collects its exit status if it has exited and is our child; never blocks.
        pub(crate) fn try_reap(&self) -> io::Result<Reap> {
            // SAFETY: an all-zero siginfo_t is a valid value of this plain C struct.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: `info` is valid and writable; the id is our pidfd.
            let ret = unsafe {
                libc::waitid(
                    libc::P_PIDFD,
                    self.fd.as_raw_fd() as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG,
                )
            };
            match cvt(ret) {
                // SAFETY: waitid filled `info` (or left it zeroed for "no change").
                Ok(_) if unsafe { info.si_pid() } == 0 => Ok(Reap::Running),
                Ok(_) => Ok(Reap::Reaped),
                Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(Reap::NotOurChild),
                Err(e) => Err(e),
            }
        }
    }
}
