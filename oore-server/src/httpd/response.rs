//! Response bodies and the small builders every handler uses.
//!
//! A body is either complete bytes (JSON answers) or a stream fed through a bounded
//! channel ([`channel_body`]): build logs as server-sent events, artifact files, the
//! artifacts zip. A streamed body never holds a request slot: the handler returns as soon
//! as the headers are known and a task feeds the channel; a client that goes away closes
//! the channel, which stops the task.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, SizeHint};
use serde::Serialize;
use tokio::sync::mpsc;

/// Body of every response: complete bytes or a stream (see the module doc).
pub type ResponseBody = BoxBody<Bytes, std::io::Error>;

/// Every handler's response type.
pub type Response = http::Response<ResponseBody>;

/// A complete body.
pub(crate) fn full(bytes: Bytes) -> ResponseBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// The sending side of a streamed body. Each `send` waits while the client is slower
/// than the producer (the channel is bounded), and fails once the client is gone.
pub(crate) type BodySender = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// A body fed by the returned sender, `capacity` chunks deep; `exact_len` is announced
/// as `Content-Length` when known.
pub(crate) fn channel_body(capacity: usize, exact_len: Option<u64>) -> (BodySender, ResponseBody) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        tx,
        ChannelBody {
            rx,
            remaining: exact_len,
        }
        .boxed(),
    )
}

struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    remaining: Option<u64>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                if let Some(left) = self.remaining.as_mut() {
                    *left = left.saturating_sub(bytes.len() as u64);
                }
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == Some(0)
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

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
    let mut response = http::Response::new(full(Bytes::new()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_body(status: StatusCode, body: Bytes, content_type: &'static str) -> Response {
    let mut response = http::Response::new(full(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
