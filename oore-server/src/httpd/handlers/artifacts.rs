//! Artifact endpoints (spec 7.2, 7.3): list, download one (resumable), download all as
//! a zip.
//!
//! Artifacts live at `OORE_LOGS_DIR/artifacts/<build_id>/<path>` (the
//! [`ArtifactCollector`](oore_core::ports::ArtifactCollector) contract). Files are streamed
//! from disk in 64 KiB chunks, never read whole.
//!
//! * `GET /api/builds/:id/artifacts/:artifact_id`: `Content-Length`, `Content-Type` from
//!   the extension, `Content-Disposition: attachment`, `Accept-Ranges: bytes`, `ETag` (the
//!   SHA-256). `Range: bytes=N-`, `bytes=N-M` and `bytes=-S` answer 206 with
//!   `Content-Range` (416 with `Content-Range: bytes */LEN` when it starts past the end);
//!   several ranges, a malformed header, or an `If-Range` other than the ETag get the
//!   whole file (200), as RFC 9110 allows.
//! * `GET /api/builds/:id/artifacts.zip`: every artifact, stored (not recompressed: apk,
//!   ipa and aab files are zips already), written by the `zip` crate on a blocking thread
//!   into a bounded channel that feeds the response, so the archive is never in memory.
//!   Its length is not known up front: the response is chunked.
//!
//! Neither is ever compressed by the HTTP layer ([`Uncompressed`]), and `HEAD` answers
//! the headers without opening a stream or starting a zip.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use axum::body::{Body, Bytes};
use axum::extract::State;
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    ETAG, IF_RANGE, RANGE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use oore_adapters::artifacts::FsArtifacts;
use oore_core::api::{ArtifactDto, ArtifactListResponse};
use oore_core::domain::build::Artifact;
use oore_core::ids::{ArtifactId, BuildId};
use oore_core::usecases::build::{get_build, get_build_artifact, list_build_artifacts};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::app::App;
use crate::httpd::error::ApiError;
use crate::httpd::extract::Ids;
use crate::httpd::response::{
    BodySender, Response, Uncompressed, channel_body, json, unknown_length_head,
};

/// Bytes per body chunk.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered ahead of a slow client.
const BUFFER: usize = 8;

/// `GET /api/builds/{id}/artifacts`.
#[utoipa::path(
    get,
    path = "/api/builds/{id}/artifacts",
    operation_id = "list_build_artifacts",
    tag = "artifacts",
    params(("id" = String, Path, description = "Build id (ULID)")),
    responses((status = 200, description = "The build's artifacts"))
)]
pub(crate) async fn list(
    State(app): State<App>,
    Ids(id): Ids<BuildId>,
) -> Result<Response, ApiError> {
    let artifacts = list_build_artifacts(app.services(), id).await?;
    Ok(json(
        StatusCode::OK,
        &ArtifactListResponse {
            artifacts: artifacts.iter().map(ArtifactDto::from).collect(),
        },
    ))
}

fn file_gone(artifact: &Artifact) -> ApiError {
    ApiError::gone_file(format!(
        "the file of artifact {} ({}) is no longer on the server: it was removed by log retention (OORE_LOG_RETENTION_DAYS) or by hand; trigger the build again to recreate it",
        artifact.id, artifact.path
    ))
}

/// `Content-Type` by file extension.
pub(crate) fn content_type(path: &str) -> &'static str {
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "apk" => "application/vnd.android.package-archive",
        "zip" => "application/zip",
        "txt" | "log" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "html" | "htm" => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>` for the last path
/// segment.
fn content_disposition(path: &str) -> HeaderValue {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ranged {
    /// The whole file (no header, or one that is ignored).
    Full,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// 416.
    Unsatisfiable,
}

fn parse_range(header: Option<&str>, len: u64) -> Ranged {
    let Some(spec) = header.map(str::trim).and_then(|h| h.strip_prefix("bytes=")) else {
        return Ranged::Full;
    };
    if spec.contains(',') {
        return Ranged::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first.is_empty(), last.is_empty()) {
        // bytes=-S: the last S bytes.
        (true, false) => match number(last) {
            Some(0) => Ranged::Unsatisfiable,
            Some(_) if len == 0 => Ranged::Unsatisfiable,
            Some(s) => Ranged::Part {
                start: len - s.min(len),
                end: len - 1,
            },
            None => Ranged::Full,
        },
        // bytes=N-
        (false, true) => match number(first) {
            Some(n) if n >= len => Ranged::Unsatisfiable,
            Some(n) => Ranged::Part {
                start: n,
                end: len - 1,
            },
            None => Ranged::Full,
        },
        // bytes=N-M
        (false, false) => match (number(first), number(last)) {
            (Some(n), Some(m)) if n <= m => {
                if n >= len {
                    Ranged::Unsatisfiable
                } else {
                    Ranged::Part {
                        start: n,
                        end: m.min(len - 1),
                    }
                }
            }
            _ => Ranged::Full,
        },
        (true, true) => Ranged::Full,
    }
}

fn etag(artifact: &Artifact) -> String {
    format!("\"{}\"", artifact.sha256)
}

/// `Range`, unless an `If-Range` says the client's copy is of another file.
fn requested_range(headers: &HeaderMap, artifact: &Artifact, len: u64) -> Ranged {
    if let Some(if_range) = headers.get(IF_RANGE).and_then(|v| v.to_str().ok())
        && if_range.trim() != etag(artifact)
    {
        return Ranged::Full;
    }
    parse_range(headers.get(RANGE).and_then(|v| v.to_str().ok()), len)
}

/// `GET /api/builds/{id}/artifacts/{artifact_id}`.
#[utoipa::path(
    get,
    path = "/api/builds/{id}/artifacts/{artifact_id}",
    operation_id = "download_artifact",
    tag = "artifacts",
    params(
        ("id" = String, Path, description = "Build id (ULID)"),
        ("artifact_id" = String, Path, description = "Artifact id (ULID)"),
        ("Range" = Option<String>, Header, description = "bytes=N-, bytes=N-M or bytes=-S"),
    ),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 206, description = "The requested range", content_type = "application/octet-stream"),
        (status = 416, description = "The range starts past the end"),
    )
)]
pub(crate) async fn download(
    State(app): State<App>,
    method: Method,
    headers: HeaderMap,
    Ids((build, artifact_id)): Ids<(BuildId, ArtifactId)>,
) -> Result<Response, ApiError> {
    let artifact = get_build_artifact(app.services(), build, artifact_id).await?;
    let path = app
        .artifacts()
        .artifact_path(build, &artifact.path)
        .ok_or_else(|| file_gone(&artifact))?;
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(file_gone(&artifact)),
        Err(e) => {
            return Err(ApiError::internal(&format!(
                "cannot open artifact {}: {e}",
                path.display()
            )));
        }
    };
    let len = file
        .metadata()
        .await
        .map_err(|e| ApiError::internal(&format!("cannot stat {}: {e}", path.display())))?
        .len();
    let (status, start, count) = match requested_range(&headers, &artifact, len) {
        Ranged::Full => (StatusCode::OK, 0, len),
        Ranged::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Ranged::Unsatisfiable => return Err(ApiError::range_not_satisfiable(len)),
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        if start > 0 {
            file.seek(io::SeekFrom::Start(start))
                .await
                .map_err(|e| ApiError::internal(&format!("cannot seek {}: {e}", path.display())))?;
        }
        let (tx, body) = channel_body(BUFFER);
        tokio::spawn(send_file(file, count, tx));
        body
    };

    let mut response = Response::new(body);
    response.extensions_mut().insert(Uncompressed);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(content_type(&artifact.path)),
    );
    h.insert(CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(CONTENT_DISPOSITION, content_disposition(&artifact.path));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(tag) = HeaderValue::from_str(&etag(&artifact)) {
        h.insert(ETAG, tag);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(range) =
            HeaderValue::from_str(&format!("bytes {start}-{}/{len}", start + count - 1))
    {
        h.insert(CONTENT_RANGE, range);
    }
    Ok(response)
}

/// Copies `count` bytes of `file` into the body; stops when the client goes away.
async fn send_file(mut file: tokio::fs::File, mut count: u64, tx: BodySender) {
    let mut buf = vec![0u8; CHUNK];
    while count > 0 {
        let want = usize::try_from(count).map_or(CHUNK, |c| c.min(CHUNK));
        match file.read(&mut buf[..want]).await {
            Ok(0) => {
                // The file shrank under us: end the body short (the client sees it).
                let _ = tx
                    .send(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "artifact file shrank while it was sent",
                    )))
                    .await;
                return;
            }
            Ok(n) => {
                count -= n as u64;
                if tx
                    .send(Ok(Bytes::copy_from_slice(&buf[..n])))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading an artifact failed mid-download");
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
    }
}

/// `GET /api/builds/{id}/artifacts.zip`.
#[utoipa::path(
    get,
    path = "/api/builds/{id}/artifacts.zip",
    operation_id = "download_artifacts_zip",
    tag = "artifacts",
    params(("id" = String, Path, description = "Build id (ULID)")),
    responses((status = 200, description = "Every artifact in one zip (stored, not recompressed)", content_type = "application/zip"))
)]
pub(crate) async fn zip(
    State(app): State<App>,
    method: Method,
    Ids(build): Ids<BuildId>,
) -> Result<Response, ApiError> {
    let view = get_build(app.services(), build).await?;
    let artifacts = list_build_artifacts(app.services(), build).await?;
    if artifacts.is_empty() {
        return Err(ApiError::not_found(format!(
            "build {build} has no artifacts: the pipeline's `artifacts` patterns matched nothing, or the build did not get that far; check `oore build logs {build}`"
        )));
    }
    let body = if method == Method::HEAD {
        unknown_length_head()
    } else {
        let store = app.artifacts().clone();
        let (tx, body) = channel_body(BUFFER);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = write_zip(&store, build, &artifacts, tx.clone()) {
                if e.kind() != io::ErrorKind::BrokenPipe {
                    tracing::warn!(build_id = %build, error = %e, "writing the artifacts zip failed");
                }
                let _ = tx.blocking_send(Err(e));
            }
        });
        body
    };
    let mut response = Response::new(body);
    response.extensions_mut().insert(Uncompressed);
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(
        CONTENT_DISPOSITION,
        content_disposition(&format!("build-{}-artifacts.zip", view.build.number)),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Feeds a body from blocking code.
struct ChannelWriter(BodySender);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_zip(
    store: &FsArtifacts,
    build: BuildId,
    artifacts: &[Artifact],
    tx: BodySender,
) -> io::Result<()> {
    use zip::write::SimpleFileOptions;
    let writer = BufWriter::with_capacity(CHUNK, ChannelWriter(tx));
    let mut zip = zip::ZipWriter::new_stream(writer);
    for artifact in artifacts {
        let Some(path) = store.artifact_path(build, &artifact.path) else {
            continue;
        };
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::warn!(build_id = %build, artifact = %artifact.path, "artifact file missing: left out of the zip");
                continue;
            }
            Err(e) => return Err(e),
        };
        let size = file.metadata()?.len();
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .unix_permissions(0o644)
            .large_file(size >= u64::from(u32::MAX));
        zip.start_file(artifact.path.as_str(), options)
            .map_err(io::Error::other)?;
        io::copy(&mut file, &mut zip)?;
    }
    let mut inner = zip.finish().map_err(io::Error::other)?.into_inner();
    inner.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        use Ranged::*;
        let cases = [
            (None, 10, Full),
            (Some("bytes=0-"), 10, Part { start: 0, end: 9 }),
            (Some("bytes=4-"), 10, Part { start: 4, end: 9 }),
            (Some("bytes=2-5"), 10, Part { start: 2, end: 5 }),
            (Some("bytes=2-50"), 10, Part { start: 2, end: 9 }),
            (Some("bytes=-3"), 10, Part { start: 7, end: 9 }),
            (Some("bytes=-30"), 10, Part { start: 0, end: 9 }),
            (Some("bytes=10-"), 10, Unsatisfiable),
            (Some("bytes=12-20"), 10, Unsatisfiable),
            (Some("bytes=-0"), 10, Unsatisfiable),
            (Some("bytes=0-"), 0, Unsatisfiable),
            (Some("bytes=5-2"), 10, Full),
            (Some("bytes=0-1,4-5"), 10, Full),
            (Some("items=0-1"), 10, Full),
            (Some("bytes=x-"), 10, Full),
            (Some("bytes=-"), 10, Full),
        ];
        for (header, len, expected) in cases {
            assert_eq!(parse_range(header, len), expected, "{header:?} of {len}");
        }
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type("app-release.apk"),
            "application/vnd.android.package-archive"
        );
        assert_eq!(
            content_type("build/ios/Runner.IPA"),
            "application/octet-stream"
        );
        assert_eq!(content_type("a.aab"), "application/octet-stream");
        assert_eq!(content_type("x.zip"), "application/zip");
        assert_eq!(content_type("notes.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("Makefile"), "application/octet-stream");
    }

    #[test]
    fn dispositions_are_safe_and_keep_unicode() {
        let h = content_disposition("out/My \"App\" é.apk");
        assert_eq!(
            h.to_str().unwrap(),
            "attachment; filename=\"My _App_ _.apk\"; filename*=UTF-8''My%20%22App%22%20%C3%A9.apk"
        );
    }
}
