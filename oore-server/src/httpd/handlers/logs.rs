//! Build logs (spec 6.4, 17.3; design decision 8): one chunk by byte offset, or a live
//! stream of server-sent events.
//!
//! **Chunks.** `GET /api/builds/:id/logs?step=N&stream=stdout|stderr&offset=B&limit=L`
//! reads up to `L` bytes (default 64 KiB, at most 1 MiB) of one file from logical offset
//! `B`; without `step` it reads the system log. `complete` is true once the build has ended
//! and the offset reached the end of the file: nothing more will come.
//!
//! **Stream.** `GET /api/builds/:id/logs/stream` answers `text/event-stream` to any number
//! of viewers until the build ends. On connect it sends what exists of every file from
//! offset 0 (or from the offsets given as `?from=system:120,0.stdout:4096,...`), then
//! follows the build's live updates, reading new bytes by offset, so a slow viewer skips
//! nothing and never slows the build. Events:
//!
//! * `log`: `{"step": N or null (system log), "stream": "stdout"|"stderr"|"system",
//!   "offset", "next_offset", "data" (UTF-8, invalid bytes replaced), "data_base64"}`;
//! * `status`: `{"status", "steps": [{"index", "name", "status", "exit_code"}]}` when the
//!   build's or a step's status changed (the store is read on updates, at most every
//!   250 ms, and every second);
//! * `end`: `{"status", "error_message"}` once the build ended and every byte was sent;
//!   then the response ends.
//!
//! The build's status is read before following: a build that ended long ago gets its
//! logs and `end` at once. A `: keep-alive` comment goes out every 15 s of silence
//! (`axum::response::Sse`). A `HEAD` request gets the headers and starts nothing.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use base64::Engine as _;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use oore_core::api::LogChunkResponse;
use oore_core::domain::build::BuildStatus;
use oore_core::domain::validation::{FieldError, FieldErrors};
use oore_core::ids::BuildId;
use oore_core::ports::{LogFile, LogStream, LogUpdate};
use oore_core::usecases::build::{BuildView, get_build, read_build_log};
use serde_json::json;
use tokio::time::Instant;

use tokio::sync::mpsc;

use crate::app::App;
use crate::httpd::error::ApiError;
use crate::httpd::extract::{Ids, QueryPairs};
use crate::httpd::response::{Response, json, unknown_length_head};

/// Default `limit` of a chunk.
const DEFAULT_CHUNK: usize = 64 * 1024;
/// Largest `limit` of a chunk.
const MAX_CHUNK: usize = 1024 * 1024;
/// Bytes per `log` event.
const EVENT_BYTES: usize = 64 * 1024;
/// Events buffered per viewer before the stream waits for it.
const STREAM_BUFFER: usize = 16;
/// How often a stream reads the build's status without updates.
const STATUS_POLL: Duration = Duration::from_secs(1);
/// At most one status read per this interval while updates arrive.
const STATUS_MIN_INTERVAL: Duration = Duration::from_millis(250);
/// Silence after which a keep-alive comment is sent.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::validation(&FieldErrors::from(FieldError::new(field, message)))
}

/// `step`/`stream`/`offset`/`limit` of a chunk request.
struct ChunkQuery {
    file: LogFile,
    offset: u64,
    limit: usize,
}

fn parse_stream(value: &str) -> Result<LogStream, FieldError> {
    match value.trim() {
        "stdout" => Ok(LogStream::Stdout),
        "stderr" => Ok(LogStream::Stderr),
        other => Err(FieldError::new(
            "stream",
            format!("unknown stream '{other}': use stdout or stderr"),
        )),
    }
}

fn parse_chunk_query(query: Vec<(String, String)>) -> Result<ChunkQuery, FieldErrors> {
    let mut errors = FieldErrors::new();
    let (mut step, mut stream, mut offset, mut limit) = (None, None, 0, DEFAULT_CHUNK);
    for (name, value) in query {
        match name.as_str() {
            "step" => match value.trim().parse::<u32>() {
                Ok(n) => step = Some(n),
                Err(_) => errors.push(FieldError::new(
                    "step",
                    format!(
                        "'{value}' is not a step index: use 0, 1, 2, ... (see `oore build steps`)"
                    ),
                )),
            },
            "stream" => stream = errors.check(parse_stream(&value)),
            "offset" => match value.trim().parse::<u64>() {
                Ok(n) => offset = n,
                Err(_) => errors.push(FieldError::new(
                    "offset",
                    format!("'{value}' is not a byte offset: use 0 or the last next_offset"),
                )),
            },
            "limit" => match value.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_CHUNK).contains(&n) => limit = n,
                _ => errors.push(FieldError::new(
                    "limit",
                    format!("'{value}' is not a chunk size: use 1 to {MAX_CHUNK} bytes"),
                )),
            },
            _ => errors.push(FieldError::new(
                "query",
                format!("unknown query parameter '{name}': use step, stream, offset and limit"),
            )),
        }
    }
    let file = match (step, stream) {
        (Some(index), stream) => LogFile::Step {
            index,
            stream: stream.unwrap_or(LogStream::Stdout),
        },
        (None, Some(_)) => {
            errors.push(FieldError::new(
                "stream",
                "a stream needs a step: add step=N, or drop stream to read the system log",
            ));
            LogFile::System
        }
        (None, None) => LogFile::System,
    };
    errors.into_result().map(|()| ChunkQuery {
        file,
        offset,
        limit,
    })
}

/// The logical length of `file`, 0 when it does not exist.
async fn file_len(app: &App, build: BuildId, file: LogFile) -> u64 {
    match app.logs().files(build).await {
        Ok(files) => files
            .iter()
            .find(|(f, _)| *f == file)
            .map_or(0, |(_, len)| *len),
        Err(_) => 0,
    }
}

/// `GET /api/builds/{id}/logs`.
#[utoipa::path(
    get,
    path = "/api/builds/{id}/logs",
    operation_id = "read_build_log",
    tag = "builds",
    params(
        ("id" = String, Path, description = "Build id (ULID)"),
        ("step" = Option<u32>, Query, description = "Step index; the system log without it"),
        ("stream" = Option<String>, Query, description = "stdout (default) or stderr"),
        ("offset" = Option<u64>, Query, description = "Logical byte offset to read from"),
        ("limit" = Option<u32>, Query, description = "Bytes to read, 1 to 1048576 (default 65536)"),
    ),
    responses((status = 200, description = "Bytes of one log file from an offset"))
)]
pub(crate) async fn chunk(
    State(app): State<App>,
    Ids(id): Ids<BuildId>,
    QueryPairs(query): QueryPairs,
) -> Result<Response, ApiError> {
    let q = parse_chunk_query(query).map_err(|e| ApiError::validation(&e))?;
    let svc = app.services();
    // Read the status first: if it had ended, every byte was written before the read.
    let ended = get_build(svc, id).await?.build.status.is_terminal();
    let chunk = read_build_log(svc, app.logs(), id, q.file, q.offset, q.limit).await?;
    let complete = ended && chunk.next_offset >= file_len(&app, id, q.file).await;
    Ok(json(
        StatusCode::OK,
        &LogChunkResponse {
            offset: chunk.offset,
            next_offset: chunk.next_offset,
            data: String::from_utf8_lossy(&chunk.data).into_owned(),
            data_base64: base64::engine::general_purpose::STANDARD.encode(&chunk.data),
            complete,
        },
    ))
}

/// `?from=system:120,0.stdout:4096` (also repeatable): where each file starts.
fn parse_from(query: Vec<(String, String)>) -> Result<HashMap<LogFile, u64>, ApiError> {
    let mut from = HashMap::new();
    for (name, value) in query {
        if name != "from" {
            return Err(invalid(
                "query",
                format!(
                    "unknown query parameter '{name}': use from=system:OFFSET,N.stdout:OFFSET,..."
                ),
            ));
        }
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                invalid(
                    "from",
                    format!("'{part}' is not FILE:OFFSET: use system:120 or 0.stdout:4096"),
                )
            };
            let (file, offset) = part.rsplit_once(':').ok_or_else(bad)?;
            let offset: u64 = offset.parse().map_err(|_| bad())?;
            let file = match file {
                "system" => LogFile::System,
                _ => {
                    let (index, stream) = file.split_once('.').ok_or_else(bad)?;
                    LogFile::Step {
                        index: index.parse().map_err(|_| bad())?,
                        stream: parse_stream(stream).map_err(|_| bad())?,
                    }
                }
            };
            from.insert(file, offset);
        }
    }
    Ok(from)
}

/// `GET /api/builds/{id}/logs/stream`: server-sent events (module doc).
#[utoipa::path(
    get,
    path = "/api/builds/{id}/logs/stream",
    operation_id = "stream_build_logs",
    tag = "builds",
    params(
        ("id" = String, Path, description = "Build id (ULID)"),
        ("from" = Option<String>, Query, description = "Where each file starts: system:120,0.stdout:4096"),
    ),
    responses((status = 200, description = "Server-sent events: log, status, end", content_type = "text/event-stream"))
)]
pub(crate) async fn stream(
    State(app): State<App>,
    method: Method,
    Ids(id): Ids<BuildId>,
    QueryPairs(query): QueryPairs,
) -> Result<Response, ApiError> {
    let offsets = parse_from(query)?;
    let view = get_build(app.services(), id).await?;
    let mut response = if method == Method::HEAD {
        let mut head = Response::new(unknown_length_head());
        head.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        head
    } else {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            let mut viewer = Viewer {
                app,
                build: id,
                tx,
                offsets,
                last_status: None,
            };
            // An error only means the viewer went away.
            let _ = viewer.run(view).await;
        });
        let events = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|event| (Ok::<_, Infallible>(event), rx))
        });
        Sse::new(events)
            .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The viewer went away (or the server is stopping).
struct Gone;

struct Viewer {
    app: App,
    build: BuildId,
    tx: mpsc::Sender<Event>,
    offsets: HashMap<LogFile, u64>,
    last_status: Option<serde_json::Value>,
}

impl Viewer {
    async fn run(&mut self, view: BuildView) -> Result<(), Gone> {
        let ended = view.build.status.is_terminal();
        // Follow before catching up, so no update between the two is lost.
        let mut follower = (!ended).then(|| self.app.logs().follow(self.build));
        self.status(&view).await?;
        self.catch_up().await?;
        let Some(follower) = follower.as_mut() else {
            return self.end(&view).await;
        };
        let mut poll = tokio::time::interval(STATUS_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_read = Instant::now();
        let gone = self.tx.clone();
        loop {
            tokio::select! {
                update = follower.next() => match update {
                    Some(LogUpdate::Grew { file, len }) => {
                        self.send_file(file, len).await?;
                        if last_read.elapsed() >= STATUS_MIN_INTERVAL {
                            last_read = Instant::now();
                            if self.check_status().await? {
                                return Ok(());
                            }
                        }
                    }
                    Some(LogUpdate::Finished) | None => {
                        // Finished is sent after the end was recorded.
                        return self.finish().await;
                    }
                },
                _ = poll.tick() => {
                    last_read = Instant::now();
                    if self.check_status().await? {
                        return Ok(());
                    }
                }
                () = gone.closed() => return Err(Gone),
            }
        }
    }

    /// Reads the build; sends `status` if it changed; on an ended build sends the rest
    /// and `end` and returns true.
    async fn check_status(&mut self) -> Result<bool, Gone> {
        let Ok(view) = get_build(self.app.services(), self.build).await else {
            // A store hiccup: try again on the next tick.
            return Ok(false);
        };
        self.status(&view).await?;
        if view.build.status.is_terminal() {
            self.catch_up().await?;
            self.end(&view).await?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn finish(&mut self) -> Result<(), Gone> {
        let view = loop {
            match get_build(self.app.services(), self.build).await {
                Ok(view) if view.build.status.is_terminal() => break view,
                // Finished but not (yet) ended: e.g. a build failed without its worker.
                Ok(view) => {
                    self.status(&view).await?;
                    tokio::time::sleep(STATUS_POLL).await;
                }
                Err(_) => tokio::time::sleep(STATUS_POLL).await,
            }
            if self.tx.is_closed() {
                return Err(Gone);
            }
        };
        self.status(&view).await?;
        self.catch_up().await?;
        self.end(&view).await
    }

    async fn status(&mut self, view: &BuildView) -> Result<(), Gone> {
        let steps: Vec<serde_json::Value> = view
            .steps
            .iter()
            .map(|s| {
                json!({
                    "index": s.index,
                    "name": s.name,
                    "status": s.status.as_str(),
                    "exit_code": s.exit_code,
                })
            })
            .collect();
        let status = json!({ "status": view.build.status.as_str(), "steps": steps });
        if self.last_status.as_ref() == Some(&status) {
            return Ok(());
        }
        self.event("status", &status).await?;
        self.last_status = Some(status);
        Ok(())
    }

    async fn end(&mut self, view: &BuildView) -> Result<(), Gone> {
        let status: BuildStatus = view.build.status;
        self.event(
            "end",
            &json!({
                "status": status.as_str(),
                "error_message": view.build.error_message,
            }),
        )
        .await
    }

    /// Sends every file from its offset to its current end.
    async fn catch_up(&mut self) -> Result<(), Gone> {
        let files = self.app.logs().files(self.build).await.unwrap_or_default();
        for (file, len) in files {
            self.send_file(file, len).await?;
        }
        Ok(())
    }

    /// Sends `file` from its offset up to `len`.
    async fn send_file(&mut self, file: LogFile, len: u64) -> Result<(), Gone> {
        loop {
            let offset = self.offsets.get(&file).copied().unwrap_or(0);
            if offset >= len {
                return Ok(());
            }
            let Ok(chunk) = self
                .app
                .logs()
                .read(self.build, file, offset, EVENT_BYTES)
                .await
            else {
                return Ok(());
            };
            if chunk.next_offset <= offset {
                return Ok(());
            }
            self.offsets.insert(file, chunk.next_offset);
            let (step, stream) = match file {
                LogFile::System => (None, "system"),
                LogFile::Step { index, stream } => (Some(index), stream.as_str()),
            };
            self.event(
                "log",
                &json!({
                    "step": step,
                    "stream": stream,
                    "offset": chunk.offset,
                    "next_offset": chunk.next_offset,
                    "data": String::from_utf8_lossy(&chunk.data),
                    "data_base64": base64::engine::general_purpose::STANDARD.encode(&chunk.data),
                }),
            )
            .await?;
        }
    }

    async fn event(&mut self, name: &str, data: &serde_json::Value) -> Result<(), Gone> {
        // serde_json writes one line: no `data:` continuation needed.
        let event = Event::default().event(name).data(data.to_string());
        self.tx.send(event).await.map_err(|_| Gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::httpd::extract::pairs;

    #[test]
    fn chunk_queries_default_to_the_system_log() {
        let q = parse_chunk_query(Vec::new()).ok().unwrap();
        assert_eq!(
            (q.file, q.offset, q.limit),
            (LogFile::System, 0, DEFAULT_CHUNK)
        );
        let q = parse_chunk_query(pairs("step=2&stream=stderr&offset=10&limit=5"))
            .ok()
            .unwrap();
        assert_eq!(
            (q.file, q.offset, q.limit),
            (
                LogFile::Step {
                    index: 2,
                    stream: LogStream::Stderr
                },
                10,
                5
            )
        );
        let q = parse_chunk_query(pairs("step=1")).ok().unwrap();
        assert_eq!(
            q.file,
            LogFile::Step {
                index: 1,
                stream: LogStream::Stdout
            }
        );
    }

    #[test]
    fn bad_chunk_queries_name_their_parameter() {
        let Err(errors) = parse_chunk_query(pairs("step=x&stream=both&offset=-1&limit=0&tail=1"))
        else {
            panic!("expected errors");
        };
        let fields: Vec<&str> = errors.as_slice().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["step", "stream", "offset", "limit", "query"]);
        let Err(errors) = parse_chunk_query(pairs("stream=stdout")) else {
            panic!("a stream without a step is an error");
        };
        assert!(errors.to_string().contains("needs a step"), "{errors}");
    }

    #[test]
    fn from_offsets_parse() {
        let from = parse_from(pairs("from=system:12,0.stdout:40&from=3.stderr:7"))
            .ok()
            .unwrap();
        assert_eq!(from.get(&LogFile::System), Some(&12));
        assert_eq!(
            from.get(&LogFile::Step {
                index: 0,
                stream: LogStream::Stdout
            }),
            Some(&40)
        );
        assert_eq!(
            from.get(&LogFile::Step {
                index: 3,
                stream: LogStream::Stderr
            }),
            Some(&7)
        );
        for bad in ["from=system", "from=x.stdout:1", "from=0.both:1", "since=1"] {
            assert!(parse_from(pairs(bad)).is_err(), "{bad}");
        }
    }
}
