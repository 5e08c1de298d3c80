//! `oore health`, `oore version` and `oore setup` against a real server.

use oore_core::api::{API_VERSION, HealthResponse, SetupStatusResponse};
use oore_testkit::TestServer;
use serde_json::Value;

use crate::support::{Cli, dead_url};

#[test]
fn health_shows_status_and_json_is_the_api_type() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    cli.run(&["health"])
        .ok()
        .stdout_has("status:")
        .stdout_has("healthy")
        .stdout_has("database:")
        .stdout_has("connected")
        .stdout_has("workers:");
    let health: HealthResponse = cli.run(&["health", "--json"]).ok().json();
    assert_eq!(health.status, "healthy");
    assert_eq!(health.database, "connected");
}

#[test]
fn version_compares_cli_and_server() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let cli_version = env!("CARGO_PKG_VERSION");
    cli.run(&["version"])
        .ok()
        .stdout_has(&format!(
            "CLI version:        {cli_version} (API {API_VERSION})"
        ))
        .stdout_has("Server version:")
        .stdout_has("API compatibility:  ✓");
    let json: Value = cli.run(&["version", "--json"]).ok().json();
    assert_eq!(json["cli"]["version"], cli_version);
    assert_eq!(json["server"]["api_version"], API_VERSION);
    assert_eq!(json["compatible"], true);
}

#[test]
fn version_without_a_server_prints_the_cli_version_and_fails() {
    let cli = Cli::new();
    let dead = dead_url();
    cli.run(&[
        "config",
        "init",
        "--server",
        &dead,
        "--token",
        "some-token-value",
    ])
    .ok();
    let run = cli
        .run(&["version"])
        .code(3)
        .stdout_has(&format!("CLI version:  {}", env!("CARGO_PKG_VERSION")))
        .stderr_has(&format!("cannot connect to {dead}"));
    assert!(!run.stdout.contains("Server version"), "{run}");

    let json: Value = cli.run(&["version", "--json"]).code(3).json();
    assert_eq!(json["server"], Value::Null);

    // Without any config the CLI version is still printed, then the config error.
    Cli::new()
        .run(&["version"])
        .code(2)
        .stdout_has("CLI version:")
        .stderr_has("no config file");
}

#[test]
fn setup_shows_a_checklist() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let run = cli.run(&["setup"]).ok();
    let status: SetupStatusResponse = cli.run(&["setup", "--json"]).ok().json();
    for item in &status.items {
        let mark = match (item.configured, item.key.is_optional()) {
            (true, _) => "✓",
            (false, true) => "–",
            (false, false) => "✗",
        };
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{}:", item.label)))
            .unwrap_or_else(|| panic!("no line for {}\n{run}", item.label));
        assert!(line.contains(mark), "{line}");
    }
    assert!(
        run.stdout.contains("setup complete") || run.stdout.contains("setup incomplete"),
        "{run}"
    );
}

#[test]
fn setup_is_complete_exactly_when_every_required_item_is_done_and_names_only_real_commands() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let fresh = cli
        .run(&["setup"])
        .ok()
        .stdout_has("setup incomplete: 1 required item left: Repositories");
    cli.run(&[
        "repo",
        "add",
        "--provider",
        "git",
        "--owner",
        "me",
        "--repo",
        "app",
        "--clone-url",
        "/srv/git/app",
        "--default-branch",
        "main",
    ])
    .ok();
    let done = cli.run(&["setup"]).ok().stdout_has("setup complete");
    let status: SetupStatusResponse = cli.run(&["setup", "--json"]).ok().json();
    assert!(status.complete);
    for run in [&fresh, &done] {
        // Optional items are never shown as missing, and no hint names a command that
        // does not exist.
        for line in run
            .stdout
            .lines()
            .filter(|l| l.starts_with("GitHub") || l.starts_with("GitLab"))
        {
            assert!(line.contains("–") && line.contains("optional"), "{line}");
        }
        // `oore github` exists (the GitHub App); `oore gitlab` does not yet.
        assert!(!run.stdout.contains("oore gitlab"), "{run}");
    }
    assert!(!done.stdout.contains("✗"), "{done}");
}
