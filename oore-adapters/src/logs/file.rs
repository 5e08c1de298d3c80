//! On-disk format of one capped log file, and reading it by logical offset.
//!
//! A file holds the newest bytes of one stream, exactly as written. Once the size cap has
//! dropped older bytes, the file starts with one marker line written by Oore:
//!
//! ```text
//! [oore: 12345678 earlier bytes dropped: log limit OORE_MAX_LOG_SIZE_BYTES=52428800]
//! ```
//!
//! followed by the kept bytes. The number counts every byte dropped so far, so the byte at
//! logical offset `L` (offsets count every byte ever written) sits at physical position
//! `L - dropped + marker_len`. The marker is part of the same atomic rename as the bytes it
//! describes, so the file alone is self-consistent: a reader that opened either the old or
//! the new inode gets a matching mapping. The sidecar `<file>.dropped` is written before the
//! first such rename and says "the first line is Oore's marker", so process output that
//! merely looks like a marker is never mistaken for one. Readers and a restarted server use
//! the same code path: [`Layout::of`].

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use oore_core::ports::LogChunk;

/// Longest marker line we ever parse (the real one is under 100 bytes).
const MAX_MARKER_LEN: usize = 256;
const MARKER_PREFIX: &[u8] = b"[oore: ";
const MARKER_MIDDLE: &[u8] = b" earlier bytes dropped";

/// The marker line that starts a file whose older bytes were dropped.
pub(crate) fn marker_line(dropped: u64, cap: u64) -> Vec<u8> {
    format!("[oore: {dropped} earlier bytes dropped: log limit OORE_MAX_LOG_SIZE_BYTES={cap}]\n")
        .into_bytes()
}

/// `<file>.dropped`: exists once the file has been cut at least once.
pub(crate) fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".dropped");
    PathBuf::from(name)
}

/// `<file>.tmp`: the next version of the file while it is being cut.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// How logical offsets map onto one opened file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Bytes dropped from the front so far.
    pub(crate) dropped: u64,
    /// Length of the marker line (0 when nothing was dropped).
    pub(crate) header_len: u64,
    /// Size of the file on disk.
    pub(crate) phys_len: u64,
}

impl Layout {
    /// The layout of `file`, which was opened from `path`. Open the file first, then call
    /// this: the sidecar is written before the rename, so it is always seen when needed.
    pub(crate) fn of(file: &File, path: &Path) -> io::Result<Self> {
        let phys_len = file.metadata()?.len();
        let mut layout = Layout {
            dropped: 0,
            header_len: 0,
            phys_len,
        };
        if sidecar_path(path).exists() {
            let mut head = vec![0u8; MAX_MARKER_LEN.min(phys_len as usize)];
            let n = read_full_at(file, &mut head, 0)?;
            if let Some((dropped, header_len)) = parse_marker(&head[..n]) {
                layout.dropped = dropped;
                layout.header_len = header_len;
            }
        }
        Ok(layout)
    }

    /// Bytes of stream data in the file (after the marker).
    pub(crate) fn data_len(&self) -> u64 {
        self.phys_len.saturating_sub(self.header_len)
    }

    /// Every byte ever written, dropped ones included.
    pub(crate) fn logical_len(&self) -> u64 {
        self.dropped + self.data_len()
    }
}

/// `(dropped, marker length including the newline)` if `head` starts with a marker line.
fn parse_marker(head: &[u8]) -> Option<(u64, u64)> {
    let rest = head.strip_prefix(MARKER_PREFIX)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let dropped: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    if !rest[digits..].starts_with(MARKER_MIDDLE) {
        return None;
    }
    let newline = head.iter().position(|&b| b == b'\n')?;
    Some((dropped, newline as u64 + 1))
}

/// Reads until `buf` is full or the file ends; returns how much was read.
pub(crate) fn read_full_at(file: &File, buf: &mut [u8], mut pos: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], pos) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                pos += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Up to `max_bytes` of the file at `path` from logical `offset`. Blocking.
pub(crate) fn read_chunk(path: &Path, offset: u64, max_bytes: usize) -> io::Result<LogChunk> {
    let file = File::open(path)?;
    let layout = Layout::of(&file, path)?;
    let end = layout.logical_len();
    // Bytes before `dropped` are gone: start at the oldest byte still kept.
    let start = offset.max(layout.dropped).min(end);
    let want = (end - start).min(max_bytes as u64) as usize;
    let mut data = vec![0u8; want];
    let phys = start - layout.dropped + layout.header_len;
    let n = read_full_at(&file, &mut data, phys)?;
    data.truncate(n);
    Ok(LogChunk {
        next_offset: start + n as u64,
        offset: start,
        data,
    })
}

/// The logical length of the file at `path`. Blocking.
pub(crate) fn logical_len(path: &Path) -> io::Result<u64> {
    let file = File::open(path)?;
    Ok(Layout::of(&file, path)?.logical_len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips() {
        let line = marker_line(12_345_678, 52_428_800);
        assert_eq!(
            line,
            b"[oore: 12345678 earlier bytes dropped: log limit OORE_MAX_LOG_SIZE_BYTES=52428800]\n"
        );
        let mut head = line.clone();
        head.extend_from_slice(b"kept bytes\n");
        assert_eq!(parse_marker(&head), Some((12_345_678, line.len() as u64)));
    }

    #[test]
    fn output_that_is_not_a_marker_is_not_parsed() {
        assert_eq!(parse_marker(b"[oore: lots of bytes dropped]\n"), None);
        assert_eq!(parse_marker(b"[oore: 12 earlier bytes dropped"), None);
        assert_eq!(parse_marker(b"hello\n"), None);
    }
}
