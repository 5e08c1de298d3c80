//! `oore build logs`: read a build's logs by offset, once or following the build until it
//! ends, and write them so binary output cannot drive the terminal: control bytes and
//! invalid UTF-8 are shown escaped unless `--raw` asks for the exact bytes. Following
//! reads the server's event stream (`stream.rs`); polling by offset here is the fallback
//! when a proxy breaks the stream, and resumes from the offsets the stream reached.

use std::time::Duration;

use oore_core::api::{BuildDto, LogChunkResponse, LogOffsets, LogStreamDto, paths};
use oore_core::ports::{LogFile, LogStream};
use serde::Serialize;

use super::fetch_build;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output::Output;

/// How often `--follow` asks for more when it polls (the stream is not available).
const POLL: Duration = Duration::from_millis(300);
/// Bytes asked for per request.
const CHUNK_LIMIT: usize = 512 * 1024;

/// What to print and how.
#[derive(Debug, Clone)]
pub(super) struct LogRequest {
    /// Full build id.
    pub(super) id: String,
    /// One step instead of all.
    pub(super) step: Option<u32>,
    /// Standard error instead of standard output.
    pub(super) stderr: bool,
    /// The system log (clone, setup, artifacts) first.
    pub(super) system: bool,
    /// Keep going until the build ends.
    pub(super) follow: bool,
    /// Exact bytes.
    pub(super) raw: bool,
    /// Chunks as JSON lines.
    pub(super) json: bool,
}

/// One log file of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// `system.log`.
    System,
    /// A step's stdout or stderr.
    Step { index: u32, name: String },
}

/// A chunk as `--json` prints it: where it comes from, then the API's fields.
#[derive(Debug, Serialize)]
struct JsonChunk<'a> {
    step: Option<u32>,
    stream: LogStreamDto,
    #[serde(flatten)]
    chunk: &'a LogChunkResponse,
}

/// Print the logs `request` asks for.
pub(super) fn run(
    request: &LogRequest,
    client: &ApiClient,
    out: &mut Output,
) -> Result<(), CliError> {
    let mut printer = Printer::new(request);
    let build = fetch_build(client, &request.id)?;
    if request.follow {
        let mut offsets = LogOffsets::new();
        match super::stream::follow(request, client, out, &mut printer, &build, &mut offsets)? {
            super::stream::Followed::Ended => Ok(()),
            super::stream::Followed::Poll => {
                let build = fetch_build(client, &request.id)?;
                poll(request, client, out, &mut printer, build, &offsets)
            }
        }
    } else {
        once(request, client, out, &mut printer, &build)
    }
}

/// Everything written so far, once.
fn once(
    request: &LogRequest,
    client: &ApiClient,
    out: &mut Output,
    printer: &mut Printer,
    build: &BuildDto,
) -> Result<(), CliError> {
    let steps = build.steps.as_deref().unwrap_or_default();
    let mut sources = Vec::new();
    if request.system {
        sources.push(Source::System);
    }
    match request.step {
        Some(index) => {
            let Some(step) = steps.iter().find(|s| s.index == index) else {
                return Err(no_step(build, index));
            };
            sources.push(Source::Step {
                index,
                name: step.name.clone(),
            });
        }
        None => sources.extend(steps.iter().map(|s| Source::Step {
            index: s.index,
            name: s.name.clone(),
        })),
    }
    for source in &sources {
        let mut offset = 0;
        printer.header(out, source)?;
        drain(request, client, out, printer, source, &mut offset)?;
        printer.end_source(out)?;
    }
    printer.finish(out)?;
    if steps.is_empty() && request.step.is_none() && !out.is_json() {
        out.warn(&format!(
            "build #{} is {} and has no steps yet; add --follow to wait for its output",
            build.number, build.status
        ));
    }
    Ok(())
}

/// Print as the build runs, until it ends, by polling each file from `offsets` (where
/// the stream stopped, when it was used).
fn poll(
    request: &LogRequest,
    client: &ApiClient,
    out: &mut Output,
    printer: &mut Printer,
    mut build: BuildDto,
    offsets: &LogOffsets,
) -> Result<(), CliError> {
    let mut system_offset = offsets.get(LogFile::System);
    let stream = if request.stderr {
        LogStream::Stderr
    } else {
        LogStream::Stdout
    };
    // Clone and setup come before the steps are known.
    if request.system {
        if printer.current.as_ref() != Some(&Source::System) {
            printer.header(out, &Source::System)?;
        }
        loop {
            let done = has_steps(&build) || build.status.has_ended();
            drain(
                request,
                client,
                out,
                printer,
                &Source::System,
                &mut system_offset,
            )?;
            if done {
                break;
            }
            std::thread::sleep(POLL);
            build = fetch_build(client, &request.id)?;
        }
        printer.end_source(out)?;
    } else {
        while !has_steps(&build) && !build.status.has_ended() {
            std::thread::sleep(POLL);
            build = fetch_build(client, &request.id)?;
        }
    }

    let steps: Vec<(u32, String)> = build
        .steps
        .iter()
        .flatten()
        .filter(|s| request.step.is_none_or(|i| i == s.index))
        .map(|s| (s.index, s.name.clone()))
        .collect();
    if let Some(index) = request.step
        && steps.is_empty()
    {
        return Err(no_step(&build, index));
    }
    for (index, name) in steps {
        let source = Source::Step { index, name };
        let mut offset = offsets.get(LogFile::Step { index, stream });
        if printer.current.as_ref() != Some(&source) {
            if offset > 0 {
                // Printed before the stream broke: a header only if more comes.
                printer.defer_header(&source);
            } else {
                printer.header(out, &source)?;
            }
        }
        loop {
            // Look before reading: a step that had ended before the read has all its
            // output in what the read returns.
            let done = build.status.has_ended()
                || build
                    .steps
                    .iter()
                    .flatten()
                    .find(|s| s.index == index)
                    .is_none_or(|s| s.status.has_ended());
            let complete = drain(request, client, out, printer, &source, &mut offset)?;
            if done || complete {
                break;
            }
            std::thread::sleep(POLL);
            build = fetch_build(client, &request.id)?;
        }
        printer.end_source(out)?;
    }

    while !build.status.has_ended() {
        std::thread::sleep(POLL);
        build = fetch_build(client, &request.id)?;
    }
    if request.system {
        // Artifact collection and the end of the build come after the steps; the header
        // is only printed if there is something.
        printer.deferred_header = Some("== system (continued) ==".to_owned());
        drain(
            request,
            client,
            out,
            printer,
            &Source::System,
            &mut system_offset,
        )?;
        printer.end_source(out)?;
        printer.deferred_header = None;
    }
    printer.finish(out)?;
    report_end(out, &build, build.error_message.as_deref());
    Ok(())
}

/// `build #N ID ended: STATUS (error)` on standard error, unless the output is JSON.
pub(super) fn report_end(out: &mut Output, build: &BuildDto, error: Option<&str>) {
    if out.is_json() {
        return;
    }
    let mut end = format!(
        "build #{} {} ended: {}",
        build.number, build.id, build.status
    );
    if let Some(error) = error {
        end.push_str(&format!(" ({error})"));
    }
    out.raw_stderr(&format!("{}\n", crate::table::sanitize(&end)));
}

/// The error for `--step N` when the build has no such step.
pub(super) fn no_step(build: &BuildDto, index: u32) -> CliError {
    let steps = build.steps.as_deref().unwrap_or_default();
    let why = match (steps.first(), steps.last()) {
        (Some(first), Some(last)) => format!("its steps are {} to {}", first.index, last.index),
        _ if build.status.has_ended() => {
            format!("it ended ({}) before it had steps", build.status)
        }
        _ => format!(
            "it is {} and has no steps yet; add --follow to wait for them",
            build.status
        ),
    };
    CliError::Usage(format!(
        "build #{} {} has no step {index}: {why}; see them with `oore build steps {}`",
        build.number, build.id, build.id
    ))
}

fn has_steps(build: &BuildDto) -> bool {
    build.steps.as_ref().is_some_and(|s| !s.is_empty())
}

/// Read `source` from `offset` until the server has nothing more for now; returns true
/// when the server says the log is complete (the build ended).
fn drain(
    request: &LogRequest,
    client: &ApiClient,
    out: &mut Output,
    printer: &mut Printer,
    source: &Source,
    offset: &mut u64,
) -> Result<bool, CliError> {
    let stream = if request.stderr {
        LogStreamDto::Stderr
    } else {
        LogStreamDto::Stdout
    };
    loop {
        let mut path = paths::build_logs(&request.id);
        path.push_str(&format!("?offset={offset}&limit={CHUNK_LIMIT}"));
        if let Source::Step { index, .. } = source {
            path.push_str(&format!("&step={index}&stream={stream}"));
        }
        let chunk: LogChunkResponse = client.get(&path)?;
        if chunk.offset > *offset {
            out.warn(&format!(
                "{}: {} bytes were dropped by the server's log size cap",
                source.label(stream),
                chunk.offset - *offset
            ));
        }
        let empty = chunk.next_offset <= *offset || chunk.data_base64.is_empty();
        if !empty {
            let bytes = decode_base64(&chunk.data_base64).ok_or_else(|| CliError::BadResponse {
                url: path.clone(),
                status: 200,
                reason: "data_base64 is not base64".to_owned(),
                request_id: None,
            })?;
            printer.chunk(out, source, stream, &chunk, &bytes)?;
        }
        *offset = chunk.next_offset.max(*offset);
        if empty || chunk.complete {
            return Ok(chunk.complete);
        }
    }
}

impl Source {
    fn label(&self, stream: LogStreamDto) -> String {
        match self {
            Self::System => "system log".to_owned(),
            Self::Step { index, .. } => format!("step {index} {stream}"),
        }
    }
}

/// Writes chunks as text, raw bytes or JSON lines, with a header per source when more
/// than one is printed.
pub(super) struct Printer {
    raw: bool,
    json: bool,
    headers: bool,
    escaper: Escaper,
    /// The last thing written ended a line (or nothing was written).
    at_line_start: bool,
    /// A header to print before the next data, if any comes.
    pub(super) deferred_header: Option<String>,
    /// The source whose header was printed last.
    pub(super) current: Option<Source>,
}

impl Printer {
    fn new(request: &LogRequest) -> Self {
        Self {
            raw: request.raw,
            json: request.json,
            headers: request.step.is_none() || request.system,
            escaper: Escaper::default(),
            at_line_start: true,
            deferred_header: None,
            current: None,
        }
    }

    /// `== step N: name ==` on a line of its own, when headers are shown.
    pub(super) fn header(&mut self, out: &mut Output, source: &Source) -> Result<(), CliError> {
        self.current = Some(source.clone());
        self.write_header(out, &header_text(source))
    }

    /// The header of `source`, printed with its next data if any comes.
    pub(super) fn defer_header(&mut self, source: &Source) {
        self.current = Some(source.clone());
        self.deferred_header = Some(header_text(source));
    }

    pub(super) fn write_header(&mut self, out: &mut Output, header: &str) -> Result<(), CliError> {
        if !self.headers || self.json {
            return Ok(());
        }
        if !self.at_line_start {
            out.bytes(b"\n")?;
        }
        self.at_line_start = true;
        out.bytes(format!("{header}\n").as_bytes())
    }

    pub(super) fn chunk(
        &mut self,
        out: &mut Output,
        source: &Source,
        stream: LogStreamDto,
        chunk: &LogChunkResponse,
        bytes: &[u8],
    ) -> Result<(), CliError> {
        if let Some(header) = self.deferred_header.take() {
            self.write_header(out, &header)?;
        }
        if self.json {
            let step = match source {
                Source::System => None,
                Source::Step { index, .. } => Some(*index),
            };
            let line = serde_json::to_string(&JsonChunk {
                step,
                stream: if step.is_some() {
                    stream
                } else {
                    LogStreamDto::System
                },
                chunk,
            })
            .map_err(|e| CliError::Io {
                what: "encode the output as JSON",
                source: std::io::Error::other(e),
            })?;
            return out.text(&line);
        }
        if self.raw {
            if let Some(&last) = bytes.last() {
                self.at_line_start = last == b'\n';
            }
            return out.bytes(bytes);
        }
        let text = self.escaper.push(bytes);
        self.text(out, &text)
    }

    /// The end of all output: text ends with a line break, so the prompt does not follow
    /// a partial line (raw output stays exact).
    pub(super) fn finish(&mut self, out: &mut Output) -> Result<(), CliError> {
        if !self.raw && !self.json && !self.at_line_start {
            self.at_line_start = true;
            out.bytes(b"\n")?;
        }
        Ok(())
    }

    /// The end of one source: flush what the escaper held back.
    pub(super) fn end_source(&mut self, out: &mut Output) -> Result<(), CliError> {
        let rest = self.escaper.finish();
        self.text(out, &rest)
    }

    fn text(&mut self, out: &mut Output, text: &str) -> Result<(), CliError> {
        let Some(last) = text.chars().last() else {
            return Ok(());
        };
        self.at_line_start = last == '\n';
        out.bytes(text.as_bytes())
    }
}

fn header_text(source: &Source) -> String {
    match source {
        Source::System => "== system ==".to_owned(),
        Source::Step { index, name } => {
            format!("== step {index}: {} ==", crate::table::sanitize(name))
        }
    }
}

/// Turns log bytes into text that is safe on a terminal, across chunk boundaries.
///
/// - Printable text, `\n` and `\t` pass through.
/// - `\r\n` becomes `\n`, and a lone `\r` becomes `\n`, so progress output that redraws
///   one line shows every state instead of overwriting (and hiding) text.
/// - Other control characters (C0, DEL, C1) and the bidirectional overrides that can
///   reorder what is shown are escaped: `\x1b`, `\x7f`, `\u{9b}`, `\u{202e}`.
/// - Bytes that are not UTF-8 are shown as `\xff`.
/// - A UTF-8 sequence split between two chunks is held back until the rest arrives.
#[derive(Debug, Default)]
pub(super) struct Escaper {
    pending: Vec<u8>,
    after_cr: bool,
}

impl Escaper {
    /// The text for `bytes`, holding back an incomplete UTF-8 sequence at the end.
    pub(super) fn push(&mut self, bytes: &[u8]) -> String {
        let mut data = std::mem::take(&mut self.pending);
        data.extend_from_slice(bytes);
        let keep = incomplete_utf8_tail(&data);
        self.pending = data.split_off(data.len() - keep);
        self.escape(&data)
    }

    /// The text for whatever was held back; the next push starts afresh.
    pub(super) fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        let text = self.escape(&rest);
        self.after_cr = false;
        text
    }

    fn escape(&mut self, data: &[u8]) -> String {
        let mut out = String::with_capacity(data.len());
        for chunk in data.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\n' if self.after_cr => {}
                    '\n' | '\t' => out.push(c),
                    '\r' => out.push('\n'),
                    c if needs_escape(c) => {
                        if (c as u32) < 0x80 {
                            out.push_str(&format!("\\x{:02x}", c as u32));
                        } else {
                            out.push_str(&format!("\\u{{{:x}}}", c as u32));
                        }
                    }
                    c => out.push(c),
                }
                self.after_cr = c == '\r';
            }
            for byte in chunk.invalid() {
                out.push_str(&format!("\\x{byte:02x}"));
                self.after_cr = false;
            }
        }
        out
    }
}

/// Characters a terminal would act on rather than show.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// How many bytes at the end of `data` start a UTF-8 sequence that is not complete yet.
fn incomplete_utf8_tail(data: &[u8]) -> usize {
    for back in 1..=data.len().min(3) {
        let byte = data[data.len() - back];
        if (0x80..0xc0).contains(&byte) {
            continue; // a continuation byte: look further back for the lead byte
        }
        let needed = match byte {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => return 0,
        };
        return if needed > back { back } else { 0 };
    }
    0
}

/// Standard base64 (padding optional) to bytes; `None` when it is not base64.
pub(super) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(bytes: &[u8]) -> String {
        let mut e = Escaper::default();
        let mut text = e.push(bytes);
        text.push_str(&e.finish());
        text
    }

    #[test]
    fn every_byte_is_shown_safely() {
        for byte in 0..=255u8 {
            let shown = escape(&[byte]);
            let expected = match byte {
                b'\n' | b'\r' => "\n".to_owned(),
                b'\t' => "\t".to_owned(),
                0x00..=0x1f | 0x7f => format!("\\x{byte:02x}"),
                0x20..=0x7e => (byte as char).to_string(),
                // Alone, no byte above 0x7f is UTF-8.
                _ => format!("\\x{byte:02x}"),
            };
            assert_eq!(shown, expected, "byte {byte:#04x}");
            assert!(
                !shown
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "byte {byte:#04x} left a control character: {shown:?}"
            );
        }
    }

    #[test]
    fn ansi_escapes_and_binary_are_escaped() {
        assert_eq!(
            escape(b"\x1b[31mred\x1b[0m\x00\xff ok\n"),
            "\\x1b[31mred\\x1b[0m\\x00\\xff ok\n"
        );
        // A terminal title change, a bell and a backspace.
        assert_eq!(escape(b"\x1b]0;pwned\x07\x08"), "\\x1b]0;pwned\\x07\\x08");
    }

    #[test]
    fn unicode_passes_and_dangerous_unicode_is_escaped() {
        assert_eq!(escape("東京 🚀 café\n".as_bytes()), "東京 🚀 café\n");
        // C1 CSI and a right-to-left override.
        assert_eq!(escape("a\u{9b}31mb".as_bytes()), "a\\u{9b}31mb");
        assert_eq!(escape("x\u{202e}y".as_bytes()), "x\\u{202e}y");
    }

    #[test]
    fn invalid_utf8_is_shown_as_bytes() {
        assert_eq!(escape(b"a\xc3(b"), "a\\xc3(b");
        assert_eq!(escape(b"\xed\xa0\x80"), "\\xed\\xa0\\x80"); // a UTF-16 surrogate
        assert_eq!(escape(b"\xf8\x88\x80\x80\x80"), "\\xf8\\x88\\x80\\x80\\x80");
        assert_eq!(escape(b"end\xe6\x9d"), "end\\xe6\\x9d"); // truncated at the very end
    }

    #[test]
    fn carriage_returns_become_line_breaks() {
        assert_eq!(escape(b"a\r\nb\rc\n"), "a\nb\nc\n");
        assert_eq!(escape(b"10%\r20%\r\r"), "10%\n20%\n\n");
        let mut e = Escaper::default();
        assert_eq!(e.push(b"a\r"), "a\n");
        assert_eq!(
            e.push(b"\nb"),
            "b",
            "CRLF split across chunks is one line break"
        );
    }

    #[test]
    fn utf8_split_across_chunks_is_kept_whole() {
        let bytes = "東🚀".as_bytes();
        for split in 0..=bytes.len() {
            let mut e = Escaper::default();
            let mut text = e.push(&bytes[..split]);
            text.push_str(&e.push(&bytes[split..]));
            text.push_str(&e.finish());
            assert_eq!(text, "東🚀", "split at {split}");
        }
        let mut e = Escaper::default();
        assert_eq!(e.push(b"\xe6\x9d"), "");
        assert_eq!(e.push(b"x"), "\\xe6\\x9dx", "a broken sequence is released");
    }

    fn request(step: Option<u32>, raw: bool, json: bool) -> LogRequest {
        LogRequest {
            id: "01JB".into(),
            step,
            stderr: false,
            system: false,
            follow: false,
            raw,
            json,
        }
    }

    fn chunk(offset: u64, bytes: &[u8]) -> LogChunkResponse {
        LogChunkResponse {
            offset,
            next_offset: offset + bytes.len() as u64,
            data: String::from_utf8_lossy(bytes).into_owned(),
            data_base64: String::new(),
            complete: false,
        }
    }

    fn step(index: u32, name: &str) -> Source {
        Source::Step {
            index,
            name: name.into(),
        }
    }

    /// Feed `parts` (a source and its chunks) through a printer; stdout as bytes.
    fn print(printer: &mut Printer, parts: &[(Source, Vec<&[u8]>)]) -> Vec<u8> {
        let (mut out, stdout, _) = crate::output::testing::capture();
        for (source, chunks) in parts {
            printer.header(&mut out, source).unwrap();
            let mut offset = 0;
            for bytes in chunks {
                let c = chunk(offset, bytes);
                printer
                    .chunk(&mut out, source, LogStreamDto::Stdout, &c, bytes)
                    .unwrap();
                offset = c.next_offset;
            }
            printer.end_source(&mut out).unwrap();
        }
        printer.finish(&mut out).unwrap();
        stdout.bytes()
    }

    #[test]
    fn steps_get_headers_on_their_own_lines() {
        let mut printer = Printer::new(&request(None, false, false));
        let text = print(
            &mut printer,
            &[
                (step(0, "Get"), vec![b"one\n", b"two (no newline)"]),
                (step(1, "Empty"), vec![]),
                (
                    step(2, "Binary\x1b"),
                    vec![b"\x1b[31m\xe6\x9d", b"\xb1\x00"],
                ),
            ],
        );
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "== step 0: Get ==\none\ntwo (no newline)\n== step 1: Empty ==\n== step 2: Binary\\u{1b} ==\n\\x1b[31m東\\x00\n"
        );
    }

    #[test]
    fn one_step_has_no_header_and_raw_is_exact() {
        let mut printer = Printer::new(&request(Some(2), true, false));
        let bytes = print(
            &mut printer,
            &[(step(2, "Binary"), vec![b"\x1b[31m\x00", b"\xff"])],
        );
        assert_eq!(
            bytes, b"\x1b[31m\x00\xff",
            "raw output is not completed with a newline"
        );
    }

    #[test]
    fn json_prints_one_line_per_chunk() {
        let mut printer = Printer::new(&request(None, false, true));
        let text = print(&mut printer, &[(step(1, "Warn"), vec![b"a\n", b"b"])]);
        let lines: Vec<serde_json::Value> = String::from_utf8(text)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["step"], 1);
        assert_eq!(lines[0]["stream"], "stdout");
        assert_eq!(lines[1]["offset"], 2);
        assert_eq!(lines[1]["data"], "b");
    }

    #[test]
    fn a_deferred_header_needs_data() {
        let (mut out, stdout, _) = crate::output::testing::capture();
        let mut printer = Printer::new(&request(None, false, false));
        printer.deferred_header = Some("== system (continued) ==".into());
        printer.end_source(&mut out).unwrap();
        assert_eq!(stdout.text(), "");
        printer
            .chunk(
                &mut out,
                &Source::System,
                LogStreamDto::Stdout,
                &chunk(0, b"done\n"),
                b"done\n",
            )
            .unwrap();
        assert_eq!(stdout.text(), "== system (continued) ==\ndone\n");
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64("Zm9vYg").unwrap(), b"foob");
        assert_eq!(decode_base64("G1szMW0A/w==").unwrap(), b"\x1b[31m\x00\xff");
        assert_eq!(decode_base64("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        assert!(decode_base64("Zm9v!").is_none());
        assert!(decode_base64("Z").is_none());
    }
}
