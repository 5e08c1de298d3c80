//! The downloads of `oore build artifacts --download` and `--zip`: one file at a time,
//! written to `<file>.part` and renamed once it is whole (its SHA-256 checked when the
//! server gave one, else its length), resumed after an interruption with
//! `Range: bytes=<size of the .part>-` (and `If-Range` with the ETag when there is one,
//! so a changed file is sent whole instead of being spliced).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use super::artifacts::{Start, WriteMode, content_range_start, plan_start, plan_write};
use super::render::size;
use crate::client::{ApiClient, RawResponse};
use crate::error::CliError;
use crate::output::Output;
use crate::resolve::Target;
use crate::table::sanitize;

/// Time allowed to establish the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed until the response headers arrive.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest silence while the body streams in. There is no limit on the whole download:
/// an artifact may be gigabytes.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// One file to fetch.
#[derive(Debug, Clone)]
pub(super) struct Wanted {
    /// The API path of its bytes.
    pub(super) api_path: String,
    /// Where it goes.
    pub(super) dest: PathBuf,
    /// How it is named in messages.
    pub(super) label: String,
    /// Its length.
    pub(super) size: u64,
    /// Its lowercase hex SHA-256, when the server gave one.
    pub(super) sha256: Option<String>,
    /// Its ETag, sent as `If-Range` when resuming.
    pub(super) etag: Option<String>,
}

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fetched {
    /// Downloaded from the start.
    Downloaded,
    /// A partial file was completed from this offset.
    Resumed { from: u64 },
    /// The file was already there, whole.
    UpToDate,
}

/// What `HEAD` says of a file: its length, ETag and file name.
#[derive(Debug, Clone)]
pub(super) struct Head {
    /// `Content-Length`.
    pub(super) size: u64,
    /// `ETag`.
    pub(super) etag: Option<String>,
    /// The `filename` of `Content-Disposition`.
    pub(super) file_name: Option<String>,
}

/// Downloads files of one server.
pub(super) struct Downloader {
    agent: ureq::Agent,
    target: Target,
    client: ApiClient,
    progress: bool,
}

impl Downloader {
    /// A downloader for `target`; `progress` draws a progress line on standard error.
    pub(super) fn new(target: Target, progress: bool) -> Self {
        let agent: ureq::Agent = crate::tls::agent_config(&target.roots)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(RESPONSE_TIMEOUT))
            .timeout_per_read(Some(READ_TIMEOUT))
            .build()
            .into();
        Self {
            agent,
            client: ApiClient::new(target.clone()),
            target,
            progress,
        }
    }

    /// `HEAD` of `api_path`: the length the server will send, without a body.
    pub(super) fn head(&self, api_path: &str) -> Result<Head, CliError> {
        let response = self.request(ureq::http::Method::HEAD, api_path, None, None)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(self.http_error(response, api_path));
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let size = header("content-length")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| CliError::BadResponse {
                url: api_path.to_owned(),
                status,
                reason: "it has no Content-Length; check that `oore version` matches the server's"
                    .to_owned(),
                request_id: header("x-request-id"),
            })?;
        Ok(Head {
            size,
            etag: header("etag"),
            file_name: header("content-disposition").and_then(|v| disposition_name(&v)),
        })
    }

    /// Fetch `wanted` (see the module doc).
    pub(super) fn fetch(&self, wanted: &Wanted, out: &mut Output) -> Result<Fetched, CliError> {
        let dest = &wanted.dest;
        let part = part_path(dest);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| file_error("create", parent, &e))?;
        }
        if dest.is_file() && is_whole(dest, wanted)? {
            return Ok(Fetched::UpToDate);
        }
        let part_len = match fs::metadata(&part) {
            Ok(meta) if meta.is_file() => Some(meta.len()),
            _ => None,
        };
        let mut from = match plan_start(part_len, wanted.size) {
            Start::Fresh => None,
            Start::Resume { from } => Some(from),
            Start::Complete if is_whole(&part, wanted)? => {
                fs::rename(&part, dest).map_err(|e| file_error("rename", &part, &e))?;
                return Ok(Fetched::Resumed { from: wanted.size });
            }
            Start::Complete | Start::Discard => {
                remove(&part)?;
                None
            }
        };
        let get = ureq::http::Method::GET;
        let mut response =
            self.request(get.clone(), &wanted.api_path, from, wanted.etag.as_deref())?;
        if response.status().as_u16() == 416 && from.is_some() {
            // The server cannot serve the rest of what we have: start again.
            remove(&part)?;
            from = None;
            response = self.request(get, &wanted.api_path, None, None)?;
        }
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(self.http_error(response, &wanted.api_path));
        }
        let range_start = response
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .and_then(content_range_start);
        let mode = plan_write(from, status, range_start).map_err(|why| {
            CliError::Usage(format!(
                "cannot download {}: {why}; delete {} and retry",
                sanitize(&wanted.label),
                part.display()
            ))
        })?;
        let (mut file, already) = match mode {
            WriteMode::Append => (
                OpenOptions::new()
                    .append(true)
                    .open(&part)
                    .map_err(|e| file_error("open", &part, &e))?,
                from.unwrap_or(0),
            ),
            WriteMode::Overwrite => (
                File::create(&part).map_err(|e| file_error("create", &part, &e))?,
                0,
            ),
        };
        let mut progress = Progress::new(self.progress, &wanted.label, wanted.size);
        let mut reader = response.into_body().into_reader();
        let copied = copy(&mut reader, &mut file, already, &mut progress, out);
        progress.clear(out);
        let done = copied.map_err(|e| match e {
            Copy::Read(e) => CliError::Usage(format!(
                "the download of {} stopped: {e}; run the same command again to resume it",
                sanitize(&wanted.label)
            )),
            Copy::Write(e) => file_error("write", &part, &e),
        })?;
        file.sync_all()
            .map_err(|e| file_error("write", &part, &e))?;
        drop(file);
        let (len, sha256) = digest(&part, wanted.sha256.is_some())?;
        let sha_ok = wanted
            .sha256
            .as_ref()
            .is_none_or(|want| sha256 == want.to_ascii_lowercase());
        if len != wanted.size || !sha_ok {
            remove(&part)?;
            let expected = match &wanted.sha256 {
                Some(sha) => format!("{} bytes with sha256 {}", wanted.size, sanitize(sha)),
                None => format!("{} bytes", wanted.size),
            };
            return Err(CliError::Usage(format!(
                "{} is corrupt: expected {expected}, got {len} bytes{} ({done} bytes received); the partial file was removed, run the command again",
                sanitize(&wanted.label),
                if wanted.sha256.is_some() {
                    format!(" with sha256 {sha256}")
                } else {
                    String::new()
                }
            )));
        }
        fs::rename(&part, dest).map_err(|e| file_error("rename", &part, &e))?;
        Ok(match (mode, from) {
            (WriteMode::Append, Some(from)) => Fetched::Resumed { from },
            _ => Fetched::Downloaded,
        })
    }

    fn request(
        &self,
        method: ureq::http::Method,
        api_path: &str,
        from: Option<u64>,
        if_range: Option<&str>,
    ) -> Result<ureq::http::Response<ureq::Body>, CliError> {
        let url = format!("{}{api_path}", self.target.server);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = &self.target.token {
            request = request.header("Authorization", format!("Bearer {}", token.expose()));
        }
        if let Some(from) = from {
            request = request.header("Range", format!("bytes={from}-"));
            if let Some(etag) = if_range {
                request = request.header("If-Range", etag);
            }
        }
        let request = request
            .body(())
            .map_err(|e| CliError::Usage(format!("cannot build the request for {url}: {e}")))?;
        self.agent
            .run(request)
            .map_err(|e| crate::client::transport_error(&self.target, &e))
    }

    fn http_error(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
        api_path: &str,
    ) -> CliError {
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
        self.client.error(RawResponse {
            status,
            body,
            url: api_path.to_owned(),
            request_id,
        })
    }
}

/// The `filename="..."` of a `Content-Disposition` header.
pub(super) fn disposition_name(header: &str) -> Option<String> {
    let start = header.find("filename=\"")? + "filename=\"".len();
    let rest = &header[start..];
    let name = &rest[..rest.find('"')?];
    (!name.is_empty()).then(|| name.to_owned())
}

/// `<file>.part` beside `<file>`.
fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

enum Copy {
    Read(io::Error),
    Write(io::Error),
}

/// Copy the body into the file, drawing progress; returns the bytes copied.
fn copy(
    reader: &mut dyn Read,
    file: &mut File,
    already: u64,
    progress: &mut Progress,
    out: &mut Output,
) -> Result<u64, Copy> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    progress.show(out, already, true);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Copy::Read(e)),
        };
        file.write_all(&buf[..n]).map_err(Copy::Write)?;
        copied += n as u64;
        progress.show(out, already + copied, false);
    }
    progress.show(out, already + copied, true);
    Ok(copied)
}

/// True when `path` has the wanted size (and checksum, when there is one).
fn is_whole(path: &Path, wanted: &Wanted) -> Result<bool, CliError> {
    if fs::metadata(path).map(|m| m.len()).ok() != Some(wanted.size) {
        return Ok(false);
    }
    let Some(want) = &wanted.sha256 else {
        return Ok(true);
    };
    let (_, sha256) = digest(path, true)?;
    Ok(sha256 == want.to_ascii_lowercase())
}

/// Size and (when `hash`) lowercase hex SHA-256 of a file.
fn digest(path: &Path, hash: bool) -> Result<(u64, String), CliError> {
    if !hash {
        let len = fs::metadata(path)
            .map_err(|e| file_error("read", path, &e))?
            .len();
        return Ok((len, String::new()));
    }
    let mut file = File::open(path).map_err(|e| file_error("read", path, &e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(file_error("read", path, &e)),
        };
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, hex::encode(hasher.finalize())))
}

fn remove(path: &Path) -> Result<(), CliError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(file_error("remove", path, &e)),
    }
}

fn file_error(what: &str, path: &Path, error: &io::Error) -> CliError {
    CliError::Usage(format!("cannot {what} {}: {error}", path.display()))
}

/// A one-line progress display on standard error: `path  1.5 MiB / 46.0 MiB  3%`,
/// redrawn in place with `\r`.
struct Progress {
    enabled: bool,
    label: String,
    total: u64,
    last: Option<Instant>,
    width: usize,
}

impl Progress {
    fn new(enabled: bool, path: &str, total: u64) -> Self {
        let path = sanitize(path);
        let chars: Vec<char> = path.chars().collect();
        let label = if chars.len() > 40 {
            format!("…{}", chars[chars.len() - 39..].iter().collect::<String>())
        } else {
            path
        };
        Self {
            enabled,
            label,
            total,
            last: None,
            width: 0,
        }
    }

    fn show(&mut self, out: &mut Output, done: u64, force: bool) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if !force
            && self
                .last
                .is_some_and(|t| now.duration_since(t) < PROGRESS_EVERY)
        {
            return;
        }
        self.last = Some(now);
        let line = progress_line(&self.label, done, self.total);
        let width = line.chars().count();
        let pad = self.width.saturating_sub(width);
        self.width = self.width.max(width);
        out.raw_stderr(&format!("\r{line}{}", " ".repeat(pad)));
    }

    fn clear(&mut self, out: &mut Output) {
        if self.enabled && self.width > 0 {
            out.raw_stderr(&format!("\r{}\r", " ".repeat(self.width)));
            self.width = 0;
        }
    }
}

/// `label  done / total  pct%`.
pub(super) fn progress_line(label: &str, done: u64, total: u64) -> String {
    let pct = if total == 0 {
        100
    } else {
        (u128::from(done.min(total)) * 100 / u128::from(total)) as u64
    };
    format!("{label}  {} / {}  {pct}%", size(done), size(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_file_sits_beside_the_file() {
        assert_eq!(
            part_path(Path::new("out/build/app.apk")),
            Path::new("out/build/app.apk.part")
        );
    }

    #[test]
    fn the_file_name_comes_from_content_disposition() {
        assert_eq!(
            disposition_name("attachment; filename=\"build-7-artifacts.zip\"; filename*=UTF-8''build-7-artifacts.zip")
                .as_deref(),
            Some("build-7-artifacts.zip")
        );
        assert_eq!(disposition_name("attachment"), None);
        assert_eq!(disposition_name("attachment; filename=\"\""), None);
    }

    #[test]
    fn progress_line_shows_bytes_and_percent() {
        assert_eq!(
            progress_line("app.apk", 1536, 3 * 1024 * 1024),
            "app.apk  1.5 KiB / 3.0 MiB  0%"
        );
        assert_eq!(
            progress_line("app.apk", 3 * 1024 * 1024, 3 * 1024 * 1024),
            "app.apk  3.0 MiB / 3.0 MiB  100%"
        );
        assert_eq!(progress_line("empty", 0, 0), "empty  0 B / 0 B  100%");
    }

    #[test]
    fn digest_is_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"abc").unwrap();
        assert_eq!(
            digest(&path, true).unwrap(),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_owned()
            )
        );
        assert_eq!(digest(&path, false).unwrap().0, 3);
    }
}
