//! `oore webhook ...` against a real server with real deliveries: the URL `repo
//! webhook-url` prints receives a signed push, a ping and a forged delivery; the events
//! are listed (filters, pages, JSON), shown (builds, headers, pretty payload) and
//! redelivered; errors name what to do.

use std::time::{Duration, Instant};

use oore_core::api::{WebhookEventDetailDto, WebhookEventDto, WebhookListResponse};
use oore_testkit::TestServer;
use oore_testkit::webhooks::{Delivery, fixture, github_delivery, new_delivery_id};
use serde_json::Value;

use crate::support::Cli;

const SECRET: &str = "s3cret-webhook-secret";

/// Waits until the server has processed every event it received.
fn wait_all_processed(server: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page: WebhookListResponse = server.get("/api/webhooks?status=received").json_as();
        if page.events.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "events stayed received: {page:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `delivery` to the URL the CLI printed and returns the answer's status.
fn post(url: &str, delivery: &Delivery) -> u16 {
    let (base, path) = url.split_at(url.find("/api/").expect("an /api/ URL"));
    assert_eq!(path, delivery.path, "the delivery goes where the CLI said");
    delivery.send(base).status
}

#[test]
fn events_of_real_deliveries_are_listed_shown_and_redelivered() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    // The secret comes from standard input: not in the process list or shell history.
    let added: Value = cli
        .run_with_stdin(
            &[
                "repo",
                "add",
                "--provider",
                "github",
                "--owner",
                "Codertocat",
                "--repo",
                "Hello-World",
                "--default-branch",
                "master",
                "--clone-url",
                "file:///nonexistent/hello-world.git",
                "--webhook-secret-stdin",
                "--json",
            ],
            &format!("{SECRET}\n"),
        )
        .ok()
        .json();
    let id = added["id"].as_str().expect("the repository id").to_owned();

    // What to paste: the URL and the secret hint.
    let hook = cli
        .run(&["repo", "webhook-url", &id])
        .ok()
        .stdout_has("webhook secret: configured; use the same secret on the forge")
        .stdout_has("Content type: application/json");
    let url = format!("{}/api/webhooks/github/{id}", server.url());
    assert!(hook.stdout.contains(&format!("  {url}\n")), "{hook}");
    assert!(
        hook.stdout.contains(&format!("Payload URL: {url}")),
        "{hook}"
    );

    let push = github_delivery(
        &id,
        SECRET,
        "push",
        &new_delivery_id(),
        &fixture("github", "push.with-new-branch.json"),
    );
    assert_eq!(post(&url, &push), 202);
    let ping = github_delivery(
        &id,
        SECRET,
        "ping",
        &new_delivery_id(),
        &fixture("github", "ping.default.json"),
    );
    assert_eq!(post(&url, &ping), 200);
    let forged = github_delivery(&id, "guess", "push", &new_delivery_id(), b"{}");
    assert_eq!(post(&url, &forged), 401);
    wait_all_processed(&server);

    let listed = cli
        .run(&["webhook", "list"])
        .ok()
        .stdout_has("ID        RECEIVED")
        .stdout_has("PROVIDER  EVENT  STATUS     RESULT")
        .stdout_has("ping: the forge checked the webhook")
        .stdout_has("HMAC verification failed");
    assert_eq!(listed.stdout.lines().count(), 4, "{listed}");
    let page: WebhookListResponse = cli.run(&["webhook", "list", "--json"]).ok().json();
    let by_type = |t: &str, s: &str| -> WebhookEventDto {
        page.events
            .iter()
            .find(|e| e.event_type == t && e.status == s)
            .cloned()
            .unwrap_or_else(|| panic!("no {s} {t} in {page:?}"))
    };
    let (pushed, rejected) = (by_type("push", "processed"), by_type("push", "rejected"));
    let build = &pushed.build_ids[0];
    assert!(
        listed
            .stdout
            .contains(&format!("build {}", &build[build.len() - 8..])),
        "{listed}"
    );

    cli.run(&["webhook", "list", "--status", "rejected", "--repo", &id])
        .ok()
        .stdout_has(&rejected.id[rejected.id.len() - 8..])
        .stdout_has("rejected");
    let first = cli
        .run(&["webhook", "list", "--limit", "1"])
        .ok()
        .stdout_has("more: oore webhook list --limit 1 --before ");
    let next = first
        .stdout
        .lines()
        .last()
        .unwrap()
        .trim_start_matches("more: oore ")
        .to_owned();
    let args: Vec<&str> = next.split_whitespace().collect();
    cli.run(&args).ok().stdout_has("ping");

    // Shown by its short id: the builds, the headers without secrets, the pretty payload.
    let short = &pushed.id[pushed.id.len() - 8..];
    let shown = cli
        .run(&["webhook", "show", short])
        .ok()
        .stdout_has(&format!("id:          {}", pushed.id))
        .stdout_has("status:      processed")
        .stdout_has("source ip:   127.0.0.1")
        .stdout_has(&format!("#1 {build} "))
        .stdout_has("(push, branch master, commit 6113728)")
        .stdout_has("  x-github-event: push")
        .stdout_has("payload (json):\n{\n")
        .stdout_has("  \"ref\": \"refs/heads/master\",");
    assert!(!shown.stdout.contains("x-hub-signature"), "{shown}");
    let detail: WebhookEventDetailDto = cli
        .run(&["webhook", "show", &pushed.id, "--json"])
        .ok()
        .json();
    assert_eq!(
        detail.payload["after"],
        "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    );

    // Redelivered: processed again, with the same build.
    cli.run(&["webhook", "redeliver", short, "--wait"])
        .ok()
        .stdout_has(&format!("webhook event {} processed:", pushed.id))
        .stdout_has(&format!("#1 {build} "));
    let queued: WebhookEventDto = cli
        .run(&["webhook", "redeliver", &pushed.id, "--json"])
        .ok()
        .json();
    assert_eq!(queued.status, "received");
    wait_all_processed(&server);
    let builds: Value = server.get(&format!("/api/builds?repository={id}")).json();
    assert_eq!(
        builds["builds"].as_array().unwrap().len(),
        1,
        "no second build"
    );

    // Errors say what to do.
    cli.run(&["webhook", "redeliver", &rejected.id])
        .code(1)
        .stderr_has("was rejected and cannot be redelivered")
        .stderr_has("oore webhook show");
    cli.run(&["webhook", "show", "01JD0000000000000000000000"])
        .code(1)
        .stderr_has("not found")
        .stderr_has("oore webhook list");
    cli.run(&["webhook", "list", "--status", "done"])
        .code(1)
        .stderr_has("--status");
    cli.run(&["webhook", "show", "ZZZZZZZZ"])
        .code(1)
        .stderr_has("no event among the 200 most recent");
}

/// GitHub's `pull_request` fixture `file`, from the fork `stranger/Hello-World` by an
/// outside contributor, its head at `head`.
fn fork_pull_request(file: &str, head: &str) -> Vec<u8> {
    let mut payload: Value = serde_json::from_slice(&fixture("github", file)).unwrap();
    payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/Hello-World".into();
    payload["pull_request"]["head"]["sha"] = head.into();
    payload["pull_request"]["author_association"] = "CONTRIBUTOR".into();
    serde_json::to_vec(&payload).unwrap()
}

#[test]
fn a_fork_pull_request_is_approved_and_refusals_are_shown() {
    let server = TestServer::start();
    let mut cli = Cli::new();
    cli.init(&server);
    let added: Value = cli
        .run(&[
            "repo",
            "add",
            "--provider",
            "github",
            "--owner",
            "Codertocat",
            "--repo",
            "Hello-World",
            "--default-branch",
            "master",
            "--clone-url",
            "file:///nonexistent/hello-world.git",
            "--webhook-secret",
            SECRET,
            "--fork-pull-requests",
            "approve",
            "--json",
        ])
        .ok()
        .json();
    let id = added["id"].as_str().expect("the repository id").to_owned();
    assert_eq!(added["fork_pull_requests"], "approve");
    cli.run(&["repo", "show", &id])
        .ok()
        .stdout_has("fork pull requests:  approve");

    let head = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
    let opened = github_delivery(
        &id,
        SECRET,
        "pull_request",
        &new_delivery_id(),
        &fork_pull_request("pull_request.opened.json", head),
    );
    assert_eq!(opened.send(&server.url()).status, 202);
    wait_all_processed(&server);
    cli.run(&["webhook", "list", "--status", "awaiting_approval"])
        .ok()
        .stdout_has("awaiting_approval")
        .stdout_has("pull request #2 comes from the fork stranger/Hello-World");
    let page: WebhookListResponse = cli
        .run(&["webhook", "list", "--status", "awaiting_approval", "--json"])
        .ok()
        .json();
    let event = page.events[0].id.clone();
    let short = &event[event.len() - 8..];

    cli.run(&["webhook", "approve", short, "--as", "alice", "--wait"])
        .ok()
        .stdout_has(&format!("webhook event {event} processed:"))
        .stdout_has("(pull_request, pull request 2, commit ec26c3e)");
    cli.run(&["webhook", "show", &event])
        .ok()
        .stdout_has("approved by alice at ");
    cli.run(&["webhook", "approve", &event])
        .code(1)
        .stderr_has("was already approved by alice")
        .stderr_has(&format!("oore webhook show {event}"));

    // A new push to it waits again; without --as the approver is $USER.
    let synchronized = github_delivery(
        &id,
        SECRET,
        "pull_request",
        &new_delivery_id(),
        &fork_pull_request(
            "pull_request.synchronize.json",
            "3f9a2c1b0e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a",
        ),
    );
    assert_eq!(synchronized.send(&server.url()).status, 202);
    wait_all_processed(&server);
    let page: WebhookListResponse = cli
        .run(&["webhook", "list", "--status", "awaiting_approval", "--json"])
        .ok()
        .json();
    assert_eq!(page.events.len(), 1, "the new push waits");
    cli.env("USER", "carol");
    let approved: WebhookEventDto = cli
        .run(&["webhook", "approve", &page.events[0].id, "--json"])
        .ok()
        .json();
    assert_eq!(approved.approved_by.as_deref(), Some("carol"));

    cli.run(&["repo", "update", &id, "--fork-pull-requests", "sometimes"])
        .code(1)
        .stderr_has("fork_pull_requests (--fork-pull-requests):")
        .stderr_has("expected never, approve or always");

    // A request to a repository that does not exist is only counted.
    let nowhere = github_delivery(
        "01JD0000000000000000000000",
        SECRET,
        "push",
        &new_delivery_id(),
        b"{}",
    );
    assert_eq!(nowhere.send(&server.url()).status, 401);
    cli.run(&["webhook", "refusals"])
        .ok()
        .stdout_has("SOURCE")
        .stdout_has("127.0.0.1")
        .stdout_has("unknown_repository 1")
        .stdout_has("/api/webhooks/github/01JD0000000000000000000000")
        .stdout_has("these requests were not stored");
}
