//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`, for tests. Every request
//! is sent with `Connection: close` and the response is read to the end. [`raw`] sends
//! bytes as given, for protocol tests (lying `Content-Length`, odd methods).
//! [`EventStream`] reads a `text/event-stream` response event by event, as it arrives.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::Value;

/// How long a test waits for a connection or a response.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A response, read completely.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers in order received; names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// If it is not JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        self.json_as()
    }

    /// The body as `T`.
    ///
    /// # Panics
    /// If it is not a JSON `T`.
    #[track_caller]
    pub fn json_as<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not the expected JSON ({e}): {} {}",
                self.status,
                self.text()
            )
        })
    }
}

/// Splits `http://host:port/path?query` into the address and the request target.
fn split_url(url: &str) -> (&str, &str) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("only http:// URLs are supported: {url}"));
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

/// `GET url`, with `Authorization: Bearer <token>` if given.
///
/// # Panics
/// If the server cannot be reached or answers garbage.
pub fn get(url: &str, token: Option<&str>) -> HttpResponse {
    send("GET", url, token, None)
}

/// `method url` with an optional token and JSON body.
///
/// # Panics
/// If the server cannot be reached or answers garbage.
pub fn send(method: &str, url: &str, token: Option<&str>, json: Option<&Value>) -> HttpResponse {
    let mut headers = Vec::new();
    let auth;
    if let Some(token) = token {
        auth = format!("Bearer {token}");
        headers.push(("Authorization", auth.as_str()));
    }
    let body = json.map(|v| serde_json::to_vec(v).expect("serialize JSON"));
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    request(method, url, &headers, body.as_deref())
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// `method url` with exactly `headers` (plus `Host`, `Connection: close` and, when a
/// body is given, `Content-Length`).
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<HttpResponse> {
    let (addr, target) = split_url(url);
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    raw(addr, &bytes)
}

/// Sends `bytes` to `addr` as they are and reads the response. A server that answers
/// early and closes (413) may reset the connection while the request is still being
/// written: whatever response arrived is returned.
pub fn raw(addr: &str, bytes: &[u8]) -> io::Result<HttpResponse> {
    let socket = addr
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("not IP:PORT: {addr}")))?;
    let mut stream = TcpStream::connect_timeout(&socket, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let write_result = stream.write_all(bytes);
    let mut received = Vec::new();
    let read_result = stream.read_to_end(&mut received);
    if received.is_empty() {
        write_result?;
        read_result?;
    }
    parse_response(&received)
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name (`message` when absent).
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

impl SseEvent {
    /// The data as JSON.
    ///
    /// # Panics
    /// If it is not JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {}", self.data))
    }
}

/// A streamed response read incrementally: headers first, then server-sent events as
/// they arrive (chunked transfer decoded on the fly).
#[derive(Debug)]
pub struct EventStream {
    /// Status code.
    pub status: u16,
    /// Headers; names lowercase.
    pub headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    chunked: bool,
    /// Bytes left in the current chunk.
    chunk_left: usize,
    pending: Vec<u8>,
    done: bool,
}

impl EventStream {
    /// `GET url` with `Authorization: Bearer <token>`, returning once the headers arrived.
    ///
    /// # Errors
    /// If the server cannot be reached or answers garbage.
    pub fn open(url: &str, token: &str) -> io::Result<EventStream> {
        let (addr, target) = split_url(url);
        let socket = addr.parse().map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("not IP:PORT: {addr}"))
        })?;
        let mut stream = TcpStream::connect_timeout(&socket, TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
        )?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line)?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("bad status line"))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        Ok(EventStream {
            status,
            headers,
            reader,
            chunked,
            chunk_left: 0,
            pending: Vec::new(),
            done: false,
        })
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets how long one read may wait before [`next_event`](Self::next_event) fails.
    ///
    /// # Errors
    /// If the socket refuses.
    pub fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.reader.get_ref().set_read_timeout(Some(timeout))
    }

    /// Reads more body bytes into `pending`; false at the end of the body.
    fn fill(&mut self) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        if !self.chunked {
            let mut buf = [0u8; 8192];
            let n = self.reader.read(&mut buf)?;
            if n == 0 {
                self.done = true;
                return Ok(false);
            }
            self.pending.extend_from_slice(&buf[..n]);
            return Ok(true);
        }
        if self.chunk_left == 0 {
            let mut size_line = String::new();
            if self.reader.read_line(&mut size_line)? == 0 {
                self.done = true;
                return Ok(false);
            }
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| invalid("bad chunk size"))?;
            if size == 0 {
                self.done = true;
                return Ok(false);
            }
            self.chunk_left = size;
        }
        let mut buf = vec![0u8; self.chunk_left.min(8192)];
        let n = self.reader.read(&mut buf)?;
        if n == 0 {
            self.done = true;
            return Ok(false);
        }
        self.pending.extend_from_slice(&buf[..n]);
        self.chunk_left -= n;
        if self.chunk_left == 0 {
            let mut crlf = [0u8; 2];
            self.reader.read_exact(&mut crlf)?;
        }
        Ok(true)
    }

    /// The next event; `Ok(None)` once the response ended. Comments (`: ...`) are skipped.
    ///
    /// # Errors
    /// If a read times out or the connection fails.
    pub fn next_event(&mut self) -> io::Result<Option<SseEvent>> {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&block);
                let mut event = String::from("message");
                let mut data: Vec<&str> = Vec::new();
                let mut any = false;
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v));
                        any = true;
                    }
                }
                if any {
                    return Ok(Some(SseEvent {
                        event,
                        data: data.join("\n"),
                    }));
                }
                continue;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Events until one satisfies `stop` (returned last) or `deadline` passes.
    ///
    /// # Panics
    /// If the stream ends, fails or the deadline passes first.
    #[track_caller]
    pub fn events_until(
        &mut self,
        deadline: Duration,
        mut stop: impl FnMut(&SseEvent) -> bool,
    ) -> Vec<SseEvent> {
        let until = Instant::now() + deadline;
        let mut seen = Vec::new();
        loop {
            let left = until.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no matching event within {deadline:?}; got {seen:#?}"
            );
            self.set_timeout(left).expect("set the read timeout");
            match self.next_event() {
                Ok(Some(event)) => {
                    let done = stop(&event);
                    seen.push(event);
                    if done {
                        return seen;
                    }
                }
                Ok(None) => panic!("the stream ended before a matching event; got {seen:#?}"),
                Err(e) => panic!("reading the stream failed ({e}); got {seen:#?}"),
            }
        }
    }

    /// Every remaining event until the response ends.
    ///
    /// # Panics
    /// If a read fails or times out.
    pub fn rest(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self
            .next_event()
            .unwrap_or_else(|e| panic!("reading the stream failed ({e}); got {events:#?}"))
        {
            events.push(event);
        }
        events
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

fn parse_response(bytes: &[u8]) -> io::Result<HttpResponse> {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of headers"))?;
    let head = std::str::from_utf8(&bytes[..end]).map_err(|_| invalid("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &bytes[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    // A HEAD answer has the headers of its GET but no body at all.
    let body = if chunked && !rest.is_empty() {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("bad chunk"))?;
        let size_text =
            std::str::from_utf8(&rest[..line_end]).map_err(|_| invalid("bad chunk size"))?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid("bad chunk size"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(rest.get(..size).ok_or_else(|| invalid("short chunk"))?);
        rest = rest.get(size + 2..).ok_or_else(|| invalid("short chunk"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_responses() {
        let plain =
            parse_response(b"HTTP/1.1 201 Created\r\nX-A: b\r\ncontent-length: 2\r\n\r\nhi")
                .unwrap();
        assert_eq!(
            (plain.status, plain.header("x-a"), plain.text().as_str()),
            (201, Some("b"), "hi")
        );
        let chunked =
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(chunked.text(), "abcde");
    }

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("http://127.0.0.1:80/api/x?y=1"),
            ("127.0.0.1:80", "/api/x?y=1")
        );
        assert_eq!(split_url("http://127.0.0.1:80"), ("127.0.0.1:80", "/"));
    }
}
