//! The path of every API route, built from its parameters, so clients never spell an
//! `/api/...` path by hand. Each parameter is percent-encoded as one path segment: a
//! user-typed id cannot change the path (`../`, `?`, `#`, `/`). Query strings are built
//! with [`with_query`].
//!
//! The server checks that each builder's output matches one of its routes.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::LogOffsets;

/// Escaped in a path segment or a query value: everything but RFC 3986's unreserved
/// characters (letters, digits, `-`, `_`, `.`, `~`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `value` as one path segment: percent-encoded, and `.` and `..` escaped too, since
/// alone they still navigate.
pub fn segment(value: &str) -> Cow<'_, str> {
    match value {
        "." => Cow::Borrowed("%2E"),
        ".." => Cow::Borrowed("%2E%2E"),
        _ => utf8_percent_encode(value, COMPONENT).into(),
    }
}

/// `value` percent-encoded for a query string (name or value).
pub fn query_component(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, COMPONENT).into()
}

/// `path` with `pairs` as its query string (`?a=1&b=2`, names and values encoded); `path`
/// as it is when there are none.
pub fn with_query<'a>(path: String, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = path;
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(&query_component(name));
        out.push('=');
        out.push_str(&query_component(value));
    }
    out
}

/// `GET /api/health`.
pub fn health() -> String {
    "/api/health".to_owned()
}

/// `GET /api/version`.
pub fn version() -> String {
    "/api/version".to_owned()
}

/// `GET /api/openapi.json`: the OpenAPI document of the API.
pub fn openapi() -> String {
    "/api/openapi.json".to_owned()
}

/// `GET /api/setup/status`.
pub fn setup_status() -> String {
    "/api/setup/status".to_owned()
}

/// `GET` (list) and `POST` (add) `/api/repositories`.
pub fn repositories() -> String {
    "/api/repositories".to_owned()
}

/// `GET`, `PUT` and `DELETE /api/repositories/{id}`.
pub fn repository(id: &str) -> String {
    format!("/api/repositories/{}", segment(id))
}

/// `POST /api/repositories/{id}/activate`.
pub fn repository_activate(id: &str) -> String {
    format!("{}/activate", repository(id))
}

/// `POST /api/repositories/{id}/deactivate`.
pub fn repository_deactivate(id: &str) -> String {
    format!("{}/deactivate", repository(id))
}

/// `GET /api/repositories/{id}/webhook-url`.
pub fn repository_webhook_url(id: &str) -> String {
    format!("{}/webhook-url", repository(id))
}

/// `GET`, `PUT` and `DELETE /api/repositories/{id}/pipeline`.
pub fn repository_pipeline(id: &str) -> String {
    format!("{}/pipeline", repository(id))
}

/// `GET /api/repositories/{id}/pipeline/history`.
pub fn repository_pipeline_history(id: &str) -> String {
    format!("{}/pipeline/history", repository(id))
}

/// `POST /api/repositories/{id}/pipeline/restore`.
pub fn repository_pipeline_restore(id: &str) -> String {
    format!("{}/pipeline/restore", repository(id))
}

/// `POST /api/repositories/{id}/trigger`.
pub fn repository_trigger(id: &str) -> String {
    format!("{}/trigger", repository(id))
}

/// `POST /api/pipelines/validate`.
pub fn pipelines_validate() -> String {
    "/api/pipelines/validate".to_owned()
}

/// `POST /api/pipelines/convert`.
pub fn pipelines_convert() -> String {
    "/api/pipelines/convert".to_owned()
}

/// `GET /api/builds` (the filters go in the query string).
pub fn builds() -> String {
    "/api/builds".to_owned()
}

/// `GET /api/builds/{id}`.
pub fn build(id: &str) -> String {
    format!("/api/builds/{}", segment(id))
}

/// `GET /api/builds/{id}/steps`.
pub fn build_steps(id: &str) -> String {
    format!("{}/steps", build(id))
}

/// `POST /api/builds/{id}/cancel`.
pub fn build_cancel(id: &str) -> String {
    format!("{}/cancel", build(id))
}

/// `GET /api/builds/{id}/logs` (`step`, `stream`, `offset` and `limit` go in the query
/// string).
pub fn build_logs(id: &str) -> String {
    format!("{}/logs", build(id))
}

/// `GET /api/builds/{id}/logs/stream`.
pub fn build_logs_stream(id: &str) -> String {
    format!("{}/logs/stream", build(id))
}

/// `GET /api/builds/{id}/logs/stream?from=...`, resuming at `offsets` (no query string
/// when none is set).
pub fn build_logs_stream_from(id: &str, offsets: &LogOffsets) -> String {
    let path = build_logs_stream(id);
    if offsets.is_empty() {
        return path;
    }
    // The value is digits, `system`, `stdout`, `stderr`, `.`, `:` and `,`: all allowed in
    // a query string as they are.
    format!("{path}?from={offsets}")
}

/// `GET /api/builds/{id}/artifacts`.
pub fn build_artifacts(id: &str) -> String {
    format!("{}/artifacts", build(id))
}

/// `GET /api/builds/{build}/artifacts/{artifact}`: one artifact's bytes.
pub fn build_artifact(build_id: &str, artifact_id: &str) -> String {
    format!("{}/artifacts/{}", build(build_id), segment(artifact_id))
}

/// `GET /api/builds/{id}/artifacts.zip`.
pub fn build_artifacts_zip(id: &str) -> String {
    format!("{}/artifacts.zip", build(id))
}

/// `POST /api/webhooks/github/{repository_id}`: the GitHub receiver of a repository.
pub fn github_webhook(repository_id: &str) -> String {
    format!("/api/webhooks/github/{}", segment(repository_id))
}

/// `POST /api/webhooks/gitlab/{repository_id}`: the GitLab receiver of a repository.
pub fn gitlab_webhook(repository_id: &str) -> String {
    format!("/api/webhooks/gitlab/{}", segment(repository_id))
}

/// `GET /api/webhooks` (the filters go in the query string).
pub fn webhooks() -> String {
    "/api/webhooks".to_owned()
}

/// `GET /api/webhooks/{id}`.
pub fn webhook(id: &str) -> String {
    format!("/api/webhooks/{}", segment(id))
}

/// `POST /api/webhooks/{id}/redeliver`.
pub fn webhook_redeliver(id: &str) -> String {
    format!("{}/redeliver", webhook(id))
}

/// `POST /api/webhooks/{id}/approve`: build a pull request from a fork.
pub fn webhook_approve(id: &str) -> String {
    format!("{}/approve", webhook(id))
}

/// `GET /api/webhooks/refusals`: requests refused without being stored, per source.
pub fn webhook_refusals() -> String {
    "/api/webhooks/refusals".to_owned()
}

/// `POST /api/github/setup`: start the GitHub App's manifest flow.
pub fn github_setup() -> String {
    "/api/github/setup".to_owned()
}

/// `GET /api/github/setup/status?state=...`.
pub fn github_setup_status(state: &str) -> String {
    with_query("/api/github/setup/status".to_owned(), [("state", state)])
}

/// `POST /api/github/setup/callback`: finish a setup with the callback URL.
pub fn github_setup_callback() -> String {
    "/api/github/setup/callback".to_owned()
}

/// `GET /api/github/status`.
pub fn github_status() -> String {
    "/api/github/status".to_owned()
}

/// `GET /api/github/installations`.
pub fn github_installations() -> String {
    "/api/github/installations".to_owned()
}

/// `POST /api/github/sync`.
pub fn github_sync() -> String {
    "/api/github/sync".to_owned()
}

/// `DELETE /api/github/app`.
pub fn github_app() -> String {
    "/api/github/app".to_owned()
}

/// `PUT /api/github/app/private-key`.
pub fn github_app_private_key() -> String {
    "/api/github/app/private-key".to_owned()
}

/// The GitHub setup pages a browser opens (not API routes): `/setup/github`, its
/// callback and the page after an installation.
pub fn github_setup_page(state: &str) -> String {
    with_query("/setup/github".to_owned(), [("state", state)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{LogFile, LogStream};

    #[test]
    fn segments_keep_ids_and_escape_the_rest() {
        assert_eq!(
            segment("01J9ZQ4Y8K3M2N5P6R7S8T9V0W"),
            "01J9ZQ4Y8K3M2N5P6R7S8T9V0W"
        );
        assert_eq!(segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("."), "%2E");
        assert_eq!(segment("..."), "...");
        assert_eq!(segment("東"), "%E6%9D%B1");
        assert_eq!(segment("a%2F"), "a%252F", "an escape is escaped again");
    }

    #[test]
    fn paths_put_every_parameter_in_its_own_segment() {
        assert_eq!(repository("01JA"), "/api/repositories/01JA");
        assert_eq!(repository("../setup"), "/api/repositories/..%2Fsetup");
        assert_eq!(
            repository_pipeline_history("01JA"),
            "/api/repositories/01JA/pipeline/history"
        );
        assert_eq!(build_logs_stream("01JB"), "/api/builds/01JB/logs/stream");
        assert_eq!(
            build_artifact("01JB", "../../x"),
            "/api/builds/01JB/artifacts/..%2F..%2Fx"
        );
        assert_eq!(
            build_artifacts_zip("01JB"),
            "/api/builds/01JB/artifacts.zip"
        );
        assert_eq!(webhook_redeliver(".."), "/api/webhooks/%2E%2E/redeliver");
        assert_eq!(webhook_approve("01JE"), "/api/webhooks/01JE/approve");
        assert_eq!(github_webhook("01JR"), "/api/webhooks/github/01JR");
        assert_eq!(gitlab_webhook("01JR"), "/api/webhooks/gitlab/01JR");
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(with_query(builds(), []), "/api/builds");
        assert_eq!(
            with_query(
                builds(),
                [
                    ("branch", "feature/x y"),
                    ("from", "2026-01-05T00:00:00+01:00")
                ]
            ),
            "/api/builds?branch=feature%2Fx%20y&from=2026-01-05T00%3A00%3A00%2B01%3A00"
        );
        let mut offsets = LogOffsets::new();
        assert_eq!(
            build_logs_stream_from("01JB", &offsets),
            "/api/builds/01JB/logs/stream"
        );
        offsets.set(LogFile::System, 120);
        offsets.set(
            LogFile::Step {
                index: 0,
                stream: LogStream::Stdout,
            },
            4096,
        );
        assert_eq!(
            build_logs_stream_from("01JB", &offsets),
            "/api/builds/01JB/logs/stream?from=system:120,0.stdout:4096"
        );
    }
}
