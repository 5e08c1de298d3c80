//! Helpers shared by the integration tests.

use oore_core::api::ErrorEnvelope;
use oore_testkit::http::HttpResponse;

/// A fixed, valid ULID for paths and request ids.
pub(crate) const SOME_ULID: &str = "01JD0000000000000000000000";

/// Asserts an error response: status, code, JSON content type, and the `X-Request-Id`
/// header equal to the body's `request_id`.
#[track_caller]
pub(crate) fn assert_error(response: &HttpResponse, status: u16, code: &str) -> ErrorEnvelope {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{}",
        response.text()
    );
    let envelope: ErrorEnvelope = response.json_as();
    assert_eq!(envelope.error.code, code, "{}", response.text());
    assert_request_id(response, &envelope);
    envelope
}

/// The `X-Request-Id` header is a ULID and equals the body's `request_id`.
#[track_caller]
pub(crate) fn assert_request_id(response: &HttpResponse, envelope: &ErrorEnvelope) {
    let header = response
        .header("x-request-id")
        .expect("X-Request-Id header");
    assert_eq!(header, envelope.request_id);
    assert!(
        ulid::Ulid::from_string(header).is_ok(),
        "not a ULID: {header}"
    );
}
