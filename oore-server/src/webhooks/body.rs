//! Webhook bodies within `OORE_WEBHOOK_INFLIGHT_BYTES`: the bytes of all the bodies
//! being read (and then verified and stored) at once are capped, so concurrent large
//! requests cannot take the server's memory. [`InflightBudget::read`] reserves a body's
//! bytes before it holds them, all at once for a declared `Content-Length`, as the
//! buffer grows otherwise; when the budget is spent the receiver answers 503 with
//! `Retry-After` and stores nothing. The reservation lasts as long as the returned
//! [`Reservation`], which the receiver keeps until it has answered.
//!
//! A body is read into one buffer of the reserved size (no second copy on the way), so
//! what is reserved is what is held.
//!
//! [`drain_later`]: a request answered without reading its body (refused before any
//! check could use it) has the rest of its body read and dropped in the background,
//! bounded in bytes and time, so the client receives the answer instead of a reset
//! connection, and keep-alive goes on.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Longer than the limit (`OORE_MAX_WEBHOOK_BYTES`).
    TooLarge,
    /// The in-flight budget is spent.
    Busy,
    /// The connection failed while reading.
    Unreadable(String),
}

/// Bytes of a body, held against the budget until dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    _permit: Option<OwnedSemaphorePermit>,
}

/// The shared budget of webhook body bytes.
#[derive(Debug, Clone)]
pub(crate) struct InflightBudget {
    bytes: Arc<Semaphore>,
    drains: Arc<Semaphore>,
}

/// Bodies drained at once, at most; beyond that the connection is closed instead.
const MAX_DRAINS: usize = 256;
/// How long a drain may take.
const DRAIN_FOR: Duration = Duration::from_secs(10);

impl InflightBudget {
    /// A budget of `bytes` (at most the largest a semaphore holds).
    pub(crate) fn new(bytes: u64) -> Self {
        let bytes = usize::try_from(bytes)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(bytes)),
            drains: Arc::new(Semaphore::new(MAX_DRAINS)),
        }
    }

    /// Bytes not reserved now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    fn reserve(&self, n: usize, into: &mut Option<OwnedSemaphorePermit>) -> Result<(), BodyError> {
        if n == 0 {
            return Ok(());
        }
        let n = u32::try_from(n).map_err(|_| BodyError::TooLarge)?;
        let permit = Arc::clone(&self.bytes)
            .try_acquire_many_owned(n)
            .map_err(|_| BodyError::Busy)?;
        match into {
            Some(held) => held.merge(permit),
            None => *into = Some(permit),
        }
        Ok(())
    }

    /// Reads `body`, at most `limit` bytes, reserving what it holds: `declared` (the
    /// `Content-Length`, at most `limit`) at once, else as the buffer grows. On an error
    /// nothing stays reserved, and what is left of `body` is the caller's to drain.
    pub(crate) async fn read(
        &self,
        body: &mut Body,
        declared: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<u8>, Reservation), BodyError> {
        let mut permit = None;
        let mut buffer = Vec::new();
        if let Some(n) = declared {
            let n = usize::try_from(n).map_err(|_| BodyError::TooLarge)?;
            if n > limit {
                return Err(BodyError::TooLarge);
            }
            self.reserve(n, &mut permit)?;
            buffer.reserve_exact(n);
        }
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Unreadable(e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let needed = buffer.len() + data.len();
            if needed > limit {
                return Err(BodyError::TooLarge);
            }
            if needed > buffer.capacity() {
                // Grow by doubling, within the limit, reserving the growth first.
                let capacity = needed.max(buffer.capacity() * 2).max(8 * 1024).min(limit);
                self.reserve(capacity - buffer.capacity(), &mut permit)?;
                buffer.reserve_exact(capacity - buffer.len());
            }
            buffer.extend_from_slice(&data);
        }
        Ok((buffer, Reservation { _permit: permit }))
    }

    /// Reads and drops the rest of `body` in the background, at most `limit` bytes for
    /// at most [`DRAIN_FOR`]; nothing when too many drains run already (the connection
    /// then closes).
    pub(crate) fn drain_later(&self, mut body: Body, limit: usize) {
        let Ok(slot) = Arc::clone(&self.drains).try_acquire_owned() else {
            return;
        };
        tokio::spawn(async move {
            let _slot = slot;
            let drain = async {
                let mut read = 0usize;
                while let Some(Ok(frame)) = body.frame().await {
                    if let Ok(data) = frame.into_data() {
                        read += data.len();
                        if read > limit {
                            break;
                        }
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_FOR, drain).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures_util::stream;
    use http_body_util::StreamBody;
    use hyper::body::Frame;

    use super::*;

    fn chunked(chunks: &[&'static [u8]]) -> Body {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = chunks
            .iter()
            .map(|c| Ok(Frame::data(Bytes::from_static(c))))
            .collect();
        Body::new(StreamBody::new(stream::iter(frames)))
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn a_declared_body_reserves_its_length_until_dropped() {
        let budget = InflightBudget::new(10);
        let rt = runtime();
        let (bytes, held) = rt
            .block_on(budget.read(&mut Body::from("abcdef"), Some(6), 100))
            .unwrap();
        assert_eq!(bytes, b"abcdef");
        assert_eq!(budget.available(), 4);
        let busy = rt.block_on(budget.read(&mut Body::from("abcdef"), Some(6), 100));
        assert!(matches!(busy, Err(BodyError::Busy)), "{busy:?}");
        drop(held);
        assert_eq!(budget.available(), 10, "released");
        let over = rt.block_on(budget.read(&mut Body::from("abc"), Some(300), 100));
        assert!(matches!(over, Err(BodyError::TooLarge)));
        assert_eq!(budget.available(), 10, "nothing kept on a refusal");
    }

    #[test]
    fn an_undeclared_body_reserves_as_it_grows_and_stops_at_the_limit() {
        let budget = InflightBudget::new(64 * 1024);
        let rt = runtime();
        let (bytes, held) = rt
            .block_on(budget.read(&mut chunked(&[b"ab", b"cd", b"ef"]), None, 100))
            .unwrap();
        assert_eq!(bytes, b"abcdef");
        assert!(budget.available() <= 64 * 1024 - 6);
        drop(held);
        let long = rt.block_on(budget.read(&mut chunked(&[&[b'x'; 60], &[b'y'; 60]]), None, 100));
        assert!(matches!(long, Err(BodyError::TooLarge)));
        let small = InflightBudget::new(10 * 1024);
        let chunk: &'static [u8] = &[b'z'; 6 * 1024];
        let busy = rt.block_on(small.read(&mut chunked(&[chunk, chunk]), None, 64 * 1024));
        assert!(matches!(busy, Err(BodyError::Busy)), "{busy:?}");
        assert_eq!(small.available(), 10 * 1024);
    }
}
