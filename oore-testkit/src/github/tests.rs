//! The fake against the real client (`oore_adapters::github::GitHubClient`), raw
//! requests for the gates, and plain `git clone` for the smart-HTTP endpoint.

use std::sync::Arc;
use std::time::Duration;

use oore_adapters::github::{GitHubClient, GitHubClientSettings};
use oore_adapters::http_client::{HttpsClient, HttpsConfig};
use oore_adapters::system::SystemClock;
use oore_core::domain::secret::SecretString;
use oore_core::forge::ForgeError;
use oore_core::github::ports::GitHubApi;
use oore_core::github::{AppAuth, manifest};

use super::*;
use crate::http::request;

fn client(fake: &FakeGitHub) -> GitHubClient {
    let mut settings = GitHubClientSettings::new(&fake.api_url());
    settings.backoff = Duration::from_millis(10);
    GitHubClient::new(
        HttpsClient::new(&HttpsConfig::new(None)).unwrap(),
        settings,
        Arc::new(SystemClock),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Posts a manifest the way the setup page's form does; returns the redirect location.
fn create_app(fake: &FakeGitHub, state: &str) -> String {
    let manifest = manifest("https://ci.example.com", "Oore CI");
    let body = serde_urlencoded::to_string([("manifest", manifest.to_string())]).unwrap();
    let response = request(
        "POST",
        &format!("{}/settings/apps/new?state={state}", fake.url()),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    )
    .unwrap();
    assert_eq!(response.status, 302, "{}", response.text());
    response.header("location").unwrap().to_owned()
}

fn code_of(location: &str) -> String {
    let query = location.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(k, _)| k == "code").unwrap().1
}

fn auth_for(rt: &tokio::runtime::Runtime, fake: &FakeGitHub) -> AppAuth {
    let code = code_of(&create_app(fake, "s1"));
    let created = rt.block_on(client(fake).convert_manifest(&code)).unwrap();
    AppAuth {
        app_id: created.app_id,
        client_id: created.client_id,
        private_key: created.pem,
    }
}

#[test]
fn the_manifest_flow_gives_a_single_use_code_and_a_working_key() {
    let fake = FakeGitHub::start();
    fake.expect("POST", "/app-manifests/");
    let rt = runtime();
    let location = create_app(&fake, "a%20b");
    assert!(
        location.starts_with("https://ci.example.com/setup/github/callback?code="),
        "{location}"
    );
    assert!(location.ends_with("&state=a%20b"), "{location}");
    let code = code_of(&location);
    let created = rt.block_on(client(&fake).convert_manifest(&code)).unwrap();
    assert!(
        created
            .pem
            .expose()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    assert_eq!(created.slug, "oore-ci");
    let again = rt
        .block_on(client(&fake).convert_manifest(&code))
        .unwrap_err();
    assert!(matches!(again, ForgeError::NotFound { .. }), "{again}");
    let auth = AppAuth {
        app_id: created.app_id,
        client_id: created.client_id.clone(),
        private_key: created.pem.clone(),
    };
    let app = rt.block_on(client(&fake).app(&auth)).unwrap();
    assert_eq!(app.app_id, created.app_id);
    // Another key is refused with GitHub's message.
    let other = AppAuth {
        private_key: SecretString::new(keys::OTHER_KEY),
        ..auth
    };
    let e = rt.block_on(client(&fake).app(&other)).unwrap_err();
    assert!(
        matches!(&e, ForgeError::Unauthorized { message } if message.contains("could not be decoded")),
        "{e}"
    );
}

#[test]
fn codes_expire_after_an_hour() {
    let fake = FakeGitHub::start();
    let code = code_of(&create_app(&fake, "s"));
    fake.advance(3601);
    let e = runtime()
        .block_on(client(&fake).convert_manifest(&code))
        .unwrap_err();
    assert!(matches!(e, ForgeError::NotFound { .. }), "{e}");
}

#[test]
fn the_gates_refuse_what_github_refuses() {
    let fake = FakeGitHub::start();
    let url = format!("{}/app", fake.api_url());
    let r = request("GET", &url, &[], None).unwrap();
    assert_eq!(r.status, 403);
    assert!(r.text().contains("User-Agent"));
    let r = request(
        "GET",
        &url,
        &[("User-Agent", "t"), ("X-GitHub-Api-Version", "1999-01-01")],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 400);
    let r = request(
        "GET",
        &url,
        &[
            ("User-Agent", "t"),
            ("X-GitHub-Api-Version", "2022-11-28"),
            ("Accept", "application/vnd.github+json"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-ratelimit-limit"), Some("5000"));
    assert!(r.header("x-ratelimit-reset").is_some());
    let body: serde_json::Value = r.json();
    assert_eq!(body["status"], "401");
}

#[test]
fn listings_page_with_link_and_tokens_are_per_installation() {
    let fake = FakeGitHub::builder()
        .installation(7, "acme", 150)
        .installation(8, "beta", 1)
        .start();
    let rt = runtime();
    let auth = auth_for(&rt, &fake);
    let c = client(&fake);
    let installs = rt.block_on(c.installations(&auth)).unwrap();
    assert_eq!(installs.len(), 2);
    let token = rt.block_on(c.create_installation_token(&auth, 7)).unwrap();
    let repos = rt
        .block_on(c.installation_repositories(&token.token))
        .unwrap();
    assert_eq!(repos.len(), 150);
    assert_eq!(repos[149].name, "repo-150");
    assert_eq!(
        fake.calls_to("GET", "/installation/repositories").len(),
        2,
        "two pages of 100"
    );
    // A JWT is not an installation token, and the other way round.
    let e = rt
        .block_on(c.installation_repositories(&SecretString::new("not-a-token")))
        .unwrap_err();
    assert!(matches!(e, ForgeError::Unauthorized { .. }), "{e}");
    // Suspended: 403; uninstalled: 404.
    fake.update_installation(8, |i| i.suspended = true);
    let e = rt
        .block_on(c.create_installation_token(&auth, 8))
        .unwrap_err();
    assert!(
        matches!(&e, ForgeError::Forbidden { message } if message.contains("suspended")),
        "{e}"
    );
    fake.uninstall(7);
    let e = rt
        .block_on(c.create_installation_token(&auth, 7))
        .unwrap_err();
    assert!(matches!(e, ForgeError::NotFound { .. }), "{e}");
    let e = rt
        .block_on(c.installation_repositories(&token.token))
        .unwrap_err();
    assert!(matches!(e, ForgeError::Unauthorized { .. }), "{e}");
}

#[test]
fn rate_limits_are_waited_out_and_clock_skew_is_re_minted() {
    let fake = FakeGitHub::builder().installation(7, "acme", 1).start();
    let rt = runtime();
    let auth = auth_for(&rt, &fake);
    let c = client(&fake);
    fake.fail(
        "GET",
        "/app/installations",
        Failure::RateLimited { reset_in: 1 },
        1,
    );
    let started = std::time::Instant::now();
    assert_eq!(rt.block_on(c.installations(&auth)).unwrap().len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(fake.calls_to("GET", "/app/installations").len(), 2);
    fake.fail("GET", "/app", Failure::RetryAfter { secs: 120 }, 1);
    let e = rt.block_on(c.app(&auth)).unwrap_err();
    assert!(
        matches!(e, ForgeError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(120)),
        "{e}"
    );
    fake.fail(
        "GET",
        "/app",
        Failure::Status {
            status: 502,
            message: "Server Error".into(),
        },
        1,
    );
    rt.block_on(c.app(&auth)).unwrap();
    // GitHub's clock 20 minutes ahead: the first JWT has expired by its clock.
    fake.advance(1200);
    rt.block_on(c.app(&auth)).unwrap();
    let refused = fake
        .calls_to("GET", "/app")
        .into_iter()
        .filter(|call| call.path == "/app" && call.status == 401)
        .count();
    assert_eq!(
        refused, 1,
        "one refusal, then a JWT minted at GitHub's Date"
    );
}

#[test]
fn git_clones_need_a_live_installation_token() {
    let fixture = crate::git::GitFixture::new();
    fixture.write("README", "hello");
    let sha = fixture.commit("first");
    let fake = FakeGitHub::builder().installation(7, "acme", 1).start();
    let rt = runtime();
    let _auth = auth_for(&rt, &fake);
    fake.serve_git("acme/repo-001", fixture.path());
    let token = fake.token_for(7);
    let dir = tempfile::tempdir().unwrap();
    let clone = |url: &str, into: &str| {
        std::process::Command::new("git")
            .args(["clone", "-q", url, into])
            .current_dir(dir.path())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap()
    };
    let host = fake.url().trim_start_matches("http://").to_owned();
    let ok = clone(
        &format!("http://x-access-token:{token}@{host}/acme/repo-001.git"),
        "ok",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir.path().join("ok"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&head.stdout).trim(), sha);
    let refused = clone(&format!("http://{host}/acme/repo-001.git"), "anonymous");
    assert!(!refused.status.success());
    let wrong = clone(
        &format!("http://x-access-token:ghs_wrong@{host}/acme/repo-001.git"),
        "wrong",
    );
    assert!(!wrong.status.success());
    fake.advance(3601);
    let expired = clone(
        &format!("http://x-access-token:{token}@{host}/acme/repo-001.git"),
        "expired",
    );
    assert!(!expired.status.success(), "an expired token is refused");
}

#[test]
fn an_expected_call_that_never_came_fails_the_test() {
    let fake = FakeGitHub::start();
    fake.expect("GET", "/app");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(fake)));
    let message = result.expect_err("the drop check fails");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("never came"), "{text}");
}

#[test]
fn check_runs_and_statuses_follow_githubs_rules() {
    let fake = FakeGitHub::builder().installation(7, "acme", 1).start();
    let rt = runtime();
    let _auth = auth_for(&rt, &fake);
    let token = fake.token_for(7);
    let bearer = format!("Bearer {token}");
    let call = |method: &str, path: &str, body: serde_json::Value| {
        request(
            method,
            &format!("{}{path}", fake.api_url()),
            &[
                ("User-Agent", "t"),
                ("Accept", "application/vnd.github+json"),
                ("X-GitHub-Api-Version", "2022-11-28"),
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            Some(body.to_string().as_bytes()),
        )
        .unwrap()
    };
    let runs = "/repos/acme/repo-001/check-runs";
    assert_eq!(
        call("POST", runs, serde_json::json!({"name": "oore"})).status,
        422
    );
    let created = call(
        "POST",
        runs,
        serde_json::json!({"name": "oore", "head_sha": "abc", "status": "queued"}),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_u64().unwrap();
    let run = format!("{runs}/{id}");
    assert_eq!(
        call("PATCH", &run, serde_json::json!({"status": "completed"})).status,
        422,
        "completed needs a conclusion"
    );
    assert_eq!(
        call("PATCH", &run, serde_json::json!({"output": {"title": "x"}})).status,
        422,
        "an output needs a title and a summary"
    );
    assert_eq!(
        call("PATCH", &run, serde_json::json!({"status": "in_progress"})).status,
        200
    );
    let done = call(
        "PATCH",
        &run,
        serde_json::json!({"conclusion": "success", "output": {"title": "ok", "summary": "all good"}}),
    );
    assert_eq!(
        done.json()["status"],
        "completed",
        "a conclusion completes the run"
    );
    assert_eq!(
        fake.check_runs()[0].statuses,
        ["queued", "in_progress", "completed"]
    );
    assert_eq!(
        call(
            "POST",
            "/repos/acme/other/check-runs",
            serde_json::json!({"name": "o", "head_sha": "a"})
        )
        .status,
        404,
        "a repository the installation does not cover is invisible"
    );
    let statuses = "/repos/acme/repo-001/statuses/abc";
    assert_eq!(
        call("POST", statuses, serde_json::json!({"state": "done"})).status,
        422
    );
    assert_eq!(
        call(
            "POST",
            statuses,
            serde_json::json!({"state": "success", "description": "x".repeat(141)})
        )
        .status,
        422
    );
    assert_eq!(
        call(
            "POST",
            statuses,
            serde_json::json!({"state": "pending", "context": "oore"})
        )
        .status,
        201
    );
    assert_eq!(fake.statuses().len(), 1);
    let malformed = request(
        "POST",
        &format!("{}{statuses}", fake.api_url()),
        &[
            ("User-Agent", "t"),
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
            ("Authorization", &bearer),
        ],
        Some(b"{not json"),
    )
    .unwrap();
    assert_eq!(malformed.status, 400);
    assert!(malformed.text().contains("Problems parsing JSON"));
}
