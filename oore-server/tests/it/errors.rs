//! One test per status of the spec's API Response Codes table that exists so far, each
//! checking the JSON envelope and that `X-Request-Id` equals its `request_id`. (401 is
//! in `auth.rs`, 500 and 503 in `failures.rs`.)

use oore_server::API_BODY_LIMIT;
use oore_testkit::TestServer;
use oore_testkit::http::{raw, request};
use serde_json::json;

use crate::support::{SOME_ULID, assert_error};

fn addr(server: &TestServer) -> String {
    server.url().trim_start_matches("http://").to_owned()
}

#[test]
fn bad_request_lists_every_invalid_field() {
    let server = TestServer::start();
    let body = json!({
        "provider": "github",
        "owner": "",
        "name": "a/b",
        "default_branch": "bad branch",
        "webhook_secret": ""
    });
    let response = server.send("POST", "/api/repositories", Some(&body));
    let envelope = assert_error(&response, 400, "validation_failed");
    let fields: Vec<&str> = envelope
        .error
        .fields
        .iter()
        .flatten()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(
        fields,
        ["owner", "name", "default_branch", "webhook_secret"]
    );
    assert!(
        envelope
            .error
            .fields
            .iter()
            .flatten()
            .all(|f| !f.message.is_empty())
    );
}

#[test]
fn malformed_json_is_400_with_line_and_column() {
    let server = TestServer::start();
    let auth = format!("Bearer {}", server.admin_token());
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let url = format!("{}/api/repositories", server.url());
    let response = request(
        "POST",
        &url,
        &headers,
        Some(b"{\"provider\": \"github\",\n \"owner\": }"),
    )
    .unwrap();
    let envelope = assert_error(&response, 400, "invalid_json");
    assert!(
        envelope.error.message.contains("line 2 column"),
        "{}",
        envelope.error.message
    );

    let response = request(
        "POST",
        &url,
        &headers,
        Some(br#"{"provider":"github","owner":"a","name":"b","colour":"red"}"#),
    )
    .unwrap();
    let envelope = assert_error(&response, 400, "invalid_json");
    assert!(
        envelope.error.message.contains("unknown field `colour`"),
        "{}",
        envelope.error.message
    );

    let response = request("POST", &url, &headers, Some(b"")).unwrap();
    assert_error(&response, 400, "invalid_json");
}

#[test]
fn a_body_that_is_not_json_is_415() {
    let server = TestServer::start();
    let auth = format!("Bearer {}", server.admin_token());
    let url = format!("{}/api/repositories", server.url());
    let form = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let response = request("POST", &url, &form, Some(b"provider=github")).unwrap();
    let envelope = assert_error(&response, 415, "unsupported_media_type");
    assert!(
        envelope
            .error
            .message
            .contains("Content-Type: application/json"),
        "{}",
        envelope.error.message
    );
}

#[test]
fn malformed_ids_are_400_and_unknown_ids_404() {
    let server = TestServer::start();
    for path in [
        "/api/repositories/nope",
        "/api/repositories/nope/webhook-url",
        "/api/repositories/nope/activate",
    ] {
        let method = if path.ends_with("activate") {
            "POST"
        } else {
            "GET"
        };
        let envelope = assert_error(&server.send(method, path, None), 400, "invalid_id");
        assert!(
            envelope
                .error
                .message
                .contains("'nope' is not a repository reference"),
            "{}",
            envelope.error.message
        );
    }
    for (method, path) in [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/activate"),
        ("GET", "/webhook-url"),
    ] {
        let response = server.send(
            method,
            &format!("/api/repositories/{SOME_ULID}{path}"),
            None,
        );
        let envelope = assert_error(&response, 404, "not_found");
        assert!(
            envelope.error.message.contains("oore repo list"),
            "{}",
            envelope.error.message
        );
    }
}

#[test]
fn unknown_routes_are_404_json_even_without_a_token() {
    let server = TestServer::start();
    for path in ["/api/nope", "/", "/api/repositories/x/y/z"] {
        let response = oore_testkit::http::get(&format!("{}{path}", server.url()), None);
        let envelope = assert_error(&response, 404, "not_found");
        assert!(
            envelope
                .error
                .message
                .contains(&format!("no endpoint GET {path}")),
            "{}",
            envelope.error.message
        );
    }
}

#[test]
fn wrong_method_is_405_with_allow() {
    let server = TestServer::start();
    let response = server.send("DELETE", "/api/version", None);
    let envelope = assert_error(&response, 405, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("GET"));
    assert!(
        envelope.error.message.contains("use GET"),
        "{}",
        envelope.error.message
    );
    let response = server.send("PATCH", &format!("/api/repositories/{SOME_ULID}"), None);
    assert_error(&response, 405, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("GET, PUT, DELETE"));
}

#[test]
fn duplicates_are_409() {
    let server = TestServer::start();
    let body = json!({"provider": "github", "owner": "acme", "name": "app"});
    assert_eq!(
        server.send("POST", "/api/repositories", Some(&body)).status,
        201
    );
    let again = json!({"provider": "github", "owner": "ACME", "name": "App"});
    let envelope = assert_error(
        &server.send("POST", "/api/repositories", Some(&again)),
        409,
        "conflict",
    );
    assert!(
        envelope.error.message.contains("already exists"),
        "{}",
        envelope.error.message
    );
}

#[test]
fn oversize_bodies_are_413() {
    let server = TestServer::start();
    let auth = format!("Bearer {}", server.admin_token());
    let url = format!("{}/api/repositories", server.url());
    // Declared too large: refused from the header, nothing is read.
    let length = (API_BODY_LIMIT + 1).to_string();
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
        ("Content-Length", &length),
    ];
    let envelope = assert_error(
        &request("POST", &url, &headers, None).unwrap(),
        413,
        "payload_too_large",
    );
    assert!(
        envelope.error.message.contains("larger than 1024 KiB"),
        "{}",
        envelope.error.message
    );

    // Actually sent, with an honest Content-Length.
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let body = vec![b' '; API_BODY_LIMIT + 1];
    assert_error(
        &request("POST", &url, &headers, Some(&body)).unwrap(),
        413,
        "payload_too_large",
    );

    // Chunked, without Content-Length: refused while reading.
    let mut bytes = format!(
        "POST /api/repositories HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..=(API_BODY_LIMIT / chunk.len()) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(&chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    assert_error(
        &raw(&addr(&server), &bytes).unwrap(),
        413,
        "payload_too_large",
    );

    // Any route, even one that reads no body.
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Length", &length),
    ];
    let response = request(
        "POST",
        &format!("{}/api/repositories/{SOME_ULID}/activate", server.url()),
        &headers,
        None,
    )
    .unwrap();
    assert_error(&response, 413, "payload_too_large");
}

#[test]
fn a_valid_incoming_request_id_is_kept_and_others_replaced() {
    let server = TestServer::start();
    let url = format!("{}/api/nope", server.url());
    let kept = request("GET", &url, &[("X-Request-Id", SOME_ULID)], None).unwrap();
    assert_eq!(assert_error(&kept, 404, "not_found").request_id, SOME_ULID);
    let replaced = request("GET", &url, &[("X-Request-Id", "../../etc/passwd")], None).unwrap();
    assert_ne!(
        assert_error(&replaced, 404, "not_found").request_id,
        "../../etc/passwd"
    );
    // Successful responses carry one too.
    let ok = oore_testkit::http::get(&format!("{}/api/version", server.url()), None);
    assert!(ulid::Ulid::from_string(ok.header("x-request-id").unwrap()).is_ok());
}

#[test]
fn error_body_snapshot() {
    let server = TestServer::start();
    let url = format!("{}/api/repositories/{SOME_ULID}", server.url());
    let auth = format!("Bearer {}", server.admin_token());
    let response = request(
        "GET",
        &url,
        &[("Authorization", &auth), ("X-Request-Id", SOME_ULID)],
        None,
    )
    .unwrap();
    insta::assert_snapshot!(response.text(), @r#"{"error":{"code":"not_found","message":"repository 01JD0000000000000000000000 not found; run `oore repo list` to see the repositories"},"request_id":"01JD0000000000000000000000"}"#);
}
