//! This process's own environment: removing variables so that nothing can read them
//! later, not even through `/proc/<pid>/environ`.
//!
//! `std::env::remove_var` only unlinks a variable from the C library's list; its bytes
//! stay in the initial environment block the kernel copied at `exec`, which is what
//! `/proc/<pid>/environ` shows to every process of the same user. On Linux the block's
//! bounds are in `/proc/self/stat` (`env_start`, `env_end`), so a removed variable's
//! `NAME=value` is overwritten with NUL bytes there when it lies inside them. Elsewhere
//! the variable is only removed (macOS shows another user's environment to nobody but
//! root).

use std::ffi::OsString;

/// Removes every variable whose name `matches` (module doc); returns how many.
///
/// # Safety
/// Must be called while this process has one thread: the environment is changed in
/// place, and nothing may read it concurrently.
pub unsafe fn scrub(matches: impl Fn(&str) -> bool) -> usize {
    let names: Vec<OsString> = std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| name.to_str().is_some_and(&matches))
        .collect();
    #[cfg(target_os = "linux")]
    let block = linux::initial_block();
    for name in &names {
        #[cfg(target_os = "linux")]
        let entry = block.and_then(|b| linux::entry_in_block(name, b));
        // SAFETY: single-threaded, as the caller promises.
        unsafe { std::env::remove_var(name) };
        #[cfg(target_os = "linux")]
        if let Some((start, len)) = entry {
            // SAFETY: `start..start + len` lies inside the initial environment block
            // (checked against the kernel's bounds), which is this process's own
            // writable stack memory; the C library no longer points at it (the variable
            // was just removed) and Rust holds no reference into it.
            unsafe { std::ptr::write_bytes(start as *mut u8, 0, len) };
        }
    }
    names.len()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::{CStr, CString, OsStr};
    use std::os::unix::ffi::OsStrExt;

    /// `(env_start, env_end)` of `/proc/self/stat`.
    pub(super) fn initial_block() -> Option<(usize, usize)> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        // Fields 50 and 51 of proc_pid_stat(5); `rest` starts at field 3.
        let start = fields.get(47)?.parse().ok()?;
        let end = fields.get(48)?.parse().ok()?;
        (start < end).then_some((start, end))
    }

    /// Where `NAME=value` of `name` lies, when it is inside the block.
    pub(super) fn entry_in_block(
        name: &OsStr,
        (start, end): (usize, usize),
    ) -> Option<(usize, usize)> {
        let c_name = CString::new(name.as_bytes()).ok()?;
        // SAFETY: getenv with a NUL-terminated name; the result is used before anything
        // changes the environment (single-threaded, as `scrub` requires).
        let value = unsafe { libc::getenv(c_name.as_ptr()) };
        if value.is_null() {
            return None;
        }
        // SAFETY: getenv returned a pointer to a NUL-terminated value.
        let value_len = unsafe { CStr::from_ptr(value) }.to_bytes().len();
        let entry = (value as usize).checked_sub(name.len() + 1)?;
        let entry_end = value as usize + value_len;
        (entry >= start && entry_end <= end).then_some((entry, entry_end - entry))
    }
}

/// Sets this process's umask to 077: files and directories it creates from now on are
/// readable by its own user only (the database, logs, artifacts). Steps get 022 back
/// when they drop to the build user.
pub fn private_umask() {
    // SAFETY: umask takes an integer and cannot fail.
    unsafe { libc::umask(0o077) };
}
