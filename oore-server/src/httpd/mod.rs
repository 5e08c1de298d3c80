//! The HTTP server: hyper 1 over HTTP/1.1, one task per connection, graceful shutdown.
//! [`serve`] accepts until its shutdown future completes, then stops accepting, lets
//! in-flight requests finish (idle keep-alive connections close at once) for up to the
//! grace period, and drops whatever is left.

mod body;
mod error;
mod handlers;
mod pipeline;
mod query;
mod response;
mod routes;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use body::API_BODY_LIMIT;
pub use pipeline::{X_REQUEST_ID, handle};
pub use response::{Response, ResponseBody};
pub use routes::{Endpoint, ROUTES, Route};

use crate::app::App;

/// A client that has not sent its request headers within this time is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` completes, then shuts down gracefully
/// within `grace` (see the module doc).
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let app = app.clone();
                    let service = service_fn(move |request| {
                        let app = app.clone();
                        async move { Ok::<_, Infallible>(handle(app, request, Some(peer)).await) }
                    });
                    let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                    connections.spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!(error = %e, %peer, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    drop(listener);
    tracing::info!(
        open_connections = connections.len(),
        grace_secs = grace.as_secs(),
        "shutting down: no new connections, waiting for in-flight requests"
    );
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open_connections = connections.len(),
            "grace period over: closing the remaining connections"
        );
    }
    connections.shutdown().await;
    tracing::info!("http server stopped");
}

/// The address a listener is bound to, as a URL.
pub(crate) fn local_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}
