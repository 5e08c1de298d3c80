//! Wire types of the build log endpoints: one chunk by offset
//! (`GET /api/builds/{id}/logs`), and the events of the live stream
//! (`GET /api/builds/{id}/logs/stream`, server-sent events) with the offsets a viewer
//! resumes from ([`LogOffsets`], the stream's `from` parameter).

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use base64::Engine as _;

use super::{BuildStatusDto, LogStreamDto, StepStatusDto};
use crate::domain::build::{Build, BuildStep};
use crate::ports::{LogChunk, LogFile, LogStream};
use crate::usecases::build::{FollowEvent, FollowStatus};

/// The exact bytes of a chunk as the wire carries them: standard base64, padded.
fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// `GET /api/builds/{id}/logs?step=N&stream=stdout|stderr&offset=B` (without `step`: the
/// system log). `data` is the bytes as UTF-8 with invalid sequences replaced; the exact
/// bytes are in `data_base64`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct LogChunkResponse {
    /// Logical offset of the first byte returned.
    pub offset: u64,
    /// Ask for this offset next.
    pub next_offset: u64,
    /// The bytes, lossily decoded as UTF-8.
    pub data: String,
    /// The exact bytes, base64 (standard alphabet, padded).
    pub data_base64: String,
    /// True once the build has ended and nothing more will be written.
    pub complete: bool,
}

impl LogChunkResponse {
    /// `chunk` as read; `complete` when the build ended and this is the end of the file.
    pub fn new(chunk: &LogChunk, complete: bool) -> Self {
        Self {
            offset: chunk.offset,
            next_offset: chunk.next_offset,
            data: String::from_utf8_lossy(&chunk.data).into_owned(),
            data_base64: base64(&chunk.data),
            complete,
        }
    }
}

/// The `log` event of the stream: bytes of one log file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct LogEventDto {
    /// The step (0-based); `null` for the system log.
    #[schema(required)]
    pub step: Option<u32>,
    /// `stdout` or `stderr` of the step, or `system`.
    pub stream: LogStreamDto,
    /// Logical offset of the first byte (past `from` when the size cap dropped bytes).
    pub offset: u64,
    /// The offset after the last byte: resume from here.
    pub next_offset: u64,
    /// The bytes, lossily decoded as UTF-8.
    pub data: String,
    /// The exact bytes, base64 (standard alphabet, padded).
    pub data_base64: String,
}

impl LogEventDto {
    /// The bytes of `chunk`, read from `file`.
    pub fn new(file: LogFile, chunk: &LogChunk) -> Self {
        let (step, stream) = match file {
            LogFile::System => (None, LogStreamDto::System),
            LogFile::Step { index, stream } => (Some(index), stream.into()),
        };
        Self {
            step,
            stream,
            offset: chunk.offset,
            next_offset: chunk.next_offset,
            data: String::from_utf8_lossy(&chunk.data).into_owned(),
            data_base64: base64(&chunk.data),
        }
    }

    /// The file these bytes belong to; `None` for a combination this version does not
    /// know (a stream a newer server added).
    pub fn file(&self) -> Option<LogFile> {
        match (self.step, self.stream) {
            (None, LogStreamDto::System) => Some(LogFile::System),
            (Some(index), LogStreamDto::Stdout) => Some(LogFile::Step {
                index,
                stream: LogStream::Stdout,
            }),
            (Some(index), LogStreamDto::Stderr) => Some(LogFile::Step {
                index,
                stream: LogStream::Stderr,
            }),
            _ => None,
        }
    }
}

/// The `status` event of the stream: sent when the build's or a step's status changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct StatusEventDto {
    /// The build's status.
    pub status: BuildStatusDto,
    /// Its steps by index (empty until the pipeline was resolved).
    pub steps: Vec<StepStatusEventDto>,
}

impl From<&FollowStatus> for StatusEventDto {
    fn from(status: &FollowStatus) -> Self {
        Self {
            status: status.status.into(),
            steps: status
                .steps
                .iter()
                .map(|s| StepStatusEventDto {
                    index: s.index,
                    name: s.name.clone(),
                    status: s.status.into(),
                    exit_code: s.exit_code,
                })
                .collect(),
        }
    }
}

impl StatusEventDto {
    /// The status of `build` and its `steps`.
    pub fn new(build: &Build, steps: &[BuildStep]) -> Self {
        Self {
            status: build.status.into(),
            steps: steps
                .iter()
                .map(|s| StepStatusEventDto {
                    index: s.index,
                    name: s.name.clone(),
                    status: s.status.into(),
                    exit_code: s.exit_code,
                })
                .collect(),
        }
    }
}

/// One step in a `status` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct StepStatusEventDto {
    /// 0-based index.
    pub index: u32,
    /// Display name.
    pub name: String,
    /// Its status.
    pub status: StepStatusDto,
    /// Exit code once finished.
    #[schema(required)]
    pub exit_code: Option<i32>,
}

/// The `end` event of the stream: the build ended and every byte was sent; the response
/// ends after it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct EndEventDto {
    /// How it ended.
    pub status: BuildStatusDto,
    /// Why it failed or was cancelled.
    #[schema(required)]
    pub error_message: Option<String>,
}

impl EndEventDto {
    /// The end of `build`.
    pub fn new(build: &Build) -> Self {
        Self {
            status: build.status.into(),
            error_message: build.error_message.clone(),
        }
    }
}

/// One event of `GET /api/builds/{id}/logs/stream`: its SSE `event:` name is
/// [`name`](Self::name), its `data:` the payload's JSON on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogStreamEvent {
    /// `log`: bytes of one file.
    Log(LogEventDto),
    /// `status`: the build's or a step's status changed.
    Status(StatusEventDto),
    /// `end`: the build ended; nothing follows.
    End(EndEventDto),
}

impl From<&FollowEvent> for LogStreamEvent {
    /// What core's log follow decided to send, as the stream's wire event.
    fn from(event: &FollowEvent) -> Self {
        match event {
            FollowEvent::Log { file, chunk } => Self::Log(LogEventDto::new(*file, chunk)),
            FollowEvent::Status(status) => Self::Status(status.into()),
            FollowEvent::End {
                status,
                error_message,
            } => Self::End(EndEventDto {
                status: (*status).into(),
                error_message: error_message.clone(),
            }),
        }
    }
}

impl LogStreamEvent {
    /// The `event:` name of [`Self::Log`].
    pub const LOG: &'static str = "log";
    /// The `event:` name of [`Self::Status`].
    pub const STATUS: &'static str = "status";
    /// The `event:` name of [`Self::End`].
    pub const END: &'static str = "end";

    /// The SSE `event:` name: `log`, `status` or `end`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Log(_) => Self::LOG,
            Self::Status(_) => Self::STATUS,
            Self::End(_) => Self::END,
        }
    }

    /// The SSE `data:` line: the payload as JSON, on one line.
    pub fn data(&self) -> String {
        let json = match self {
            Self::Log(e) => serde_json::to_string(e),
            Self::Status(e) => serde_json::to_string(e),
            Self::End(e) => serde_json::to_string(e),
        };
        // Plain structs of strings and numbers always serialize.
        json.unwrap_or_default()
    }

    /// The whole event as sent: `event: NAME\ndata: JSON\n\n`.
    pub fn to_sse(&self) -> String {
        format!("event: {}\ndata: {}\n\n", self.name(), self.data())
    }

    /// The event a client received as `event` (its name) and `data` (its data lines
    /// joined). `Ok(None)` for an event name this version does not know, which a client
    /// skips: a newer server may send more kinds.
    pub fn parse(event: &str, data: &str) -> Result<Option<Self>, InvalidStreamEvent> {
        let invalid = |e: serde_json::Error| InvalidStreamEvent {
            event: event.to_owned(),
            reason: e.to_string(),
        };
        Ok(Some(match event {
            Self::LOG => Self::Log(serde_json::from_str(data).map_err(invalid)?),
            Self::STATUS => Self::Status(serde_json::from_str(data).map_err(invalid)?),
            Self::END => Self::End(serde_json::from_str(data).map_err(invalid)?),
            _ => return Ok(None),
        }))
    }
}

/// A stream event whose data is not the JSON its name promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the log stream's `{event}` event is not the expected JSON ({reason}); check that the oore and oored versions match with `oore version`"
)]
pub struct InvalidStreamEvent {
    /// The event's name.
    pub event: String,
    /// What did not parse.
    pub reason: String,
}

/// Where a viewer of the log stream is in each file: the next offset per file. It renders
/// and parses the stream's `from` parameter, `system:120,0.stdout:4096` (the system log,
/// then `STEP.STREAM`), and advances from each `log` event, so a reconnecting viewer
/// resumes where it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOffsets {
    /// Sorted by [`order`]: the system log, then steps by index, stdout before stderr.
    files: Vec<(LogFile, u64)>,
}

/// The order files are rendered in.
fn order(file: LogFile) -> (u8, u32, u8) {
    match file {
        LogFile::System => (0, 0, 0),
        LogFile::Step { index, stream } => (
            1,
            index,
            match stream {
                LogStream::Stdout => 0,
                LogStream::Stderr => 1,
            },
        ),
    }
}

impl LogOffsets {
    /// No offsets: every file from its start.
    pub fn new() -> Self {
        Self::default()
    }

    /// The offset to read `file` from (0 when not set).
    pub fn get(&self, file: LogFile) -> u64 {
        self.position(file).map_or(0, |i| self.files[i].1)
    }

    /// Sets where `file` is read from.
    pub fn set(&mut self, file: LogFile, offset: u64) {
        match self.position(file) {
            Ok(i) => self.files[i].1 = offset,
            Err(i) => self.files.insert(i, (file, offset)),
        }
    }

    /// Moves `event`'s file to the event's `next_offset` when that is further; true when
    /// it moved. Events of a stream this version does not know are left out.
    pub fn advance(&mut self, event: &LogEventDto) -> bool {
        let Some(file) = event.file() else {
            return false;
        };
        if event.next_offset <= self.get(file) {
            return false;
        }
        self.set(file, event.next_offset);
        true
    }

    /// The files and offsets, in rendering order.
    pub fn iter(&self) -> impl Iterator<Item = (LogFile, u64)> + '_ {
        self.files.iter().copied()
    }

    /// True when no offset is set.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Adds the offsets of one `from` value (`system:120,0.stdout:4096`; empty parts are
    /// skipped), so a repeated parameter adds up.
    pub fn add_parsed(&mut self, value: &str) -> Result<(), InvalidLogOffset> {
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (file, offset) = parse_part(part).ok_or_else(|| InvalidLogOffset {
                part: part.to_owned(),
            })?;
            self.set(file, offset);
        }
        Ok(())
    }

    fn position(&self, file: LogFile) -> Result<usize, usize> {
        self.files
            .binary_search_by_key(&order(file), |(f, _)| order(*f))
    }
}

fn parse_part(part: &str) -> Option<(LogFile, u64)> {
    let (file, offset) = part.rsplit_once(':')?;
    let offset = offset.parse().ok()?;
    let file = match file {
        "system" => LogFile::System,
        _ => {
            let (index, stream) = file.split_once('.')?;
            let stream = match stream {
                "stdout" => LogStream::Stdout,
                "stderr" => LogStream::Stderr,
                _ => return None,
            };
            LogFile::Step {
                index: index.parse().ok()?,
                stream,
            }
        }
    };
    Some((file, offset))
}

impl fmt::Display for LogOffsets {
    /// The `from` value: `system:120,0.stdout:4096` (empty when no offset is set).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (file, offset)) in self.files.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match file {
                LogFile::System => write!(f, "system:{offset}")?,
                LogFile::Step { index, stream } => {
                    write!(f, "{index}.{}:{offset}", stream.as_str())?;
                }
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for LogOffsets {
    type Err = InvalidLogOffset;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let mut offsets = Self::new();
        offsets.add_parsed(value)?;
        Ok(offsets)
    }
}

/// A part of a `from` value that is not `FILE:OFFSET`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{part}' is not FILE:OFFSET: use system:120 or 0.stdout:4096")]
pub struct InvalidLogOffset {
    /// The part as given.
    pub part: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(index: u32, stream: LogStream) -> LogFile {
        LogFile::Step { index, stream }
    }

    fn log(step: Option<u32>, stream: LogStreamDto, offset: u64, next: u64) -> LogEventDto {
        LogEventDto {
            step,
            stream,
            offset,
            next_offset: next,
            data: String::new(),
            data_base64: String::new(),
        }
    }

    #[test]
    fn offsets_render_in_a_stable_order_and_parse_back() {
        let mut offsets = LogOffsets::new();
        assert_eq!(offsets.to_string(), "");
        offsets.set(step(1, LogStream::Stderr), 7);
        offsets.set(step(0, LogStream::Stdout), 4096);
        offsets.set(LogFile::System, 120);
        offsets.set(step(1, LogStream::Stdout), 3);
        let text = offsets.to_string();
        assert_eq!(text, "system:120,0.stdout:4096,1.stdout:3,1.stderr:7");
        assert_eq!(text.parse::<LogOffsets>().unwrap(), offsets);
        assert_eq!(offsets.get(step(9, LogStream::Stdout)), 0);
    }

    #[test]
    fn repeated_values_add_up_and_bad_parts_are_named() {
        let mut offsets: LogOffsets = "system:12, 0.stdout:40,".parse().unwrap();
        offsets.add_parsed("3.stderr:7,system:13").unwrap();
        assert_eq!(offsets.get(LogFile::System), 13);
        assert_eq!(offsets.get(step(0, LogStream::Stdout)), 40);
        assert_eq!(offsets.get(step(3, LogStream::Stderr)), 7);
        for bad in [
            "system",
            "x.stdout:1",
            "0.both:1",
            "0.stdout:-1",
            "0:1",
            ":1",
        ] {
            let err = bad.parse::<LogOffsets>().unwrap_err();
            assert_eq!(err.part, bad, "{bad}");
        }
        insta::assert_snapshot!(
            "0.both:1".parse::<LogOffsets>().unwrap_err(),
            @"'0.both:1' is not FILE:OFFSET: use system:120 or 0.stdout:4096"
        );
    }

    #[test]
    fn log_events_advance_their_file() {
        let mut offsets = LogOffsets::new();
        assert!(offsets.advance(&log(None, LogStreamDto::System, 0, 120)));
        assert!(offsets.advance(&log(Some(0), LogStreamDto::Stdout, 0, 10)));
        assert!(
            !offsets.advance(&log(Some(0), LogStreamDto::Stdout, 0, 5)),
            "never back"
        );
        assert!(!offsets.advance(&log(Some(0), LogStreamDto::Unknown, 0, 50)));
        assert!(!offsets.advance(&log(None, LogStreamDto::Stdout, 0, 50)));
        assert_eq!(offsets.to_string(), "system:120,0.stdout:10");
    }

    #[test]
    fn events_parse_by_name_and_skip_unknown_names() {
        let end = LogStreamEvent::End(EndEventDto {
            status: BuildStatusDto::Failure,
            error_message: Some("step 1 exited with code 3".into()),
        });
        assert_eq!(
            end.to_sse(),
            "event: end\ndata: {\"status\":\"failure\",\"error_message\":\"step 1 exited with code 3\"}\n\n"
        );
        assert_eq!(
            LogStreamEvent::parse(end.name(), &end.data()).unwrap(),
            Some(end)
        );
        let status = LogStreamEvent::parse(
            "status",
            r#"{"status":"running","steps":[{"index":0,"name":"a","status":"paused","exit_code":null}]}"#,
        )
        .unwrap();
        let Some(LogStreamEvent::Status(status)) = status else {
            panic!("a status event: {status:?}");
        };
        assert_eq!(status.steps[0].status, StepStatusDto::Unknown);
        assert_eq!(LogStreamEvent::parse("progress", "{}").unwrap(), None);
        let err = LogStreamEvent::parse("log", "{}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the log stream's `log` event is not the expected JSON"),
            "{err}"
        );
    }
}
