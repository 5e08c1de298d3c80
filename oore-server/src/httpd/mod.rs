//! The HTTP server: axum routes (`routes.rs`) under tower and tower-http middleware
//! (`layers.rs`), served by hyper 1 over HTTP/1.1, one task per connection, with graceful
//! shutdown. [`serve`] accepts until its shutdown future completes, then stops
//! accepting, lets in-flight requests finish (idle keep-alive connections close at once)
//! for up to the grace period, and drops whatever is left.
//!
//! The accept loop is our own rather than `axum::serve` because hyper's
//! `header_read_timeout` (a client that has not sent its request head within
//! [`HEADER_READ_TIMEOUT`] is dropped, so slow clients cannot hold connections open)
//! is not reachable through `axum::serve`.

mod edge;
mod error;
mod extract;
mod handlers;
pub(crate) mod layers;
mod response;
mod routes;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt;

pub use extract::API_BODY_LIMIT;
pub use layers::X_REQUEST_ID;
pub use response::Response;
pub use routes::{Access, RouteInfo, openapi_document, route_table};

use crate::app::App;

/// A client that has not sent its request headers within this time is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a connection's read buffer grows to (hyper's default is about 400 KiB). A
/// body streams through it; 64 KiB reads are as fast on loopback, and a stranger's
/// connection (each one, however many) holds this much at most while its body is read
/// or dropped.
const MAX_READ_BUFFER: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` completes, then shuts down gracefully
/// within `grace` (see the module doc).
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let service = layers::apply(routes::router(&app), &app, route_table());
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_READ_BUFFER);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let app_service = service.clone();
                    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                        request.extensions_mut().insert(ConnectInfo(peer));
                        app_service.clone().oneshot(request.map(axum::body::Body::new))
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
