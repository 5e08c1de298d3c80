//! The byte layout of a stored (uncompressed) zip archive, computed from the entries'
//! names and sizes alone: every offset, and so the archive's length, is known before a
//! byte of any file is read. Headers are produced on demand from the layout and each
//! entry's CRC-32, so any byte range can be served without writing the archive.
//!
//! Format (APPNOTE 6.3.10): per entry a local header (CRC-32 and sizes in it, no data
//! descriptor, UTF-8 name flag, DOS time 1980-01-01 00:00, Unix mode 0644) then the bytes;
//! then the central directory and the end record. ZIP64 records appear only where a
//! value does not fit: an entry of 4 GiB or more, an offset past 4 GiB, 65535 entries or
//! more. Pure: no IO.

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ZipEntry {
    /// Its name, `/`-separated (stored as UTF-8).
    pub(super) name: String,
    /// Its size in bytes.
    pub(super) size: u64,
}

/// What a byte range of the archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// Entry `i`'s local header.
    Local(usize),
    /// Entry `i`'s bytes.
    Data(usize),
    /// Entry `i`'s central directory header.
    Central(usize),
    /// The end records.
    End,
}

/// A part and where it lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Segment {
    /// Offset of its first byte in the archive.
    pub(super) start: u64,
    /// Its length.
    pub(super) len: u64,
    /// What it is.
    pub(super) part: Part,
}

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
const ZIP64_END_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EXTRA: u16 = 0x0001;
/// Bit 11: names are UTF-8.
const FLAGS: u16 = 0x0800;
/// 2.0 (stored files and directories), 4.5 (ZIP64).
const VERSION_PLAIN: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// Made by Unix (3), spec 4.5.
const VERSION_MADE_BY: u16 = (3 << 8) | 45;
/// 1980-01-01 00:00:00, the earliest DOS time (the `zip` crate's default too).
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;
/// A regular file, mode 0644.
const EXTERNAL_ATTRS: u32 = 0o100_644 << 16;
const MAX32: u64 = 0xFFFF_FFFF;
const MAX16: u64 = 0xFFFF;

const LOCAL_FIXED: u64 = 30;
const CENTRAL_FIXED: u64 = 46;
const END_LEN: u64 = 22;
const ZIP64_END_LEN: u64 = 56;
const ZIP64_LOCATOR_LEN: u64 = 20;

/// The layout of one archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ZipLayout {
    entries: Vec<ZipEntry>,
    local_offsets: Vec<u64>,
    central_offset: u64,
    central_size: u64,
    /// Whether the ZIP64 end record and locator precede the end record.
    zip64_end: bool,
    segments: Vec<Segment>,
    len: u64,
}

/// Whether entry `size` needs ZIP64 sizes.
fn big(size: u64) -> bool {
    size >= MAX32
}

fn local_len(entry: &ZipEntry) -> u64 {
    LOCAL_FIXED + entry.name.len() as u64 + if big(entry.size) { 20 } else { 0 }
}

fn central_len(entry: &ZipEntry, local_offset: u64) -> u64 {
    let zip64 = big(entry.size) || local_offset >= MAX32;
    CENTRAL_FIXED + entry.name.len() as u64 + if zip64 { 28 } else { 0 }
}

/// `value` as 32 bits, or the ZIP64 marker when it does not fit.
fn u32_or_max(value: u64) -> u32 {
    u32::try_from(value)
        .ok()
        .filter(|v| u64::from(*v) < MAX32)
        .unwrap_or(u32::MAX)
}

fn u16_or_max(value: u64) -> u16 {
    u16::try_from(value)
        .ok()
        .filter(|v| u64::from(*v) < MAX16)
        .unwrap_or(u16::MAX)
}

/// Little-endian writer.
struct Bytes(Vec<u8>);

impl Bytes {
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

impl ZipLayout {
    /// The layout of an archive of `entries`, in that order.
    pub(super) fn new(entries: Vec<ZipEntry>) -> Self {
        let mut segments = Vec::with_capacity(entries.len() * 3 + 1);
        let mut local_offsets = Vec::with_capacity(entries.len());
        let mut at = 0u64;
        let push = |segments: &mut Vec<Segment>, at: &mut u64, len: u64, part: Part| {
            segments.push(Segment {
                start: *at,
                len,
                part,
            });
            *at += len;
        };
        for (i, entry) in entries.iter().enumerate() {
            local_offsets.push(at);
            push(&mut segments, &mut at, local_len(entry), Part::Local(i));
            push(&mut segments, &mut at, entry.size, Part::Data(i));
        }
        let central_offset = at;
        for (i, entry) in entries.iter().enumerate() {
            let len = central_len(entry, local_offsets[i]);
            push(&mut segments, &mut at, len, Part::Central(i));
        }
        let central_size = at - central_offset;
        let zip64_end =
            entries.len() as u64 >= MAX16 || central_size >= MAX32 || central_offset >= MAX32;
        let end_len = END_LEN
            + if zip64_end {
                ZIP64_END_LEN + ZIP64_LOCATOR_LEN
            } else {
                0
            };
        push(&mut segments, &mut at, end_len, Part::End);
        segments.retain(|s| s.len > 0);
        Self {
            entries,
            local_offsets,
            central_offset,
            central_size,
            zip64_end,
            segments,
            len: at,
        }
    }

    /// The archive's length in bytes.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// The entries, in order.
    pub(super) fn entries(&self) -> &[ZipEntry] {
        &self.entries
    }

    /// The segment holding byte `offset`; `None` at or past the end.
    pub(super) fn segment_at(&self, offset: u64) -> Option<Segment> {
        let after = self.segments.partition_point(|s| s.start <= offset);
        let segment = *self.segments.get(after.checked_sub(1)?)?;
        (offset < segment.start + segment.len).then_some(segment)
    }

    /// Entry `i`'s local header, with its CRC-32.
    pub(super) fn local_header(&self, i: usize, crc32: u32) -> Vec<u8> {
        let entry = &self.entries[i];
        let zip64 = big(entry.size);
        let mut b = Bytes(Vec::with_capacity(local_len(entry) as usize));
        b.u32(LOCAL_SIG)
            .u16(if zip64 { VERSION_ZIP64 } else { VERSION_PLAIN })
            .u16(FLAGS)
            .u16(0)
            .u16(DOS_TIME)
            .u16(DOS_DATE)
            .u32(crc32)
            .u32(u32_or_max(entry.size))
            .u32(u32_or_max(entry.size))
            .u16(entry.name.len() as u16)
            .u16(if zip64 { 20 } else { 0 })
            .raw(entry.name.as_bytes());
        if zip64 {
            b.u16(ZIP64_EXTRA).u16(16).u64(entry.size).u64(entry.size);
        }
        b.0
    }

    /// Entry `i`'s central directory header, with its CRC-32.
    pub(super) fn central_header(&self, i: usize, crc32: u32) -> Vec<u8> {
        let entry = &self.entries[i];
        let offset = self.local_offsets[i];
        let zip64 = big(entry.size) || offset >= MAX32;
        let (size32, offset32) = if zip64 {
            (u32::MAX, u32::MAX)
        } else {
            (u32_or_max(entry.size), u32_or_max(offset))
        };
        let mut b = Bytes(Vec::with_capacity(central_len(entry, offset) as usize));
        b.u32(CENTRAL_SIG)
            .u16(VERSION_MADE_BY)
            .u16(if zip64 { VERSION_ZIP64 } else { VERSION_PLAIN })
            .u16(FLAGS)
            .u16(0)
            .u16(DOS_TIME)
            .u16(DOS_DATE)
            .u32(crc32)
            .u32(size32)
            .u32(size32)
            .u16(entry.name.len() as u16)
            .u16(if zip64 { 28 } else { 0 })
            .u16(0)
            .u16(0)
            .u16(0)
            .u32(EXTERNAL_ATTRS)
            .u32(offset32)
            .raw(entry.name.as_bytes());
        if zip64 {
            b.u16(ZIP64_EXTRA)
                .u16(24)
                .u64(entry.size)
                .u64(entry.size)
                .u64(offset);
        }
        b.0
    }

    /// The end records: ZIP64 end record and locator when needed, then the end record.
    pub(super) fn end(&self) -> Vec<u8> {
        let count = self.entries.len() as u64;
        let zip64_at = self.central_offset + self.central_size;
        let mut b = Bytes(Vec::with_capacity(END_LEN as usize));
        if self.zip64_end {
            b.u32(ZIP64_END_SIG)
                .u64(ZIP64_END_LEN - 12)
                .u16(VERSION_MADE_BY)
                .u16(VERSION_ZIP64)
                .u32(0)
                .u32(0)
                .u64(count)
                .u64(count)
                .u64(self.central_size)
                .u64(self.central_offset);
            b.u32(ZIP64_LOCATOR_SIG).u32(0).u64(zip64_at).u32(1);
        }
        b.u32(END_SIG)
            .u16(0)
            .u16(0)
            .u16(u16_or_max(count))
            .u16(u16_or_max(count))
            .u32(u32_or_max(self.central_size))
            .u32(u32_or_max(self.central_offset))
            .u16(0);
        b.0
    }
}

/// A strict reader of the archives this module lays out, for tests: it walks the local
/// headers as a streaming reader would, then checks that the central directory and the
/// end record agree, and that every CRC-32 matches.
#[cfg(test)]
pub(super) fn unzip(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }
    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }
    use crate::testing::crc32;
    let mut files = Vec::new();
    let mut offsets = Vec::new();
    let mut at = 0;
    while u32_at(zip, at) == LOCAL_SIG {
        assert_eq!(
            u16_at(zip, at + 6),
            FLAGS,
            "no data descriptor, UTF-8 names"
        );
        assert_eq!(u16_at(zip, at + 8), 0, "stored");
        let crc = u32_at(zip, at + 14);
        let size = u32_at(zip, at + 22) as usize;
        assert_eq!(u32_at(zip, at + 18) as usize, size);
        let (n, extra) = (u16_at(zip, at + 26) as usize, u16_at(zip, at + 28) as usize);
        let name = String::from_utf8(zip[at + 30..at + 30 + n].to_vec()).expect("UTF-8 name");
        let data = zip[at + 30 + n + extra..at + 30 + n + extra + size].to_vec();
        assert_eq!(crc, crc32(&data), "CRC-32 of {name}");
        offsets.push(at);
        at += 30 + n + extra + size;
        files.push((name, data));
    }
    let central_at = at;
    for (i, (name, data)) in files.iter().enumerate() {
        assert_eq!(u32_at(zip, at), CENTRAL_SIG, "central header {i}");
        assert_eq!(u32_at(zip, at + 16), crc32(data));
        assert_eq!(u32_at(zip, at + 24) as usize, data.len());
        assert_eq!(u32_at(zip, at + 38), EXTERNAL_ATTRS);
        assert_eq!(u32_at(zip, at + 42) as usize, offsets[i]);
        let n = u16_at(zip, at + 28) as usize;
        assert_eq!(&zip[at + 46..at + 46 + n], name.as_bytes());
        at += 46 + n + u16_at(zip, at + 30) as usize;
    }
    assert_eq!(u32_at(zip, at), END_SIG, "end record");
    assert_eq!(u16_at(zip, at + 10) as usize, files.len());
    assert_eq!(u32_at(zip, at + 12) as usize, at - central_at);
    assert_eq!(u32_at(zip, at + 16) as usize, central_at);
    assert_eq!(at + 22, zip.len(), "nothing after the end record");
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, size: u64) -> ZipEntry {
        ZipEntry {
            name: name.to_owned(),
            size,
        }
    }

    #[test]
    fn an_empty_archive_is_just_the_end_record() {
        let layout = ZipLayout::new(Vec::new());
        assert_eq!(layout.len(), 22);
        assert!(unzip(&layout.end()).is_empty());
    }

    #[test]
    fn offsets_follow_from_names_and_sizes() {
        let layout = ZipLayout::new(vec![entry("a.apk", 10), entry("b/c.txt", 0)]);
        let local = 30 + 5 + 10 + 30 + 7;
        assert_eq!(layout.len(), local + (46 + 5) + (46 + 7) + 22);
        assert_eq!(
            layout.segment_at(35),
            Some(Segment {
                start: 35,
                len: 10,
                part: Part::Data(0)
            })
        );
        // An empty file has no data segment: its local header is followed by the next part.
        assert_eq!(layout.segment_at(45).map(|s| s.part), Some(Part::Local(1)));
        assert_eq!(
            layout.segment_at(local).map(|s| s.part),
            Some(Part::Central(0))
        );
        assert_eq!(
            layout.segment_at(layout.len() - 1).map(|s| s.part),
            Some(Part::End)
        );
        assert_eq!(layout.segment_at(layout.len()), None);
    }

    #[test]
    fn files_of_4_gib_and_more_get_zip64_sizes_and_offsets() {
        let huge = 5 << 30;
        let layout = ZipLayout::new(vec![entry("big.ipa", huge), entry("small", 3)]);
        let big_local = 30 + 7 + 20;
        let small_at = big_local + huge;
        assert_eq!(
            layout.segment_at(small_at).map(|s| s.part),
            Some(Part::Local(1))
        );

        let local = layout.local_header(0, 7);
        assert_eq!(local.len() as u64, big_local);
        assert_eq!(&local[4..6], &VERSION_ZIP64.to_le_bytes());
        assert_eq!(&local[18..26], &[0xFF; 8], "32-bit sizes say: see ZIP64");
        assert_eq!(&local[37..41], &[0x01, 0x00, 16, 0]);
        assert_eq!(&local[41..49], &huge.to_le_bytes());

        // The small file lies past 4 GiB: its central header carries a ZIP64 offset.
        let central = layout.central_header(1, 9);
        assert_eq!(central.len(), 46 + 5 + 28);
        assert_eq!(&central[42..46], &[0xFF; 4]);
        assert_eq!(&central[51 + 4 + 16..51 + 4 + 24], &small_at.to_le_bytes());

        // The central directory starts past 4 GiB too: ZIP64 end record and locator.
        let end = layout.end();
        assert_eq!(end.len(), 56 + 20 + 22);
        let central_at = small_at + 30 + 5 + 3;
        assert_eq!(&end[48..56], &central_at.to_le_bytes());
        assert_eq!(&end[56..60], &ZIP64_LOCATOR_SIG.to_le_bytes());
        assert_eq!(&end[92..96], &[0xFF; 4], "32-bit offset says: see ZIP64");
        assert_eq!(
            layout.len(),
            central_at + (46 + 7 + 28) + (46 + 5 + 28) + 98
        );
    }
}
