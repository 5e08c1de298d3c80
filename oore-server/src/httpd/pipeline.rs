//! What happens to every request, in order:
//!
//! 1. a request id: the client's `X-Request-Id` if it is a valid ULID (so a caller can
//!    correlate its own logs), else a fresh ULID; it is echoed in the `X-Request-Id`
//!    response header, in every error body, and in every log line of the request
//!    (they all run inside one `request` span);
//! 2. a slot among [`MAX_IN_FLIGHT_REQUESTS`](crate::app::MAX_IN_FLIGHT_REQUESTS), and
//!    the [`REQUEST_TIMEOUT`] for the rest;
//! 3. CORS preflight (`OPTIONS`) for `OORE_DASHBOARD_ORIGIN`;
//! 4. routing: 404 / 405 with `Allow`;
//! 5. the admin token, unless the route is public;
//! 6. 413 when `Content-Length` is over the limit (`OORE_MAX_WEBHOOK_BYTES` for the
//!    webhook receivers, [`API_BODY_LIMIT`] for the rest), before anything reads the body;
//! 7. the handler; an error becomes the JSON envelope.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ALLOW,
    AUTHORIZATION, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use hyper::body::Body;
use oore_core::domain::secret::constant_time_eq;
use tracing::Instrument;
use ulid::Ulid;

use super::body::{API_BODY_LIMIT, check_declared_length};
use super::error::ApiError;
use super::handlers::{Ctx, dispatch};
use super::response::{Response, empty};
use super::routes::{RouteMatch, match_route, methods_for};
use crate::app::{App, REQUEST_TIMEOUT};

/// The request id header, in requests and responses.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Handles one request from `peer`; never fails (every error is a response).
pub async fn handle<B>(app: App, request: http::Request<B>, peer: Option<SocketAddr>) -> Response
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let request_id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Ulid::from_string(v.trim()).ok())
        .unwrap_or_else(|| app.services().ids.new_ulid())
        .to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        peer = peer.map(tracing::field::display),
    );
    async move {
        let started = Instant::now();
        let cors_origin = allowed_origin(&app, request.headers());
        let result = tokio::time::timeout(REQUEST_TIMEOUT, async {
            // The semaphore is never closed, so acquiring only waits.
            let _slot = app.in_flight().acquire().await;
            route(&app, request, peer).await
        })
        .await
        .unwrap_or_else(|_| Err(ApiError::timeout()));
        let mut response = result.unwrap_or_else(|e| e.into_response(&request_id));
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert(X_REQUEST_ID, value);
        }
        if let Some(origin) = cors_origin {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("x-request-id, location"),
            );
            headers.append(VARY, HeaderValue::from_static("origin"));
        }
        let status = response.status().as_u16();
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(status, elapsed_ms, "request finished");
        response
    }
    .instrument(span)
    .await
}

async fn route<B>(
    app: &App,
    request: http::Request<B>,
    peer: Option<SocketAddr>,
) -> Result<Response, ApiError>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if method == Method::OPTIONS {
        return options(app, &path, request.headers());
    }
    match match_route(&method, &path) {
        RouteMatch::NotFound => Err(ApiError::unknown_route(&method, &path)),
        RouteMatch::MethodNotAllowed(allowed) => {
            Err(ApiError::method_not_allowed(&method, &path, &allowed))
        }
        RouteMatch::Found(route, params) => {
            if !route.public && !authorized(app, request.headers()) {
                tracing::warn!("rejected: missing or invalid admin token");
                return Err(ApiError::unauthorized());
            }
            let limit = if route.endpoint.is_webhook_receiver() {
                app.webhooks().settings().max_body
            } else {
                API_BODY_LIMIT
            };
            check_declared_length(request.headers(), limit)?;
            dispatch(route.endpoint, Ctx { app, params, peer }, request).await
        }
    }
}

/// `Authorization: Bearer <admin token>`, compared in constant time.
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

/// The request's `Origin` if it is the configured dashboard origin.
fn allowed_origin(app: &App, headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get(ORIGIN)
        .filter(|o| o.as_bytes() == app.dashboard_origin().as_bytes())
        .cloned()
}

/// `OPTIONS`: a CORS preflight from the dashboard gets the allowed methods and headers;
/// any other gets `Allow`. Needs no token (browsers send none with a preflight).
fn options(app: &App, path: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let mut methods = methods_for(path);
    if methods.is_empty() {
        return Err(ApiError::unknown_route(&Method::OPTIONS, path));
    }
    methods.push(Method::OPTIONS);
    let list = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let list = HeaderValue::from_str(&list).unwrap_or_else(|_| HeaderValue::from_static("OPTIONS"));
    let mut response = empty(StatusCode::NO_CONTENT);
    let out = response.headers_mut();
    if allowed_origin(app, headers).is_some() && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    {
        out.insert(ACCESS_CONTROL_ALLOW_METHODS, list);
        out.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, x-request-id"),
        );
        out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    } else {
        out.insert(ALLOW, list);
    }
    Ok(response)
}
