//! The one place where failures become HTTP: [`ApiError::from_use_case`] maps a use
//! case's [`ErrorClass`] to a status and error code, extractor rejections map to today's
//! codes (see `extract.rs`), and [`ApiError::render`] writes the JSON [`ErrorEnvelope`].
//!
//! `ApiError` implements [`IntoResponse`]: the response carries the status and headers at
//! once and the error itself as an extension; the `Edge` service (`edge.rs`, which knows
//! the request id) then writes the envelope. Internal and unavailable errors keep their
//! real cause in the server log (inside the request's span, so with its request id) and
//! show the client a generic message that carries the request id.

use axum::response::IntoResponse;
use http::header::{ALLOW, CONTENT_RANGE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, StatusCode};
use oore_core::api::{ErrorBody, ErrorCode, ErrorEnvelope, FieldErrorDto};
use oore_core::domain::validation::FieldErrors;
use oore_core::error::{ErrorClass, UseCaseError};

use super::response::{Response, json};

/// The message of a 400 that lists invalid request fields.
const INVALID_FIELDS: &str = "the request has invalid fields: fix the ones listed and retry";

/// A failed request, ready to render.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    /// `None` for internal errors, whose message is built from the request id.
    message: Option<String>,
    fields: Option<Vec<FieldErrorDto>>,
    headers: Vec<(http::HeaderName, HeaderValue)>,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: Some(message.into()),
            fields: None,
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: http::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The status this error is answered with.
    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// Maps a use-case failure by its class (see the module doc).
    pub(crate) fn from_use_case<E: UseCaseError + ?Sized>(e: &E) -> Self {
        match e.class() {
            ErrorClass::Invalid => Self::invalid(e),
            ErrorClass::NotFound => {
                Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, e.to_string())
            }
            ErrorClass::Conflict => {
                Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, e.to_string())
            }
            ErrorClass::Unavailable => {
                tracing::warn!(error = %e, "dependency unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    "the server cannot reach its database right now; retry in a few seconds, and check `oore health` if it persists",
                )
                .with_header(RETRY_AFTER, HeaderValue::from_static("5"))
            }
            ErrorClass::Internal => Self::internal(e),
        }
    }

    /// 400 `validation_failed` for an invalid use-case error. `fields` lists every
    /// [`UseCaseError::details`] entry: per-field errors of a request, or the located
    /// errors of a pipeline document (key path, and `line L, column C: ...`). The message
    /// is the generic one for field errors, else the error's first line (its summary; the
    /// rest of a multi-line report is what `fields` already lists).
    fn invalid<E: UseCaseError + ?Sized>(e: &E) -> Self {
        let text = e.to_string();
        let summary = if e.field_errors().is_some() {
            INVALID_FIELDS
        } else {
            text.lines().next().unwrap_or_default().trim_end()
        };
        let details: Vec<FieldErrorDto> = e
            .details()
            .into_iter()
            .map(|d| FieldErrorDto {
                field: d.field,
                message: d.message,
            })
            .collect();
        Self {
            fields: (!details.is_empty()).then_some(details),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::ValidationFailed,
                summary,
            )
        }
    }

    /// 500 with a generic message; the cause goes to the log only.
    pub(crate) fn internal(cause: &(impl std::fmt::Display + ?Sized)) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self {
            message: None,
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalError,
                "",
            )
        }
    }

    /// 400 with one entry per invalid field.
    pub(crate) fn validation(fields: &FieldErrors) -> Self {
        let fields = fields
            .as_slice()
            .iter()
            .map(|f| FieldErrorDto {
                field: f.field.to_owned(),
                message: f.message.clone(),
            })
            .collect();
        Self {
            fields: Some(fields),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::ValidationFailed,
                INVALID_FIELDS,
            )
        }
    }

    /// 401, the same whether the token was missing, malformed or wrong.
    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "missing or invalid admin token",
        )
        .with_header(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"oore\""),
        )
    }

    /// 404 for a path no route serves.
    pub(crate) fn unknown_route(method: &Method, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!(
                "no endpoint {method} {path}: check the URL, and that `oore version` matches the server's"
            ),
        )
    }

    /// 405 with `Allow`.
    pub(crate) fn method_not_allowed(method: &Method, path: &str, allowed: &[Method]) -> Self {
        let list = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let header = HeaderValue::from_str(&list).unwrap_or_else(|_| HeaderValue::from_static(""));
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed on {path}: use {list}"),
        )
        .with_header(ALLOW, header)
    }

    /// 400 for a path id that is not a ULID.
    pub(crate) fn invalid_id(e: &oore_core::ids::InvalidId) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidId, e.to_string())
    }

    /// 400 `invalid_id` for a path reference that names nothing (not an id, a short id
    /// or `owner/name`); the message says what is accepted.
    pub(crate) fn invalid_reference(e: &dyn std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidId, e.to_string())
    }

    /// 400 for path parameters that could not be read at all.
    pub(crate) fn invalid_id_text(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidId,
            format!("the URL's ids could not be read: {detail}"),
        )
    }

    /// 400 for a query string that is not `name=value` pairs.
    pub(crate) fn invalid_query(detail: &impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ValidationFailed,
            format!(
                "the query string could not be read ({detail}): send name=value pairs joined by &"
            ),
        )
    }

    /// 400 for a body that is not the expected JSON.
    pub(crate) fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
            format!("invalid JSON body: {detail}"),
        )
    }

    /// 400 for a body that could not be read at all.
    pub(crate) fn unreadable_body(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBody,
            format!("could not read the request body: {detail}; send it again"),
        )
    }

    /// 413.
    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!(
                "request body is larger than {} KiB: send a smaller body",
                limit / 1024
            ),
        )
    }

    /// 415.
    pub(crate) fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with the header Content-Type: application/json",
        )
    }

    /// 409 for a repository whose provider has no webhooks.
    pub(crate) fn no_webhooks(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, detail)
    }

    /// 404 for a record whose file is gone from disk.
    pub(crate) fn gone_file(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::FileMissing, message)
    }

    /// 416 for a `Range` that starts past the end of a `len`-byte file.
    pub(crate) fn range_not_satisfiable(len: u64) -> Self {
        let header = HeaderValue::from_str(&format!("bytes */{len}"))
            .unwrap_or_else(|_| HeaderValue::from_static("bytes */0"));
        Self::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::RangeNotSatisfiable,
            format!(
                "the requested range starts past the end of the file ({len} bytes): resume from an offset below {len}, or download it whole"
            ),
        )
        .with_header(CONTENT_RANGE, header)
    }

    /// 503 when the request did not finish in time.
    pub(crate) fn timeout() -> Self {
        tracing::warn!("request timed out");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout,
            "the server took too long to answer; retry in a few seconds",
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static("5"))
    }

    /// 429 for a source address over `OORE_WEBHOOK_RATE_LIMIT`, with `Retry-After`.
    pub(crate) fn rate_limited(retry_after: std::time::Duration) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        let secs = secs.max(1);
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("too many webhook requests from this address: retry in {secs} s"),
        )
        .with_header(RETRY_AFTER, HeaderValue::from(secs))
    }

    /// A webhook delivery that was refused and recorded: 401 `unauthorized`, or 400
    /// `invalid_webhook` for a verified delivery with a bad header. `message` is the
    /// rejection's public message, which says nothing about secrets or ids.
    pub(crate) fn webhook_refused(unauthorized: bool, message: String) -> Self {
        if unauthorized {
            Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
        } else {
            Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidWebhook, message)
        }
    }

    /// 503 `queue_full` for a delivery that WAS stored while more than `capacity` events
    /// wait: processing is late, nothing is lost, and a redelivery is a duplicate.
    pub(crate) fn queue_full(event_id: &str, backlog: u64, capacity: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::QueueFull,
            format!(
                "stored as webhook event {event_id}, but {backlog} events wait for processing (capacity {capacity}): it will be processed late; a redelivery is answered as a duplicate"
            ),
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static("60"))
    }

    /// 503 `unavailable` for a delivery not read because `OORE_WEBHOOK_INFLIGHT_BYTES`
    /// of webhook bodies are being read already; nothing was stored.
    pub(crate) fn webhook_busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "too many webhook bodies are being read at once: nothing was stored; redeliver it from the forge in a few seconds (or raise OORE_WEBHOOK_INFLIGHT_BYTES)",
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static("5"))
    }

    /// 503 for a delivery the database could not store; the cause goes to the log.
    pub(crate) fn not_stored(cause: &(impl std::fmt::Display + ?Sized)) -> Self {
        tracing::warn!(error = %cause, "webhook delivery not stored");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "the delivery was not stored: the server cannot write to its database right now; redeliver it from the forge in a few seconds",
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static("5"))
    }

    /// 503 `unavailable` when a forge (GitHub) could not be reached or failed; the
    /// message names the forge and what to do, as the use case wrote it.
    pub(crate) fn forge_unavailable(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::warn!(error = %message, "forge unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            message,
        )
        .with_header(RETRY_AFTER, HeaderValue::from_static("30"))
    }

    /// The complete response with the envelope for `request_id`.
    pub(crate) fn render(self, request_id: &str) -> Response {
        let message = self.message.unwrap_or_else(|| {
            format!("internal error: the server log has the details under request id {request_id}; please report it")
        });
        let envelope = ErrorEnvelope {
            error: ErrorBody {
                code: self.code,
                message,
                fields: self.fields,
            },
            request_id: request_id.to_owned(),
        };
        let mut response = json(self.status, &envelope);
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl IntoResponse for ApiError {
    /// Status and headers now; the body is written by the `Edge` service (`edge.rs`),
    /// which knows the request id (module doc).
    fn into_response(self) -> axum::response::Response {
        let mut response = self.status.into_response();
        for (name, value) in &self.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response.extensions_mut().insert(self);
        response
    }
}

impl<E: UseCaseError> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self::from_use_case(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oore_core::domain::validation::FieldError;

    #[derive(Debug, thiserror::Error)]
    #[error("{1}")]
    struct Fake(ErrorClass, &'static str, Option<FieldErrors>);

    impl UseCaseError for Fake {
        fn class(&self) -> ErrorClass {
            self.0
        }
        fn field_errors(&self) -> Option<&FieldErrors> {
            self.2.as_ref()
        }
    }

    fn render(e: ApiError) -> (StatusCode, ErrorEnvelope, http::HeaderMap) {
        let response = e.render("01JREQUEST0000000000000000");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body();
        let bytes = oore_core::testing::block_on(http_body_util::BodyExt::collect(body))
            .unwrap()
            .to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap(), headers)
    }

    #[test]
    fn each_class_has_its_status_and_code() {
        let cases = [
            (ErrorClass::Invalid, 400, "validation_failed"),
            (ErrorClass::NotFound, 404, "not_found"),
            (ErrorClass::Conflict, 409, "conflict"),
            (ErrorClass::Unavailable, 503, "unavailable"),
            (ErrorClass::Internal, 500, "internal_error"),
        ];
        for (class, status, code) in cases {
            let (s, body, _) = render(ApiError::from(Fake(
                class,
                "boom at /var/lib/oore/oore.db",
                None,
            )));
            assert_eq!(
                (s.as_u16(), body.error.code.as_str()),
                (status, code),
                "{class:?}"
            );
            assert_eq!(body.request_id, "01JREQUEST0000000000000000");
        }
    }

    #[test]
    fn internal_and_unavailable_hide_the_cause() {
        for class in [ErrorClass::Internal, ErrorClass::Unavailable] {
            let (_, body, _) = render(ApiError::from(Fake(
                class,
                "disk on fire at /secret/path",
                None,
            )));
            assert!(
                !body.error.message.contains("disk on fire"),
                "{class:?}: {}",
                body.error.message
            );
        }
        let (_, body, _) = render(ApiError::from(Fake(ErrorClass::Internal, "x", None)));
        assert!(
            body.error
                .message
                .contains("request id 01JREQUEST0000000000000000"),
            "{}",
            body.error.message
        );
    }

    #[test]
    fn field_errors_are_listed() {
        let mut fields = FieldErrors::new();
        fields.push(FieldError::new("owner", "must not be empty"));
        fields.push(FieldError::new("name", "too long"));
        let (status, body, _) =
            render(ApiError::from(Fake(ErrorClass::Invalid, "x", Some(fields))));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let listed: Vec<&str> = body
            .error
            .fields
            .iter()
            .flatten()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(listed, ["owner", "name"]);
    }

    #[test]
    fn located_details_of_an_invalid_document_are_listed() {
        use oore_core::pipeline::{Format, validate};
        use oore_core::usecases::pipeline::PipelineError;

        let report = validate("workflows:\n  ios:\n    scripts: []\n", Format::Yaml);
        assert!(!report.is_valid());
        let (status, body, _) = render(ApiError::from(PipelineError::Invalid(report)));
        assert_eq!(
            (status.as_u16(), body.error.code.as_str()),
            (400, "validation_failed")
        );
        assert!(
            !body.error.message.contains('\n'),
            "one line: {}",
            body.error.message
        );
        let fields = body.error.fields.expect("located details");
        assert!(
            fields[0].field.starts_with("workflows.ios"),
            "{:?}",
            fields[0]
        );
        assert!(
            fields[0].message.starts_with("line 3, column "),
            "{:?}",
            fields[0]
        );
    }

    #[test]
    fn protocol_errors_carry_their_headers() {
        let (_, _, headers) = render(ApiError::unauthorized());
        assert_eq!(headers[WWW_AUTHENTICATE], "Bearer realm=\"oore\"");
        let (status, _, headers) = render(ApiError::method_not_allowed(
            &Method::PATCH,
            "/x",
            &[Method::GET, Method::PUT],
        ));
        assert_eq!(
            (status.as_u16(), headers[ALLOW].to_str().unwrap()),
            (405, "GET, PUT")
        );
        let (_, _, headers) = render(ApiError::from(Fake(ErrorClass::Unavailable, "x", None)));
        assert_eq!(headers[RETRY_AFTER], "5");
    }

    #[test]
    fn envelope_snapshot() {
        let mut fields = FieldErrors::new();
        fields.push(FieldError::new(
            "provider",
            "unknown provider 'svn': expected one of github, gitlab, git",
        ));
        let (_, body, _) = render(ApiError::validation(&fields));
        insta::assert_snapshot!(serde_json::to_string_pretty(&body).unwrap(), @r#"
        {
          "error": {
            "code": "validation_failed",
            "message": "the request has invalid fields: fix the ones listed and retry",
            "fields": [
              {
                "field": "provider",
                "message": "unknown provider 'svn': expected one of github, gitlab, git"
              }
            ]
          },
          "request_id": "01JREQUEST0000000000000000"
        }
        "#);
    }
}
