//! Matching a pattern's segments beneath a [`Root`]: every directory listed is opened
//! beneath the root (never through a path or link that leaves it), so what is matched
//! is only ever inside the workspace or an allowed artifact root.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use oore_core::pipeline::glob::PathSegment;
use rustix::fs::OFlags;

use crate::beneath::{self, BeneathError, Root};

/// Deepest directory nesting a `**` descends.
const MAX_DEPTH: usize = 128;

/// What a pattern matched below a root.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Paths relative to the root, sorted, without duplicates. Whether each exists is
    /// decided when it is opened.
    pub(super) paths: Vec<PathBuf>,
    /// Directories the pattern named that lead out of the root (relative to it).
    pub(super) escaping: Vec<PathBuf>,
}

/// The paths below `root` matching `rest`, starting at `start` (relative to the root).
pub(super) fn find(root: &Root, start: &Path, rest: &[PathSegment]) -> Found {
    let mut walk = Walk {
        root,
        found: Found::default(),
        seen: HashSet::new(),
    };
    walk.segments(start.to_path_buf(), rest, 0);
    let mut found = walk.found;
    found.paths.sort();
    found.paths.dedup();
    found
}

struct Walk<'a> {
    root: &'a Root,
    found: Found,
    /// Directories already expanded by a `**` (device, inode, segments left), against
    /// link cycles.
    seen: HashSet<(u64, u64, usize)>,
}

impl Walk<'_> {
    fn segments(&mut self, path: PathBuf, rest: &[PathSegment], depth: usize) {
        let Some((first, after)) = rest.split_first() else {
            self.found.paths.push(path);
            return;
        };
        match first {
            PathSegment::Literal(name) => self.segments(path.join(name), after, depth),
            PathSegment::Glob(glob) => {
                for name in self.list(&path, true) {
                    if name.to_str().is_some_and(|n| glob.is_match(n)) {
                        self.segments(path.join(name), after, depth);
                    }
                }
            }
            PathSegment::AnyDepth => {
                self.segments(path.clone(), after, depth);
                if depth >= MAX_DEPTH {
                    return;
                }
                let Ok(dir) = self
                    .root
                    .open_beneath(&path, OFlags::RDONLY | OFlags::DIRECTORY)
                else {
                    return;
                };
                let Ok(meta) = std::fs::File::from(dir).metadata() else {
                    return;
                };
                use std::os::unix::fs::MetadataExt;
                if !self.seen.insert((meta.dev(), meta.ino(), after.len())) {
                    return;
                }
                for name in self.list(&path, false) {
                    let entry = path.join(&name);
                    // Into linked directories too, while they stay beneath the root.
                    let is_dir = self
                        .root
                        .open_beneath(&entry, OFlags::RDONLY | OFlags::DIRECTORY)
                        .is_ok();
                    if is_dir {
                        self.segments(entry, rest, depth + 1);
                    }
                }
            }
        }
    }

    /// The names in directory `path`; one leading out of the root is remembered when
    /// `report` (a glob names it; a `**` only passes by).
    fn list(&mut self, path: &Path, report: bool) -> Vec<OsString> {
        match self
            .root
            .open_beneath(path, OFlags::RDONLY | OFlags::DIRECTORY)
        {
            Ok(dir) => beneath::entries(&dir)
                .map(|entries| entries.into_iter().map(|(name, _)| name).collect())
                .unwrap_or_default(),
            Err(BeneathError::Escapes) => {
                if report && !self.found.escaping.iter().any(|p| p == path) {
                    self.found.escaping.push(path.to_path_buf());
                }
                Vec::new()
            }
            Err(BeneathError::Io(_)) => Vec::new(),
        }
    }
}
