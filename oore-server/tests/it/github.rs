//! The GitHub App end to end: the real service (`TestServer`) against the fake GitHub,
//! the test playing the browser. Setup through the pages, single-use and expiring
//! states, expired codes, escaping, secrets sealed at rest and absent from answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};
use oore_core::api::{
    GitHubSetupResponse, GitHubSetupStatusResponse, GitHubStatusResponse, SetupStatusResponse,
};
use oore_core::ports::Clock;
use oore_testkit::github::{FakeGitHub, browser};
use oore_testkit::http;
use oore_testkit::{TestServer, TestServerBuilder};
use serde_json::json;

/// The system clock moved by an offset the test sets.
#[derive(Default)]
struct OffsetClock(AtomicI64);

impl OffsetClock {
    fn advance(&self, by: SignedDuration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        let ms = now.as_millisecond() - now.as_millisecond() % 1000;
        Timestamp::from_millisecond(ms + self.0.load(Ordering::SeqCst) * 1000).unwrap_or(now)
    }
}

pub(crate) fn with_github(builder: TestServerBuilder, fake: &FakeGitHub) -> TestServerBuilder {
    builder
        .env("OORE_GITHUB_URL", &fake.url())
        .env("OORE_GITHUB_API_URL", &fake.api_url())
}

fn start_setup(server: &TestServer, body: serde_json::Value) -> GitHubSetupResponse {
    let response = server.send("POST", "/api/github/setup", Some(&body));
    assert_eq!(response.status, 201, "{}", response.text());
    response.json_as()
}

fn setup_status(server: &TestServer, state: &str) -> GitHubSetupStatusResponse {
    let response = server.get(&oore_core::api::paths::github_setup_status(state));
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as()
}

#[test]
fn setup_stores_the_app_sealed_and_its_links_work_once() {
    let fake = FakeGitHub::start();
    fake.expect("POST", "/app-manifests/");
    let server = with_github(TestServer::builder(), &fake).start();
    let started = start_setup(&server, json!({}));
    assert!(
        started
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("loopback") && w.contains("tunnel")),
        "{started:?}"
    );
    assert_eq!(setup_status(&server, &started.state).stage, "waiting");
    let (visit, callback) = browser::complete_setup(&started.setup_url);
    assert_eq!(
        visit.action,
        format!("{}/settings/apps/new?state={}", fake.url(), started.state)
    );
    assert_eq!(
        visit.manifest["redirect_url"],
        format!("{}/setup/github/callback", server.url())
    );
    assert_eq!(
        visit.manifest["hook_attributes"]["url"],
        format!("{}/api/webhooks/github", server.url())
    );
    assert_eq!(visit.manifest["default_permissions"]["checks"], "write");
    assert_eq!(callback.status, 303, "{}", callback.text());
    let (_, slug, _) = fake.app().expect("GitHub created the App");
    let install = format!("{}/apps/{slug}/installations/new", fake.url());
    assert_eq!(callback.header("location"), Some(install.as_str()));
    assert_eq!(http::get(&install, None).status, 200);

    let done = setup_status(&server, &started.state);
    assert_eq!(done.stage, "completed");
    assert_eq!(done.install_url.as_deref(), Some(install.as_str()));

    // The same callback again, and the page again: refused, escaped HTML, nothing changed.
    let again = http::get(&visit.callback_url, None);
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(
        again.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(again.text().contains("used already"), "{}", again.text());
    let page = http::get(&started.setup_url, None);
    assert_eq!(page.status, 409);
    let unknown = http::get(
        &format!("{}/setup/github/callback?code=x&state=nope", server.url()),
        None,
    );
    assert_eq!(unknown.status, 404);
    assert!(unknown.text().contains("oore github setup"));
    let no_state = http::get(&format!("{}/setup/github", server.url()), None);
    assert_eq!(no_state.status, 400);

    // Configured: a second setup needs force; the checklist shows it.
    let conflict = server.send("POST", "/api/github/setup", Some(&json!({})));
    assert_eq!(conflict.status, 409, "{}", conflict.text());
    assert!(conflict.text().contains("--force"));
    let checklist: SetupStatusResponse = server.get("/api/setup/status").json_as();
    let github = checklist.items.iter().find(|i| i.key == "github").unwrap();
    assert!(github.configured, "{github:?}");
    assert!(github.detail.contains(&slug), "{github:?}");

    // Secrets: sealed at rest, never in an answer.
    let status = server.get("/api/github/status");
    let status_body = status.text();
    let parsed: GitHubStatusResponse = status.json_as();
    assert!(parsed.app.unwrap().webhook_secret_configured);
    let secrets = fake.secrets();
    assert!(secrets.len() >= 3);
    let mut stored = Vec::new();
    for file in ["oore.db", "oore.db-wal"] {
        if let Ok(bytes) = std::fs::read(server.data_dir().join(file)) {
            stored.extend(bytes);
        }
    }
    let stored = String::from_utf8_lossy(&stored).into_owned();
    assert!(stored.contains(&slug), "the App row was written");
    for secret in &secrets {
        assert!(
            !stored.contains(secret.as_str()),
            "a secret is stored in plaintext"
        );
        for body in [
            &status_body,
            &callback.text(),
            &server.get("/api/github/installations").text(),
            &server
                .get(&oore_core::api::paths::github_setup_status(&started.state))
                .text(),
        ] {
            assert!(!body.contains(secret.as_str()), "a secret leaked: {body}");
        }
    }
}

#[test]
fn expired_states_and_codes_say_how_to_retry() {
    let fake = FakeGitHub::start();
    let clock = Arc::new(OffsetClock::default());
    let shared = Arc::clone(&clock);
    let server = with_github(TestServer::builder(), &fake)
        .services(move |mut s| {
            s.clock = shared;
            s
        })
        .start();
    // The state's 10 minutes pass before the browser comes back.
    let late = start_setup(&server, json!({}));
    let visit = browser::create_app(&late.setup_url);
    clock.advance(SignedDuration::from_mins(11));
    assert_eq!(setup_status(&server, &late.state).stage, "expired");
    let page = http::get(&late.setup_url, None);
    assert_eq!(page.status, 409);
    assert!(page.text().contains("expired"), "{}", page.text());
    let callback = http::get(&visit.callback_url, None);
    assert_eq!(callback.status, 409, "{}", callback.text());
    let status = setup_status(&server, &late.state);
    assert_eq!(status.stage, "failed");
    assert!(status.message.contains("oore github setup"), "{status:?}");
    assert!(
        fake.calls_to("POST", "/app-manifests/").is_empty(),
        "no code was exchanged"
    );

    // GitHub's code is older than an hour when the callback comes.
    let slow = start_setup(&server, json!({"name": "Oore <script>alert(1)</script>"}));
    let page = http::get(&slow.setup_url, None);
    assert!(!page.text().contains("<script>alert(1)"), "{}", page.text());
    assert!(page.text().contains("&lt;script&gt;alert(1)"));
    let visit = browser::create_app(&slow.setup_url);
    fake.advance(3601);
    let callback = http::get(&visit.callback_url, None);
    assert_eq!(callback.status, 400, "{}", callback.text());
    assert!(callback.text().contains("GitHub refused the code"));
    let status = setup_status(&server, &slow.state);
    assert_eq!(status.stage, "failed");
    let github: GitHubStatusResponse = server.get("/api/github/status").json_as();
    assert!(github.app.is_none(), "nothing stored");
}

#[test]
fn setup_requests_are_validated() {
    let fake = FakeGitHub::start();
    let server = with_github(TestServer::builder(), &fake).start();
    let bad = server.send(
        "POST",
        "/api/github/setup",
        Some(&json!({"org": "a b", "name": ""})),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    let fields: Vec<String> = bad.json()["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["org", "name"]);
    let missing = server.get("/api/github/setup/status");
    assert_eq!(missing.status, 400);
    let unknown = server.get(&oore_core::api::paths::github_setup_status("nope"));
    assert_eq!(unknown.status, 404);
    let sync = server.send("POST", "/api/github/sync", None);
    assert_eq!(sync.status, 404, "{}", sync.text());
    assert!(sync.text().contains("oore github setup"));
    let org = start_setup(&server, json!({"org": "acme"}));
    let visit = browser::create_app(&org.setup_url);
    assert!(
        visit
            .action
            .contains("/organizations/acme/settings/apps/new"),
        "{}",
        visit.action
    );
}

#[test]
fn a_callback_that_met_a_github_outage_can_be_reloaded() {
    let fake = FakeGitHub::start();
    let server = with_github(TestServer::builder(), &fake).start();
    let started = start_setup(&server, json!({}));
    let visit = browser::create_app(&started.setup_url);
    // GitHub answers 502 to the first attempt and both retries.
    fake.fail(
        "POST",
        "/app-manifests/",
        oore_testkit::github::Failure::Status {
            status: 502,
            message: "Server Error".into(),
        },
        3,
    );
    let failed = http::get(&visit.callback_url, None);
    assert_eq!(failed.status, 503, "{}", failed.text());
    assert!(
        failed.text().contains("reload the page"),
        "{}",
        failed.text()
    );
    assert_eq!(setup_status(&server, &started.state).stage, "waiting");
    let reloaded = http::get(&visit.callback_url, None);
    assert_eq!(reloaded.status, 303, "{}", reloaded.text());
    assert_eq!(setup_status(&server, &started.state).stage, "completed");
}
