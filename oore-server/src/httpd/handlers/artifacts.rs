//! Artifact endpoints (spec 7.2, 7.3): list, download one (resumable), download all as
//! a zip (resumable too).
//!
//! Artifacts are read through the [`ArtifactFiles`] port (`OORE_LOGS_DIR/artifacts/
//! <build_id>/<path>` on disk), 64 KiB at a time into the response, never whole.
//!
//! * `GET /api/builds/{id}/artifacts/{artifact_id}`: `Content-Length`, `Content-Type` from
//!   the extension, `Content-Disposition: attachment`, `Accept-Ranges: bytes`, `ETag` (the
//!   SHA-256). `Range: bytes=N-`, `bytes=N-M` and `bytes=-S` answer 206 with
//!   `Content-Range` (416 with `Content-Range: bytes */LEN` when it starts past the end);
//!   several ranges, a malformed header, or an `If-Range` other than the ETag get the
//!   whole file (200), as RFC 9110 allows.
//! * `GET /api/builds/{id}/artifacts.zip`: every artifact, stored (not recompressed: apk,
//!   ipa and aab files are zips already), laid out by core's [`ArtifactZip`] from the
//!   files' names and sizes, so the answer has a `Content-Length` and takes `Range` like
//!   a single file (its ETag names the build and the length). An artifact whose file is
//!   gone is left out (and logged).
//!
//! Neither is ever compressed by the HTTP layer ([`Uncompressed`]), and `HEAD` answers
//! the headers without reading a file.

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::extract::State;
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    ETAG, IF_RANGE, RANGE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use oore_core::api::{ArtifactDto, ArtifactListResponse};
use oore_core::domain::build::Artifact;
use oore_core::ids::{ArtifactId, BuildId};
use oore_core::ports::ArtifactFileError;
use oore_core::usecases::build::{ArtifactZip, get_build_artifact, list_build_artifacts};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::app::App;
use crate::httpd::error::ApiError;
use crate::httpd::extract::{BuildRef, Ids, Second};
use crate::httpd::response::{BodySender, Response, Uncompressed, channel_body, json};

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
    params(("id" = String, Path, description = "Build id, short id (a unique end of the id) or owner/name#NUMBER")),
    responses((status = 200, description = "The build's artifacts", body = ArtifactListResponse))
)]
pub(crate) async fn list(
    State(app): State<App>,
    BuildRef(build): BuildRef,
) -> Result<Response, ApiError> {
    let id = build.id;
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

/// Characters left as they are in an RFC 8187 `filename*` value (its `attr-char`).
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

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
    let encoded = utf8_percent_encode(name, ATTR_CHAR);
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

/// `Range`, unless an `If-Range` says the client's copy is of another version than
/// `etag`.
fn requested_range(headers: &HeaderMap, etag: &str, len: u64) -> Ranged {
    if let Some(if_range) = headers.get(IF_RANGE).and_then(|v| v.to_str().ok())
        && if_range.trim() != etag
    {
        return Ranged::Full;
    }
    parse_range(headers.get(RANGE).and_then(|v| v.to_str().ok()), len)
}

/// What to send of a `len`-byte body: status, first byte and count.
fn plan_range(
    headers: &HeaderMap,
    etag: &str,
    len: u64,
) -> Result<(StatusCode, u64, u64), ApiError> {
    match requested_range(headers, etag, len) {
        Ranged::Full => Ok((StatusCode::OK, 0, len)),
        Ranged::Part { start, end } => Ok((StatusCode::PARTIAL_CONTENT, start, end - start + 1)),
        Ranged::Unsatisfiable => Err(ApiError::range_not_satisfiable(len)),
    }
}

/// What a download is: its headers (type, length, disposition, ranges, ETag and, for a
/// part, `Content-Range`) and a body pumped from `source`, which is only started for a
/// GET (a HEAD reads nothing).
struct Download<'a> {
    method: &'a Method,
    range: (StatusCode, u64, u64),
    len: u64,
    content_type: &'static str,
    disposition: HeaderValue,
    etag: &'a str,
}

impl Download<'_> {
    fn respond(self, source: impl Source) -> Response {
        let Download {
            method,
            range: (status, start, count),
            len,
            content_type,
            disposition,
            etag,
        } = self;
        let body = if *method == Method::HEAD {
            Body::empty()
        } else {
            let (tx, body) = channel_body(BUFFER);
            tokio::spawn(pump(source, start, count, tx));
            body
        };
        let mut response = Response::new(body);
        response.extensions_mut().insert(Uncompressed);
        *response.status_mut() = status;
        let h = response.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert(CONTENT_LENGTH, HeaderValue::from(count));
        h.insert(CONTENT_DISPOSITION, disposition);
        h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(tag) = HeaderValue::from_str(etag) {
            h.insert(ETAG, tag);
        }
        if status == StatusCode::PARTIAL_CONTENT
            && let Ok(range) =
                HeaderValue::from_str(&format!("bytes {start}-{}/{len}", start + count - 1))
        {
            h.insert(CONTENT_RANGE, range);
        }
        response
    }
}

/// `GET /api/builds/{id}/artifacts/{artifact_id}`.
#[utoipa::path(
    get,
    path = "/api/builds/{id}/artifacts/{artifact_id}",
    operation_id = "download_artifact",
    tag = "artifacts",
    params(
        ("id" = String, Path, description = "Build id, short id (a unique end of the id) or owner/name#NUMBER"),
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
    // The artifact id is checked before the build is looked up.
    Ids(Second(artifact_id)): Ids<Second<ArtifactId>>,
    BuildRef(build): BuildRef,
) -> Result<Response, ApiError> {
    let build = build.id;
    let artifact = get_build_artifact(app.services(), build, artifact_id).await?;
    let len = match app.artifacts().size(build, &artifact.path).await {
        Ok(Some(len)) => len,
        Ok(None) | Err(ArtifactFileError::BadPath(_) | ArtifactFileError::Missing(_)) => {
            return Err(file_gone(&artifact));
        }
        Err(e) => return Err(ApiError::internal(&e)),
    };
    let etag = format!("\"{}\"", artifact.sha256);
    let range = plan_range(&headers, &etag, len)?;
    let download = Download {
        method: &method,
        range,
        len,
        content_type: content_type(&artifact.path),
        disposition: content_disposition(&artifact.path),
        etag: &etag,
    };
    Ok(download.respond(FileSource {
        app: app.clone(),
        build,
        path: artifact.path,
    }))
}

/// Something a download reads from, `want` bytes at a time.
trait Source: Send + 'static {
    /// Exactly `want` bytes at `at`; anything shorter ends the download with an error.
    fn read(
        &mut self,
        at: u64,
        want: usize,
    ) -> impl Future<Output = Result<Vec<u8>, String>> + Send;
}

/// One stored artifact file.
struct FileSource {
    app: App,
    build: BuildId,
    path: String,
}

impl Source for FileSource {
    async fn read(&mut self, at: u64, want: usize) -> Result<Vec<u8>, String> {
        self.app
            .artifacts()
            .read(self.build, &self.path, at, want)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The artifacts zip of one build.
struct ZipSource {
    app: App,
    zip: ArtifactZip,
}

impl Source for ZipSource {
    async fn read(&mut self, at: u64, want: usize) -> Result<Vec<u8>, String> {
        self.zip
            .read(self.app.artifacts(), at, want)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Copies `count` bytes of `source` from `start` into the body, 64 KiB at a time; stops
/// when the client goes away. A read that fails or comes back short (the file shrank)
/// ends the body with the error, so the client sees an incomplete download.
async fn pump(mut source: impl Source, start: u64, count: u64, tx: BodySender) {
    let mut at = start;
    let end = start + count;
    while at < end {
        let want = usize::try_from(end - at).map_or(CHUNK, |n| n.min(CHUNK));
        let error = match source.read(at, want).await {
            Ok(chunk) if chunk.len() == want => {
                at += want as u64;
                if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(_) => "the file shrank while it was sent".to_owned(),
            Err(e) => e,
        };
        tracing::warn!(error = %error, "a download ended early");
        let _ = tx.send(Err(std::io::Error::other(error))).await;
        return;
    }
}

/// `GET /api/builds/{id}/artifacts.zip`.
#[utoipa::path(
    get,
    path = "/api/builds/{id}/artifacts.zip",
    operation_id = "download_artifacts_zip",
    tag = "artifacts",
    params(("id" = String, Path, description = "Build id, short id (a unique end of the id) or owner/name#NUMBER")),
    responses((status = 200, description = "Every artifact in one zip (stored, not recompressed)", content_type = "application/zip"))
)]
pub(crate) async fn zip(
    State(app): State<App>,
    method: Method,
    headers: HeaderMap,
    BuildRef(build): BuildRef,
) -> Result<Response, ApiError> {
    let build = build.id;
    let zip = ArtifactZip::plan(app.services(), app.artifacts(), build).await?;
    for path in zip.left_out() {
        tracing::warn!(build_id = %build, artifact = %path, "artifact file missing: left out of the zip");
    }
    let len = zip.len();
    let etag = format!("\"zip-{build}-{len}\"");
    let range = plan_range(&headers, &etag, len)?;
    let download = Download {
        method: &method,
        range,
        len,
        content_type: "application/zip",
        disposition: content_disposition(zip.file_name()),
        etag: &etag,
    };
    Ok(download.respond(ZipSource {
        app: app.clone(),
        zip,
    }))
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
