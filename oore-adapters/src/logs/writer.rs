//! [`LogWriter`]: appends a stream to its log file as bytes arrive, under a size cap.
//!
//! Below the cap a write is one `write(2)` on an append-mode file, so capture runs at file
//! speed. When a write would take the data past the cap, the writer cuts the file: it keeps
//! the newest half of the cap (starting at a line boundary when one is near), writes a new
//! file holding the marker line (see [`super::file`]), that tail and the new bytes, and
//! renames it over the old one. Each cut copies at most `cap / 2` bytes (with
//! `copy_file_range` where the kernel has it) and happens at most once per `cap / 2` bytes
//! written, so the amortised cost is one extra copy of the overflow, and the step writing
//! is never blocked or killed. Readers that opened the old inode keep a consistent view.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use oore_core::ports::LogFile;

use super::file::{self, Layout};
use super::follow::Notifier;

/// How far into the kept tail a cut may move forward to start on a whole line.
const LINE_SEARCH: u64 = 64 * 1024;

/// The set of files that have a live writer, shared by a build's writers.
pub(crate) type Claims = Arc<Mutex<HashSet<LogFile>>>;

/// Marks `file` as having a writer until dropped.
#[derive(Debug)]
pub(crate) struct Claim {
    claims: Claims,
    file: LogFile,
}

impl Claim {
    /// Claims `file`; fails if another writer has it.
    pub(crate) fn take(claims: &Claims, file: LogFile) -> io::Result<Self> {
        let mut set = claims.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(file) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "this log file already has a writer: drop it before opening another",
            ));
        }
        Ok(Self {
            claims: claims.clone(),
            file,
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.claims
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.file);
    }
}

/// Appends one stream to its log file. At most one per file at a time.
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    path: PathBuf,
    id: LogFile,
    cap: u64,
    dropped: u64,
    header_len: u64,
    data_len: u64,
    notifier: Notifier,
    _claim: Claim,
}

impl LogWriter {
    /// Opens (or continues) the file at `path`.
    pub(crate) fn open(
        path: PathBuf,
        id: LogFile,
        cap: u64,
        notifier: Notifier,
        claim: Claim,
    ) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let layout = Layout::of(&file, &path)?;
        Ok(Self {
            file,
            path,
            id,
            cap: cap.max(1),
            dropped: layout.dropped,
            header_len: layout.header_len,
            data_len: layout.data_len(),
            notifier,
            _claim: claim,
        })
    }

    /// Which file this writes.
    pub fn file(&self) -> LogFile {
        self.id
    }

    /// Where it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logical length: every byte written so far, dropped ones included.
    pub fn len(&self) -> u64 {
        self.dropped + self.data_len
    }

    /// True if nothing was ever written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `buf` to the file now (no buffering), cutting the file if it would pass the
    /// cap. Followers are told at once unless they were told less than
    /// [`NOTIFY_INTERVAL`](super::follow::NOTIFY_INTERVAL) ago; growth held back that way is
    /// announced by a later write, by [`flush`](Self::flush) (call it when output pauses) or
    /// when the writer is dropped.
    pub fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let n = buf.len() as u64;
        if self.data_len + n <= self.cap {
            self.file.write_all(buf)?;
            self.data_len += n;
        } else {
            self.cut_and_write(buf)?;
        }
        self.notifier.grew(self.len());
        Ok(())
    }

    /// Tells followers the current length if it was held back.
    pub fn flush(&mut self) {
        self.notifier.flush(self.len());
    }

    /// Replaces the file with marker + newest kept bytes + the tail of `buf`.
    fn cut_and_write(&mut self, buf: &[u8]) -> io::Result<()> {
        let n = buf.len() as u64;
        let half = self.cap / 2;
        // Keep the newest half of the cap, or as much of a large write as fits.
        let keep = if n <= half { half } else { n.min(self.cap) };
        let from_buf = n.min(keep);
        let mut from_old = keep - from_buf;
        let mut old_start = self.header_len + self.data_len - from_old;
        if from_old > 0 {
            let mut window = vec![0u8; from_old.min(LINE_SEARCH) as usize];
            let got = file::read_full_at(&self.file, &mut window, old_start)?;
            if let Some(p) = window[..got].iter().position(|&b| b == b'\n') {
                let skip = p as u64 + 1;
                old_start += skip;
                from_old -= skip;
            }
        }
        let dropped = self.dropped + (self.data_len - from_old) + (n - from_buf);
        let marker = file::marker_line(dropped, self.cap);

        // The sidecar first: once a reader can see the new file, it knows line 1 is ours.
        write_atomically(
            &file::sidecar_path(&self.path),
            format!("{dropped}\n").as_bytes(),
        )?;

        let tmp = file::temp_path(&self.path);
        let written = self.write_cut(
            &tmp,
            &marker,
            old_start,
            from_old,
            &buf[(n - from_buf) as usize..],
        );
        let next = match written.and_then(|next| fs::rename(&tmp, &self.path).map(|()| next)) {
            Ok(next) => next,
            Err(e) => {
                // The old file is untouched; only the partial new one goes.
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };

        self.file = next;
        self.dropped = dropped;
        self.header_len = marker.len() as u64;
        self.data_len = from_old + from_buf;
        Ok(())
    }
}

impl LogWriter {
    /// Writes the next version of the file to `tmp`: marker, kept old bytes, new bytes.
    fn write_cut(
        &self,
        tmp: &Path,
        marker: &[u8],
        old_start: u64,
        old_len: u64,
        new: &[u8],
    ) -> io::Result<File> {
        let mut next = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        next.write_all(marker)?;
        if old_len > 0 {
            let mut old = &self.file;
            old.seek(SeekFrom::Start(old_start))?;
            // File to file: `copy_file_range` where the kernel has it.
            let copied = io::copy(&mut old.take(old_len), &mut next)?;
            if copied != old_len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} shrank while being cut", self.path.display()),
                ));
            }
        }
        next.write_all(new)?;
        Ok(next)
    }
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        LogWriter::write_all(self, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        LogWriter::flush(self);
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        // Always announce the final length.
        self.notifier.flush(self.len());
    }
}

/// Writes `bytes` to `path` via a temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = file::temp_path(path);
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}
