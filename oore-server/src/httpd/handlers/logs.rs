//! Build logs (spec 6.4, 17.3; design decision 8): one chunk by byte offset, or a live
//! stream of server-sent events.
//!
//! **Chunks.** `GET /api/builds/{id}/logs?step=N&stream=stdout|stderr&offset=B&limit=L`
//! reads up to `L` bytes (default 64 KiB, at most 1 MiB) of one file from logical offset
//! `B`; without `step` it reads the system log. `complete` is true once the build has ended
//! and the offset reached the end of the file: nothing more will come.
//!
//! **Stream.** `GET /api/builds/{id}/logs/stream` answers `text/event-stream` to any
//! number of viewers until the build ends. What is sent and when is core's
//! [`LogFollow`] (shared with the CLI and the web UI); this handler drives it with the
//! build's live updates and a one-second tick and writes each event as SSE. On connect it
//! sends what exists of every file from offset 0 (or from the offsets given as
//! `?from=system:120,0.stdout:4096,...`, parsed by `api::LogOffsets`), then follows,
//! reading new bytes by offset, so a slow viewer skips nothing and never slows the build.
//! Events (`api::LogStreamEvent`):
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
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use oore_core::api::{LogChunkResponse, LogOffsets, LogStreamEvent};
use oore_core::domain::validation::{FieldError, FieldErrors};
use oore_core::ids::BuildId;
use oore_core::ports::{LogFile, LogStream};
use oore_core::usecases::build::{
    FOLLOW_BATCH, FOLLOW_TICK, FollowEvent, FollowStart, LogFollow, get_build, read_build_log,
};

use tokio::sync::mpsc;

use crate::app::App;
use crate::httpd::error::ApiError;
use crate::httpd::extract::{BuildRef, QueryPairs};
use crate::httpd::response::{Response, json, unknown_length_head};

/// Default `limit` of a chunk.
const DEFAULT_CHUNK: usize = 64 * 1024;
/// Largest `limit` of a chunk.
const MAX_CHUNK: usize = 1024 * 1024;
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
        ("id" = String, Path, description = "Build id, short id (a unique end of the id) or owner/name#NUMBER"),
        ("step" = Option<u32>, Query, description = "Step index; the system log without it"),
        ("stream" = Option<String>, Query, description = "stdout (default) or stderr"),
        ("offset" = Option<u64>, Query, description = "Logical byte offset to read from"),
        ("limit" = Option<u32>, Query, description = "Bytes to read, 1 to 1048576 (default 65536)"),
    ),
    responses((status = 200, description = "Bytes of one log file from an offset", body = LogChunkResponse))
)]
pub(crate) async fn chunk(
    State(app): State<App>,
    BuildRef(build): BuildRef,
    QueryPairs(query): QueryPairs,
) -> Result<Response, ApiError> {
    let id = build.id;
    let q = parse_chunk_query(query).map_err(|e| ApiError::validation(&e))?;
    let svc = app.services();
    // Read the status first: if it had ended, every byte was written before the read.
    let ended = get_build(svc, id).await?.build.status.is_terminal();
    let chunk = read_build_log(svc, app.logs(), id, q.file, q.offset, q.limit).await?;
    let complete = ended && chunk.next_offset >= file_len(&app, id, q.file).await;
    Ok(json(
        StatusCode::OK,
        &LogChunkResponse::new(&chunk, complete),
    ))
}

/// `?from=system:120,0.stdout:4096` (also repeatable): where each file starts.
fn parse_from(query: Vec<(String, String)>) -> Result<HashMap<LogFile, u64>, ApiError> {
    let mut from = LogOffsets::new();
    for (name, value) in query {
        if name != "from" {
            return Err(invalid(
                "query",
                format!(
                    "unknown query parameter '{name}': use from=system:OFFSET,N.stdout:OFFSET,..."
                ),
            ));
        }
        from.add_parsed(&value)
            .map_err(|e| invalid("from", e.to_string()))?;
    }
    Ok(from.iter().collect())
}

/// `GET /api/builds/{id}/logs/stream`: server-sent events (module doc).
#[utoipa::path(
    get,
    path = "/api/builds/{id}/logs/stream",
    operation_id = "stream_build_logs",
    tag = "builds",
    params(
        ("id" = String, Path, description = "Build id, short id (a unique end of the id) or owner/name#NUMBER"),
        ("from" = Option<String>, Query, description = "Where each file starts: system:120,0.stdout:4096"),
    ),
    responses((status = 200, description = "Server-sent events: log (LogEventDto), status (StatusEventDto), end (EndEventDto)", content_type = "text/event-stream"))
)]
pub(crate) async fn stream(
    State(app): State<App>,
    method: Method,
    BuildRef(build): BuildRef,
    QueryPairs(query): QueryPairs,
) -> Result<Response, ApiError> {
    let id = build.id;
    let from = parse_from(query)?;
    let mut response = if method == Method::HEAD {
        get_build(app.services(), id).await?;
        let mut head = Response::new(unknown_length_head());
        head.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        head
    } else {
        // Started here so that an unknown build is a 404, not an empty stream.
        let start = LogFollow::start(app.services(), app.log_store(), id, from).await?;
        let (tx, rx) = mpsc::channel(FOLLOW_BATCH);
        tokio::spawn(follow(start, tx));
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

/// Drives `LogFollow` with the build's updates and a tick until it is done or the
/// viewer goes away; each event is sent before the next input is read, so a slow viewer
/// holds one batch at most.
async fn follow(start: FollowStart, tx: mpsc::Sender<Event>) {
    let FollowStart {
        follow: mut state,
        events,
        mut updates,
    } = start;
    if send_all(&mut state, events, &tx).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(FOLLOW_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.reset();
    while !state.is_done() {
        let events = tokio::select! {
            update = next_update(&mut updates), if state.wants_updates() => {
                state.on_update(update).await
            }
            _ = tick.tick() => state.on_tick().await,
            () = tx.closed() => return,
        };
        if send_all(&mut state, events, &tx).await.is_err() {
            return;
        }
    }
}

async fn next_update(
    updates: &mut Option<Box<dyn oore_core::ports::LogFollower>>,
) -> Option<oore_core::ports::LogUpdate> {
    match updates {
        Some(follower) => follower.next().await,
        None => std::future::pending().await,
    }
}

/// Sends `events`, then whatever more the follow has decided.
async fn send_all(
    state: &mut LogFollow,
    mut events: Vec<FollowEvent>,
    tx: &mpsc::Sender<Event>,
) -> Result<(), Gone> {
    while !events.is_empty() {
        for event in &events {
            let event = LogStreamEvent::from(event);
            let sse = Event::default().event(event.name()).data(event.data());
            tx.send(sse).await.map_err(|_| Gone)?;
        }
        events = state.more().await;
    }
    Ok(())
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
