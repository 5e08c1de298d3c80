//! `oore github ...` end to end: the real `oore` binary, the real service
//! (`TestServer`) and the fake GitHub, the test playing the browser.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::Child;
use std::time::{Duration, Instant};

use oore_core::api::{GitHubInstallationListResponse, GitHubSyncResponse, RepositoryListResponse};
use oore_testkit::TestServer;
use oore_testkit::github::{Failure, FakeGitHub, browser, keys};

use crate::support::Cli;

fn server_for(fake: &FakeGitHub) -> TestServer {
    TestServer::builder()
        .env("OORE_GITHUB_URL", &fake.url())
        .env("OORE_GITHUB_API_URL", &fake.api_url())
        .start()
}

/// Reads the child's stdout until a line holds the setup page's URL.
fn setup_url(child: &mut Child) -> (String, Vec<String>) {
    let stdout = child.stdout.as_mut().expect("stdout piped");
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stdout);
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read oore's output");
        assert!(n > 0, "oore ended before printing the setup URL: {lines:?}");
        lines.push(line.clone());
        if let Some(url) = line.trim().strip_prefix("http")
            && line.contains("/setup/github?state=")
        {
            return (format!("http{url}"), lines);
        }
    }
}

/// Waits for `oore` to exit (within a deadline); its exit code and the rest of stdout
/// and stderr.
fn finish(mut child: Child) -> (i32, String, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code().unwrap_or(-1), out, err);
        }
        assert!(Instant::now() < deadline, "oore github setup did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `oore github setup --no-browser`, the browser played by the test.
fn setup(cli: &Cli) {
    let mut child = cli.spawn(&["github", "setup", "--no-browser"]);
    let (url, _) = setup_url(&mut child);
    let (_, callback) = browser::complete_setup(&url);
    assert_eq!(callback.status, 303, "{}", callback.text());
    let (code, out, err) = finish(child);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("GitHub App created successfully"), "{out}");
    assert!(out.contains("/installations/new"), "{out}");
    assert!(
        err.contains("loopback"),
        "the unreachable base URL is warned about: {err}"
    );
}

fn repo_count(cli: &Cli, state: &str) -> usize {
    cli.run(&["repo", "list", "--state", state, "--json"])
        .ok()
        .json::<RepositoryListResponse>()
        .repositories
        .len()
}

#[test]
fn setup_then_sync_150_repositories_over_two_pages_and_list_installations() {
    let fake = FakeGitHub::builder()
        .installation(7, "acme", 150)
        .installation(8, "beta", 3)
        .start();
    let server = server_for(&fake);
    let cli = Cli::new();
    cli.init(&server);
    cli.run(&["setup"])
        .ok()
        .stdout_has("GitHub App:    – not configured (optional)");
    setup(&cli);
    cli.run(&["setup"])
        .ok()
        .stdout_has("GitHub App:    ✓ connected (");
    cli.run(&["github", "setup", "--no-browser"])
        .ok()
        .stdout_has("--force");

    // The first listing hits the rate limit; the sync waits for the reset.
    fake.fail(
        "GET",
        "/app/installations",
        Failure::RateLimited { reset_in: 1 },
        1,
    );
    let run = cli.run(&["github", "sync"]).ok();
    assert!(run.stdout.contains("synced"), "{run}");
    let report: GitHubSyncResponse = cli.run(&["github", "sync", "--json"]).ok().json();
    let totals: Vec<(u64, u32)> = report
        .installations
        .iter()
        .map(|i| (i.id, i.total))
        .collect();
    assert_eq!(totals, [(7, 150), (8, 3)]);
    assert_eq!(repo_count(&cli, "active"), 153);
    let pages = fake
        .calls_to("GET", "/installation/repositories")
        .into_iter()
        .filter(|c| c.status == 200)
        .count();
    assert_eq!(
        pages,
        2 * 3,
        "two pages for 150, one for 3; three syncs... {pages}"
    );
    assert_eq!(
        fake.calls_to("GET", "/app/installations").len(),
        3,
        "one retried after the reset"
    );
    // Tokens were cached: one mint per installation.
    assert_eq!(
        fake.calls_to("POST", "/app/installations/").len(),
        2,
        "installation tokens are reused"
    );

    let installs: GitHubInstallationListResponse =
        cli.run(&["github", "installations", "--json"]).ok().json();
    let counts: Vec<(String, u32)> = installs
        .installations
        .iter()
        .map(|i| (i.account.clone(), i.repository_count))
        .collect();
    assert_eq!(counts, [("acme".to_owned(), 150), ("beta".to_owned(), 3)]);
    cli.run(&["github", "installations"])
        .ok()
        .stdout_has("ACCOUNT")
        .stdout_has("acme");
    cli.run(&["github", "status"])
        .ok()
        .stdout_has("installations")
        .stdout_has("beta");

    // A repository removed from the installation is deactivated; --installation syncs one.
    fake.update_installation(8, |i| {
        i.repos.pop();
    });
    let run = cli.run(&["github", "sync", "--installation", "8"]).ok();
    assert!(run.stdout.contains("beta"), "{run}");
    assert_eq!(repo_count(&cli, "inactive"), 1);
    cli.run(&["github", "sync", "--installation", "99"])
        .code(1)
        .stderr_has("oore github installations");
}

#[test]
fn revoked_and_suspended_installations_get_a_clear_state() {
    let fake = FakeGitHub::builder()
        .installation(7, "acme", 2)
        .installation(8, "beta", 2)
        .installation(9, "gamma", 2)
        .start();
    let server = server_for(&fake);
    let cli = Cli::new();
    cli.init(&server);
    setup(&cli);
    cli.run(&["github", "sync"]).ok();
    assert_eq!(repo_count(&cli, "active"), 6);

    fake.update_installation(7, |i| i.suspended = true);
    fake.uninstall(8);
    // 9's token is refused: revoked by GitHub while still listed.
    fake.fail(
        "POST",
        "/app/installations/9/access_tokens",
        Failure::Status {
            status: 404,
            message: "Not Found".into(),
        },
        1,
    );
    // The cached token of 9 is still valid here, so revoke its listing too.
    fake.fail(
        "GET",
        "/installation/repositories",
        Failure::Status {
            status: 401,
            message: "Bad credentials".into(),
        },
        1,
    );
    let run = cli.run(&["github", "sync"]).ok();
    assert!(run.stdout.contains("suspended"), "{run}");
    assert!(run.stdout.contains("revoked"), "{run}");
    assert!(run.stdout.contains("unsuspend"), "{run}");
    let installs: GitHubInstallationListResponse =
        cli.run(&["github", "installations", "--json"]).ok().json();
    let states: Vec<(u64, String)> = installs
        .installations
        .iter()
        .map(|i| (i.id, i.state.to_string()))
        .collect();
    assert_eq!(
        states,
        [
            (7, "suspended".to_owned()),
            (8, "revoked".to_owned()),
            (9, "revoked".to_owned())
        ]
    );
    assert_eq!(
        repo_count(&cli, "inactive"),
        4,
        "the revoked ones' repositories"
    );
    // The server is fine: health and a second sync.
    cli.run(&["health"]).ok();
    cli.run(&["github", "sync"]).ok();
}

#[test]
fn key_rotation_is_checked_with_github_before_it_replaces_the_key() {
    let fake = FakeGitHub::builder().installation(7, "acme", 1).start();
    let server = server_for(&fake);
    let cli = Cli::new();
    cli.init(&server);
    cli.run(&["github", "key", "--file", "/nonexistent.pem"])
        .code(1)
        .stderr_has("--file");
    setup(&cli);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    cli.run(&["github", "key", "--file", &write("junk.pem", "not a key")])
        .code(1)
        .stderr_has("not a usable GitHub App private key");
    cli.run(&[
        "github",
        "key",
        "--file",
        &write("other.pem", keys::OTHER_KEY),
    ])
    .code(1)
    .stderr_has("stored key was kept");
    // A new key generated on GitHub, then the old one deleted there.
    fake.add_app_key(keys::APP_KEY_2);
    cli.run(&[
        "github",
        "key",
        "--file",
        &write("new.pem", keys::APP_KEY_2_PKCS8),
    ])
    .ok()
    .stdout_has("replaced");
    fake.remove_app_key(keys::APP_KEY_1);
    cli.run(&["github", "sync"]).ok().stdout_has("synced");
}

#[test]
fn a_headless_machine_finishes_with_the_callback_command_and_remove_forgets_the_app() {
    let fake = FakeGitHub::builder().installation(7, "acme", 2).start();
    let server = server_for(&fake);
    let cli = Cli::new();
    cli.init(&server);
    let started = server.send(
        "POST",
        "/api/github/setup",
        Some(&serde_json::json!({"name": "Headless CI"})),
    );
    assert_eq!(started.status, 201);
    let url = started.json()["setup_url"].as_str().unwrap().to_owned();
    let visit = browser::create_app(&url);
    cli.run(&["github", "callback", &visit.callback_url])
        .ok()
        .stdout_has("GitHub App created successfully: Headless CI (headless-ci)")
        .stdout_has("/apps/headless-ci/installations/new");
    cli.run(&["github", "callback", &visit.callback_url])
        .code(1)
        .stderr_has("used already");
    cli.run(&[
        "github",
        "callback",
        "https://ci.example.com/setup/github/callback?code=x",
    ])
    .code(1)
    .stderr_has("has no state");
    cli.run(&["github", "sync"]).ok();
    cli.run(&["github", "remove"]).code(1).stderr_has("--yes");
    cli.run(&["github", "remove", "--yes"])
        .ok()
        .stdout_has("2 repositories deactivated");
    cli.run(&["github", "status"])
        .ok()
        .stdout_has("not configured");
    cli.run(&["github", "remove", "--yes"])
        .code(1)
        .stderr_has("nothing to remove");
}

#[test]
fn a_setup_whose_code_expired_fails_saying_how_to_retry() {
    let fake = FakeGitHub::start();
    let server = server_for(&fake);
    let cli = Cli::new();
    cli.init(&server);
    let mut child = cli.spawn(&["github", "setup", "--no-browser"]);
    let (url, _) = setup_url(&mut child);
    let visit = browser::create_app(&url);
    // Over an hour between "Create GitHub App" and the callback: GitHub forgot the code.
    fake.advance(3601);
    let callback = oore_testkit::http::get(&visit.callback_url, None);
    assert_eq!(callback.status, 400, "{}", callback.text());
    assert!(callback.text().contains("oore github setup"));
    let (code, out, err) = finish(child);
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("GitHub refused the code"), "{err}");
    assert!(
        err.contains("start again with `oore github setup`"),
        "{err}"
    );
    cli.run(&["setup"])
        .ok()
        .stdout_has("GitHub App:    – not configured (optional)");
}
