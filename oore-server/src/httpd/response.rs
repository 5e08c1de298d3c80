//! Response bodies and the small builders every handler uses.
//!
//! A body is either complete bytes (JSON answers) or a stream fed through a bounded
//! channel ([`channel_body`]): artifact files and the artifacts zip (server-sent log
//! events go through `axum::response::Sse`, fed the same way). A streamed body never
//! holds a request slot: the handler returns as soon as the headers are known and a task
//! feeds the channel; a client that goes away closes the channel, which stops the task.

use axum::body::{Body, Bytes};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use tokio::sync::mpsc;

/// Every handler's response type.
pub type Response = axum::response::Response;

/// The sending side of a streamed body. Each `send` waits while the client is slower
/// than the producer (the channel is bounded), and fails once the client is gone.
pub(crate) type BodySender = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// A body fed by the returned sender, `capacity` chunks deep. Set `Content-Length`
/// on the response when the length is known.
pub(crate) fn channel_body(capacity: usize) -> (BodySender, Body) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (tx, Body::from_stream(stream))
}

/// The body of a `HEAD` answer to a streamed `GET` whose length is not known (a zip,
/// an event stream): empty, but without the exact size that would make axum announce
/// `Content-Length: 0`.
pub(crate) fn unknown_length_head() -> Body {
    Body::from_stream(futures_util::stream::empty::<Result<Bytes, std::io::Error>>())
}

/// Marks a response that the compression layer must leave alone: artifact files and
/// zips (already compressed, and byte ranges must stay byte ranges).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Uncompressed;

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
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_body(status: StatusCode, body: Bytes, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
