//! The error envelope every failed request answers with, and its machine-readable
//! [`ErrorCode`]. Clients decide on the code, never on the message.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::wire_enum::wire_enum;

/// The JSON error body of every failed request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorBody,
    /// The id of the request, also in the `X-Request-Id` header and the server log.
    pub request_id: String,
}

/// The error itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Lowercase sentence that says what to do next.
    pub message: String,
    /// Per-field messages for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldErrorDto>>,
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct FieldErrorDto {
    /// Field name (a request field, a query parameter, or a key path in a pipeline
    /// document).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

wire_enum! {
    /// The machine-readable code of an error (`error.code`).
    ErrorCode {
        /// 400: the request has invalid fields (listed in `fields`) or an invalid document.
        ValidationFailed = "validation_failed",
        /// 404: no such record, or no such endpoint.
        NotFound = "not_found",
        /// 409: the request conflicts with the current state (a duplicate, a build that
        /// already ended).
        Conflict = "conflict",
        /// 503: the database cannot be reached, or a delivery could not be stored.
        Unavailable = "unavailable",
        /// 500: a bug or an unexpected failure; the server log has the details under the
        /// request id.
        InternalError = "internal_error",
        /// 401: the admin token is missing or wrong, or a webhook delivery failed its
        /// signature or token check.
        Unauthorized = "unauthorized",
        /// 405: the path exists, but not with this method (`Allow` lists the methods).
        MethodNotAllowed = "method_not_allowed",
        /// 400: an id in the path is not a ULID.
        InvalidId = "invalid_id",
        /// 400: the body is not the expected JSON.
        InvalidJson = "invalid_json",
        /// 400: the body could not be read.
        InvalidBody = "invalid_body",
        /// 413: the body is larger than the limit.
        PayloadTooLarge = "payload_too_large",
        /// 415: the body is not `application/json`.
        UnsupportedMediaType = "unsupported_media_type",
        /// 404: the record exists, but its file is gone from disk (e.g. a removed artifact).
        FileMissing = "file_missing",
        /// 416: the requested range starts past the end of the file.
        RangeNotSatisfiable = "range_not_satisfiable",
        /// 503: the request did not finish in time.
        Timeout = "timeout",
        /// 429: too many webhook requests from one address (`Retry-After` says when to
        /// retry).
        RateLimited = "rate_limited",
        /// 400: a verified webhook delivery with a bad header.
        InvalidWebhook = "invalid_webhook",
        /// 503: the webhook delivery was stored, but processing is behind; a redelivery is
        /// answered as a duplicate.
        QueueFull = "queue_full",
    }
}
