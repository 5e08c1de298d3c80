//! Authentication, checked by walking the whole route table: a route added later is
//! covered without anyone remembering to add it here. The public routes are health,
//! version, the OpenAPI document, the webhook receivers, which authenticate a delivery
//! by its signature or token instead of the admin token, and the GitHub setup pages a
//! browser opens, guarded by their single-use state.

use oore_server::route_table;
use oore_testkit::TestServer;
use oore_testkit::http::{HttpResponse, request};

use crate::support::{SOME_ULID, assert_error};

/// `path` with every `{param}` segment replaced by a valid ULID.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { SOME_ULID } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn call(server: &TestServer, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let url = format!("{}{}", server.url(), concrete(path));
    request(method, &url, headers, None).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

#[test]
fn every_private_route_rejects_missing_and_wrong_tokens_identically() {
    let server = TestServer::start();
    let good = format!("Bearer {}", server.admin_token());
    let wrong_token = format!("Bearer {}x", server.admin_token());
    let lowercase_scheme = format!("bearer {}", server.admin_token());
    // The same request id for every call, so the 401 bodies can be compared byte for byte.
    let rid = ("X-Request-Id", SOME_ULID);
    let mut private = 0;
    for route in route_table() {
        let (method, path) = (route.method.as_str(), route.path.as_str());
        if route.is_webhook_receiver() {
            // The admin token neither helps nor is asked for: an unsigned delivery to
            // an unknown repository is refused as a delivery, not as an API call.
            for headers in [vec![rid], vec![rid, ("Authorization", good.as_str())]] {
                let response = call(&server, method, path, &headers);
                let envelope = assert_error(&response, 401, "unauthorized");
                assert_eq!(envelope.error.message, "webhook verification failed");
                assert_eq!(response.header("www-authenticate"), None, "{path}");
            }
            continue;
        }
        let authorized = call(&server, method, path, &[rid, ("Authorization", &good)]);
        assert_ne!(
            authorized.status,
            401,
            "{method} {path} refused the admin token: {}",
            authorized.text()
        );
        let lowercase = call(
            &server,
            method,
            path,
            &[rid, ("Authorization", &lowercase_scheme)],
        );
        assert_ne!(
            lowercase.status, 401,
            "{method} {path}: the scheme is case-insensitive"
        );

        let missing = call(&server, method, path, &[rid]);
        if route.is_public() {
            if path.starts_with("/setup/") {
                // The GitHub setup pages: a browser without a token gets a page, whose
                // status depends on the setup state it carries (none here).
                assert_ne!(missing.status, 401, "{method} {path} is public");
                assert_eq!(
                    missing.header("content-type"),
                    Some("text/html; charset=utf-8"),
                    "{method} {path}"
                );
            } else {
                assert_eq!(
                    missing.status,
                    200,
                    "{method} {path} is public: {}",
                    missing.text()
                );
            }
            continue;
        }
        private += 1;
        let rejected = [
            missing,
            call(
                &server,
                method,
                path,
                &[rid, ("Authorization", &wrong_token)],
            ),
            call(&server, method, path, &[rid, ("Authorization", "Bearer ")]),
            call(
                &server,
                method,
                path,
                &[rid, ("Authorization", server.admin_token())],
            ),
            call(
                &server,
                method,
                path,
                &[
                    rid,
                    ("Authorization", &format!("Basic {}", server.admin_token())),
                ],
            ),
        ];
        for response in &rejected {
            let envelope = assert_error(response, 401, "unauthorized");
            assert_eq!(envelope.error.message, "missing or invalid admin token");
            assert_eq!(
                response.header("www-authenticate"),
                Some("Bearer realm=\"oore\""),
                "{method} {path}"
            );
            assert_eq!(
                response.body, rejected[0].body,
                "{method} {path}: 401 bodies differ"
            );
        }
    }
    assert!(
        private >= 9,
        "the route table lost its private routes ({private})"
    );
}

#[test]
fn the_token_is_checked_before_the_route_parameters_and_body() {
    // A bad id or an oversize body must not tell an unauthenticated caller anything more.
    let server = TestServer::start();
    let bad_id = call(&server, "GET", "/api/repositories/not-a-ulid", &[]);
    assert_error(&bad_id, 401, "unauthorized");
    let huge = call(
        &server,
        "POST",
        "/api/repositories",
        &[("Content-Length", "99999999")],
    );
    assert_error(&huge, 401, "unauthorized");
}
