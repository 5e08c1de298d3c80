//! `oore build artifacts --download`: fetch every artifact of a build into a directory,
//! keeping their relative paths. Each file is written to `<file>.part` and renamed once
//! its SHA-256 matches; a `.part` left by an interrupted run is resumed with
//! `Range: bytes=<its size>-`. Paths from the server are checked before they touch the
//! file system.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use oore_core::api::{ArtifactDto, paths};
use sha2::{Digest as _, Sha256};

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

/// The relative path for an artifact path from the server: `/`-separated, every part a
/// plain name. Absolute paths, `..`, `.`, empty parts, backslashes and NUL are refused so
/// a server cannot write outside the output directory.
pub(super) fn safe_relative_path(path: &str) -> Result<PathBuf, String> {
    let refuse = |why: &str| {
        Err(format!(
            "refusing artifact path {:?}: {why}",
            sanitize(path)
        ))
    };
    if path.is_empty() {
        return refuse("it is empty");
    }
    if path.starts_with('/') {
        return refuse("it is absolute");
    }
    if path.contains('\\') || path.contains('\0') {
        return refuse("it contains a backslash or NUL");
    }
    let mut relative = PathBuf::new();
    for part in path.split('/') {
        match part {
            "" => return refuse("it has an empty component"),
            "." | ".." => return refuse("it has a `.` or `..` component"),
            part => relative.push(part),
        }
    }
    // Whatever the platform makes of the parts (a `C:` prefix on Windows), every one
    // must stay a plain name.
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return refuse("it is not a plain relative path on this system");
    }
    Ok(relative)
}

/// What to do with the `.part` file found before a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Nothing usable: download from the start.
    Fresh,
    /// Ask for the rest from this offset.
    Resume { from: u64 },
    /// It has every byte already: verify it.
    Complete,
    /// It is longer than the artifact: discard it and start again.
    Discard,
}

/// How to begin, given the `.part` file's size (if there is one) and the artifact's.
pub(super) fn plan_start(part_len: Option<u64>, expected: u64) -> Start {
    match part_len {
        None | Some(0) => Start::Fresh,
        Some(n) if n < expected => Start::Resume { from: n },
        Some(n) if n == expected => Start::Complete,
        Some(_) => Start::Discard,
    }
}

/// How to write the body into the `.part` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WriteMode {
    /// After the bytes already there (206 for the range asked for).
    Append,
    /// From an empty file (200: the whole artifact).
    Overwrite,
}

/// How to write the response, given the range asked for (`bytes=<from>-`), the status and
/// the start of `Content-Range`. A 200 answer to a range request is the whole file (the
/// server ignored the range); a 206 that starts elsewhere cannot be appended.
pub(super) fn plan_write(
    requested_from: Option<u64>,
    status: u16,
    range_start: Option<u64>,
) -> Result<WriteMode, String> {
    match (requested_from, status) {
        (_, 200) => Ok(WriteMode::Overwrite),
        (Some(from), 206) if range_start == Some(from) => Ok(WriteMode::Append),
        (Some(from), 206) => Err(format!(
            "the server answered the range from byte {from} with {}",
            range_start.map_or_else(
                || "no Content-Range".to_owned(),
                |s| format!("bytes from {s}")
            )
        )),
        (None, 206) => Err("the server sent a partial answer to a full request".to_owned()),
        (_, status) => Err(format!("unexpected HTTP {status}")),
    }
}

/// The first byte of `Content-Range: bytes <first>-<last>/<total>`.
pub(super) fn content_range_start(header: &str) -> Option<u64> {
    let range = header.trim().strip_prefix("bytes ")?;
    let (first, _) = range.split_once('-')?;
    first.trim().parse().ok()
}

/// `<file>.part` beside `<file>`.
fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// What became of one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fetched {
    /// Downloaded from the start.
    Downloaded,
    /// A partial file was completed from this offset.
    Resumed { from: u64 },
    /// The file was already there with the right checksum.
    UpToDate,
}

/// Downloads artifacts of one build.
pub(super) struct Downloader {
    agent: ureq::Agent,
    target: Target,
    client: ApiClient,
    progress: bool,
}

impl Downloader {
    /// A downloader for `target`; `progress` draws a progress line on standard error.
    pub(super) fn new(target: Target, progress: bool) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(RESPONSE_TIMEOUT))
            .timeout_per_read(Some(READ_TIMEOUT))
            .user_agent(concat!("oore/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            agent,
            client: ApiClient::new(target.clone()),
            target,
            progress,
        }
    }

    /// Fetch `artifact` of build `build_id` into `dir`.
    pub(super) fn fetch(
        &self,
        build_id: &str,
        artifact: &ArtifactDto,
        dir: &Path,
        out: &mut Output,
    ) -> Result<Fetched, CliError> {
        let relative = safe_relative_path(&artifact.path).map_err(CliError::Usage)?;
        let dest = dir.join(&relative);
        let part = part_path(&dest);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| file_error("create", parent, &e))?;
        }
        if dest.is_file() && matches(&dest, artifact)? {
            return Ok(Fetched::UpToDate);
        }
        let part_len = match fs::metadata(&part) {
            Ok(meta) if meta.is_file() => Some(meta.len()),
            _ => None,
        };
        let mut from = match plan_start(part_len, artifact.size) {
            Start::Fresh => None,
            Start::Resume { from } => Some(from),
            Start::Complete if matches(&part, artifact)? => {
                fs::rename(&part, &dest).map_err(|e| file_error("rename", &part, &e))?;
                return Ok(Fetched::Resumed {
                    from: artifact.size,
                });
            }
            Start::Complete | Start::Discard => {
                remove(&part)?;
                None
            }
        };
        let mut response = self.get(build_id, artifact, from)?;
        if response.status().as_u16() == 416 && from.is_some() {
            // The server cannot serve the rest of what we have: start again.
            remove(&part)?;
            from = None;
            response = self.get(build_id, artifact, None)?;
        }
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(self.http_error(response, build_id, artifact));
        }
        let range_start = response
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .and_then(content_range_start);
        let mode = plan_write(from, status, range_start).map_err(|why| {
            CliError::Usage(format!(
                "cannot download {}: {why}; delete {} and retry",
                sanitize(&artifact.path),
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
        let mut progress = Progress::new(self.progress, &artifact.path, artifact.size);
        let mut reader = response.into_body().into_reader();
        let copied = copy(&mut reader, &mut file, already, &mut progress, out);
        progress.clear(out);
        let done = copied.map_err(|e| match e {
            Copy::Read(e) => CliError::Usage(format!(
                "the download of {} stopped: {e}; run the same command again to resume it",
                sanitize(&artifact.path)
            )),
            Copy::Write(e) => file_error("write", &part, &e),
        })?;
        file.sync_all()
            .map_err(|e| file_error("write", &part, &e))?;
        drop(file);
        let (len, sha256) = digest(&part)?;
        if len != artifact.size || sha256 != artifact.sha256.to_ascii_lowercase() {
            remove(&part)?;
            return Err(CliError::Usage(format!(
                "{} is corrupt: expected {} bytes with sha256 {}, got {len} bytes with sha256 {sha256} ({done} bytes received); the partial file was removed, run the command again",
                sanitize(&artifact.path),
                artifact.size,
                sanitize(&artifact.sha256)
            )));
        }
        fs::rename(&part, &dest).map_err(|e| file_error("rename", &part, &e))?;
        Ok(match (mode, from) {
            (WriteMode::Append, Some(from)) => Fetched::Resumed { from },
            _ => Fetched::Downloaded,
        })
    }

    fn get(
        &self,
        build_id: &str,
        artifact: &ArtifactDto,
        from: Option<u64>,
    ) -> Result<ureq::http::Response<ureq::Body>, CliError> {
        let server = self.target.server.to_string();
        if server.starts_with("https://") {
            return Err(CliError::TlsUnsupported { url: server });
        }
        let url = format!("{server}{}", paths::build_artifact(build_id, &artifact.id));
        let mut request = self.agent.get(&url);
        if let Some(token) = &self.target.token {
            request = request.header("Authorization", format!("Bearer {}", token.expose()));
        }
        if let Some(from) = from {
            request = request.header("Range", format!("bytes={from}-"));
        }
        request.call().map_err(|e| CliError::Unreachable {
            url: server,
            reason: e.to_string(),
        })
    }

    fn http_error(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
        build_id: &str,
        artifact: &ArtifactDto,
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
            url: paths::build_artifact(build_id, &artifact.id),
            request_id,
        })
    }
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

/// True when `path` has the artifact's size and checksum.
fn matches(path: &Path, artifact: &ArtifactDto) -> Result<bool, CliError> {
    if fs::metadata(path).map(|m| m.len()).ok() != Some(artifact.size) {
        return Ok(false);
    }
    let (_, sha256) = digest(path)?;
    Ok(sha256 == artifact.sha256.to_ascii_lowercase())
}

/// Size and lowercase hex SHA-256 of a file.
fn digest(path: &Path) -> Result<(u64, String), CliError> {
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
    fn plain_relative_paths_are_kept() {
        assert_eq!(
            safe_relative_path("build/app/outputs/app-release.apk").unwrap(),
            Path::new("build")
                .join("app")
                .join("outputs")
                .join("app-release.apk")
        );
        assert_eq!(safe_relative_path("a.txt").unwrap(), Path::new("a.txt"));
        assert_eq!(
            safe_relative_path("東京/..name..").unwrap(),
            Path::new("東京").join("..name..")
        );
    }

    #[test]
    fn escaping_paths_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../outside",
            "a/../../outside",
            "a/..",
            "./a",
            "a//b",
            "a/",
            "..\\windows",
            "a\\b",
            "nul\0byte",
        ] {
            let err = safe_relative_path(bad).unwrap_err();
            assert!(err.starts_with("refusing artifact path"), "{bad:?}: {err}");
        }
    }

    #[cfg(windows)]
    #[test]
    fn drive_prefixes_are_refused() {
        assert!(safe_relative_path("C:/x").is_err());
    }

    #[test]
    fn start_depends_on_the_partial_file() {
        assert_eq!(plan_start(None, 100), Start::Fresh);
        assert_eq!(plan_start(Some(0), 100), Start::Fresh);
        assert_eq!(plan_start(Some(40), 100), Start::Resume { from: 40 });
        assert_eq!(plan_start(Some(99), 100), Start::Resume { from: 99 });
        assert_eq!(plan_start(Some(100), 100), Start::Complete);
        assert_eq!(plan_start(Some(101), 100), Start::Discard);
        assert_eq!(plan_start(None, 0), Start::Fresh);
        assert_eq!(plan_start(Some(0), 0), Start::Fresh);
    }

    #[test]
    fn write_mode_depends_on_the_answer() {
        assert_eq!(plan_write(None, 200, None), Ok(WriteMode::Overwrite));
        assert_eq!(plan_write(Some(40), 206, Some(40)), Ok(WriteMode::Append));
        // The server ignored the range and sent everything.
        assert_eq!(plan_write(Some(40), 200, None), Ok(WriteMode::Overwrite));
        assert!(plan_write(Some(40), 206, Some(0)).is_err());
        assert!(plan_write(Some(40), 206, None).is_err());
        assert!(plan_write(None, 206, Some(0)).is_err());
        assert!(plan_write(None, 204, None).is_err());
    }

    #[test]
    fn content_range_is_parsed() {
        assert_eq!(content_range_start("bytes 40-99/100"), Some(40));
        assert_eq!(content_range_start(" bytes 0-0/1 "), Some(0));
        assert_eq!(content_range_start("bytes */100"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }

    #[test]
    fn part_file_sits_beside_the_file() {
        assert_eq!(
            part_path(Path::new("out/build/app.apk")),
            Path::new("out/build/app.apk.part")
        );
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
            digest(&path).unwrap(),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_owned()
            )
        );
    }
}
