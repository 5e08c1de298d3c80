//! Build workspaces on disk: [`FsWorkspaces`] implements [`Workspaces`].
//!
//! Layout under `OORE_WORKSPACES_DIR` (spec 17.1):
//!
//! ```text
//! <workspaces_dir>/<build_id>/             the checkout; steps run here
//! <workspaces_dir>/.meta/<build_id>/cm_env the build's CM_ENV file (mode 0700 directory)
//! ```
//!
//! `CM_ENV` lives outside the checkout so `git status`, artifact globs such as `**/*` and
//! the repository's own files never see it, and so a checkout cannot plant one. The
//! runner writes each step's script beside it (`step-<n>.sh`).
//!
//! **With a build user** ([`FsWorkspaces::with_owner`]: `oored` runs as root, steps as
//! `OORE_BUILD_USER`) the workspaces directory and `.meta` are searchable by others
//! (0711) but not listable, `.meta/<build_id>` stays root's (0711: the build user reaches
//! its files by name but cannot add, remove or swap any), `cm_env` is given to the build
//! user (0600), and the checkout is handed over by the git adapter once cloned. Files of
//! the checkout are read beneath the workspace (`read_text`: no link out of it is
//! followed) and `cm_env` without following a link.
//!
//! **`CM_ENV` format.** Codemagic-compatible: steps append lines with
//! `echo "KEY=value" >> $CM_ENV`. Each line `KEY=value` sets `KEY` (a name of letters,
//! digits and `_`, not starting with a digit) to everything after the first `=`, kept
//! verbatim except that one pair of matching surrounding quotes (`"..."` or `'...'`) is
//! removed; no escapes or `$VAR` expansion. Multi-line values use a delimiter:
//! a line `KEY<<EOF`, the value's lines, then a line `EOF`. Blank lines, `#` comments
//! and lines that are not assignments are skipped. Later assignments win (the caller
//! merges in order). Invalid UTF-8 is replaced, never fatal.
//!
//! **Retention** (spec 15.3). [`FsWorkspaces`] implements [`BuildDirectories`]: it lists
//! each build's workspace with the modification time of its top-level directory (a
//! `.meta` directory left without its workspace is listed by its own time) and removes a
//! build's workspace together with its `.meta` directory. Which are old is the core's
//! `prune_build_directories`, which the server's cleanup task calls every 5 minutes. Only
//! directories named by a build id are touched, so anything else an operator keeps there
//! is left alone.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use oore_core::ids::BuildId;
use oore_core::ports::{
    BuildDirectories, RetentionError, StoredBuildDir, WorkspaceError, Workspaces,
};

use crate::beneath::{BeneathError, Root};
use crate::build_dirs::{self, build_dirs};
use crate::fs_error;

/// Directory (under the workspaces directory) holding per-build files kept out of the
/// checkout.
pub const META_DIR: &str = ".meta";
/// Name of the `CM_ENV` file inside `.meta/<build_id>/`.
pub const CM_ENV_FILE: &str = "cm_env";
/// Largest `CM_ENV` file read; past it the variables are not applied.
pub const MAX_CM_ENV_BYTES: u64 = 1024 * 1024;

const SETTING: &str = "OORE_WORKSPACES_DIR";

/// One directory per build under the workspaces directory.
#[derive(Debug, Clone)]
pub struct FsWorkspaces {
    root: PathBuf,
    /// The build user's uid and gid, when steps run as another user than `oored`.
    owner: Option<(u32, u32)>,
}

impl FsWorkspaces {
    /// Workspaces under `workspaces_dir` (created on first use). A relative path is made
    /// absolute against the current directory, so `CM_ENV` stays valid when a step `cd`s.
    pub fn new(workspaces_dir: PathBuf) -> Self {
        let root = std::path::absolute(&workspaces_dir).unwrap_or(workspaces_dir);
        Self { root, owner: None }
    }

    /// Steps run as `uid`:`gid`, not as `oored` (module doc).
    #[must_use]
    pub fn with_owner(mut self, uid: u32, gid: u32) -> Self {
        self.owner = Some((uid, gid));
        self
    }

    /// The root of the builds' private directories (`<workspaces_dir>/.meta`): the
    /// runner writes step scripts into `<it>/<build_id>/`.
    pub fn private_root(&self) -> PathBuf {
        self.root.join(META_DIR)
    }

    /// The workspaces directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The build's workspace (the checkout): `<workspaces_dir>/<build_id>`.
    pub fn path(&self, build: BuildId) -> PathBuf {
        self.root.join(build.to_string())
    }

    fn meta_dir(&self, build: BuildId) -> PathBuf {
        self.root.join(META_DIR).join(build.to_string())
    }
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, WorkspaceError> + Send + 'static,
) -> Result<T, WorkspaceError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(WorkspaceError(format!("workspace task failed: {e}"))))
}

#[async_trait]
impl Workspaces for FsWorkspaces {
    async fn create(&self, build: BuildId) -> Result<PathBuf, WorkspaceError> {
        let (root, dir, meta) = (self.root.clone(), self.path(build), self.meta_dir(build));
        let owner = self.owner;
        run(move || create_blocking(&root, &dir, &meta, owner).map(|()| dir)).await
    }

    async fn read_text(
        &self,
        build: BuildId,
        relative: &str,
        max_bytes: usize,
    ) -> Result<Option<String>, WorkspaceError> {
        let (dir, relative) = (self.path(build), relative.to_owned());
        run(move || read_text_blocking(&dir, &relative, max_bytes)).await
    }

    fn cm_env_path(&self, build: BuildId) -> PathBuf {
        self.meta_dir(build).join(CM_ENV_FILE)
    }

    async fn read_cm_env(&self, build: BuildId) -> Result<Vec<(String, String)>, WorkspaceError> {
        let path = self.cm_env_path(build);
        run(move || {
            let bytes = match read_capped(&path, MAX_CM_ENV_BYTES) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    return Err(WorkspaceError(format!(
                        "CM_ENV is larger than {MAX_CM_ENV_BYTES} bytes; write fewer or shorter variables to it"
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => {
                    return Err(WorkspaceError(format!(
                        "cannot read {}: {e}",
                        path.display()
                    )));
                }
            };
            Ok(parse_cm_env(&String::from_utf8_lossy(&bytes)))
        })
        .await
    }
}

#[async_trait]
impl BuildDirectories for FsWorkspaces {
    fn kind(&self) -> &'static str {
        "workspaces"
    }

    async fn list(&self) -> Result<Vec<StoredBuildDir>, RetentionError> {
        let root = self.root.clone();
        build_dirs::blocking(move || {
            let mut dirs = build_dirs::list(&root, SETTING)?;
            // A `.meta` directory whose workspace is gone (removed by hand) counts alone.
            let meta_root = root.join(META_DIR);
            let metas = build_dirs(&meta_root)
                .map_err(|e| build_dirs::list_error(&meta_root, &e, SETTING))?;
            for (build, meta) in metas {
                if !dirs.iter().any(|d| d.build == build) {
                    dirs.push(StoredBuildDir {
                        build,
                        modified: build_dirs::modified(&meta),
                    });
                }
            }
            Ok(dirs)
        })
        .await
    }

    async fn remove(&self, build: BuildId) -> Result<(), RetentionError> {
        let root = self.root.clone();
        let dirs = [self.path(build), self.meta_dir(build)];
        build_dirs::blocking(move || {
            dirs.iter().try_for_each(|d| {
                force_remove_dir(d).map_err(|e| build_dirs::remove_error(d, &e, &root, SETTING))
            })
        })
        .await
    }
}

fn create_blocking(
    root: &Path,
    dir: &Path,
    meta: &Path,
    owner: Option<(u32, u32)>,
) -> Result<(), WorkspaceError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |what: &str, path: &Path, e: io::Error| {
        WorkspaceError(fs_error::describe(what, path, &e, root, SETTING))
    };
    let set_mode = |path: &Path, mode: u32| {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| err("set the permissions of", path, e))
    };
    fs::create_dir_all(root).map_err(|e| err("create", root, e))?;
    force_remove_dir(dir).map_err(|e| err("remove the old workspace", dir, e))?;
    fs::create_dir(dir).map_err(|e| err("create", dir, e))?;
    force_remove_dir(meta).map_err(|e| err("remove", meta, e))?;
    fs::create_dir_all(meta).map_err(|e| err("create", meta, e))?;
    if owner.is_some() {
        // The build user reaches its workspace and private files by name only.
        for path in [root, &root.join(META_DIR), meta] {
            set_mode(path, 0o711)?;
        }
    } else {
        set_mode(meta, 0o700)?;
    }
    let cm_env = meta.join(CM_ENV_FILE);
    let file = File::create(&cm_env).map_err(|e| err("create", &cm_env, e))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
            .map_err(|e| err("give the build user", &cm_env, e))?;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| err("set the permissions of", &cm_env, e))?;
    }
    Ok(())
}

fn read_text_blocking(
    dir: &Path,
    relative: &str,
    max_bytes: usize,
) -> Result<Option<String>, WorkspaceError> {
    check_relative(relative)?;
    let root = Root::open(dir).map_err(|e| {
        WorkspaceError(format!(
            "cannot open the workspace {}: {e}; the build must create it first",
            dir.display()
        ))
    })?;
    let file = match root.open_file(Path::new(relative)) {
        Ok(file) => file,
        Err(BeneathError::Escapes) => {
            return Err(WorkspaceError(format!(
                "refusing to read {relative}: it is a symbolic link leading outside the workspace"
            )));
        }
        Err(BeneathError::Io(e))
            if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            return Ok(None);
        }
        Err(BeneathError::Io(e)) => {
            return Err(WorkspaceError(format!("cannot open {relative}: {e}")));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| WorkspaceError(format!("cannot read {relative}: {e}")))?;
    if !meta.is_file() {
        return Err(WorkspaceError(format!(
            "{relative} is not a regular file; replace it with a text file"
        )));
    }
    let too_big = || {
        WorkspaceError(format!(
            "{relative} is larger than {max_bytes} bytes; make it smaller"
        ))
    };
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX);
    let bytes = match read_all_capped(file, limit) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(too_big()),
        Err(e) => return Err(WorkspaceError(format!("cannot read {relative}: {e}"))),
    };
    String::from_utf8(bytes).map(Some).map_err(|e| {
        WorkspaceError(format!(
            "{relative} is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Accepts plain relative paths only: no root, no drive, no `..`.
fn check_relative(relative: &str) -> Result<(), WorkspaceError> {
    let path = Path::new(relative);
    let plain = !relative.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if plain {
        Ok(())
    } else {
        Err(WorkspaceError(format!(
            "refusing to read '{relative}': only paths inside the workspace, without '..', can be read"
        )))
    }
}

/// The whole file (never through a symbolic link; a pipe or device is refused), or
/// `None` when it is longer than `limit` bytes.
fn read_capped(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    read_all_capped(file, limit)
}

/// The rest of `file`, or `None` when it is longer than `limit` bytes.
fn read_all_capped(file: File, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn unquote(value: &str) -> &str {
    let b = value.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// Parses `CM_ENV` (format in the module docs).
fn parse_cm_env(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<").filter(|&h| eq.is_none_or(|e| h < e));
        if let Some(h) = heredoc {
            let (name, delimiter) = (&line[..h], line[h + 2..].trim());
            let mut value: Vec<&str> = Vec::new();
            let mut closed = false;
            for next in lines.by_ref() {
                if next == delimiter {
                    closed = true;
                    break;
                }
                value.push(next);
            }
            if closed && is_name(name) && !delimiter.is_empty() {
                out.push((name.to_owned(), value.join("\n")));
            }
            continue;
        }
        if let Some(e) = eq
            && is_name(&line[..e])
        {
            out.push((line[..e].to_owned(), unquote(&line[e + 1..]).to_owned()));
        }
    }
    out
}

/// `remove_dir_all`, also when the tree has read-only directories (Go's module cache
/// and some SDK caches make theirs `r-x`). A missing directory is fine.
pub(crate) fn force_remove_dir(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_writable(path);
            match fs::remove_dir_all(path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        }
        Err(e) => Err(e),
    }
}

fn make_writable(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = fs::symlink_metadata(dir) else {
            return;
        };
        if !meta.is_dir() {
            return;
        }
        let mode = meta.permissions().mode();
        if mode & 0o700 != 0o700 {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o700));
        }
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.flatten() {
                make_writable(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_cm_env(text)
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn cm_env_keeps_values_verbatim_and_skips_junk() {
        let text = "A=1\n\n# comment\nB=x=y\nnot an assignment\n1BAD=z\nC=\"quoted value\"\nD='single'\nE=\"unbalanced\nF=$HOME/x\r\n  G=indented\nH= spaced \n";
        assert_eq!(
            pairs(text),
            vec![
                kv("A", "1"),
                kv("B", "x=y"),
                kv("C", "quoted value"),
                kv("D", "single"),
                kv("E", "\"unbalanced"),
                kv("F", "$HOME/x"),
                kv("G", "indented"),
                kv("H", " spaced "),
            ]
        );
    }

    #[test]
    fn cm_env_reads_delimited_multi_line_values() {
        let text = "KEY<<EOF\nline 1\nline=2\nEOF\nNEXT=1\nOPEN<<END\nnever closed\n";
        assert_eq!(
            pairs(text),
            vec![kv("KEY", "line 1\nline=2"), kv("NEXT", "1")]
        );
        // `<<` after the `=` is part of an ordinary value.
        assert_eq!(pairs("A=b<<c\n"), vec![kv("A", "b<<c")]);
    }

    #[test]
    fn relative_paths_must_stay_inside() {
        for ok in ["codemagic.yaml", "./a/b.txt", "a/./b"] {
            assert!(check_relative(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a/.."] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn disk_full_says_what_to_do() {
        let e = io::Error::from(io::ErrorKind::StorageFull);
        let message = fs_error::describe("create", Path::new("/w/x"), &e, Path::new("/w"), SETTING);
        assert_eq!(
            message,
            "no space left on device in /w; free space or change OORE_WORKSPACES_DIR"
        );
    }
}
