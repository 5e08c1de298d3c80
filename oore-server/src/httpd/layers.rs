//! What happens to every request, outermost first (see [`apply`]):
//!
//! 1. a request id (tower-http `SetRequestId`): the client's `X-Request-Id` if it is a
//!    valid ULID (so a caller can correlate its own logs, and nothing else can be
//!    injected into ours), else a fresh ULID; echoed in the `X-Request-Id` response
//!    header (`PropagateRequestId`), in every error body, and in every log line of the
//!    request (tower-http `Trace`: they all run inside one `request` span, which ends
//!    with one "request finished" line);
//! 2. [`Edge`](super::edge::Edge): `OPTIONS` answered from the route table (CORS
//!    preflight for `OORE_DASHBOARD_ORIGIN`, else `Allow`), and an [`ApiError`] answer (or
//!    axum's bare 405) given its JSON envelope with the request id;
//! 3. response compression (gzip, br) for JSON and text assets only ([`Compressible`]),
//!    entered only by requests that send `Accept-Encoding` ([`CompressWhenAsked`]);
//! 4. tower-http's `CorsLayer` adds the CORS headers to actual responses for
//!    `OORE_DASHBOARD_ORIGIN` (never credentials);
//! 5. a slot among [`MAX_IN_FLIGHT_REQUESTS`] and [`REQUEST_TIMEOUT`] until the
//!    response head (tower's `GlobalConcurrencyLimit` and `Timeout`; a streamed body is
//!    sent after both are released);
//! 6. routing (axum): 404 from the fallback, 405 with `Allow`;
//! 7. per route ([`super::routes`]): the admin token and then 413 when
//!    `Content-Length` is over the API limit ([`require_admin`]), before anything reads
//!    the body; the receivers check `OORE_MAX_WEBHOOK_BYTES` themselves, first thing;
//! 8. the handler; an error becomes the JSON envelope in step 2.
//!
//! The stack wraps the router once (not `Router::layer`, which wraps every route), as a
//! plain type (no boxed service), because every layer costs every request: the webhook
//! receivers answer thousands of deliveries a second. `benches/http_overhead.rs` measures
//! what the stack costs; `make bench` compares it with the baseline commit.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::IntoResponse;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use oore_core::domain::secret::constant_time_eq;
use oore_core::ports::IdGen;
use tower::Service;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::compression::{CompressionLayer, Predicate, predicate::SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Span;
use ulid::Ulid;

use super::edge::EdgeLayer;
use super::error::ApiError;
use super::extract::API_BODY_LIMIT;
use super::response::{Response, Uncompressed};
use super::routes::RouteInfo;
use crate::app::App;

/// The request id header, in requests and responses.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Requests handled at once; more wait for a slot.
pub(crate) const MAX_IN_FLIGHT_REQUESTS: usize = 256;

/// A request whose response head takes longer is answered 503 `timeout` and its work
/// dropped. Streamed bodies (logs, artifacts) are not limited by it.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Bodies smaller than this are not worth compressing.
const COMPRESS_ABOVE: u64 = 256;

/// Applies the whole stack of the module doc to `router`.
pub(crate) fn apply(
    router: Router<App>,
    app: &App,
    routes: Vec<RouteInfo>,
) -> impl Service<
    http::Request<Body>,
    Response = http::Response<
        impl http_body::Body<Data = axum::body::Bytes, Error = impl Into<tower::BoxError>>
        + Send
        + 'static,
    >,
    Error = std::convert::Infallible,
    Future = impl Send + 'static,
> + Clone
+ Send
+ 'static {
    let cors = (!app.dashboard_origin().is_empty())
        .then(|| HeaderValue::from_str(app.dashboard_origin()).ok())
        .flatten()
        .map(|origin| {
            CorsLayer::new()
                .allow_origin(AllowOrigin::exact(origin))
                .expose_headers([X_REQUEST_ID, http::header::LOCATION])
        });
    let edge = EdgeLayer {
        allowed: Arc::new(AllowedMethods::new(&routes)),
        origin: app.dashboard_origin().into(),
    };
    let ids = UlidRequestIds(Arc::clone(&app.services().ids));
    // Around the whole router once, outermost first (`Router::layer` would wrap every
    // route, and every layer costs each request a little: `benches/http_overhead.rs`).
    ServiceBuilder::new()
        .map_request(drop_invalid_request_id)
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, ids))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(finished)
                .on_body_chunk(())
                .on_eos(())
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(edge)
        .layer(CompressWhenAskedLayer)
        .option_layer(cors)
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            ApiError::timeout()
        }))
        .timeout(REQUEST_TIMEOUT)
        .layer(GlobalConcurrencyLimitLayer::new(MAX_IN_FLIGHT_REQUESTS))
        .map_response(IntoResponse::into_response)
        .service(router.fallback(not_found).with_state(app.clone()))
}

/// Request ids are ULIDs from the server's id generator.
#[derive(Clone)]
struct UlidRequestIds(Arc<dyn IdGen>);

impl MakeRequestId for UlidRequestIds {
    fn make_request_id<B>(&mut self, _: &http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&self.0.new_ulid().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// An incoming id that is not a ULID is dropped, so a fresh one is made.
fn drop_invalid_request_id(mut request: Request) -> Request {
    let valid = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Ulid::from_string(v.trim()).ok());
    match valid {
        Some(id) => {
            if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
                request.headers_mut().insert(X_REQUEST_ID, value);
            }
        }
        None => {
            request.headers_mut().remove(&X_REQUEST_ID);
        }
    }
    request
}

fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn request_span(request: &http::Request<Body>) -> Span {
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    tracing::info_span!(
        "request",
        request_id = %request_id(request.headers()),
        method = %request.method(),
        path = %request.uri().path(),
        peer = peer.map(tracing::field::display),
    )
}

fn finished(response: &http::Response<Body>, latency: Duration, _: &Span) {
    let elapsed_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    tracing::info!(
        status = response.status().as_u16(),
        elapsed_ms,
        "request finished"
    );
}

/// 404 for a path no route serves.
async fn not_found(method: Method, uri: http::Uri) -> ApiError {
    ApiError::unknown_route(&method, uri.path())
}

/// The admin routes' gate: `Authorization: Bearer <admin token>`, compared in constant
/// time (401 otherwise), then 413 when the declared `Content-Length` is over
/// [`API_BODY_LIMIT`], before anything reads the body (a body without one is cut while
/// it is read, by `DefaultBodyLimit`). The token comes first, so an unauthenticated
/// caller learns nothing about sizes or ids.
pub(crate) async fn require_admin(
    State(app): State<App>,
    request: Request,
    next: Next,
) -> Response {
    if !authorized(&app, request.headers()) {
        tracing::warn!("rejected: missing or invalid admin token");
        return ApiError::unauthorized().into_response();
    }
    if declared_over(request.headers(), API_BODY_LIMIT) {
        return ApiError::payload_too_large(API_BODY_LIMIT).into_response();
    }
    next.run(request).await
}

fn authorized(app: &App, headers: &HeaderMap) -> bool {
    let Some((scheme, token)) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
    else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && constant_time_eq(
            token.trim().as_bytes(),
            app.admin_token().expose().as_bytes(),
        )
}

/// Whether the declared `Content-Length` is over `limit`.
pub(crate) fn declared_over(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// Which methods each path pattern of the route table serves.
pub(crate) struct AllowedMethods(matchit::Router<Vec<Method>>);

impl AllowedMethods {
    fn new(routes: &[RouteInfo]) -> Self {
        let mut by_path: Vec<(&str, Vec<Method>)> = Vec::new();
        for route in routes {
            match by_path.iter_mut().find(|(p, _)| *p == route.path) {
                Some((_, methods)) => methods.push(route.method.clone()),
                None => by_path.push((&route.path, vec![route.method.clone()])),
            }
        }
        let mut router = matchit::Router::new();
        for (path, methods) in by_path {
            if let Err(e) = router.insert(path, methods) {
                tracing::error!(error = %e, path, "route pattern rejected");
            }
        }
        Self(router)
    }

    /// The methods of `path` (empty when no route has it), in table order.
    pub(crate) fn of(&self, path: &str) -> Vec<Method> {
        let path = if path.len() > 1 {
            path.strip_suffix('/').unwrap_or(path)
        } else {
            path
        };
        self.0.at(path).map(|m| m.value.clone()).unwrap_or_default()
    }
}

/// tower-http's compression, entered only by requests that carry `Accept-Encoding`: the
/// others (forges delivering webhooks, the CLI) skip its per-response work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompressWhenAskedLayer;

impl<S: Clone> tower::Layer<S> for CompressWhenAskedLayer {
    type Service = CompressWhenAsked<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CompressWhenAsked {
            compress: CompressionLayer::new()
                .compress_when(Compressible)
                .layer(inner.clone()),
            plain: inner,
        }
    }
}

/// See [`CompressWhenAskedLayer`].
#[derive(Clone)]
pub(crate) struct CompressWhenAsked<S> {
    compress: tower_http::compression::Compression<S, Compressible>,
    plain: S,
}

type Compressed<F> = futures_util::future::MapOk<
    F,
    fn(http::Response<tower_http::compression::CompressionBody<Body>>) -> Response,
>;

impl<S> Service<Request> for CompressWhenAsked<S>
where
    S: Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = futures_util::future::Either<
        Compressed<
            tower::util::Oneshot<tower_http::compression::Compression<S, Compressible>, Request>,
        >,
        tower::util::Oneshot<S, Request>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        // Each call drives the readiness of the service it picks (`oneshot`).
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        use futures_util::TryFutureExt as _;
        use tower::ServiceExt as _;
        if request
            .headers()
            .contains_key(http::header::ACCEPT_ENCODING)
        {
            let boxed: fn(
                http::Response<tower_http::compression::CompressionBody<Body>>,
            ) -> Response = IntoResponse::into_response;
            futures_util::future::Either::Left(self.compress.clone().oneshot(request).map_ok(boxed))
        } else {
            futures_util::future::Either::Right(self.plain.clone().oneshot(request))
        }
    }
}

/// Compress JSON and text assets of a useful size; never artifacts, zips, byte ranges
/// or event streams.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compressible;

impl Predicate for Compressible {
    fn should_compress<B>(&self, response: &http::Response<B>) -> bool
    where
        B: http_body::Body,
    {
        if response.status() == StatusCode::PARTIAL_CONTENT
            || response.headers().contains_key(CONTENT_RANGE)
            || response.extensions().get::<Uncompressed>().is_some()
        {
            return false;
        }
        let essence = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .trim();
        let text = [
            "application/json",
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "image/svg+xml",
        ]
        .iter()
        .any(|t| essence.eq_ignore_ascii_case(t));
        text && SizeAbove::new(COMPRESS_ABOVE).should_compress(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: Method, path: &str) -> RouteInfo {
        RouteInfo {
            operation_id: format!("{path} {}", method.as_str()),
            method,
            path: path.to_owned(),
            access: super::super::routes::Access::Admin,
        }
    }

    #[test]
    fn allowed_methods_follow_the_table() {
        let allowed = AllowedMethods::new(&[
            route(Method::GET, "/api/repositories/{id}"),
            route(Method::PUT, "/api/repositories/{id}"),
            route(Method::DELETE, "/api/repositories/{id}"),
            route(Method::POST, "/api/webhooks/github/{repository_id}"),
            route(Method::GET, "/api/webhooks/{id}"),
        ]);
        assert_eq!(
            allowed.of("/api/repositories/01ABC/"),
            [Method::GET, Method::PUT, Method::DELETE]
        );
        assert_eq!(allowed.of("/api/webhooks/github/R"), [Method::POST]);
        assert_eq!(allowed.of("/api/webhooks/R"), [Method::GET]);
        assert!(allowed.of("/api/repositories/x/y").is_empty());
        assert!(allowed.of("/").is_empty());
    }

    fn response(status: u16, content_type: &str, len: usize) -> http::Response<Body> {
        http::Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .body(Body::from(vec![b'x'; len]))
            .unwrap()
    }

    #[test]
    fn only_sizeable_text_is_compressed() {
        let p = Compressible;
        assert!(p.should_compress(&response(200, "application/json", 4096)));
        assert!(p.should_compress(&response(404, "application/json; charset=utf-8", 4096)));
        assert!(!p.should_compress(&response(200, "application/json", 10)));
        assert!(!p.should_compress(&response(200, "text/event-stream", 4096)));
        assert!(!p.should_compress(&response(200, "application/zip", 4096)));
        assert!(!p.should_compress(&response(206, "application/json", 4096)));
        let mut marked = response(200, "application/json", 4096);
        marked.extensions_mut().insert(Uncompressed);
        assert!(!p.should_compress(&marked));
    }
}
