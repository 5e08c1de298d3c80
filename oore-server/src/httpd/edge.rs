//! [`Edge`]: the two things every request needs from the route table and the error type,
//! as one plain tower service (no boxed future, since it runs on every request):
//!
//! - `OPTIONS` is answered here from the route table: a CORS preflight from
//!   `OORE_DASHBOARD_ORIGIN` gets the path's methods and the allowed headers, any other
//!   `OPTIONS` gets `Allow`; an unknown path is a 404. It needs no token (browsers send
//!   none with a preflight). tower-http's `CorsLayer` would answer every preflight alike,
//!   also for paths that do not exist, so it only adds the CORS headers of actual
//!   responses (inside this service).
//! - An [`ApiError`] answer (the error is in the response's extensions, see `error.rs`)
//!   gets its JSON envelope with the request id, and axum's bare 405 becomes one with
//!   `Allow` from the route table.
//!
//! It sits inside `SetRequestId`/`PropagateRequestId`, so the request id is in the
//! request's headers here and on every answer it makes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::IntoResponse;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ALLOW, CONTENT_LENGTH, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::error::ApiError;
use super::layers::{AllowedMethods, X_REQUEST_ID};
use super::response::{Response, empty};

/// Builds [`Edge`] services.
#[derive(Clone)]
pub(crate) struct EdgeLayer {
    /// The route table's methods by path.
    pub(crate) allowed: Arc<AllowedMethods>,
    /// `OORE_DASHBOARD_ORIGIN` (empty: no CORS).
    pub(crate) origin: Arc<str>,
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            inner,
            layer: self.clone(),
        }
    }
}

/// See the module doc.
#[derive(Clone)]
pub(crate) struct Edge<S> {
    inner: S,
    layer: EdgeLayer,
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.method() == Method::OPTIONS {
            return EdgeFuture::Answered {
                answer: Some(self.options(&request)),
            };
        }
        let context = ErrorContext {
            id: request.headers().get(&X_REQUEST_ID).cloned(),
            allowed: Arc::clone(&self.layer.allowed),
            method: request.method().clone(),
            uri: request.uri().clone(),
        };
        EdgeFuture::Inner {
            future: self.inner.call(request),
            context: Some(context),
        }
    }
}

/// What rendering an error needs from the request.
pub(crate) struct ErrorContext {
    id: Option<HeaderValue>,
    allowed: Arc<AllowedMethods>,
    method: Method,
    uri: Uri,
}

pin_project! {
    /// The future of [`Edge`]: an `OPTIONS` answer, or the inner service's answer with
    /// its error rendered.
    #[project = EdgeProjection]
    pub(crate) enum EdgeFuture<F> {
        Answered { answer: Option<Response> },
        Inner {
            #[pin]
            future: F,
            context: Option<ErrorContext>,
        },
    }
}

impl<F, E> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            EdgeProjection::Answered { answer } => {
                Poll::Ready(Ok(answer.take().unwrap_or_else(|| empty(StatusCode::OK))))
            }
            EdgeProjection::Inner { future, context } => {
                let response = match future.poll(cx) {
                    Poll::Ready(Ok(response)) => response,
                    other => return other,
                };
                Poll::Ready(Ok(match context.take() {
                    Some(context) => render(response, context),
                    None => response,
                }))
            }
        }
    }
}

/// Writes the envelope of an [`ApiError`] answer, and turns axum's bare 405 into one.
fn render(mut response: Response, context: ErrorContext) -> Response {
    let error = match response.extensions_mut().remove::<ApiError>() {
        Some(error) => error,
        None if response.status() == StatusCode::METHOD_NOT_ALLOWED => {
            let path = context.uri.path();
            ApiError::method_not_allowed(&context.method, path, &context.allowed.of(path))
        }
        None => return response,
    };
    let id = context
        .id
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut rendered = error.render(id);
    // Headers set on the way out (CORS) stay.
    for (name, value) in response.headers() {
        if !rendered.headers().contains_key(name) && name != CONTENT_LENGTH && name != ALLOW {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
}

impl<S> Edge<S> {
    /// The answer to an `OPTIONS` request (module doc).
    fn options(&self, request: &Request) -> Response {
        let path = request.uri().path();
        let mut methods = self.layer.allowed.of(path);
        if methods.is_empty() {
            let id = request
                .headers()
                .get(&X_REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            return ApiError::unknown_route(&Method::OPTIONS, path).render(id);
        }
        methods.push(Method::OPTIONS);
        let list = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let list =
            HeaderValue::from_str(&list).unwrap_or_else(|_| HeaderValue::from_static("OPTIONS"));
        let headers = request.headers();
        let mut response = empty(StatusCode::NO_CONTENT);
        let out = response.headers_mut();
        match self.preflight_origin(headers) {
            Some(origin) => {
                out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                out.insert(ACCESS_CONTROL_ALLOW_METHODS, list);
                out.insert(
                    ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("authorization, content-type, x-request-id"),
                );
                out.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
                out.append(VARY, HeaderValue::from_static("origin"));
            }
            None => {
                out.insert(ALLOW, list);
            }
        }
        response.into_response()
    }

    /// The request's `Origin` when it is a CORS preflight from the dashboard origin.
    fn preflight_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        if self.layer.origin.is_empty() || !headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
            return None;
        }
        headers
            .get(ORIGIN)
            .filter(|o| o.as_bytes() == self.layer.origin.as_bytes())
            .cloned()
    }
}
