//! Handing a checkout over to the build user (`OORE_BUILD_USER`, when `oored` runs as
//! root). git runs as `oored`'s user, so a forge token given to it never sits where a
//! step can read it (a root process's environment is not readable by other users); the
//! tree it wrote is then given to the build user, so its own `git` commands in steps need
//! no `safe.directory` exception.
//!
//! The walk goes by descriptors (`O_NOFOLLOW` for every directory, `lchown`-style for
//! links), top directory last, and runs before any step: nothing the build user runs can
//! be inside the tree yet, or swap a part of it for a link. A regular file with more
//! than one link is shared with something outside the checkout (git hardlinks the object
//! files of a repository on this machine): it keeps its owner, and loses any group or
//! other write permission, so the build user can read it but never change the source's
//! copy.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oore_core::ports::FetchError;
use rustix::fs::{AtFlags, Gid, Mode, OFlags, Uid};

use crate::beneath::{Kind, entries};

/// Deepest nesting walked.
const MAX_DEPTH: usize = 1024;

/// [`hand_over`] on a blocking thread, its failure said for the build's error.
pub(super) async fn give(dir: &Path, uid: u32, gid: u32) -> Result<(), FetchError> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || hand_over(&dir, uid, gid))
        .await
        .map_err(io::Error::other)
        .flatten()
        .map_err(|e| {
            FetchError::Other(format!(
                "cannot give the checkout to the build user (uid {uid}): {e}; check that oored runs as root and OORE_WORKSPACES_DIR is on a local file system"
            ))
        })
}

/// Gives everything under `dir` (and `dir`) to `uid`:`gid` (module doc).
fn hand_over(dir: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let top = open_dir(dir)?;
    let owner = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
    walk(&top, owner, 0)?;
    rustix::fs::fchown(&top, owner.0, owner.1)?;
    Ok(())
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

fn walk(dir: &OwnedFd, owner: (Option<Uid>, Option<Gid>), depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "the checkout is nested more than {MAX_DEPTH} directories deep"
        )));
    }
    for (name, kind) in entries(dir.as_fd())? {
        let name = name.as_os_str();
        match kind {
            Kind::Dir => {
                let sub = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                walk(&sub, owner, depth + 1)?;
                rustix::fs::fchown(&sub, owner.0, owner.1)?;
            }
            Kind::File => {
                let stat = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
                if stat.st_nlink > 1 {
                    if stat.st_mode & 0o022 != 0 {
                        let file = rustix::fs::openat(
                            dir,
                            name,
                            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                            Mode::empty(),
                        )?;
                        let mode = Mode::from_raw_mode(stat.st_mode) & !Mode::from_raw_mode(0o022);
                        rustix::fs::fchmod(&file, mode)?;
                    }
                } else {
                    rustix::fs::chownat(dir, name, owner.0, owner.1, AtFlags::SYMLINK_NOFOLLOW)?;
                }
            }
            Kind::Link | Kind::Other => {
                rustix::fs::chownat(dir, name, owner.0, owner.1, AtFlags::SYMLINK_NOFOLLOW)?;
            }
        }
    }
    Ok(())
}
