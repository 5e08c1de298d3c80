//! The build query endpoints: filters, keyset pages, and the 400/404/409 answers.

use oore_core::api::{BuildDto, BuildListResponse};
use oore_testkit::TestServer;
use serde_json::json;

use crate::build_support::{pipeline, project, step, trigger_with, wait_finished};
use crate::support::{SOME_ULID, assert_error};

fn list(server: &TestServer, query: &str) -> BuildListResponse {
    let response = server.get(&format!("/api/builds{query}"));
    assert_eq!(response.status, 200, "{query}: {}", response.text());
    response.json_as()
}

fn ids(page: &BuildListResponse) -> Vec<&str> {
    page.builds.iter().map(|b| b.id.as_str()).collect()
}

#[test]
fn builds_are_listed_with_filters_and_keyset_pages() {
    let server = TestServer::start();
    let ok = project(&server, &pipeline(&step("ok", "true"), ""));
    let bad = project(&server, &pipeline(&step("bad", "exit 1"), ""));
    ok.git.branch("develop");
    let mut all: Vec<BuildDto> = Vec::new();
    for (project, body) in [
        (&ok, json!({})),
        (&bad, json!({})),
        (&ok, json!({"branch": "develop"})),
        (&ok, json!({})),
    ] {
        let queued = trigger_with(&server, &project.repo, body);
        all.push(wait_finished(&server, &queued.id));
    }
    let newest_first: Vec<&str> = all.iter().rev().map(|b| b.id.as_str()).collect();
    assert_eq!(ids(&list(&server, "")), newest_first);
    let oldest_first: Vec<&str> = all.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids(&list(&server, "?order=asc")), oldest_first);

    let failed = list(&server, "?status=failure");
    assert_eq!(ids(&failed), [all[1].id.as_str()]);
    let both = list(&server, "?status=failure,success");
    assert_eq!(both.builds.len(), 4);
    let of_ok = list(&server, &format!("?repository={}", ok.repo.id));
    assert_eq!(of_ok.builds.len(), 3);
    let develop = list(&server, "?branch=develop");
    assert_eq!(ids(&develop), [all[2].id.as_str()]);
    assert_eq!(list(&server, "?trigger=manual").builds.len(), 4);
    assert_eq!(list(&server, "?trigger=push").builds.len(), 0);
    let sha = all[1].commit_sha.clone().unwrap();
    let by_commit = list(&server, &format!("?commit={}", &sha[..8].to_uppercase()));
    assert_eq!(ids(&by_commit), [all[1].id.as_str()]);
    let since = &all[2].created_at;
    let recent = list(&server, &format!("?from={}", since.replace('+', "%2B")));
    assert_eq!(recent.builds.len(), 2);
    assert_eq!(list(&server, "?until=2000-01-01T00:00:00Z").builds.len(), 0);

    // Pages of 3 then 1, continuing after the last id.
    let first = list(&server, "?limit=3");
    assert_eq!(ids(&first), newest_first[..3]);
    let next = first.next.clone().expect("a next cursor");
    let second = list(&server, &format!("?limit=3&after={next}"));
    assert_eq!(ids(&second), newest_first[3..]);
    assert_eq!(second.next, None);
    assert!(first.builds.iter().all(|b| b.steps.is_none()));
}

#[test]
fn bad_queries_and_unknown_builds_are_answered_clearly() {
    let server = TestServer::start();
    let project = project(&server, &pipeline(&step("ok", "true"), ""));

    let unknown = server.get(&format!("/api/builds/{SOME_ULID}"));
    let envelope = assert_error(&unknown, 404, "not_found");
    assert!(
        envelope.error.message.contains("oore build list"),
        "{envelope:?}"
    );
    for path in ["steps", "logs", "logs/stream", "artifacts", "artifacts.zip"] {
        let response = server.get(&format!("/api/builds/{SOME_ULID}/{path}"));
        assert_error(&response, 404, "not_found");
    }
    let cancel = server.send("POST", &format!("/api/builds/{SOME_ULID}/cancel"), None);
    assert_error(&cancel, 404, "not_found");
    assert_error(&server.get("/api/builds/not-a-ulid"), 400, "invalid_id");

    for (query, field) in [
        ("status=done", "status"),
        ("status=running,finished", "status"),
        ("commit=zz12", "commit"),
        ("commit=abc", "commit"),
        ("order=sideways", "order"),
        ("limit=0", "limit"),
        ("from=yesterday", "from"),
        ("repository=nope", "repository"),
        ("colour=red", "query"),
    ] {
        let response = server.get(&format!("/api/builds?{query}"));
        let envelope = assert_error(&response, 400, "validation_failed");
        let fields = envelope.error.fields.unwrap_or_default();
        assert!(
            fields.iter().any(|f| f.field == field),
            "{query}: {fields:?}"
        );
    }

    let unknown_repo = server.send(
        "POST",
        &format!("/api/repositories/{SOME_ULID}/trigger"),
        Some(&json!({})),
    );
    assert_error(&unknown_repo, 404, "not_found");
    let bad_commit = server.send(
        "POST",
        &format!("/api/repositories/{}/trigger", project.repo.id),
        Some(&json!({"commit": "not-hex"})),
    );
    let envelope = assert_error(&bad_commit, 400, "validation_failed");
    assert_eq!(envelope.error.fields.unwrap()[0].field, "commit");
    let unknown_field = server.send(
        "POST",
        &format!("/api/repositories/{}/trigger", project.repo.id),
        Some(&json!({"brnch": "main"})),
    );
    assert_error(&unknown_field, 400, "invalid_json");

    // A trigger with no body at all builds the default branch.
    let bare = oore_testkit::http::request(
        "POST",
        &format!(
            "{}/api/repositories/{}/trigger",
            server.url(),
            project.repo.id
        ),
        &[("Authorization", &format!("Bearer {}", server.admin_token()))],
        None,
    )
    .unwrap();
    assert_eq!(bare.status, 201, "{}", bare.text());
    let build: BuildDto = bare.json_as();
    assert_eq!(build.branch.as_deref(), Some("main"));
    assert_eq!(wait_finished(&server, &build.id).status, "success");

    let deactivated = server.send(
        "POST",
        &format!("/api/repositories/{}/deactivate", project.repo.id),
        None,
    );
    assert_eq!(deactivated.status, 200);
    let paused = trigger_attempt(&server, &project.repo.id);
    assert_error(&paused, 409, "conflict");
}

fn trigger_attempt(server: &TestServer, repo: &str) -> oore_testkit::http::HttpResponse {
    server.send(
        "POST",
        &format!("/api/repositories/{repo}/trigger"),
        Some(&json!({})),
    )
}
