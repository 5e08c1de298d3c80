//! Response bodies and the small builders every handler uses.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use http_body_util::Full;
use serde::Serialize;

/// Body of every response. (Streaming build logs will need a boxed body later.)
pub type ResponseBody = Full<Bytes>;

/// Every handler's response type.
pub type Response = http::Response<ResponseBody>;

/// `value` as JSON with `status`.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => with_body(status, Bytes::from(bytes), "application/json"),
        Err(e) => {
            tracing::error!(error = %e, "response could not be serialized");
            with_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                Bytes::from_static(b"{}"),
                "application/json",
            )
        }
    }
}

/// A response without body (204, preflight answers).
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = http::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_body(status: StatusCode, body: Bytes, content_type: &'static str) -> Response {
    let mut response = http::Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
