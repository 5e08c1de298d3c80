//! [`DataDirLock`]: one `oored` per data directory. An exclusive lock on
//! `<data_dir>/oored.lock` (`flock` on Unix, `LockFileEx` on Windows, through
//! [`std::fs::File::try_lock`]) is held for the life of the process and released by
//! the kernel when the process exits, even on a crash, so there is no stale lock to
//! clean up. The file holds the owner's pid, for the error message only.
//!
//! The lock belongs to the open file description, so a second acquire fails even
//! from the same process.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "oored.lock";

/// Proof that this process owns the data directory. Dropping it releases the lock.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    path: PathBuf,
}

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the lock.
    #[error(
        "database is locked by another oored (pid {pid}) using {}; stop it first or use another data directory",
        dir.display()
    )]
    HeldBy {
        /// The other process, as written in the lock file.
        pid: u32,
        /// The data directory.
        dir: PathBuf,
    },
    /// Another process holds the lock but its pid could not be read (it may be
    /// starting up right now).
    #[error(
        "database is locked by another oored (pid unknown, {} holds no pid) using {}; stop it first or use another data directory",
        file.display(),
        dir.display()
    )]
    HeldByUnknown {
        /// The data directory.
        dir: PathBuf,
        /// The lock file.
        file: PathBuf,
    },
    /// The lock file could not be created, locked or written.
    #[error(
        "cannot lock {}: {source}; make sure the data directory exists and is writable by this user",
        path.display()
    )]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl DataDirLock {
    /// Creates `data_dir` if needed and takes the exclusive lock on
    /// `data_dir/oored.lock`, writing this process's pid into it. Does not wait.
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io_err = |source: io::Error| LockError::Io {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(data_dir).map_err(io_err)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let dir = data_dir.to_path_buf();
                return Err(match read_pid(&mut file) {
                    Some(pid) => LockError::HeldBy { pid, dir },
                    None => LockError::HeldByUnknown { dir, file: path },
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
        // Only the lock holder writes, so truncating here cannot clobber another pid.
        file.set_len(0).map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        writeln!(file, "{}", std::process::id()).map_err(io_err)?;
        file.flush().map_err(io_err)?;
        tracing::debug!(path = %path.display(), "data directory locked");
        Ok(DataDirLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        // Clear the pid while still holding the lock; closing the file (after this)
        // releases the lock. The file itself stays: deleting a lock file races with a
        // process that has just opened it.
        if let Err(e) = self.file.set_len(0) {
            tracing::debug!(path = %self.path.display(), error = %e, "could not clear the lock file");
        }
    }
}
