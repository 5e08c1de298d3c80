//! Turning filesystem errors into messages that say what to do: shared by the workspace
//! and artifact adapters, which both write a lot to disks that fill up.

use std::io;
use std::path::Path;

/// True for "no space left on device" (`ENOSPC`) and "disk quota exceeded" (`EDQUOT`).
pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// `"<what> <path>: <why>; <hint>"`, with the usual causes spelled out. `setting` is the
/// configuration variable that moves the directory (`OORE_WORKSPACES_DIR`, ...).
pub(crate) fn describe(
    what: &str,
    path: &Path,
    e: &io::Error,
    dir: &Path,
    setting: &str,
) -> String {
    if is_disk_full(e) {
        return format!(
            "no space left on device in {}; free space or change {setting}",
            dir.display()
        );
    }
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "cannot {what} {}: permission denied; make {} writable by the user running oored or change {setting}",
            path.display(),
            dir.display()
        ),
        io::ErrorKind::ReadOnlyFilesystem => format!(
            "cannot {what} {}: the filesystem is read-only; change {setting}",
            path.display()
        ),
        _ => format!(
            "cannot {what} {}: {e}; check {} or change {setting}",
            path.display(),
            dir.display()
        ),
    }
}
