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
//! **Symbolic links** are followed when they resolve inside the workspace; those resolving
//! outside it are skipped with a warning naming them (as is anything inside the workspace
//! that only resolves outside it through a linked directory). `**` does not descend into
//! linked directories outside the workspace. Absolute patterns may name files outside the
//! workspace directly. Pipes, sockets and devices are skipped with a warning.
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

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use oore_core::ids::BuildId;
use oore_core::ports::{
    ArtifactCollector, ArtifactError, CollectOutcome, CollectRequest, CollectedFile,
};
use sha2::{Digest, Sha256};

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
}

impl FsArtifacts {
    /// Artifacts under `artifacts_root` (created on first use; the server passes
    /// `OORE_LOGS_DIR/artifacts`).
    pub fn new(artifacts_root: PathBuf) -> Self {
        let root = std::path::absolute(&artifacts_root).unwrap_or(artifacts_root);
        Self { root }
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
        let (root, dest, request) = (
            self.root.clone(),
            self.build_dir(request.build),
            request.clone(),
        );
        tokio::task::spawn_blocking(move || Collection::new(&root, dest, &request)?.run(&request))
            .await
            .unwrap_or_else(|e| {
                Err(ArtifactError(format!(
                    "artifact collection task failed: {e}"
                )))
            })
    }
}

struct Collection {
    root: PathBuf,
    dest: PathBuf,
    /// The workspace, canonical (symbolic links checked against it).
    workspace_real: PathBuf,
    /// The workspace and base directory, lexically normalized (names computed from them).
    workspace: PathBuf,
    base: PathBuf,
    /// The artifact root, canonical if it exists: never collected from.
    root_real: PathBuf,
    stored: HashMap<String, PathBuf>,
    /// Canonical directories being expanded, against link loops.
    expanding: Vec<PathBuf>,
    outcome: CollectOutcome,
    dropped_warnings: usize,
}

impl Collection {
    fn new(root: &Path, dest: PathBuf, request: &CollectRequest) -> Result<Self, ArtifactError> {
        let workspace_real = fs::canonicalize(&request.workspace).map_err(|e| {
            ArtifactError(format!(
                "cannot open the workspace {}: {e}; it must exist while artifacts are collected",
                request.workspace.display()
            ))
        })?;
        let workspace = normalize(&request.workspace);
        let base = normalize(&workspace.join(&request.base_dir));
        Ok(Self {
            root: root.to_path_buf(),
            dest,
            workspace_real,
            workspace,
            base,
            root_real: fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
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
            let mut any = false;
            for alternative in expand_braces(&expanded) {
                let pattern = Pattern::parse(&alternative, &self.base);
                let strip = pattern
                    .start
                    .parent()
                    .unwrap_or(&pattern.start)
                    .to_path_buf();
                for (path, linked) in pattern.find(&self.workspace_real) {
                    any |= self.take(&path, linked, &strip)?;
                }
            }
            if !any {
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

    /// Collects a matched path (a file, or a directory recursively). True if it matched
    /// something, even when that was skipped with a warning.
    fn take(&mut self, path: &Path, linked: bool, strip: &Path) -> Result<bool, ArtifactError> {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return Ok(false);
        };
        let link = meta.file_type().is_symlink();
        let real = match fs::canonicalize(path) {
            Ok(real) => real,
            Err(e) => {
                self.warn(format!("skipped {}: {e}", path.display()));
                return Ok(true);
            }
        };
        let inside_lexically = path.starts_with(&self.workspace);
        if !real.starts_with(&self.workspace_real) && (linked || link || inside_lexically) {
            self.warn(format!(
                "skipped {}: it is a symbolic link to {}, outside the workspace",
                path.display(),
                real.display()
            ));
            return Ok(true);
        }
        if real.starts_with(&self.root_real) {
            return Ok(true);
        }
        let Ok(meta) = fs::metadata(&real) else {
            return Ok(false);
        };
        if meta.is_dir() {
            if self.expanding.contains(&real) {
                self.warn(format!(
                    "skipped {}: it links back to {} (a loop)",
                    path.display(),
                    real.display()
                ));
                return Ok(true);
            }
            let mut entries: Vec<PathBuf> = match fs::read_dir(path) {
                Ok(read) => read.flatten().map(|e| e.path()).collect(),
                Err(e) => {
                    self.warn(format!("skipped {}: {e}", path.display()));
                    return Ok(true);
                }
            };
            entries.sort();
            self.expanding.push(real);
            for entry in entries {
                self.take(&entry, linked || link, strip)?;
            }
            self.expanding.pop();
        } else if meta.is_file() {
            self.copy(path, &real, strip)?;
        } else {
            self.warn(format!(
                "skipped {}: not a regular file (a pipe, socket or device)",
                path.display()
            ));
        }
        Ok(true)
    }

    /// The stored name of `path`: see the module docs.
    fn name(&self, path: &Path, strip: &Path) -> Option<String> {
        let relative = [&self.base, &self.workspace, strip]
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

    fn copy(&mut self, path: &Path, real: &Path, strip: &Path) -> Result<(), ArtifactError> {
        let Some(name) = self.name(path, strip) else {
            self.warn(format!(
                "skipped {}: its name is not valid UTF-8 or it has no name below the pattern",
                path.display()
            ));
            return Ok(());
        };
        match self.stored.get(&name) {
            Some(previous) if previous == real => return Ok(()),
            Some(previous) => {
                let message = format!(
                    "skipped {}: {} is already stored as {name}",
                    path.display(),
                    previous.display()
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
        let source = match File::open(real) {
            Ok(file) => file,
            Err(e) => {
                self.warn(format!("skipped {}: cannot read it: {e}", path.display()));
                return Ok(());
            }
        };
        let outcome = copy_hashing(source, &target);
        match outcome {
            Ok((size, sha256)) => {
                self.stored.insert(name.clone(), real.to_path_buf());
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
