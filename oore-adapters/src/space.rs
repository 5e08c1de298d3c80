//! [`StatvfsSpace`]: [`DiskSpace`] from `statvfs(3)` on the data directory.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use oore_core::ports::{DiskSpace, SpaceError};

/// Free space of the filesystem holding a directory.
#[derive(Debug, Clone)]
pub struct StatvfsSpace {
    dir: PathBuf,
}

impl StatvfsSpace {
    /// Measures the filesystem of `dir` (`oored`'s data directory).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait]
impl DiskSpace for StatvfsSpace {
    fn location(&self) -> PathBuf {
        self.dir.clone()
    }

    async fn available_bytes(&self) -> Result<u64, SpaceError> {
        let dir = self.dir.clone();
        // One syscall, but a stuck network filesystem must not block a runtime thread.
        tokio::task::spawn_blocking(move || available(&dir))
            .await
            .map_err(|e| SpaceError(format!("measuring free space failed: {e}")))?
            .map_err(|e| {
                SpaceError(format!(
                    "cannot measure free space of {}: {e}; check that the directory exists and is readable",
                    self.dir.display()
                ))
            })
    }
}

/// Bytes available to unprivileged users on the filesystem of `path`.
pub fn available(path: &Path) -> io::Result<u64> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path contains a NUL byte"))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call, and `stat`
    // points to writable memory of the right type, which statvfs fills on success.
    let ret = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it initialised the whole struct.
    let stat = unsafe { stat.assume_init() };
    Ok(blocks_to_bytes(stat.f_bavail, stat.f_frsize))
}

/// `blocks * size`; block counts are 32-bit on macOS, 64-bit on Linux.
#[cfg_attr(
    target_os = "linux",
    expect(
        clippy::useless_conversion,
        reason = "block counts are already u64 on Linux, not on macOS"
    )
)]
fn blocks_to_bytes(blocks: libc::fsblkcnt_t, size: u64) -> u64 {
    u64::from(blocks).saturating_mul(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_an_error_not_zero() {
        let err = available(Path::new("/nonexistent/oore/data")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn an_existing_directory_has_some_space() {
        let dir = tempfile::tempdir().unwrap();
        assert!(available(dir.path()).unwrap() > 0);
    }
}
