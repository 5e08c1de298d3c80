//! Reading request bodies: size limit (from `Content-Length` before reading, and while
//! reading for bodies without one, never buffering past the limit), content type, and
//! JSON decoding with serde's line/column messages.

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest body the API accepts (webhook receivers will have their own limit).
pub const API_BODY_LIMIT: usize = 1024 * 1024;

/// Declared `Content-Length`, if present and numeric.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// 413 when the declared length is already over `limit`.
pub(crate) fn check_declared_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    match declared_length(headers) {
        Some(n) if n > limit as u64 => Err(ApiError::payload_too_large(limit)),
        _ => Ok(()),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
}

/// Reads at most `limit` bytes of `body`.
pub(crate) async fn read_limited<B>(body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::payload_too_large(limit))
        }
        Err(e) => Err(ApiError::unreadable_body(e)),
    }
}

/// Decodes a JSON request body of at most [`API_BODY_LIMIT`] bytes.
pub(crate) async fn read_json<T, B>(request: http::Request<B>) -> Result<T, ApiError>
where
    T: DeserializeOwned,
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    check_declared_length(&parts.headers, API_BODY_LIMIT)?;
    if !is_json(&parts.headers) {
        return Err(ApiError::unsupported_media_type());
    }
    let bytes = read_limited(body, API_BODY_LIMIT).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_json(
            "the body is empty: send a JSON object",
        ));
    }
    serde_json::from_slice(&bytes).map_err(ApiError::invalid_json)
}

/// Like [`read_json`], but an absent or empty body (no `Content-Type` needed) is
/// `T::default()`: for requests whose fields are all optional.
pub(crate) async fn read_optional_json<T, B>(request: http::Request<B>) -> Result<T, ApiError>
where
    T: DeserializeOwned + Default,
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    check_declared_length(&parts.headers, API_BODY_LIMIT)?;
    let bytes = read_limited(body, API_BODY_LIMIT).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if !is_json(&parts.headers) {
        return Err(ApiError::unsupported_media_type());
    }
    serde_json::from_slice(&bytes).map_err(ApiError::invalid_json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use hyper::body::Frame;
    use oore_core::testing::block_on;

    fn request(content_type: Option<&str>, body: &'static str) -> http::Request<Full<Bytes>> {
        let mut builder = http::Request::post("/x");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    }

    fn status_of(result: Result<serde_json::Value, ApiError>) -> u16 {
        result.unwrap_err().status().as_u16()
    }

    #[test]
    fn accepts_json_content_types() {
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            let value: serde_json::Value =
                block_on(read_json(request(Some(ct), "{\"a\":1}"))).unwrap();
            assert_eq!(value["a"], 1, "{ct}");
        }
    }

    #[test]
    fn rejects_other_content_types_with_415() {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            assert_eq!(
                status_of(block_on(read_json(request(ct, "{}")))),
                415,
                "{ct:?}"
            );
        }
    }

    #[test]
    fn malformed_and_empty_json_is_400() {
        let err = block_on(read_json::<serde_json::Value, _>(request(
            Some("application/json"),
            "{\"a\":\n  oops}",
        )))
        .unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        let rendered = format!("{err:?}");
        assert!(rendered.contains("line 2 column 3"), "{rendered}");
        assert_eq!(
            status_of(block_on(read_json(request(Some("application/json"), "  ")))),
            400
        );
    }

    #[test]
    fn declared_oversize_is_refused_before_reading() {
        let mut req = request(Some("application/json"), "{}");
        req.headers_mut().insert(
            CONTENT_LENGTH,
            (API_BODY_LIMIT + 1).to_string().parse().unwrap(),
        );
        assert_eq!(status_of(block_on(read_json(req))), 413);
    }

    /// A body of `n` 64 KiB chunks with no size hint, like a chunked upload.
    struct Chunks(usize);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.0 == 0 {
                return std::task::Poll::Ready(None);
            }
            self.0 -= 1;
            std::task::Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; 64 * 1024])))))
        }
    }

    #[test]
    fn streamed_oversize_is_refused_while_reading() {
        let req = |chunks| {
            http::Request::post("/x")
                .header(CONTENT_TYPE, "application/json")
                .body(Chunks(chunks))
                .unwrap()
        };
        assert_eq!(
            block_on(read_json::<serde_json::Value, _>(req(API_BODY_LIMIT
                / (64 * 1024)
                + 1)))
            .unwrap_err()
            .status()
            .as_u16(),
            413
        );
        // Exactly at the limit is read (and then fails as JSON, not as size).
        assert_eq!(
            block_on(read_json::<serde_json::Value, _>(req(
                API_BODY_LIMIT / (64 * 1024)
            )))
            .unwrap_err()
            .status()
            .as_u16(),
            400
        );
    }
}
