//! `oore config ...` and profile selection, against real servers.

use oore_core::api::RepositoryListResponse;
use oore_testkit::TestServer;
use serde_json::Value;

use crate::support::{Cli, dead_url};

#[test]
fn init_writes_a_private_file_and_show_masks_the_token() {
    let server = TestServer::start();
    let cli = Cli::new();
    let url = server.url().to_string();
    let token = server.admin_token().to_string();
    cli.run(&["config", "init", "--server", &url, "--token", &token])
        .ok()
        .stdout_has("created")
        .stdout_has("profile 'default'");

    let path = cli.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("%HUML v0.2.0\n"), "{text}");
    huml_rs::parse_huml(&text).expect("the config file is valid HUML");
    #[cfg(unix)]
    {
        assert_eq!(crate::support::mode(&path), 0o600);
        assert_eq!(crate::support::mode(path.parent().unwrap()), 0o700);
    }

    let show = cli.run(&["config", "show"]).ok();
    assert!(
        !show.stdout.contains(&token),
        "config show must not print the token\n{show}"
    );
    let show = show
        .stdout_has(&url)
        .stdout_has(&path.display().to_string())
        .stdout_has("…");

    let json: Value = cli.run(&["config", "show", "--json"]).ok().json();
    assert_eq!(json["server"], url.as_str());
    assert_eq!(json["profile"], "default");
    assert!(!json.to_string().contains(&token));
    drop(show);

    cli.run(&["config", "path"])
        .ok()
        .stdout_has(&path.display().to_string());
    let path_json: Value = cli.run(&["config", "path", "--json"]).ok().json();
    assert_eq!(path_json["exists"], true);

    // The configured profile works.
    cli.run(&["repo", "list"]).ok();
}

#[test]
fn init_refuses_to_replace_a_file_without_force() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let url = server.url().to_string();
    cli.run(&[
        "config",
        "init",
        "--server",
        &url,
        "--token",
        "another-token-value",
    ])
    .code(2)
    .stderr_has("already exists")
    .stderr_has("--force");
    cli.run(&[
        "config",
        "init",
        "--server",
        &url,
        "--token",
        "another-token-value",
        "--force",
    ])
    .ok()
    .stdout_has("replaced");
}

#[test]
fn default_config_path_is_under_home() {
    let server = TestServer::start();
    let cli = Cli::with_home_config();
    cli.init(&server);
    let expected = cli.home().join(".oore").join("config.huml");
    assert!(expected.exists());
    cli.run(&["config", "path"])
        .ok()
        .stdout_has(&expected.display().to_string());
    cli.run(&["health"]).ok();
}

#[test]
fn token_can_come_from_stdin() {
    let server = TestServer::start();
    let cli = Cli::new();
    let url = server.url().to_string();
    let token = format!("{}\n", server.admin_token());
    cli.run_with_stdin(
        &["config", "init", "--server", &url, "--token-stdin"],
        &token,
    )
    .ok();
    cli.run(&["setup"]).ok();
}

fn add_repo(server: &TestServer, cli: &Cli, owner: &str) {
    let url = server.url().to_string();
    let token = server.admin_token().to_string();
    cli.run(&[
        "--server",
        &url,
        "--admin-token",
        &token,
        "repo",
        "add",
        "--provider",
        "git",
        "--owner",
        owner,
        "--repo",
        "app",
        "--clone-url",
        "https://git.example/app.git",
    ])
    .ok();
}

fn names(cli: &Cli, args: &[&str]) -> Vec<String> {
    let list: RepositoryListResponse = cli.run(args).ok().json();
    list.repositories.into_iter().map(|r| r.full_name).collect()
}

#[test]
fn profiles_switch_between_servers() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let cli = Cli::new();
    cli.init(&a);
    add_repo(&a, &cli, "on-a");
    add_repo(&b, &cli, "on-b");

    let (b_url, b_token) = (b.url().to_string(), b.admin_token().to_string());
    cli.run(&[
        "config",
        "set",
        "--profile",
        "staging",
        "--server",
        &b_url,
        "--token",
        &b_token,
    ])
    .ok()
    .stdout_has("created profile 'staging'");

    assert_eq!(names(&cli, &["repo", "list", "--json"]), ["on-a/app"]);
    assert_eq!(
        names(&cli, &["--profile", "staging", "repo", "list", "--json"]),
        ["on-b/app"]
    );

    let profiles = cli.run(&["config", "profiles"]).ok();
    assert!(!profiles.stdout.contains(&b_token), "{profiles}");
    let default_line = profiles
        .stdout
        .lines()
        .find(|l| l.contains("default"))
        .unwrap()
        .to_owned();
    assert!(default_line.trim_start().starts_with('*'), "{profiles}");

    cli.run(&["config", "set", "--default", "staging"])
        .ok()
        .stdout_has("default profile is now 'staging'");
    assert_eq!(names(&cli, &["--json", "repo", "list"]), ["on-b/app"]);
    assert_eq!(
        names(&cli, &["--profile", "default", "repo", "list", "--json"]),
        ["on-a/app"]
    );

    let json: Value = cli.run(&["config", "profiles", "--json"]).ok().json();
    assert_eq!(json["default_profile"], "staging");

    // `config set --token` without --profile changes the default profile (now staging).
    cli.run(&["config", "set", "--token", "stale-token-value"])
        .ok()
        .stdout_has("updated profile 'staging'");
    cli.run(&["repo", "list"]).code(4);
}

#[test]
fn server_and_token_flags_work_without_a_config_file() {
    let server = TestServer::start();
    let cli = Cli::new();
    let url = server.url().to_string();
    let token = server.admin_token().to_string();
    cli.run(&["--server", &url, "--admin-token", &token, "repo", "list"])
        .ok();
    // `--token` is the same flag, as in the spec's examples.
    cli.run(&["--server", &url, "--token", &token, "setup", "--json"])
        .ok();
    // health and version need no token at all.
    cli.run(&["--server", &url, "health"]).ok();
    cli.run(&["--server", &url, "version"]).ok();
    assert!(
        !cli.config_path().exists(),
        "flags must not create a config file"
    );
}

#[test]
fn flags_override_the_profile() {
    let server = TestServer::start();
    let cli = Cli::new();
    let token = server.admin_token().to_string();
    // The profile points nowhere, with the right token.
    let dead = dead_url();
    cli.run(&["config", "init", "--server", &dead, "--token", &token])
        .ok();
    cli.run(&["repo", "list"]).code(3);
    let url = server.url().to_string();
    cli.run(&["--server", &url, "repo", "list"]).ok();
    // And a wrong token flag beats the right profile token.
    cli.run(&[
        "--server",
        &url,
        "--admin-token",
        "wrong-token-value",
        "repo",
        "list",
    ])
    .code(4)
    .stderr_has("--admin-token");
}
