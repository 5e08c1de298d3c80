//! Per-build directories on disk, for retention: listing `<root>/<build_id>/` directories
//! with their modification time and removing them. Shared by the workspace, log and
//! artifact adapters, which implement [`BuildDirectories`](oore_core::ports::BuildDirectories)
//! with it. Entries not named by a build id, and anything but directories, are never
//! listed, so whatever else an operator keeps there is left alone.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use jiff::Timestamp;
use oore_core::ids::BuildId;
use oore_core::ports::{RetentionError, StoredBuildDir};

use crate::fs_error;

/// The `<build_id>` directories directly under `root` (none when `root` does not exist).
pub(crate) fn build_dirs(root: &Path) -> io::Result<Vec<(BuildId, PathBuf)>> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let id = entry.file_name().to_str().and_then(|n| n.parse().ok());
        if let (true, Some(id)) = (is_dir, id) {
            out.push((id, entry.path()));
        }
    }
    Ok(out)
}

/// When `dir` was last modified; now when that cannot be read (so it is kept).
pub(crate) fn modified(dir: &Path) -> Timestamp {
    fs::symlink_metadata(dir)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| SystemTime::now())
        .try_into()
        .unwrap_or_else(|_| Timestamp::now())
}

/// [`build_dirs`] with their modification times.
pub(crate) fn list(root: &Path, setting: &str) -> Result<Vec<StoredBuildDir>, RetentionError> {
    let dirs = build_dirs(root).map_err(|e| list_error(root, &e, setting))?;
    Ok(dirs
        .into_iter()
        .map(|(build, dir)| StoredBuildDir {
            build,
            modified: modified(&dir),
        })
        .collect())
}

/// Why `root` could not be listed, and what to do.
pub(crate) fn list_error(root: &Path, e: &io::Error, setting: &str) -> RetentionError {
    RetentionError(fs_error::describe("list", root, e, root, setting))
}

/// Why `dir` could not be removed, and what to do.
pub(crate) fn remove_error(
    dir: &Path,
    e: &io::Error,
    root: &Path,
    setting: &str,
) -> RetentionError {
    RetentionError(fs_error::describe("remove", dir, e, root, setting))
}

/// Runs blocking file work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RetentionError> + Send + 'static,
) -> Result<T, RetentionError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(RetentionError(format!("retention task failed: {e}"))))
}
