//! `oore build logs --follow` over the server's event stream
//! (`GET /api/builds/{id}/logs/stream`): each line is printed as the server sends it,
//! instead of at the next poll.
//!
//! - **Resuming**: every `log` event advances [`LogOffsets`]; a dropped connection (or
//!   one silent past [`STALL`], while the server sends a keep-alive every 15 s) is
//!   reopened with `?from=` those offsets, so nothing is lost; bytes before an offset
//!   already printed are cut off, so nothing is printed twice.
//! - **Falling back**: a proxy that does not stream (an answer that is not
//!   `text/event-stream`, or no first event within [`FIRST_EVENT`] when the server sends
//!   one at once), or [`MAX_FAILURES`] reconnects in a row without an event, make the
//!   follow go on by polling ([`Followed::Poll`]) from the same offsets.
//!
//! Events are read on a thread of their own, so the wait for the next one has a timeout
//! whatever the transport does.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use oore_core::api::{
    BuildDto, LogChunkResponse, LogEventDto, LogOffsets, LogStreamDto, LogStreamEvent,
    StatusEventDto, paths,
};
use oore_core::ports::{LogFile, LogStream};

use super::logs::{LogRequest, Printer, Source, decode_base64, report_end};
use crate::client::{ApiClient, RawResponse, transport_error};
use crate::error::CliError;
use crate::output::Output;

/// Time allowed to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed until the response headers arrive.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// The server sends its first event (the build's status) at once: none within this
/// long means something between holds the stream back.
const FIRST_EVENT: Duration = Duration::from_secs(5);
/// No byte for this long (the server sends a keep-alive every 15 s): reconnect.
const STALL: Duration = Duration::from_secs(45);
/// Reconnects in a row without an event before polling instead.
const MAX_FAILURES: u32 = 4;

/// How the stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Followed {
    /// The build ended and everything was printed.
    Ended,
    /// The stream is not usable here: poll from the offsets reached.
    Poll,
}

/// What the reading thread passes on.
enum Message {
    /// An event: its name and data.
    Event(String, String),
    /// A comment line (the keep-alive).
    Comment,
    /// The connection ended or failed.
    Closed,
}

/// Follow the build's logs over the stream (module doc); `offsets` is where each file
/// stands, kept up to date for a fallback to polling.
pub(super) fn follow(
    request: &LogRequest,
    client: &ApiClient,
    out: &mut Output,
    printer: &mut Printer,
    build: &BuildDto,
    offsets: &mut LogOffsets,
) -> Result<Followed, CliError> {
    let target = client.target();
    let agent: ureq::Agent = crate::tls::agent_config(&target.roots)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(RESPONSE_TIMEOUT))
        .timeout_per_read(Some(STALL))
        .build()
        .into();
    let mut view = View::new(request, build);
    let mut failures = 0u32;
    let mut ever_streamed = false;
    loop {
        if failures >= MAX_FAILURES {
            if !ever_streamed {
                out.warn("the build's log stream keeps failing here; following by polling instead");
            }
            return Ok(Followed::Poll);
        }
        if failures > 0 {
            std::thread::sleep(Duration::from_millis(200 * u64::from(failures)));
        }
        let path = paths::build_logs_stream_from(&request.id, offsets);
        let url = format!("{}{path}", target.server);
        let mut call = agent.get(&url).header("Accept", "text/event-stream");
        if let Some(token) = &target.token {
            call = call.header("Authorization", format!("Bearer {}", token.expose()));
        }
        let response = match call.call() {
            Ok(response) => response,
            Err(e) if failures + 1 >= MAX_FAILURES => return Err(transport_error(target, &e)),
            Err(_) => {
                failures += 1;
                continue;
            }
        };
        let status = response.status().as_u16();
        let is_stream = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !(200..300).contains(&status) || !is_stream {
            return refused(client, response, &path, out);
        }
        let events = spawn_reader(response.into_body().into_reader());
        let mut streamed = false;
        loop {
            let wait = if streamed { STALL } else { FIRST_EVENT };
            match events.recv_timeout(wait) {
                Ok(Message::Event(name, data)) => {
                    streamed = true;
                    ever_streamed = true;
                    failures = 0;
                    let Some(event) =
                        LogStreamEvent::parse(&name, &data).map_err(|e| CliError::BadResponse {
                            url: path.clone(),
                            status,
                            reason: e.to_string(),
                            request_id: None,
                        })?
                    else {
                        continue;
                    };
                    if view.handle(event, client, out, printer, offsets)? {
                        return Ok(Followed::Ended);
                    }
                }
                Ok(Message::Comment) => streamed = true,
                Ok(Message::Closed) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) if !streamed && !ever_streamed => {
                    out.warn("the build's log stream does not arrive (a proxy holding it back?); following by polling instead");
                    return Ok(Followed::Poll);
                }
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        if !streamed {
            failures += 1;
        }
    }
}

/// The stream was answered with something else: the server's error when it is one
/// (an unknown build, a rejected token), else fall back to polling.
fn refused(
    client: &ApiClient,
    mut response: ureq::http::Response<ureq::Body>,
    path: &str,
    out: &mut Output,
) -> Result<Followed, CliError> {
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    if (400..600).contains(&status)
        && serde_json::from_str::<oore_core::api::ErrorEnvelope>(&body).is_ok()
    {
        return Err(client.error(RawResponse {
            status,
            body,
            url: path.to_owned(),
            request_id,
        }));
    }
    out.warn(&format!(
        "the build's log stream was answered with HTTP {status}, not an event stream (a proxy in between?); following by polling instead"
    ));
    Ok(Followed::Poll)
}

/// Reads server-sent events on a thread of its own.
fn spawn_reader(body: impl Read + Send + 'static) -> Receiver<Message> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || read_events(BufReader::new(body), &tx));
    rx
}

/// Parses `event:` / `data:` lines into messages until the body ends or the receiver
/// goes away.
fn read_events(mut body: impl std::io::BufRead, tx: &Sender<Message>) {
    let mut name = String::new();
    let mut data = String::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match body.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => {
                let _ = tx.send(Message::Closed);
                return;
            }
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        let message = if text.is_empty() {
            if data.is_empty() && name.is_empty() {
                continue;
            }
            let event = if name.is_empty() { "message" } else { &name };
            let message = Message::Event(event.to_owned(), std::mem::take(&mut data));
            name.clear();
            message
        } else if text.starts_with(':') {
            Message::Comment
        } else {
            let (field, value) = text.split_once(':').unwrap_or((text, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => name = value.to_owned(),
                "data" => {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(value);
                }
                _ => {}
            }
            continue;
        };
        if tx.send(message).is_err() {
            return;
        }
    }
}

/// What the follow knows: which files to print and the steps' names.
struct View<'a> {
    request: &'a LogRequest,
    build: &'a BuildDto,
    stream: LogStream,
    names: HashMap<u32, String>,
    /// A step's output was printed (later system output is "continued").
    printed_steps: bool,
}

impl<'a> View<'a> {
    fn new(request: &'a LogRequest, build: &'a BuildDto) -> Self {
        let names = build
            .steps
            .iter()
            .flatten()
            .map(|s| (s.index, s.name.clone()))
            .collect();
        Self {
            request,
            build,
            stream: if request.stderr {
                LogStream::Stderr
            } else {
                LogStream::Stdout
            },
            names,
            printed_steps: false,
        }
    }

    /// Acts on one event; true after `end`.
    fn handle(
        &mut self,
        event: LogStreamEvent,
        client: &ApiClient,
        out: &mut Output,
        printer: &mut Printer,
        offsets: &mut LogOffsets,
    ) -> Result<bool, CliError> {
        match event {
            LogStreamEvent::Status(status) => {
                self.on_status(&status)?;
                Ok(false)
            }
            LogStreamEvent::Log(log) => {
                self.on_log(&log, client, out, printer, offsets)?;
                Ok(false)
            }
            LogStreamEvent::End(end) => {
                printer.end_source(out)?;
                printer.finish(out)?;
                let mut ended = self.build.clone();
                ended.status = end.status;
                report_end(out, &ended, end.error_message.as_deref());
                Ok(true)
            }
        }
    }

    fn on_status(&mut self, status: &StatusEventDto) -> Result<(), CliError> {
        for step in &status.steps {
            self.names.insert(step.index, step.name.clone());
        }
        if let Some(index) = self.request.step
            && !status.steps.is_empty()
            && !status.steps.iter().any(|s| s.index == index)
        {
            let (first, last) = (
                status.steps[0].index,
                status.steps[status.steps.len() - 1].index,
            );
            return Err(CliError::Usage(format!(
                "build #{} {} has no step {index}: its steps are {first} to {last}; see them with `oore build steps {}`",
                self.build.number, self.build.id, self.build.id
            )));
        }
        Ok(())
    }

    fn wanted(&self, file: LogFile) -> bool {
        match file {
            LogFile::System => self.request.system,
            LogFile::Step { index, stream } => {
                stream == self.stream && self.request.step.is_none_or(|i| i == index)
            }
        }
    }

    fn on_log(
        &mut self,
        log: &LogEventDto,
        client: &ApiClient,
        out: &mut Output,
        printer: &mut Printer,
        offsets: &mut LogOffsets,
    ) -> Result<(), CliError> {
        let Some(file) = log.file() else {
            return Ok(());
        };
        let seen = offsets.get(file);
        if log.next_offset <= seen {
            return Ok(()); // sent before a reconnect: printed already
        }
        if !self.wanted(file) {
            offsets.advance(log);
            return Ok(());
        }
        let bytes = decode_base64(&log.data_base64).ok_or_else(|| CliError::BadResponse {
            url: paths::build_logs_stream(&self.build.id),
            status: 200,
            reason: "a log event's data_base64 is not base64".to_owned(),
            request_id: None,
        })?;
        let (start, bytes) = if log.offset < seen {
            let skip = usize::try_from(seen - log.offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            (seen, bytes[skip..].to_vec())
        } else {
            (log.offset, bytes)
        };
        if let LogFile::Step { index, .. } = file
            && !self.names.contains_key(&index)
        {
            // Output can come before the status event that names the step.
            let build = super::fetch_build(client, &self.build.id)?;
            for step in build.steps.iter().flatten() {
                self.names.insert(step.index, step.name.clone());
            }
        }
        let source = match file {
            LogFile::System => Source::System,
            LogFile::Step { index, .. } => Source::Step {
                index,
                name: self.names.get(&index).cloned().unwrap_or_default(),
            },
        };
        if start > seen {
            out.warn(&format!(
                "{}: {} bytes were dropped by the server's log size cap",
                label(file),
                start - seen
            ));
        }
        if printer.current.as_ref() != Some(&source) {
            printer.end_source(out)?;
            match &source {
                Source::System if self.printed_steps => {
                    printer.current = Some(Source::System);
                    printer.write_header(out, "== system (continued) ==")?;
                }
                _ => printer.header(out, &source)?,
            }
        }
        if matches!(source, Source::Step { .. }) {
            self.printed_steps = true;
        }
        let chunk = LogChunkResponse {
            offset: start,
            next_offset: log.next_offset,
            data: String::from_utf8_lossy(&bytes).into_owned(),
            data_base64: if start == log.offset {
                log.data_base64.clone()
            } else {
                base64_encode(&bytes)
            },
            complete: false,
        };
        let stream = match file {
            LogFile::System => LogStreamDto::System,
            LogFile::Step { stream, .. } => stream.into(),
        };
        printer.chunk(out, &source, stream, &chunk, &bytes)?;
        offsets.advance(log);
        Ok(())
    }
}

fn label(file: LogFile) -> String {
    match file {
        LogFile::System => "system log".to_owned(),
        LogFile::Step { index, stream } => format!("step {index} {}", stream.as_str()),
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<String> {
        let (tx, rx) = mpsc::channel();
        read_events(text.as_bytes(), &tx);
        rx.try_iter()
            .map(|m| match m {
                Message::Event(name, data) => format!("{name}={data}"),
                Message::Comment => "comment".to_owned(),
                Message::Closed => "closed".to_owned(),
            })
            .collect()
    }

    #[test]
    fn events_comments_and_multi_line_data_are_read() {
        assert_eq!(
            messages(
                "event: status\ndata: {\"a\":1}\n\n: keep-alive\n\nevent:log\r\ndata: x\r\ndata: y\r\n\r\ndata: plain\n\nevent: cut\ndata: z"
            ),
            [
                "status={\"a\":1}",
                "comment",
                "log=x\ny",
                "message=plain",
                "closed"
            ]
        );
    }
}
