//! Build artifacts on disk: [`FsArtifacts`] implements [`ArtifactCollector`], copying the
//! files a workflow's `artifacts` patterns match into `<artifacts_root>/<build_id>/`
//! (`OORE_LOGS_DIR/artifacts/<build_id>/`, spec 7.1).
//!
//! **Patterns** (syntax in `glob`): `$VAR`, `${VAR}` and a leading `~` are expanded from the
//! build's environment (an unset variable skips the pattern with a warning), `{a,b}` gives
//! alternatives, and relative patterns start at the request's `base_dir`. A matched
//! directory is collected with everything below it.
//!
//! **Stored names** keep the path: relative to `base_dir` when the file is below it, else
//! relative to the workspace, else (absolute patterns such as `/tmp/xcodebuild_logs/*.log`)
//! relative to the parent of the pattern's literal leading directories, so that file is
//! stored as `xcodebuild_logs/x.log`. Two different files that would get the same name:
//! the first wins, the second is skipped with a warning.
//!
//! **Nothing is collected from outside the workspace** (spec: issue 10), because
//! `oored` may read more than the build (it runs as root with a build user, or the build
//! shares its account and could point it at the data directory). Every path is opened
//! beneath the workspace's descriptor (`beneath`: `openat2(RESOLVE_BENEATH)`, or a walk
//! with `O_NOFOLLOW`), so a symbolic link is followed only while it stays inside, and a
//! path checked cannot be swapped between check and open. Links leading out are skipped
//! with a warning naming them; `**` does not descend into them. Absolute patterns (and
//! relative ones that `..` out of the workspace) collect only beneath a directory the
//! operator listed in `OORE_ARTIFACT_ROOTS` ([`FsArtifacts::with_allowed_roots`]), with
//! the same rules inside it; elsewhere they are a warning and collect nothing. With a
//! build user ([`FsArtifacts::readable_by`]) a file is taken only if that account could
//! read it and search every directory on the way (a hardlink to a file it cannot read,
//! made where `fs.protected_hardlinks` is off, is skipped). Pipes, sockets and devices
//! are skipped with a warning.
//!
//! **Copies** are streamed (a 256 KiB buffer): size and SHA-256 are computed while copying,
//! so artifacts of several GB never sit in memory. A source that cannot be read is a
//! warning; failing to write (a full disk) stops the collection with an [`ArtifactError`].
//!
//! **Reading and retention** (`files`): [`FsArtifacts`] also implements
//! [`ArtifactFiles`](oore_core::ports::ArtifactFiles) (size, reads by offset, CRC-32) for
//! downloads and the artifacts zip, and
//! [`BuildDirectories`](oore_core::ports::BuildDirectories) for log retention.

mod files;
mod glob;
mod walk;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use async_trait::async_trait;
use oore_core::ids::BuildId;
use oore_core::ports::{
    ArtifactCollector, ArtifactError, CollectOutcome, CollectRequest, CollectedFile,
};
use sha2::{Digest, Sha256};

use crate::beneath::{self, BeneathError, Root};
use crate::build_user::BuildUser;
use crate::fs_error;
use glob::{Pattern, expand_braces, expand_vars, normalize};

/// The setting that moves the artifact directory (for error messages).
const SETTING: &str = "OORE_LOGS_DIR";
const COPY_BUFFER: usize = 256 * 1024;
/// Most warnings returned; the rest are counted in a last one.
const MAX_WARNINGS: usize = 100;

/// Artifacts under one root directory, one subdirectory per build.
#[derive(Debug, Clone)]
pub struct FsArtifacts {
    root: PathBuf,
    /// Directories absolute patterns may collect beneath (`OORE_ARTIFACT_ROOTS`).
    allowed_roots: Vec<PathBuf>,
    /// Take only what this account may read.
    reader: Option<BuildUser>,
}

impl FsArtifacts {
    /// Artifacts under `artifacts_root` (created on first use; the server passes
    /// `OORE_LOGS_DIR/artifacts`). Absolute patterns collect nothing until
    /// [`with_allowed_roots`](Self::with_allowed_roots).
    pub fn new(artifacts_root: PathBuf) -> Self {
        let root = std::path::absolute(&artifacts_root).unwrap_or(artifacts_root);
        Self {
            root,
            allowed_roots: Vec::new(),
            reader: None,
        }
    }

    /// Lets absolute patterns collect beneath these absolute directories
    /// (`OORE_ARTIFACT_ROOTS`).
    #[must_use]
    pub fn with_allowed_roots(mut self, roots: Vec<PathBuf>) -> Self {
        self.allowed_roots = roots.iter().map(|r| normalize(r)).collect();
        self
    }

    /// Collects only files `user` could read itself (`OORE_BUILD_USER`).
    #[must_use]
    pub fn readable_by(mut self, user: BuildUser) -> Self {
        self.reader = Some(user);
        self
    }

    /// The build's artifact directory.
    pub fn build_dir(&self, build: BuildId) -> PathBuf {
        self.root.join(build.to_string())
    }

    /// Where the artifact stored as `relative` lives; `None` when `relative` is empty,
    /// absolute or has `..` (it would leave the build's directory). Existence is not checked.
    pub fn artifact_path(&self, build: BuildId, relative: &str) -> Option<PathBuf> {
        let path = Path::new(relative);
        let plain = !relative.is_empty()
            && !relative.contains('\0')
            && path.components().all(|c| matches!(c, Component::Normal(_)));
        plain.then(|| self.build_dir(build).join(path))
    }
}

#[async_trait]
impl ArtifactCollector for FsArtifacts {
    async fn collect(&self, request: &CollectRequest) -> Result<CollectOutcome, ArtifactError> {
        let (this, dest, request) = (self.clone(), self.build_dir(request.build), request.clone());
        tokio::task::spawn_blocking(move || Collection::new(&this, dest, &request)?.run(&request))
            .await
            .unwrap_or_else(|e| {
                Err(ArtifactError(format!(
                    "artifact collection task failed: {e}"
                )))
            })
    }
}

/// Which allowed root a path is under, and whether it was opened.
enum Allowed {
    NotOpened(PathBuf),
    Opened(Rc<Root>),
    Failed,
}

struct Collection {
    root: PathBuf,
    dest: PathBuf,
    /// The workspace, open (everything relative is resolved beneath it).
    workspace: Rc<Root>,
    /// The base directory, lexically normalized (names are computed from it).
    base: PathBuf,
    allowed: Vec<Allowed>,
    reader: Option<BuildUser>,
    /// The artifact directory (device, inode), if it exists: never collected from.
    store_id: Option<(u64, u64)>,
    /// Stored names and the file (device, inode) each came from.
    stored: HashMap<String, (u64, u64)>,
    /// Directories being expanded (device, inode), against link loops.
    expanding: Vec<(u64, u64)>,
    outcome: CollectOutcome,
    dropped_warnings: usize,
}

impl Collection {
    fn new(
        artifacts: &FsArtifacts,
        dest: PathBuf,
        request: &CollectRequest,
    ) -> Result<Self, ArtifactError> {
        let workspace = Root::open(&request.workspace).map_err(|e| {
            ArtifactError(format!(
                "cannot open the workspace {}: {e}; it must exist while artifacts are collected",
                request.workspace.display()
            ))
        })?;
        let base = normalize(&workspace.path().join(&request.base_dir));
        Ok(Self {
            root: artifacts.root.clone(),
            dest,
            workspace: Rc::new(workspace),
            base,
            allowed: artifacts
                .allowed_roots
                .iter()
                .map(|r| Allowed::NotOpened(r.clone()))
                .collect(),
            reader: artifacts.reader.clone(),
            store_id: fs::metadata(&artifacts.root)
                .ok()
                .map(|m| (m.dev(), m.ino())),
            stored: HashMap::new(),
            expanding: Vec::new(),
            outcome: CollectOutcome::default(),
            dropped_warnings: 0,
        })
    }

    fn warn(&mut self, message: String) {
        if self.outcome.warnings.len() < MAX_WARNINGS {
            self.outcome.warnings.push(message);
        } else {
            self.dropped_warnings += 1;
        }
    }

    fn run(mut self, request: &CollectRequest) -> Result<CollectOutcome, ArtifactError> {
        for raw in &request.patterns {
            if raw.trim().is_empty() {
                self.warn("an artifact pattern is empty; it was skipped".to_owned());
                continue;
            }
            let expanded = match expand_vars(raw, &request.env) {
                Ok(p) => p,
                Err(name) => {
                    self.warn(format!(
                        "artifact pattern '{raw}' uses {name}, which is not set; the pattern was skipped"
                    ));
                    continue;
                }
            };
            let (mut any, mut refused) = (false, false);
            for alternative in expand_braces(&expanded) {
                let pattern = Pattern::parse(&alternative, &self.base);
                let strip = pattern
                    .start
                    .parent()
                    .unwrap_or(&pattern.start)
                    .to_path_buf();
                let Some((root, start)) = self.root_for(&pattern.start) else {
                    if !refused {
                        refused = true;
                        self.warn(format!(
                            "artifact pattern '{raw}' names {}, outside the workspace, and nothing was collected from it: \
                             absolute patterns only collect under the directories listed in OORE_ARTIFACT_ROOTS (ask the server's operator)",
                            pattern.start.display()
                        ));
                    }
                    continue;
                };
                let found = walk::find(&root, &start, &pattern.rest);
                for dir in found.escaping {
                    any = true;
                    let shown = root.path().join(dir);
                    let message = self.escape_warning(&root, &shown);
                    self.warn(message);
                }
                for path in found.paths {
                    any |= self.take(&root, &path, &strip)?;
                }
            }
            if !any && !refused {
                self.warn(format!("artifact pattern '{raw}' matched no files"));
            }
        }
        if self.dropped_warnings > 0 {
            let n = self.dropped_warnings;
            self.outcome
                .warnings
                .push(format!("... and {n} more warnings"));
        }
        Ok(self.outcome)
    }

    /// The root a pattern's literal start is under (the workspace, else an allowed
    /// root), opened, and the start relative to it.
    fn root_for(&mut self, start: &Path) -> Option<(Rc<Root>, PathBuf)> {
        if let Some(relative) = self.workspace.relative(start) {
            return Some((self.workspace.clone(), relative.to_path_buf()));
        }
        let index = self.allowed.iter().position(|a| match a {
            Allowed::NotOpened(path) => start.starts_with(path),
            Allowed::Opened(root) => root.contains(start),
            Allowed::Failed => false,
        })?;
        if let Allowed::NotOpened(path) = &self.allowed[index] {
            let path = path.clone();
            match Root::open(&path) {
                Ok(root) => self.allowed[index] = Allowed::Opened(Rc::new(root)),
                Err(e) => {
                    self.allowed[index] = Allowed::Failed;
                    self.warn(format!(
                        "cannot open {} (listed in OORE_ARTIFACT_ROOTS): {e}; nothing was collected from it",
                        path.display()
                    ));
                    return None;
                }
            }
        }
        match &self.allowed[index] {
            Allowed::Opened(root) => {
                let relative = root.relative(start)?.to_path_buf();
                Some((root.clone(), relative))
            }
            _ => None,
        }
    }

    fn escape_warning(&self, root: &Root, shown: &Path) -> String {
        let place = if std::ptr::eq(root, self.workspace.as_ref()) {
            "the workspace".to_owned()
        } else {
            root.path().display().to_string()
        };
        format!(
            "skipped {}: it is a symbolic link leading outside {place}",
            shown.display()
        )
    }

    /// Collects a matched path (a file, or a directory recursively). True if it matched
    /// something, even when that was skipped with a warning.
    fn take(
        &mut self,
        root: &Rc<Root>,
        relative: &Path,
        strip: &Path,
    ) -> Result<bool, ArtifactError> {
        let shown = normalize(&root.path().join(relative));
        // With a build user: only along directories it could search itself.
        let opened = match &self.reader {
            Some(user) => root
                .open_file_searching(relative, &|uid, gid, mode| user.may_search(uid, gid, mode)),
            None => root.open_file(relative),
        };
        let file = match opened {
            Ok(file) => file,
            Err(BeneathError::Escapes) => {
                let message = self.escape_warning(root, &shown);
                self.warn(message);
                return Ok(true);
            }
            Err(BeneathError::Io(e))
                if e.kind() == io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                return Ok(false);
            }
            Err(BeneathError::Io(e)) if e.kind() == io::ErrorKind::PermissionDenied => {
                let user = self.reader.as_ref().map_or("oored", |u| u.name.as_str());
                self.warn(format!(
                    "skipped {}: the build user {user} may not read it",
                    shown.display()
                ));
                return Ok(true);
            }
            Err(BeneathError::Io(e)) => {
                self.warn(format!("skipped {}: {e}", shown.display()));
                return Ok(true);
            }
        };
        let meta = match file.metadata() {
            Ok(meta) => meta,
            Err(e) => {
                self.warn(format!("skipped {}: {e}", shown.display()));
                return Ok(true);
            }
        };
        let id = (meta.dev(), meta.ino());
        if meta.is_dir() {
            if Some(id) == self.store_id {
                return Ok(true);
            }
            if self.expanding.contains(&id) {
                self.warn(format!(
                    "skipped {}: it links back to a directory being collected (a loop)",
                    shown.display()
                ));
                return Ok(true);
            }
            let entries = match beneath::entries(&file) {
                Ok(entries) => entries,
                Err(e) => {
                    self.warn(format!("skipped {}: {e}", shown.display()));
                    return Ok(true);
                }
            };
            drop(file);
            self.expanding.push(id);
            for (name, _) in entries {
                self.take(root, &relative.join(name), strip)?;
            }
            self.expanding.pop();
        } else if meta.is_file() {
            let readable = self
                .reader
                .as_ref()
                .is_none_or(|u| u.may_read(meta.uid(), meta.gid(), meta.mode()));
            if !readable {
                let user = self.reader.as_ref().map_or("", |u| u.name.as_str());
                self.warn(format!(
                    "skipped {}: the build user {user} may not read it",
                    shown.display()
                ));
                return Ok(true);
            }
            self.copy(file, &shown, id, strip)?;
        } else {
            self.warn(format!(
                "skipped {}: not a regular file (a pipe, socket or device)",
                shown.display()
            ));
        }
        Ok(true)
    }

    /// The stored name of `path`: see the module docs.
    fn name(&self, path: &Path, strip: &Path) -> Option<String> {
        let relative = [&self.base, self.workspace.path(), strip]
            .into_iter()
            .find_map(|prefix| path.strip_prefix(prefix).ok())?;
        let parts: Option<Vec<&str>> = relative
            .components()
            .map(|c| match c {
                Component::Normal(s) => s.to_str(),
                _ => None,
            })
            .collect();
        parts.filter(|p| !p.is_empty()).map(|p| p.join("/"))
    }

    fn copy(
        &mut self,
        source: File,
        path: &Path,
        id: (u64, u64),
        strip: &Path,
    ) -> Result<(), ArtifactError> {
        let Some(name) = self.name(path, strip) else {
            self.warn(format!(
                "skipped {}: its name is not valid UTF-8 or it has no name below the pattern",
                path.display()
            ));
            return Ok(());
        };
        match self.stored.get(&name) {
            Some(previous) if *previous == id => return Ok(()),
            Some(_) => {
                let message = format!(
                    "skipped {}: another file is already stored as {name}",
                    path.display()
                );
                self.warn(message);
                return Ok(());
            }
            None => {}
        }
        let target = self.dest.join(&name);
        let root = self.root.clone();
        let write_err = |what: &str, at: &Path, e: io::Error| {
            ArtifactError(fs_error::describe(what, at, &e, &root, SETTING))
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| write_err("create", parent, e))?;
        }
        match copy_hashing(source, &target) {
            Ok((size, sha256)) => {
                self.stored.insert(name.clone(), id);
                self.outcome.files.push(CollectedFile {
                    path: name,
                    size,
                    sha256,
                });
                Ok(())
            }
            Err(CopyError::Read(e)) => {
                let _ = fs::remove_file(&target);
                self.warn(format!(
                    "skipped {}: reading it failed: {e}",
                    path.display()
                ));
                Ok(())
            }
            Err(CopyError::Write(e)) => {
                let _ = fs::remove_file(&target);
                Err(write_err("write", &target, e))
            }
        }
    }
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Streams `source` into a new file at `target`; returns its size and SHA-256 (hex).
fn copy_hashing(mut source: File, target: &Path) -> Result<(u64, String), CopyError> {
    let mut out = File::create(target).map_err(CopyError::Write)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; COPY_BUFFER];
    let mut size = 0u64;
    loop {
        let n = match source.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n]).map_err(CopyError::Write)?;
        size += n as u64;
    }
    out.sync_all().map_err(CopyError::Write)?;
    Ok((size, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_cannot_escape() {
        let artifacts = FsArtifacts::new(PathBuf::from("/a"));
        let build = BuildId::from_ulid(ulid::Ulid::from_parts(1, 2));
        assert_eq!(
            artifacts.artifact_path(build, "build/app.ipa"),
            Some(PathBuf::from(format!("/a/{build}/build/app.ipa")))
        );
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "./a", "a\0b"] {
            assert_eq!(artifacts.artifact_path(build, bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
    }
}
