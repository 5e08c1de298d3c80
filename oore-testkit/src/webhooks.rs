//! Webhook deliveries as GitHub and GitLab send them (`shared/forges.md` G3 and L5), to
//! post to a [`TestServer`](crate::TestServer)'s receivers, and the shared fixture
//! payloads.
//!
//! [`github_delivery`] signs the body with `X-Hub-Signature-256` (HMAC-SHA256 with the
//! webhook secret, exactly as GitHub does) and sends GitHub's headers; [`gitlab_delivery`]
//! sends the token verbatim in `X-Gitlab-Token` with GitLab's headers, a fresh
//! `X-Gitlab-Webhook-UUID` per delivery and, when given, the `Idempotency-Key` GitLab
//! keeps when an event is re-sent. A [`Delivery`] can be changed before it is sent (a
//! tampered body, a missing header) to provoke refusals.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use oore_adapters::crypto::random_token;
use oore_core::webhook::github::signature_header;

use crate::http::{self, HttpResponse};

/// One delivery, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `/api/webhooks/{github|gitlab}/{repository_id}`.
    pub path: String,
    /// Headers in the order sent (`Host`, `Content-Length` and `Connection` are added
    /// when sending).
    pub headers: Vec<(String, String)>,
    /// The exact body (the one the signature covers).
    pub body: Vec<u8>,
}

impl Delivery {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets header `name` (replacing any of that name).
    #[must_use]
    pub fn with_header(self, name: &str, value: &str) -> Self {
        let mut d = self.without_header(name);
        d.headers.push((name.to_owned(), value.to_owned()));
        d
    }

    /// Removes every header called `name`.
    #[must_use]
    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// Replaces the body, keeping the headers (and so the old signature).
    #[must_use]
    pub fn with_body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    /// The request as bytes for `host`, with `Content-Length`, and
    /// `Connection: keep-alive` or `close`.
    pub fn to_bytes(&self, host: &str, keep_alive: bool) -> Vec<u8> {
        let mut head = format!("POST {} HTTP/1.1\r\nHost: {host}\r\n", self.path);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: {}\r\n\r\n",
            self.body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        ));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Posts it to the server at `base_url` (`http://127.0.0.1:PORT`).
    ///
    /// # Errors
    /// If the server cannot be reached or answers garbage.
    pub fn try_send(&self, base_url: &str) -> io::Result<HttpResponse> {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        http::request(
            "POST",
            &format!("{base_url}{}", self.path),
            &headers,
            Some(&self.body),
        )
    }

    /// Posts it to the server at `base_url`.
    ///
    /// # Panics
    /// If the server cannot be reached or answers garbage.
    pub fn send(&self, base_url: &str) -> HttpResponse {
        self.try_send(base_url)
            .unwrap_or_else(|e| panic!("POST {}: {e}", self.path))
    }
}

/// A GitHub delivery of `event` (`X-GitHub-Event`) with `delivery_id`
/// (`X-GitHub-Delivery`) for repository `repository_id`, signed with `secret`.
pub fn github_delivery(
    repository_id: &str,
    secret: &str,
    event: &str,
    delivery_id: &str,
    body: &[u8],
) -> Delivery {
    let headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", "GitHub-Hookshot/7f5e9a1"),
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", delivery_id),
        ("X-GitHub-Hook-ID", "109948940"),
        ("X-GitHub-Hook-Installation-Target-Type", "repository"),
        ("X-GitHub-Hook-Installation-Target-ID", "35129377"),
        ("X-Hub-Signature-256", &signature_header(secret, body)),
    ];
    Delivery {
        path: format!("/api/webhooks/github/{repository_id}"),
        headers: owned(&headers),
        body: body.to_vec(),
    }
}

/// A GitLab delivery of `event` (`X-Gitlab-Event`, e.g. `Push Hook`) for repository
/// `repository_id`, with `token` in `X-Gitlab-Token` and, when given, `Idempotency-Key`
/// (without one, Oore tells deliveries apart by the body's SHA-256).
pub fn gitlab_delivery(
    repository_id: &str,
    token: &str,
    event: &str,
    idempotency_key: Option<&str>,
    body: &[u8],
) -> Delivery {
    let (webhook_uuid, event_uuid) = (new_delivery_id(), new_delivery_id());
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("User-Agent", "GitLab/17.5.0"),
        ("X-Gitlab-Event", event),
        ("X-Gitlab-Token", token),
        ("X-Gitlab-Instance", "https://gitlab.example.com"),
        ("X-Gitlab-Webhook-UUID", &webhook_uuid),
        ("X-Gitlab-Event-UUID", &event_uuid),
    ];
    if let Some(key) = idempotency_key {
        headers.push(("Idempotency-Key", key));
    }
    Delivery {
        path: format!("/api/webhooks/gitlab/{repository_id}"),
        headers: owned(&headers),
        body: body.to_vec(),
    }
}

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// A fresh GUID in GitHub's `X-GitHub-Delivery` form (random, unique in the process).
pub fn new_delivery_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let random = random_token();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}-{:04x}-4{}-8{}-{}",
        &random[..8],
        n & 0xffff,
        &random[8..11],
        &random[11..14],
        &random[14..26]
    )
}

/// The shared fixtures directory (`shared/fixtures` beside the repository).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures"
    ))
}

/// The payload `shared/fixtures/{provider}/{file}`.
///
/// # Panics
/// If it cannot be read.
pub fn fixture(provider: &str, file: &str) -> Vec<u8> {
    let path = fixtures_dir().join(provider).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// Every `*.json` fixture of `provider` (`github` or `gitlab`), sorted by name.
///
/// # Panics
/// If the directory cannot be read.
pub fn fixture_files(provider: &str) -> Vec<String> {
    let dir = fixtures_dir().join(provider);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// The event header a fixture is sent with: GitHub's `X-GitHub-Event` is the file name
/// up to the first dot (`pull_request.opened.json` is `pull_request`); GitLab's
/// `X-Gitlab-Event` follows its `object_kind` (`tag_push.default.json` is
/// `Tag Push Hook`).
pub fn fixture_event(provider: &str, file: &str) -> String {
    let kind = file.split('.').next().unwrap_or_default();
    if provider == "github" {
        return kind.to_owned();
    }
    match kind {
        "push" => "Push Hook",
        "tag_push" => "Tag Push Hook",
        "merge_request" => "Merge Request Hook",
        "pipeline" => "Pipeline Hook",
        "note" => "Note Hook",
        "issue" => "Issue Hook",
        _ => "System Hook",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_deliveries_carry_a_valid_signature_and_github_headers() {
        let d = github_delivery("01REPO", "s3cret", "push", "guid-1", b"{\"a\":1}");
        assert_eq!(d.path, "/api/webhooks/github/01REPO");
        assert_eq!(
            d.header("x-hub-signature-256"),
            Some(signature_header("s3cret", b"{\"a\":1}").as_str())
        );
        assert_eq!(d.header("X-GitHub-Delivery"), Some("guid-1"));
        assert!(
            d.header("user-agent")
                .unwrap()
                .starts_with("GitHub-Hookshot/")
        );
        let tampered = d.clone().with_body(b"{\"a\":2}");
        assert_eq!(
            tampered.header("x-hub-signature-256"),
            d.header("x-hub-signature-256")
        );
        let bytes = String::from_utf8(d.to_bytes("h:1", true)).unwrap();
        assert!(bytes.starts_with("POST /api/webhooks/github/01REPO HTTP/1.1\r\nHost: h:1\r\n"));
        assert!(bytes.ends_with("Content-Length: 7\r\nConnection: keep-alive\r\n\r\n{\"a\":1}"));
    }

    #[test]
    fn gitlab_deliveries_send_the_token_and_a_fresh_webhook_uuid() {
        let a = gitlab_delivery("01R", "t0k", "Push Hook", Some("key-1"), b"{}");
        let b = gitlab_delivery("01R", "t0k", "Push Hook", None, b"{}");
        assert_eq!(a.header("x-gitlab-token"), Some("t0k"));
        assert_eq!(a.header("idempotency-key"), Some("key-1"));
        assert_eq!(b.header("idempotency-key"), None);
        assert_ne!(
            a.header("x-gitlab-webhook-uuid"),
            b.header("x-gitlab-webhook-uuid")
        );
        assert_eq!(
            a.without_header("X-Gitlab-Token").header("x-gitlab-token"),
            None
        );
    }

    #[test]
    fn delivery_ids_are_unique_guids() {
        let (a, b) = (new_delivery_id(), new_delivery_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn fixtures_are_found_with_their_event_names() {
        assert!(fixture_files("github").contains(&"push.default.json".to_owned()));
        assert_eq!(
            fixture_event("github", "pull_request.opened.json"),
            "pull_request"
        );
        assert_eq!(
            fixture_event("gitlab", "tag_push.default.json"),
            "Tag Push Hook"
        );
        assert!(!fixture("gitlab", "push.default.json").is_empty());
    }
}
