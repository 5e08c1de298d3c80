//! Webhook receivers over real HTTP (spec 6.1, 11.1, 12.3, 20, 23): every shared GitHub
//! and GitLab payload gives its expected outcome (a build with its branch, commit and
//! trigger, or a recorded reason), refusals are 401 and recorded, duplicates are 200,
//! concurrent identical deliveries make one event, and the size and rate limits hold.
//! The queue, the worker and the event API are in `webhooks_queue.rs`.
//!
//! Repositories here clone from a path that does not exist, so the builds webhooks create
//! fail at once; the tests look at the build rows, not their outcome.

use std::sync::{Arc, Barrier};

use oore_core::api::{
    BuildDto, BuildListResponse, RepositoryDto, WebhookAcceptedResponse, WebhookEventDetailDto,
    WebhookListResponse, WebhookRefusalDto, WebhookRefusalsResponse,
};
use oore_testkit::TestServer;
use oore_testkit::http::{HttpResponse, raw};
use oore_testkit::webhooks::{
    Delivery, fixture, fixture_event, fixture_files, github_delivery, gitlab_delivery,
    new_delivery_id,
};
use serde_json::{Value, json};

use crate::build_support::{DEADLINE, wait_until};
use crate::support::{SOME_ULID, assert_error};

/// The GitHub webhook secret of the test repositories.
pub(crate) const SECRET: &str = "s3cret-webhook-secret";
/// The GitLab webhook token of the test repositories.
pub(crate) const TOKEN: &str = "t0ken-gitlab-webhook";
/// A clone URL nothing can be fetched from: builds fail at once, without network.
pub(crate) const NOWHERE: &str = "file:///nonexistent/oore-webhook-tests.git";

const NEW_BRANCH_SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const PR_HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const GITLAB_PUSH: &str = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";
const GITLAB_TAG: &str = "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7";

/// Adds a `provider` repository `owner/name` (default branch `branch`) with webhook
/// secret `secret`, cloning from [`NOWHERE`].
pub(crate) fn add_repo(
    server: &TestServer,
    provider: &str,
    full_name: &str,
    branch: &str,
    secret: &str,
) -> RepositoryDto {
    let (owner, name) = full_name.rsplit_once('/').expect("owner/name");
    let response = server.send(
        "POST",
        "/api/repositories",
        Some(&json!({
            "provider": provider,
            "owner": owner,
            "name": name,
            "default_branch": branch,
            "clone_url": NOWHERE,
            "webhook_secret": secret,
        })),
    );
    assert_eq!(response.status, 201, "{}", response.text());
    response.json_as()
}

/// A GitHub repository `acme/app` (default branch `master`).
pub(crate) fn github_repo(server: &TestServer) -> RepositoryDto {
    add_repo(server, "github", "acme/app", "master", SECRET)
}

/// GitHub's push fixture that creates `master` at [`NEW_BRANCH_SHA`], rewritten for
/// repository `full_name`.
pub(crate) fn push_body(full_name: &str) -> Vec<u8> {
    let mut payload: Value =
        serde_json::from_slice(&fixture("github", "push.with-new-branch.json")).unwrap();
    payload["repository"]["full_name"] = json!(full_name);
    serde_json::to_vec(&payload).unwrap()
}

/// A signed GitHub push to `master` of `repo` with a fresh delivery id.
pub(crate) fn push(repo: &RepositoryDto) -> Delivery {
    github_delivery(
        &repo.id,
        SECRET,
        "push",
        &new_delivery_id(),
        &push_body(&repo.full_name),
    )
}

/// A delivery's answer as an accepted one; asserts `status`.
#[track_caller]
pub(crate) fn accepted(response: &HttpResponse, status: u16) -> WebhookAcceptedResponse {
    assert_eq!(response.status, status, "{}", response.text());
    response.json_as()
}

/// `GET /api/webhooks/:id`.
#[track_caller]
pub(crate) fn event(server: &TestServer, id: &str) -> WebhookEventDetailDto {
    let response = server.get(&format!("/api/webhooks/{id}"));
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as()
}

/// Waits until event `id` is no longer `received`.
#[track_caller]
pub(crate) fn wait_processed(server: &TestServer, id: &str) -> WebhookEventDetailDto {
    wait_until(&format!("event {id} processed"), DEADLINE, || {
        let e = event(server, id);
        (e.event.status != "received").then_some(e)
    })
}

/// `GET /api/webhooks?{query}`.
#[track_caller]
pub(crate) fn events(server: &TestServer, query: &str) -> WebhookListResponse {
    let response = server.get(&format!("/api/webhooks?{query}"));
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as()
}

/// `GET /api/webhooks/refusals`.
#[track_caller]
pub(crate) fn refusals(server: &TestServer) -> WebhookRefusalsResponse {
    let response = server.get("/api/webhooks/refusals");
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as()
}

/// Every build of repository `id`.
#[track_caller]
pub(crate) fn builds_of(server: &TestServer, id: &str) -> Vec<BuildDto> {
    let response = server.get(&format!("/api/builds?repository={id}&limit=200"));
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as::<BuildListResponse>().builds
}

/// What a fixture must lead to.
#[derive(Debug)]
enum Expect {
    Build {
        trigger: &'static str,
        branch: Option<&'static str>,
        base: Option<&'static str>,
        tag: Option<&'static str>,
        commit: &'static str,
        pull_request: Option<u64>,
    },
    Ignored(&'static str),
}

/// The repository a fixture is about and what it must lead to.
fn expected(provider: &str, file: &str) -> (&'static str, Expect) {
    use Expect::*;
    let kind = file.split('.').next().unwrap_or_default();
    let push = |commit| Build {
        trigger: "push",
        branch: Some("master"),
        base: None,
        tag: None,
        commit,
        pull_request: None,
    };
    match (provider, kind, file) {
        ("github", "installation" | "installation_repositories", _) => (
            "Codertocat/Hello-World",
            Ignored("recorded for the GitHub App sync"),
        ),
        ("github", "ping", _) => ("Codertocat/Hello-World", Ignored("ping")),
        ("github", "pull_request", "pull_request.closed.json") => (
            "Codertocat/Hello-World",
            Ignored("action `closed` does not build"),
        ),
        ("github", "pull_request", "pull_request.labeled.json") => (
            "Codertocat/Hello-World",
            Ignored("action `labeled` does not build"),
        ),
        ("github", "pull_request", _) => (
            "Codertocat/Hello-World",
            Build {
                trigger: "pull_request",
                branch: Some("changes"),
                base: Some("master"),
                tag: None,
                commit: PR_HEAD,
                pull_request: Some(2),
            },
        ),
        (
            "github",
            "push",
            "push.with-new-branch.json" | "push.with-no-username-committer.json",
        ) => ("Codertocat/Hello-World", push(NEW_BRANCH_SHA)),
        ("github", "push", _) => (
            "Codertocat/Hello-World",
            Ignored("tag simple-tag was deleted"),
        ),
        ("gitlab", "merge_request", _) => (
            "gitlabhq/gitlab-test",
            Build {
                trigger: "merge_request",
                branch: Some("ms-viewport"),
                base: Some("master"),
                tag: None,
                commit: GITLAB_PUSH,
                pull_request: Some(1),
            },
        ),
        ("gitlab", "push", _) => ("mike/diaspora", push(GITLAB_PUSH)),
        ("gitlab", "tag_push", _) => (
            "jsmith/example",
            Build {
                trigger: "push",
                branch: None,
                base: None,
                tag: Some("v1.0.0"),
                commit: GITLAB_TAG,
                pull_request: None,
            },
        ),
        ("gitlab", "pipeline", _) => (
            "mike/diaspora",
            Ignored("event `Pipeline Hook` does not start builds"),
        ),
        _ => panic!("{provider}/{file}: add it to the table of expected outcomes"),
    }
}

#[test]
fn every_fixture_gives_its_expected_outcome() {
    let server = TestServer::start();
    let mut repos: Vec<(String, RepositoryDto)> = Vec::new();
    let mut repo_for = |provider: &str, full_name: &str| -> RepositoryDto {
        let key = format!("{provider}:{full_name}");
        if let Some((_, repo)) = repos.iter().find(|(k, _)| *k == key) {
            return repo.clone();
        }
        let secret = if provider == "github" { SECRET } else { TOKEN };
        let repo = add_repo(&server, provider, full_name, "master", secret);
        repos.push((key, repo.clone()));
        repo
    };

    let mut sent = Vec::new();
    for provider in ["github", "gitlab"] {
        let files = fixture_files(provider);
        assert!(files.len() >= 6, "{provider} fixtures: {files:?}");
        for file in files {
            let (full_name, expect) = expected(provider, &file);
            let repo = repo_for(provider, full_name);
            let body = fixture(provider, &file);
            let event_type = fixture_event(provider, &file);
            let delivery = if provider == "github" {
                github_delivery(&repo.id, SECRET, &event_type, &new_delivery_id(), &body)
            } else {
                gitlab_delivery(&repo.id, TOKEN, &event_type, None, &body)
            };
            let status = if event_type == "ping" { 200 } else { 202 };
            let answer = accepted(&delivery.send(&server.url()), status);
            assert!(!answer.duplicate, "{provider}/{file}");
            assert_eq!(answer.status, "received", "{provider}/{file}");
            sent.push((
                format!("{provider}/{file}"),
                repo,
                answer.event_id,
                body,
                expect,
            ));
        }
    }

    for (name, repo, id, body, expect) in &sent {
        let detail = wait_processed(&server, id);
        let e = &detail.event;
        assert_eq!(e.repository_id.as_deref(), Some(repo.id.as_str()), "{name}");
        assert_eq!(e.source_ip.as_deref(), Some("127.0.0.1"), "{name}");
        assert_eq!(detail.payload_format, "json", "{name}");
        assert_eq!(
            detail.payload,
            serde_json::from_slice::<Value>(body).unwrap(),
            "{name}"
        );
        let header_names: Vec<&str> = detail.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            !header_names.contains(&"x-hub-signature-256")
                && !header_names.contains(&"x-gitlab-token"),
            "{name}: secrets stored: {header_names:?}"
        );
        let builds: Vec<BuildDto> = builds_of(&server, &repo.id)
            .into_iter()
            .filter(|b| b.webhook_event_id.as_deref() == Some(id.as_str()))
            .collect();
        match expect {
            Expect::Ignored(why) => {
                assert_eq!(e.status, "ignored", "{name}: {e:?}");
                let reason = e.reason.as_deref().unwrap_or_default();
                assert!(reason.contains(why), "{name}: {reason}");
                assert!(builds.is_empty() && e.build_ids.is_empty(), "{name}");
            }
            Expect::Build {
                trigger,
                branch,
                base,
                tag,
                commit,
                pull_request,
            } => {
                assert_eq!(e.status, "processed", "{name}: {e:?}");
                assert_eq!(builds.len(), 1, "{name}: {builds:?}");
                let b = &builds[0];
                assert_eq!(e.build_ids, std::slice::from_ref(&b.id), "{name}");
                assert_eq!(
                    (
                        b.trigger.as_str(),
                        b.branch.as_deref(),
                        b.base_branch.as_deref(),
                        b.tag.as_deref(),
                        b.commit_sha.as_deref(),
                        b.pull_request
                    ),
                    (*trigger, *branch, *base, *tag, Some(*commit), *pull_request),
                    "{name}"
                );
            }
        }
    }
    // Nothing but the expected builds: one per build-producing fixture.
    for (_, repo) in &repos {
        let wanted = sent
            .iter()
            .filter(|(_, r, ..)| r.id == repo.id)
            .filter(|(.., expect)| matches!(expect, Expect::Build { .. }))
            .count();
        assert_eq!(
            builds_of(&server, &repo.id).len(),
            wanted,
            "{}",
            repo.full_name
        );
    }
}

#[test]
fn refused_deliveries_are_401_say_nothing_and_are_recorded() {
    let server = TestServer::start();
    let gh = github_repo(&server);
    let gl = add_repo(&server, "gitlab", "group/app", "master", TOKEN);
    let body = push_body(&gh.full_name);
    let first_id = new_delivery_id();
    let wrong_secret = github_delivery(&gh.id, "not-the-secret", "push", &first_id, &body);
    let signed = github_delivery(&gh.id, SECRET, "push", &new_delivery_id(), &body);
    let gitlab = gitlab_delivery(&gl.id, TOKEN, "Push Hook", None, b"{}");
    let refused = [
        ("wrong secret", wrong_secret.clone()),
        (
            "tampered body",
            signed.clone().with_body(&push_body("evil/app")),
        ),
        (
            "unsigned",
            signed.clone().without_header("X-Hub-Signature-256"),
        ),
        (
            "unknown repository",
            github_delivery(SOME_ULID, SECRET, "push", &new_delivery_id(), &body),
        ),
        (
            "GitHub URL of a GitLab repository",
            github_delivery(&gl.id, TOKEN, "push", &new_delivery_id(), &body),
        ),
        (
            "wrong token",
            gitlab.clone().with_header("X-Gitlab-Token", "nope"),
        ),
        ("no token", gitlab.clone().without_header("X-Gitlab-Token")),
    ];
    let mut first_body = None;
    for (what, delivery) in &refused {
        let response = delivery.send(&server.url());
        let envelope = assert_error(&response, 401, "unauthorized");
        assert_eq!(
            envelope.error.message, "webhook verification failed",
            "{what}"
        );
        // The body tells nothing: the same for every cause but the request id.
        let shape = json!(envelope.error);
        assert_eq!(first_body.get_or_insert(shape.clone()), &shape, "{what}");
    }
    // A path that names no repository id at all: refused alike, not recorded.
    let not_an_id = github_delivery("not-an-id", SECRET, "push", &new_delivery_id(), &body);
    assert_error(&not_an_id.send(&server.url()), 401, "unauthorized");

    // What could not be verified at all (no such repository, another provider's) is
    // counted per source, not stored; failed signatures and tokens are recorded.
    let rejected = events(&server, "status=rejected").events;
    assert_eq!(rejected.len(), refused.len() - 2, "{rejected:#?}");
    assert!(rejected.iter().all(|e| e.repository_id.is_some()));
    let refusals = refusals(&server);
    assert_eq!(refusals.sources.len(), 1, "{refusals:?}");
    let source = &refusals.sources[0];
    assert_eq!((source.source.as_str(), source.total), ("127.0.0.1", 3));
    let mut reasons: Vec<String> = source
        .reasons
        .iter()
        .map(|r| format!("{}={}", r.reason, r.count))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ["invalid_id=1", "unknown_repository=1", "wrong_provider=1"]
    );
    assert_eq!(source.last_path, "/api/webhooks/github/not-an-id");
    assert!(
        rejected
            .iter()
            .all(|e| e.source_ip.as_deref() == Some("127.0.0.1"))
    );
    let of_github: Vec<_> = events(&server, &format!("repository={}", gh.id)).events;
    assert_eq!(of_github.len(), 3, "wrong secret, tampered, unsigned");
    for e in &of_github {
        assert_eq!(
            (e.status.as_str(), e.event_type.as_str()),
            ("rejected", "push")
        );
        let reason = e.reason.as_deref().unwrap_or_default();
        assert!(reason.starts_with("HMAC verification failed"), "{reason}");
    }
    let detail = event(&server, &of_github[0].id);
    assert_eq!(
        (detail.payload_size, detail.payload_truncated),
        (body.len() as u64, false)
    );
    assert!(
        detail
            .headers
            .iter()
            .all(|(n, _)| n != "x-hub-signature-256"),
        "{:?}",
        detail.headers
    );
    assert!(
        builds_of(&server, &gh.id).is_empty(),
        "nothing was acted on"
    );

    // A verified delivery lacking the event header is 400 (and recorded).
    let no_event = signed.clone().without_header("X-GitHub-Event");
    let envelope = assert_error(&no_event.send(&server.url()), 400, "invalid_webhook");
    assert_eq!(envelope.error.message, "missing X-GitHub-Event header");

    // Spec 11.1: fix the secret in Oore, redeliver from the forge (same delivery id,
    // which the rejected attempt did not use up).
    let update = server.send(
        "PUT",
        &format!("/api/repositories/{}", gh.id),
        Some(&json!({"webhook_secret": "not-the-secret"})),
    );
    assert_eq!(update.status, 200, "{}", update.text());
    let answer = accepted(&wrong_secret.send(&server.url()), 202);
    assert!(!answer.duplicate);
    let detail = wait_processed(&server, &answer.event_id);
    assert_eq!(detail.event.delivery_id, first_id);
    assert_eq!(detail.event.status, "processed", "{:?}", detail.event);
}

#[test]
fn a_repeated_delivery_is_answered_200_as_a_duplicate() {
    let server = TestServer::start();
    let gh = github_repo(&server);
    let delivery = push(&gh);
    let first = accepted(&delivery.send(&server.url()), 202);
    assert_eq!(
        (first.duplicate, first.status.as_str()),
        (false, "received")
    );
    let again = accepted(&delivery.send(&server.url()), 200);
    assert!(again.duplicate);
    assert_eq!(again.event_id, first.event_id);
    wait_processed(&server, &first.event_id);
    let later = accepted(&delivery.send(&server.url()), 200);
    assert_eq!(
        (
            later.duplicate,
            later.event_id.as_str(),
            later.status.as_str()
        ),
        (true, first.event_id.as_str(), "processed"),
        "a duplicate says how the first one ended"
    );
    assert_eq!(builds_of(&server, &gh.id).len(), 1);

    // GitLab: a re-sent event keeps its Idempotency-Key (each attempt has its own
    // X-Gitlab-Webhook-UUID); without the key, identical bodies are one event.
    let gl = add_repo(&server, "gitlab", "mike/diaspora", "master", TOKEN);
    let body = fixture("gitlab", "push.default.json");
    let keyed = || {
        gitlab_delivery(
            &gl.id,
            TOKEN,
            "Push Hook",
            Some("9a0c3d5e-1111-2222-3333-444455556666"),
            &body,
        )
    };
    let first = accepted(&keyed().send(&server.url()), 202);
    let resent = accepted(&keyed().send(&server.url()), 200);
    assert_eq!((resent.duplicate, resent.event_id), (true, first.event_id));
    let bare = || gitlab_delivery(&gl.id, TOKEN, "Push Hook", None, &body);
    let first = accepted(&bare().send(&server.url()), 202);
    let resent = accepted(&bare().send(&server.url()), 200);
    assert_eq!((resent.duplicate, resent.event_id), (true, first.event_id));
    let other = fixture("gitlab", "push.client-go.json");
    let new = gitlab_delivery(&gl.id, TOKEN, "Push Hook", None, &other);
    assert!(!accepted(&new.send(&server.url()), 202).duplicate);
}

#[test]
fn twenty_identical_deliveries_at_once_make_one_event_and_one_build() {
    let server = TestServer::start();
    let gh = github_repo(&server);
    let delivery = push(&gh);
    let url = server.url();
    let start = Arc::new(Barrier::new(20));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (delivery, url, start) = (delivery.clone(), url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                delivery.send(&url)
            })
        })
        .collect();
    let answers: Vec<HttpResponse> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let new: Vec<&HttpResponse> = answers.iter().filter(|a| a.status == 202).collect();
    assert_eq!(
        new.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let id = new[0].json_as::<WebhookAcceptedResponse>().event_id;
    for answer in answers.iter().filter(|a| a.status != 202) {
        let dup = accepted(answer, 200);
        assert_eq!((dup.duplicate, dup.event_id.as_str()), (true, id.as_str()));
    }
    assert_eq!(
        events(&server, &format!("repository={}", gh.id))
            .events
            .len(),
        1
    );
    wait_processed(&server, &id);
    assert_eq!(builds_of(&server, &gh.id).len(), 1);
}

#[test]
fn bodies_over_the_webhook_limit_are_413_and_the_api_limit_does_not_apply() {
    let server = TestServer::builder()
        .env("OORE_MAX_WEBHOOK_BYTES", "2048")
        .start();
    let gh = github_repo(&server);
    let padded = |len: usize| {
        let mut body = br#"{"zen":"Keep it logically awesome.","hook_id":1,"pad":""#.to_vec();
        body.resize(len - 2, b'x');
        body.extend_from_slice(br#""}"#);
        body
    };
    // Declared too large: refused before the body is read.
    let big = github_delivery(&gh.id, SECRET, "ping", &new_delivery_id(), &padded(4096));
    assert_error(&big.send(&server.url()), 413, "payload_too_large");
    // Chunked, without Content-Length: refused while reading.
    let host = server.url().trim_start_matches("http://").to_owned();
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n",
        big.path
    );
    for (name, value) in &big.headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    for chunk in big.body.chunks(1000) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    assert_error(&raw(&host, &bytes).unwrap(), 413, "payload_too_large");
    assert!(events(&server, "").events.is_empty(), "nothing recorded");
    // Exactly at the limit is fine (a ping: answered 200).
    let fits = github_delivery(&gh.id, SECRET, "ping", &new_delivery_id(), &padded(2048));
    accepted(&fits.send(&server.url()), 200);
    drop(server);

    // With the default limit (10 MiB), a 2 MiB delivery is taken although the API's own
    // bodies stop at 1 MiB.
    let server = TestServer::start();
    let gh = github_repo(&server);
    let mut payload: Value = serde_json::from_slice(&push_body(&gh.full_name)).unwrap();
    payload["padding"] = json!("x".repeat(2 << 20));
    let body = serde_json::to_vec(&payload).unwrap();
    let large = github_delivery(&gh.id, SECRET, "push", &new_delivery_id(), &body);
    let answer = accepted(&large.send(&server.url()), 202);
    assert_eq!(
        wait_processed(&server, &answer.event_id).event.status,
        "processed"
    );
}

#[test]
fn the_rate_limit_answers_429_with_retry_after() {
    let server = TestServer::builder()
        .env("OORE_WEBHOOK_RATE_LIMIT", "2")
        .start();
    let gh = github_repo(&server);
    accepted(&push(&gh).send(&server.url()), 202);
    accepted(&push(&gh).send(&server.url()), 202);
    let limited = push(&gh).send(&server.url());
    assert_error(&limited, 429, "rate_limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(
        events(&server, "").events.len(),
        2,
        "the limited one is not stored"
    );
}

#[test]
fn gitlab_deliveries_from_outside_the_allowed_ranges_are_refused() {
    let server = TestServer::builder()
        .env("OORE_GITLAB_ALLOWED_CIDRS", "10.1.2.0/24")
        .start();
    let gl = add_repo(&server, "gitlab", "mike/diaspora", "master", TOKEN);
    let body = fixture("gitlab", "push.default.json");
    let delivery = gitlab_delivery(&gl.id, TOKEN, "Push Hook", None, &body);
    let envelope = assert_error(&delivery.send(&server.url()), 401, "unauthorized");
    assert_eq!(envelope.error.message, "webhook verification failed");
    assert!(
        events(&server, "").events.is_empty(),
        "refused before its body was read: nothing stored"
    );
    let counted = refusals(&server);
    assert_eq!(counted.sources[0].source, "127.0.0.1");
    assert_eq!(
        counted.sources[0].reasons[0].reason,
        WebhookRefusalDto::SourceNotAllowed
    );
    // GitHub deliveries are not concerned.
    let gh = github_repo(&server);
    accepted(&push(&gh).send(&server.url()), 202);
    assert!(builds_of(&server, &gl.id).is_empty());
}
