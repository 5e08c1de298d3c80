//! Pull/merge requests from forks over real HTTP (issue 10): the real GitHub and GitLab
//! payloads, made to come from a fork, end `awaiting_approval` with no build;
//! `POST /api/webhooks/{id}/approve` builds exactly that commit, once, even when two
//! people approve at once; a redelivery finds that build; a new push needs approval
//! again; trusted authors and the repository's policy decide the rest.

use std::sync::{Arc, Barrier};

use oore_core::api::{RepositoryDto, WebhookEventDto};
use oore_testkit::TestServer;
use oore_testkit::webhooks::{fixture, github_delivery, gitlab_delivery, new_delivery_id};
use serde_json::{Value, json};

use crate::support::assert_error;
use crate::webhooks::{SECRET, TOKEN, accepted, add_repo, builds_of, event, push, wait_processed};

const PR_HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

/// GitHub's `pull_request` fixture `file`, from the fork `stranger/Hello-World`, by an
/// author GitHub calls `association`, its head at `head`.
fn fork_pr(file: &str, association: &str, head: &str) -> Vec<u8> {
    let mut payload: Value = serde_json::from_slice(&fixture("github", file)).unwrap();
    payload["pull_request"]["head"]["repo"]["full_name"] = json!("stranger/Hello-World");
    payload["pull_request"]["head"]["repo"]["fork"] = json!(true);
    payload["pull_request"]["head"]["sha"] = json!(head);
    payload["pull_request"]["author_association"] = json!(association);
    serde_json::to_vec(&payload).unwrap()
}

fn hello_world(server: &TestServer) -> RepositoryDto {
    add_repo(server, "github", "Codertocat/Hello-World", "master", SECRET)
}

/// Sends a signed `pull_request` delivery and waits for its outcome.
fn deliver_pr(server: &TestServer, repo: &RepositoryDto, body: &[u8]) -> WebhookEventDto {
    let delivery = github_delivery(&repo.id, SECRET, "pull_request", &new_delivery_id(), body);
    let answer = accepted(&delivery.send(&server.url()), 202);
    wait_processed(server, &answer.event_id).event
}

fn approve(server: &TestServer, id: &str, by: Option<&str>) -> oore_testkit::http::HttpResponse {
    let body = by.map(|by| json!({ "approved_by": by }));
    server.send(
        "POST",
        &format!("/api/webhooks/{id}/approve"),
        body.as_ref(),
    )
}

#[test]
fn a_fork_pull_request_builds_once_after_approval() {
    let server = TestServer::start();
    let repo = hello_world(&server);
    assert_eq!(repo.fork_pull_requests, "approve", "the default");
    let held = deliver_pr(
        &server,
        &repo,
        &fork_pr("pull_request.opened.json", "CONTRIBUTOR", PR_HEAD),
    );
    assert_eq!(held.status, "awaiting_approval", "{held:?}");
    let reason = held.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("comes from the fork stranger/Hello-World")
            && reason.contains(&format!("oore webhook approve {}", held.id)),
        "{reason}"
    );
    assert!(
        builds_of(&server, &repo.id).is_empty(),
        "no build without approval"
    );

    // Two people approve at once: one wins, the other is told who did.
    let start = Arc::new(Barrier::new(2));
    let answers: Vec<_> = ["alice", "bob"]
        .into_iter()
        .map(|who| {
            let (url, token, id, start) = (
                server.url(),
                server.admin_token().to_owned(),
                held.id.clone(),
                Arc::clone(&start),
            );
            std::thread::spawn(move || {
                start.wait();
                oore_testkit::http::send(
                    "POST",
                    &format!("{url}/api/webhooks/{id}/approve"),
                    Some(&token),
                    Some(&json!({ "approved_by": who })),
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let won: Vec<_> = answers.iter().filter(|a| a.status == 202).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.text()).collect::<Vec<_>>()
    );
    let winner: WebhookEventDto = won[0].json_as();
    assert_eq!(winner.status, "received");
    let lost = answers.iter().find(|a| a.status != 202).unwrap();
    let envelope = assert_error(lost, 409, "conflict");
    assert!(
        envelope.error.message.contains("was already approved by"),
        "{}",
        envelope.error.message
    );

    let done = wait_processed(&server, &held.id);
    assert_eq!(done.event.status, "processed", "{:?}", done.event);
    assert_eq!(done.event.approved_by, winner.approved_by);
    assert!(done.event.approved_at.is_some());
    let builds = builds_of(&server, &repo.id);
    assert_eq!(builds.len(), 1);
    assert_eq!(
        (
            builds[0].commit_sha.as_deref(),
            builds[0].pull_request,
            builds[0].webhook_event_id.as_deref()
        ),
        (Some(PR_HEAD), Some(2), Some(held.id.as_str())),
        "exactly the approved commit"
    );
    assert_error(&approve(&server, &held.id, Some("carol")), 409, "conflict");

    // A redelivery keeps the approval and finds the build.
    let redelivered = server.send(
        "POST",
        &format!("/api/webhooks/{}/redeliver", held.id),
        None,
    );
    assert_eq!(redelivered.status, 202, "{}", redelivered.text());
    assert_eq!(wait_processed(&server, &held.id).event.status, "processed");
    assert_eq!(builds_of(&server, &repo.id).len(), 1, "not built twice");

    // A new push to the pull request needs approval again.
    let newer = "3f9a2c1b0e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a";
    let sync = deliver_pr(
        &server,
        &repo,
        &fork_pr("pull_request.synchronize.json", "CONTRIBUTOR", newer),
    );
    assert_eq!(sync.status, "awaiting_approval");
    assert_eq!(builds_of(&server, &repo.id).len(), 1);
    let approved = approve(&server, &sync.id, None);
    assert_eq!(approved.status, 202, "{}", approved.text());
    assert_eq!(
        approved.json_as::<WebhookEventDto>().approved_by.as_deref(),
        Some("admin"),
        "the default approver"
    );
    wait_processed(&server, &sync.id);
    let builds = builds_of(&server, &repo.id);
    assert_eq!(builds.len(), 2);
    assert!(
        builds
            .iter()
            .any(|b| b.commit_sha.as_deref() == Some(newer))
    );
}

#[test]
fn trusted_authors_policies_and_gitlab_forks() {
    let server = TestServer::start();
    let repo = hello_world(&server);
    // The fixture's author is the repository's OWNER: a fork of theirs builds at once.
    let owner = deliver_pr(
        &server,
        &repo,
        &fork_pr("pull_request.opened.json", "OWNER", PR_HEAD),
    );
    assert_eq!(owner.status, "processed", "{owner:?}");
    assert_eq!(builds_of(&server, &repo.id).len(), 1);

    let never = server.send(
        "PUT",
        &format!("/api/repositories/{}", repo.id),
        Some(&json!({"fork_pull_requests": "never"})),
    );
    assert_eq!(never.status, 200, "{}", never.text());
    assert_eq!(never.json_as::<RepositoryDto>().fork_pull_requests, "never");
    let ignored = deliver_pr(
        &server,
        &repo,
        &fork_pr("pull_request.reopened.json", "NONE", PR_HEAD),
    );
    assert_eq!(ignored.status, "ignored");
    assert!(
        ignored
            .reason
            .unwrap_or_default()
            .contains("never builds forks"),
        "the reason says how to change it"
    );
    let bad = server.send(
        "PUT",
        &format!("/api/repositories/{}", repo.id),
        Some(&json!({"fork_pull_requests": "sometimes"})),
    );
    let envelope = assert_error(&bad, 400, "validation_failed");
    assert_eq!(
        envelope.error.fields.as_deref().unwrap_or_default()[0].field,
        "fork_pull_requests"
    );

    // GitLab: a merge request whose source project is another one.
    let gl = add_repo(&server, "gitlab", "gitlabhq/gitlab-test", "master", TOKEN);
    let mut payload: Value =
        serde_json::from_slice(&fixture("gitlab", "merge_request.default.json")).unwrap();
    payload["object_attributes"]["source_project_id"] = json!(4242);
    let delivery = gitlab_delivery(
        &gl.id,
        TOKEN,
        "Merge Request Hook",
        None,
        &serde_json::to_vec(&payload).unwrap(),
    );
    let answer = accepted(&delivery.send(&server.url()), 202);
    let held = wait_processed(&server, &answer.event_id).event;
    assert_eq!(held.status, "awaiting_approval", "{held:?}");
    assert!(builds_of(&server, &gl.id).is_empty());
    let listed = crate::webhooks::events(&server, "status=awaiting_approval").events;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, held.id);
}

#[test]
fn only_events_awaiting_approval_can_be_approved() {
    let server = TestServer::start();
    let gh = crate::webhooks::github_repo(&server);
    let answer = accepted(&push(&gh).send(&server.url()), 202);
    wait_processed(&server, &answer.event_id);
    let envelope = assert_error(&approve(&server, &answer.event_id, None), 409, "conflict");
    assert!(
        envelope
            .error
            .message
            .contains("is processed, not awaiting approval"),
        "{}",
        envelope.error.message
    );
    let missing = approve(&server, crate::support::SOME_ULID, None);
    assert_error(&missing, 404, "not_found");
    let blank = approve(&server, &answer.event_id, Some("  "));
    let envelope = assert_error(&blank, 400, "validation_failed");
    assert_eq!(
        envelope.error.fields.as_deref().unwrap_or_default()[0].field,
        "approved_by"
    );
    assert_eq!(event(&server, &answer.event_id).event.approved_by, None);
}
