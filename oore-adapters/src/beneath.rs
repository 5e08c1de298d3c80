//! Opening paths beneath a directory and never outside it, for everything `oored` reads
//! or changes inside a workspace that a build controls (artifact collection, pipeline
//! files, handing a checkout over to the build user).
//!
//! A [`Root`] holds an open descriptor of the directory; every path below it is resolved
//! relative to that descriptor, so a checked path cannot be swapped for a symbolic link
//! between the check and the open ("open beneath", never "canonicalize, check, then
//! open"). On Linux 5.6 and later the kernel does it: `openat2` with `RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS`. Elsewhere, and when `openat2` refuses a path, the walk is done
//! here one component at a time: each directory opened with `O_NOFOLLOW | O_DIRECTORY`
//! relative to the previous one, `..` popping our own stack of descriptors (never the
//! kernel's `..`), and a symbolic link read with `readlinkat` and its target spliced into
//! the rest of the path. An absolute target is followed only when it names a path under
//! the root (by the root's path as given or as resolved when it was opened), as links a
//! build tool wrote with the workspace's absolute path do; anything else leaving the root
//! is [`BeneathError::Escapes`].

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

/// Most symbolic links followed in one resolution (Linux's own limit).
const MAX_LINKS: usize = 40;

/// An open directory that paths are resolved beneath.
#[derive(Debug)]
pub(crate) struct Root {
    fd: OwnedFd,
    /// The directory's path as given (absolute, lexically normalized).
    path: PathBuf,
    /// Its path with links resolved, when it was opened.
    real: PathBuf,
}

/// Why a path could not be opened beneath a root.
#[derive(Debug)]
pub(crate) enum BeneathError {
    /// It leads out of the root (through `..` or a symbolic link).
    Escapes,
    /// Anything else (not found, permission denied, ...).
    Io(io::Error),
}

impl From<rustix::io::Errno> for BeneathError {
    fn from(e: rustix::io::Errno) -> Self {
        BeneathError::Io(e.into())
    }
}

impl Root {
    /// Opens directory `path` (trusted: links in it are followed).
    pub(crate) fn open(path: &Path) -> io::Result<Root> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let real = std::fs::canonicalize(path)?;
        Ok(Root {
            fd,
            path: normalize(&std::path::absolute(path)?),
            real,
        })
    }

    /// The directory's path as given.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// True when the absolute `path` names the root or something below it, by its path
    /// as given or as resolved.
    pub(crate) fn contains(&self, path: &Path) -> bool {
        path.starts_with(&self.path) || path.starts_with(&self.real)
    }

    /// `path` relative to the root, when [`contains`](Self::contains) holds.
    pub(crate) fn relative<'p>(&self, path: &'p Path) -> Option<&'p Path> {
        path.strip_prefix(&self.path)
            .or_else(|_| path.strip_prefix(&self.real))
            .ok()
    }

    /// Opens `relative` (links followed while they stay beneath the root) with `flags`
    /// (`O_CLOEXEC` is added). An empty path opens the root itself.
    pub(crate) fn open_beneath(
        &self,
        relative: &Path,
        flags: OFlags,
    ) -> Result<OwnedFd, BeneathError> {
        let flags = flags | OFlags::CLOEXEC;
        if relative.as_os_str().is_empty() {
            return Ok(rustix::fs::openat(&self.fd, ".", flags, Mode::empty())?);
        }
        if relative.is_absolute() {
            return Err(BeneathError::Escapes);
        }
        #[cfg(target_os = "linux")]
        match kernel::open(&self.fd, relative, flags) {
            kernel::Opened::Fd(fd) => return Ok(fd),
            kernel::Opened::Failed(e) => return Err(BeneathError::Io(e)),
            kernel::Opened::WalkInstead => {}
        }
        self.walk(relative, flags)
    }

    /// Opens `relative` as a file to read (a pipe or device does not block the open;
    /// the caller checks the type).
    pub(crate) fn open_file(&self, relative: &Path) -> Result<File, BeneathError> {
        let fd = self.open_beneath(relative, OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY)?;
        Ok(File::from(fd))
    }

    /// [`open_file`](Self::open_file), resolved component by component so that every
    /// directory passed through on the way (the root, and those reached through links,
    /// included) is shown to `may_search` (`uid`, `gid`, `mode`) first: a refusal is
    /// `PermissionDenied`. Used to open only what another user could reach.
    pub(crate) fn open_file_searching(
        &self,
        relative: &Path,
        may_search: &dyn Fn(u32, u32, u32) -> bool,
    ) -> Result<File, BeneathError> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = self.walk_checked(relative, flags, Some(may_search))?;
        Ok(File::from(fd))
    }

    /// The component-by-component resolution (module doc).
    fn walk(&self, relative: &Path, flags: OFlags) -> Result<OwnedFd, BeneathError> {
        self.walk_checked(relative, flags, None)
    }

    fn walk_checked(
        &self,
        relative: &Path,
        flags: OFlags,
        may_search: Option<&dyn Fn(u32, u32, u32) -> bool>,
    ) -> Result<OwnedFd, BeneathError> {
        let check = |dir: &OwnedFd| -> Result<(), BeneathError> {
            let Some(may_search) = may_search else {
                return Ok(());
            };
            let meta = File::from(dir.try_clone().map_err(BeneathError::Io)?)
                .metadata()
                .map_err(BeneathError::Io)?;
            use std::os::unix::fs::MetadataExt;
            if may_search(meta.uid(), meta.gid(), meta.mode()) {
                Ok(())
            } else {
                Err(BeneathError::Io(io::Error::from(
                    io::ErrorKind::PermissionDenied,
                )))
            }
        };
        check(&self.fd)?;
        let mut stack: Vec<OwnedFd> = Vec::new();
        let mut queue = components(relative)?;
        let mut links = 0;
        while let Some(name) = queue.pop_front() {
            if name == ".." {
                if stack.pop().is_none() {
                    return Err(BeneathError::Escapes);
                }
                continue;
            }
            let cur = stack.last().map_or(self.fd.as_fd(), AsFd::as_fd);
            let stat = rustix::fs::statat(cur, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)?;
            if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink {
                links += 1;
                if links > MAX_LINKS {
                    return Err(BeneathError::Io(io::Error::from_raw_os_error(libc::ELOOP)));
                }
                let target = rustix::fs::readlinkat(cur, name.as_os_str(), Vec::new())?;
                let target = PathBuf::from(OsString::from_vec(target.into_bytes()));
                let mut parts = if target.is_absolute() {
                    let inside = self.relative(&target).ok_or(BeneathError::Escapes)?;
                    stack.clear();
                    components(inside)?
                } else {
                    components(&target)?
                };
                while let Some(part) = parts.pop_back() {
                    queue.push_front(part);
                }
                continue;
            }
            if queue.is_empty() {
                return Ok(rustix::fs::openat(
                    cur,
                    name.as_os_str(),
                    flags | OFlags::NOFOLLOW,
                    Mode::empty(),
                )?);
            }
            let next = rustix::fs::openat(
                cur,
                name.as_os_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            check(&next)?;
            stack.push(next);
        }
        // Ended on a directory reached through `..` or a link: open it.
        let cur = stack.last().map_or(self.fd.as_fd(), AsFd::as_fd);
        Ok(rustix::fs::openat(cur, ".", flags, Mode::empty())?)
    }
}

/// The names in a relative path, in order (`.` dropped, `..` kept); a root component
/// escapes.
fn components(path: &Path) -> Result<VecDeque<OsString>, BeneathError> {
    let mut out = VecDeque::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push_back(name.to_owned()),
            Component::ParentDir => out.push_back(OsString::from("..")),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Err(BeneathError::Escapes),
        }
    }
    Ok(out)
}

/// `..` and `.` resolved lexically (links are not looked at).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// What kind of entry a directory entry is, without following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Link,
    Other,
}

/// The entries of an open directory, sorted by name, each with its kind (not following
/// links).
pub(crate) fn entries(dir: impl AsFd) -> io::Result<Vec<(OsString, Kind)>> {
    let dir = dir.as_fd();
    let mut out = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name == "." || name == ".." {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::Unknown => rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .map_or(Kind::Other, |s| kind_of(FileType::from_raw_mode(s.st_mode))),
            known => kind_of(known),
        };
        out.push((name.to_owned(), kind));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn kind_of(t: FileType) -> Kind {
    match t {
        FileType::Directory => Kind::Dir,
        FileType::RegularFile => Kind::File,
        FileType::Symlink => Kind::Link,
        _ => Kind::Other,
    }
}

/// `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`, remembered as unavailable after
/// the first `ENOSYS` (kernels before 5.6) or `EPERM` (a seccomp filter).
#[cfg(target_os = "linux")]
mod kernel {
    use std::io;
    use std::os::fd::OwnedFd;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};

    use rustix::fs::{Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;

    static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

    pub(super) enum Opened {
        Fd(OwnedFd),
        Failed(io::Error),
        /// Not decided by the kernel: resolve component by component.
        WalkInstead,
    }

    pub(super) fn open(dir: &OwnedFd, relative: &Path, flags: OFlags) -> Opened {
        if UNAVAILABLE.load(Ordering::Relaxed) {
            return Opened::WalkInstead;
        }
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(dir, relative, flags, Mode::empty(), resolve) {
            Ok(fd) => Opened::Fd(fd),
            Err(Errno::NOSYS | Errno::PERM) => {
                UNAVAILABLE.store(true, Ordering::Relaxed);
                Opened::WalkInstead
            }
            // EXDEV: it leaves the root, or an absolute link that may still name a path
            // under it; EAGAIN: a concurrent rename; the walk decides both.
            Err(Errno::XDEV | Errno::AGAIN) => Opened::WalkInstead,
            Err(e) => Opened::Failed(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::unix::fs::symlink;

    use super::*;

    fn read(root: &Root, relative: &str) -> Result<String, BeneathError> {
        let mut text = String::new();
        root.open_file(Path::new(relative))?
            .read_to_string(&mut text)
            .map_err(BeneathError::Io)?;
        Ok(text)
    }

    fn escapes(r: Result<String, BeneathError>) -> bool {
        matches!(r, Err(BeneathError::Escapes))
    }

    #[test]
    fn links_are_followed_inside_and_refused_outside() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(ws.join("a/b")).unwrap();
        std::fs::write(ws.join("a/b/file"), "inside").unwrap();
        std::fs::write(dir.path().join("secret"), "outside").unwrap();
        symlink("b/file", ws.join("a/rel")).unwrap();
        symlink(ws.join("a/b/file"), ws.join("abs-inside")).unwrap();
        symlink(dir.path().join("secret"), ws.join("abs-outside")).unwrap();
        symlink("../../secret", ws.join("a/up")).unwrap();
        symlink("..", ws.join("a/b/parent")).unwrap();
        symlink("/proc/self/root/etc/hostname", ws.join("magic")).unwrap();
        let root = Root::open(&ws).unwrap();

        assert_eq!(read(&root, "a/b/file").unwrap(), "inside");
        assert_eq!(read(&root, "a/rel").unwrap(), "inside");
        assert_eq!(read(&root, "abs-inside").unwrap(), "inside");
        assert_eq!(read(&root, "a/b/parent/b/file").unwrap(), "inside");
        assert_eq!(read(&root, "a/b/../b/file").unwrap(), "inside");
        assert!(escapes(read(&root, "abs-outside")));
        assert!(escapes(read(&root, "a/up")));
        assert!(escapes(read(&root, "../secret")));
        assert!(escapes(read(&root, "a/b/parent/../../secret")));
        assert!(escapes(read(&root, "magic")));
        assert!(
            matches!(read(&root, "missing"), Err(BeneathError::Io(e)) if e.kind() == io::ErrorKind::NotFound)
        );

        // The same answers from the component walk alone.
        let walk = |p: &str| -> Result<String, BeneathError> {
            let mut text = String::new();
            File::from(root.walk(Path::new(p), OFlags::RDONLY | OFlags::CLOEXEC)?)
                .read_to_string(&mut text)
                .map_err(BeneathError::Io)?;
            Ok(text)
        };
        assert_eq!(walk("a/rel").unwrap(), "inside");
        assert_eq!(walk("abs-inside").unwrap(), "inside");
        assert_eq!(walk("a/b/parent/b/file").unwrap(), "inside");
        assert!(escapes(walk("abs-outside")));
        assert!(escapes(walk("a/up")));
        assert!(escapes(walk("magic")));
    }

    #[test]
    fn entries_are_sorted_with_their_kinds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("f"), "").unwrap();
        symlink("f", dir.path().join("l")).unwrap();
        let names = entries(File::open(dir.path()).unwrap()).unwrap();
        assert_eq!(
            names,
            [
                ("d".into(), Kind::Dir),
                ("f".into(), Kind::File),
                ("l".into(), Kind::Link)
            ]
        );
    }
}
