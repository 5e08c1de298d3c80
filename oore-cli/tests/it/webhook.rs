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
