//! What happens to every request, outermost first (see [`apply`]):
//!
//! 1. a request id (tower-http `SetRequestId`): the client's `X-Request-Id` if it is a
//!    valid ULID (so a caller can correlate its own logs, and nothing else can be
//!    injected into ours), else a fresh ULID; echoed in the `X-Request-Id` response
//!    header (`PropagateRequestId`), in every error body, and in every log line of the
//!    request (tower-http `Trace`: they all run inside one `request` span, which ends
//!    with one "request finished" line);
//! 2. [`render_errors`]: an [`ApiError`] answer (or axum's bare 405) gets its JSON
//!    envelope with the request id;
//! 3. response compression (gzip, br) for JSON and text assets only ([`Compressible`]);
//! 4. [`options`]: `OPTIONS` answered from the route table (CORS preflight for
//!    `OORE_DASHBOARD_ORIGIN`, else `Allow`); tower-http's `CorsLayer` then adds the CORS
//!    headers to actual responses (it never allows credentials);
//! 5. a slot among [`MAX_IN_FLIGHT_REQUESTS`] and [`REQUEST_TIMEOUT`] until the
//!    response head (tower's `GlobalConcurrencyLimit` and `Timeout`; a streamed body is
//!    sent after both are released);
//! 6. routing (axum): 404 from the fallback, 405 with `Allow`;
//! 7. per route ([`super::routes`]): the admin token ([`require_admin`]) unless the
//!    route is public, then 413 when `Content-Length` is over the route's limit
//!    ([`BodyLimit`]), before anything reads the body;
//! 8. the handler; an error becomes the JSON envelope in step 2.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{Next, from_fn_with_state, map_request};
use axum::response::IntoResponse;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ALLOW, AUTHORIZATION, CONTENT_LENGTH,
    CONTENT_RANGE, CONTENT_TYPE, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use oore_core::domain::secret::constant_time_eq;
use oore_core::ports::IdGen;
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

use super::error::ApiError;
use super::response::{Response, Uncompressed, empty};
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
pub(crate) fn apply(router: Router<App>, app: &App, routes: Vec<RouteInfo>) -> Router<App> {
    let allowed = Arc::new(AllowedMethods::new(&routes));
    let cors = (!app.dashboard_origin().is_empty())
        .then(|| HeaderValue::from_str(app.dashboard_origin()).ok())
        .flatten()
        .map(|origin| {
            CorsLayer::new()
                .allow_origin(AllowOrigin::exact(origin))
                .expose_headers([X_REQUEST_ID, http::header::LOCATION])
        });
    let timeout = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            ApiError::timeout()
        }))
        .timeout(REQUEST_TIMEOUT)
        .layer(GlobalConcurrencyLimitLayer::new(MAX_IN_FLIGHT_REQUESTS));
    let preflight = Preflight {
        allowed: Arc::clone(&allowed),
        origin: app.dashboard_origin().to_owned(),
    };
    let ids = UlidRequestIds(Arc::clone(&app.services().ids));
    router
        .fallback(not_found)
        .layer(timeout)
        .layer(tower::util::option_layer(cors))
        .layer(from_fn_with_state(preflight, options))
        .layer(CompressionLayer::new().compress_when(Compressible))
        .layer(from_fn_with_state(allowed, render_errors))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(finished)
                .on_body_chunk(())
                .on_eos(())
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, ids))
        .layer(map_request(drop_invalid_request_id))
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
async fn drop_invalid_request_id(mut request: Request) -> Request {
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

/// Writes the envelope of an [`ApiError`] answer, and turns axum's bare 405 into one.
async fn render_errors(
    State(allowed): State<Arc<AllowedMethods>>,
    request: Request,
    next: Next,
) -> Response {
    let id = request_id(request.headers()).to_owned();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let mut response = next.run(request).await;
    let error = match response.extensions_mut().remove::<ApiError>() {
        Some(error) => error,
        None if response.status() == StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::method_not_allowed(&method, &path, &allowed.of(&path))
        }
        None => return response,
    };
    let mut rendered = error.render(&id);
    // Headers set on the way out (CORS) stay.
    for (name, value) in response.headers() {
        if !rendered.headers().contains_key(name) && name != CONTENT_LENGTH && name != ALLOW {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
}

/// `Authorization: Bearer <admin token>`, compared in constant time; 401 otherwise.
pub(crate) async fn require_admin(
    State(app): State<App>,
    request: Request,
    next: Next,
) -> Response {
    if authorized(&app, request.headers()) {
        next.run(request).await
    } else {
        tracing::warn!("rejected: missing or invalid admin token");
        ApiError::unauthorized().into_response()
    }
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

/// A route's body limit: 413 when the declared `Content-Length` is over it, before
/// anything reads the body (bodies without one are cut while reading).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub(crate) usize);

impl BodyLimit {
    pub(crate) async fn check(State(limit): State<Self>, request: Request, next: Next) -> Response {
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match declared {
            Some(n) if n > limit.0 as u64 => ApiError::payload_too_large(limit.0).into_response(),
            _ => next.run(request).await,
        }
    }
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

/// State of [`options`].
#[derive(Clone)]
struct Preflight {
    allowed: Arc<AllowedMethods>,
    origin: String,
}

/// `OPTIONS`: a CORS preflight from the dashboard origin gets the path's methods and
/// the allowed headers; any other gets `Allow`. Needs no token (browsers send none with
/// a preflight). Answered here rather than by `CorsLayer`, which would answer every
/// preflight alike, also for paths that do not exist.
async fn options(State(pre): State<Preflight>, request: Request, next: Next) -> Response {
    if request.method() != Method::OPTIONS {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let mut methods = pre.allowed.of(path);
    if methods.is_empty() {
        return ApiError::unknown_route(&Method::OPTIONS, path).into_response();
    }
    methods.push(Method::OPTIONS);
    let list = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let list = HeaderValue::from_str(&list).unwrap_or_else(|_| HeaderValue::from_static("OPTIONS"));
    let headers = request.headers();
    let origin = headers
        .get(ORIGIN)
        .filter(|o| !pre.origin.is_empty() && o.as_bytes() == pre.origin.as_bytes())
        .cloned();
    let mut response = empty(StatusCode::NO_CONTENT);
    let out = response.headers_mut();
    match origin {
        Some(origin) if headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) => {
            out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            out.insert(ACCESS_CONTROL_ALLOW_METHODS, list);
            out.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type, x-request-id"),
            );
            out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            out.append(VARY, HeaderValue::from_static("origin"));
        }
        _ => {
            out.insert(ALLOW, list);
        }
    }
    response
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
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let text = matches!(
            essence.as_str(),
            "application/json"
                | "text/html"
                | "text/css"
                | "text/javascript"
                | "application/javascript"
                | "image/svg+xml"
        );
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
