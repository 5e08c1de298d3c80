//! Every failure the spec lists ("By Error Condition", 9.3): the message, the hint, the
//! request id and the exit code.

use oore_testkit::TestServer;

use crate::support::{Cli, dead_url};

const MISSING_ULID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

#[test]
fn no_config_file() {
    let cli = Cli::new();
    let path = cli.config_path().display().to_string();
    cli.run(&["repo", "list"]).code(2).stderr_has(&format!(
        "no config file at {path}; run `oore config init --server URL --token TOKEN`"
    ));
    cli.run(&["config", "show"])
        .code(2)
        .stderr_has("no config file");
    cli.run(&["config", "profiles"])
        .code(2)
        .stderr_has("no config file");
}

#[test]
fn missing_profile() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let path = cli.config_path().display().to_string();
    cli.run(&["--profile", "prod", "repo", "list"]).code(2).stderr_has(&format!(
        "profile 'prod' not found in {path}; known profiles: default; create it with `oore config set --profile prod --server URL --token TOKEN`"
    ));
    cli.run(&["config", "set", "--default", "prod"])
        .code(2)
        .stderr_has("profile 'prod' not found");
    cli.run(&["config", "set", "--profile", "prod", "--token", "abc"])
        .code(2)
        .stderr_has("profile 'prod' not found");
}

#[test]
fn invalid_token() {
    let server = TestServer::start();
    let cli = Cli::new();
    let url = server.url().to_string();
    cli.run(&[
        "config",
        "init",
        "--server",
        &url,
        "--token",
        "not-the-admin-token",
    ])
    .ok();
    cli.run(&["repo", "list"])
        .code(4)
        .stderr_has(&format!(
            "error: invalid or expired admin token for {url}; update it with `oore config set --token TOKEN`"
        ))
        .stderr_has("request id: ");
    // Health and version are public: a bad token does not matter there.
    cli.run(&["health"]).ok();
}

#[test]
fn unreachable_server() {
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
    for args in [&["repo", "list"][..], &["health"], &["setup"]] {
        cli.run(args).code(3).stderr_has(&format!(
            "cannot connect to {dead}: connection refused; is oored running? check the URL with `oore config show`, then retry"
        ));
    }
}

#[test]
fn not_found_with_hint() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    for args in [
        &["repo", "show", MISSING_ULID][..],
        &["repo", "remove", MISSING_ULID],
        &["repo", "activate", MISSING_ULID],
        &["repo", "webhook-url", MISSING_ULID],
        &["repo", "update", MISSING_ULID, "--default-branch", "x"],
    ] {
        let run = cli
            .run(args)
            .code(1)
            .stderr_has("error: ")
            .stderr_has("request id: ");
        // The hint is printed unless the server's message already gives it.
        assert_eq!(run.stderr.matches("`oore repo list`").count(), 1, "{run}");
    }
    // A malformed reference says what is accepted and where to find one.
    cli.run(&["repo", "show", "not-an-id"])
        .code(1)
        .stderr_has("'not-an-id' is not a repository reference")
        .stderr_has("`oore repo list`");
}

#[test]
fn validation_errors_list_each_field() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let run = cli
        .run(&[
            "repo",
            "add",
            "--provider",
            "svn",
            "--owner",
            " ",
            "--repo",
            "a/b",
        ])
        .code(1)
        .stderr_has("error: ")
        .stderr_has("request id: ");
    let field_lines: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("  ")).collect();
    assert!(!field_lines.is_empty(), "{run}");
    assert!(field_lines.iter().any(|l| l.contains("provider")), "{run}");
    assert!(
        run.stderr.contains("(--repo)") || run.stderr.contains("(--owner)"),
        "{run}"
    );

    cli.run(&["repo", "list", "--state", "sleeping"])
        .code(1)
        .stderr_has("state");
}

#[test]
fn duplicate_is_a_conflict() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let args = [
        "repo",
        "add",
        "--provider",
        "github",
        "--owner",
        "acme",
        "--repo",
        "app",
    ];
    cli.run(&args).ok();
    let duplicate = [
        "repo",
        "add",
        "--provider",
        "github",
        "--owner",
        "ACME",
        "--repo",
        "App",
    ];
    let run = cli
        .run(&duplicate)
        .code(1)
        .stderr_has("already exists")
        .stderr_has("request id: ");
    assert_eq!(run.stderr.matches("`oore repo list`").count(), 1, "{run}");
}

#[test]
fn usage_errors_exit_1() {
    let cli = Cli::new();
    cli.run(&["repo"]).code(1);
    cli.run(&["--server", "localhost:8080", "health"])
        .code(1)
        .stderr_has("http://");
    cli.run(&[
        "repo",
        "update",
        MISSING_ULID,
        "--webhook-secret",
        "a",
        "--clear-webhook-secret",
    ])
    .code(1)
    .stderr_has("not both");
    cli.run(&["--admin-token", "aaaa", "--token", "bbbb", "health"])
        .code(1)
        .stderr_has("disagree");
    cli.run(&["--help"]).ok().stdout_has("Error codes:");
}

#[test]
fn invalid_config_file() {
    let cli = Cli::new();
    let path = cli.config_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "admin_token: secret-unquoted\n").unwrap();
    let run = cli.run(&["repo", "list"]).code(2).stderr_has("is invalid");
    assert!(!run.stderr.contains("secret-unquoted"), "{run}");
}
