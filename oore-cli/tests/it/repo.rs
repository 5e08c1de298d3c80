//! `oore repo ...` against a real server: the whole lifecycle, unicode names, JSON output
//! and the ways of passing a webhook secret.

use oore_core::api::{RepositoryDto, RepositoryListResponse, WebhookUrlResponse};
use oore_testkit::TestServer;
use serde_json::Value;

use crate::support::Cli;

fn setup() -> (TestServer, Cli) {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    (server, cli)
}

#[test]
fn repository_lifecycle() {
    let (_server, cli) = setup();
    cli.run(&["repo", "list"])
        .ok()
        .stdout_has("no repositories yet");

    let added = cli
        .run(&[
            "repo",
            "add",
            "--provider",
            "github",
            "--owner",
            "acme",
            "--repo",
            "app",
        ])
        .ok()
        .stdout_has("added repository acme/app")
        .stdout_has("pending_setup")
        .stdout_has("oore repo webhook-url");
    let id = added
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("id:"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| panic!("no id line\n{added}"));

    cli.run(&["repo", "list"])
        .ok()
        .stdout_has(&id)
        .stdout_has("acme/app")
        .stdout_has("ID  ");
    cli.run(&["repo", "show", &id])
        .ok()
        .stdout_has("default branch:     main");

    let webhook = cli
        .run(&["repo", "webhook-url", &id])
        .ok()
        .stdout_has("http://")
        .stdout_has("not configured");
    let hook: WebhookUrlResponse = cli.run(&["repo", "webhook-url", &id, "--json"]).ok().json();
    assert!(webhook.stdout.contains(&hook.url), "{webhook}");
    assert_eq!(hook.repository_id, id);

    let updated: RepositoryDto = cli
        .run_with_stdin(
            &[
                "repo",
                "update",
                &id,
                "--default-branch",
                "develop",
                "--webhook-secret-stdin",
                "--json",
            ],
            "hook-secret\n",
        )
        .ok()
        .json();
    assert_eq!(updated.default_branch, "develop");
    assert!(updated.webhook_secret_configured);
    assert_eq!(
        updated.state, "active",
        "setting a secret activates a pending repository"
    );

    cli.run(&["repo", "deactivate", &id])
        .ok()
        .stdout_has("is now inactive");
    cli.run(&["repo", "list", "--state", "inactive"])
        .ok()
        .stdout_has(&id);
    cli.run(&["repo", "list", "--state", "active"])
        .ok()
        .stdout_has("no repositories match");
    let active: RepositoryDto = cli.run(&["repo", "activate", &id, "--json"]).ok().json();
    assert_eq!(active.state, "active");

    cli.run(&["repo", "update", &id, "--clear-webhook-secret"])
        .ok()
        .stdout_has("webhook secret:     not configured");

    cli.run(&["repo", "remove", &id])
        .code(1)
        .stderr_has("there is no terminal to confirm on; pass --yes");
    cli.run(&["repo", "show", &id]).ok();
    cli.run(&["repo", "remove", &id, "--yes"])
        .ok()
        .stdout_has(&format!("removed repository acme/app ({id})"));
    cli.run(&["repo", "show", &id])
        .code(1)
        .stderr_has("not found")
        .stderr_has("`oore repo list`");
    cli.run(&["repo", "list"])
        .ok()
        .stdout_has("no repositories yet");
}

#[test]
fn unicode_names_are_listed_aligned() {
    let (_server, cli) = setup();
    for (owner, name) in [("東京", "アプリ"), ("café", "🚀rocket"), ("acme", "app")] {
        cli.run(&[
            "repo",
            "add",
            "--provider",
            "git",
            "--owner",
            owner,
            "--repo",
            name,
            "--clone-url",
            "https://git.example/x.git",
        ])
        .ok();
    }
    let run = cli
        .run(&["repo", "list"])
        .ok()
        .stdout_has("東京/アプリ")
        .stdout_has("café/🚀rocket");
    // Every row's PROVIDER column starts at the same display column.
    let columns: Vec<usize> = run
        .stdout
        .lines()
        .map(|line| {
            let idx = line.find("git").or_else(|| line.find("PROVIDER")).unwrap();
            unicode_width::UnicodeWidthStr::width(&line[..idx])
        })
        .collect();
    assert!(
        columns.windows(2).all(|w| w[0] == w[1]),
        "{columns:?}\n{run}"
    );

    let list: RepositoryListResponse = cli.run(&["repo", "list", "--json"]).ok().json();
    assert!(
        list.repositories
            .iter()
            .any(|r| r.full_name == "東京/アプリ")
    );
}

#[test]
fn json_output_is_the_api_json() {
    let (_server, cli) = setup();
    let repo: RepositoryDto = cli
        .run(&[
            "--json",
            "repo",
            "add",
            "--provider",
            "gitlab",
            "--owner",
            "group/sub",
            "--repo",
            "app",
        ])
        .ok()
        .json();
    assert_eq!(repo.full_name, "group/sub/app");
    let shown: RepositoryDto = cli.run(&["repo", "show", &repo.id, "--json"]).ok().json();
    assert_eq!(shown, repo);
    let list: RepositoryListResponse = cli
        .run(&["repo", "list", "--provider", "gitlab", "--json"])
        .ok()
        .json();
    assert_eq!(list.repositories, vec![repo.clone()]);
    let empty: RepositoryListResponse = cli
        .run(&["repo", "list", "--provider", "github", "--json"])
        .ok()
        .json();
    assert!(empty.repositories.is_empty());
    let removed: Value = cli
        .run(&["repo", "remove", &repo.id, "--yes", "--json"])
        .ok()
        .json();
    assert_eq!(removed["removed"], true);
    assert_eq!(removed["id"], repo.id.as_str());
}

#[test]
fn webhook_secret_from_flag_stdin_or_env() {
    let (_server, mut cli) = setup();
    let add = |cli: &Cli, owner: &str, extra: &[&str], stdin: &str| -> RepositoryDto {
        let mut args = vec![
            "repo",
            "add",
            "--provider",
            "github",
            "--owner",
            owner,
            "--repo",
            "app",
            "--json",
        ];
        args.extend_from_slice(extra);
        cli.run_with_stdin(&args, stdin).ok().json()
    };
    assert!(add(&cli, "flag", &["--webhook-secret", "s1"], "").webhook_secret_configured);
    assert!(add(&cli, "stdin", &["--webhook-secret-stdin"], "s2\n").webhook_secret_configured);
    assert!(!add(&cli, "none", &[], "").webhook_secret_configured);
    cli.env("OORE_WEBHOOK_SECRET", "s3");
    let from_env = add(&cli, "env", &[], "");
    assert!(from_env.webhook_secret_configured);
    assert_eq!(from_env.state, "active");

    cli.run(&[
        "repo",
        "add",
        "--provider",
        "github",
        "--owner",
        "x",
        "--repo",
        "y",
        "--webhook-secret-stdin",
    ])
    .code(1)
    .stderr_has("standard input is empty");
}

#[test]
fn build_concurrency_is_set_on_add_and_update() {
    let (_server, cli) = setup();
    let repo: RepositoryDto = cli
        .run(&[
            "repo",
            "add",
            "--provider",
            "github",
            "--owner",
            "acme",
            "--repo",
            "app",
            "--build-concurrency",
            "serial",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(repo.build_concurrency, "serial");
    cli.run(&["repo", "show", &repo.id])
        .ok()
        .stdout_has("build concurrency:  serial");
    let updated: RepositoryDto = cli
        .run(&[
            "repo",
            "update",
            &repo.id,
            "--build-concurrency",
            "parallel",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(updated.build_concurrency, "parallel");
    cli.run(&[
        "repo",
        "update",
        &repo.id,
        "--build-concurrency",
        "sometimes",
    ])
    .code(1)
    .stderr_has("build_concurrency (--build-concurrency):");
}
