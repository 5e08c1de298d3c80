//! Naming repositories and builds the way the lists show them: `owner/name`, the short
//! id (the id's last 8 characters), `owner/name#NUMBER`; ambiguous names across
//! providers; and manual builds of a repository still pending setup.

use oore_core::api::{BuildDto, BuildListResponse, RepositoryDto};
use oore_testkit::TestServer;
use oore_testkit::git::GitFixture;

use crate::support::Cli;

const PIPELINE: &str = "workflows:\n  ci:\n    scripts:\n      - name: Greet\n        script: echo \"hello from $OORE_BUILD_NUMBER\"\n";

/// A server, a configured CLI and a local repository holding [`PIPELINE`].
fn setup() -> (TestServer, Cli, GitFixture) {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let source = GitFixture::new();
    source.write("oore.yaml", PIPELINE);
    source.commit("pipeline");
    (server, cli, source)
}

fn add(cli: &Cli, provider: &str, owner: &str, name: &str, url: &str) -> RepositoryDto {
    cli.run(&[
        "repo",
        "add",
        "--provider",
        provider,
        "--owner",
        owner,
        "--repo",
        name,
        "--clone-url",
        url,
        "--json",
    ])
    .ok()
    .json()
}

fn short(id: &str) -> &str {
    &id[id.len() - 8..]
}

#[test]
fn repositories_and_builds_are_named_as_the_lists_show_them() {
    let (_server, cli, source) = setup();
    let repo = add(&cli, "git", "me", "app1", &source.url());

    // owner/name, case-insensitively.
    let build: BuildDto = cli
        .run(&["build", "trigger", "ME/app1", "--wait", "--json"])
        .ok()
        .json();
    assert_eq!(build.status, "success");
    assert_eq!(build.repository_id, repo.id);

    // The short id `repo list` prints, and owner/name in every repository command.
    cli.run(&["repo", "list"]).ok().stdout_has(&repo.id);
    cli.run(&["repo", "show", short(&repo.id)])
        .ok()
        .stdout_has("me/app1");
    cli.run(&["repo", "show", &short(&repo.id).to_lowercase()])
        .ok()
        .stdout_has("me/app1");
    cli.run(&["pipeline", "history", "me/app1"]).ok();
    let page: BuildListResponse = cli
        .run(&["build", "list", "--repo", "me/app1", "--json"])
        .ok()
        .json();
    assert_eq!(page.builds.len(), 1);
    let page: BuildListResponse = cli
        .run(&["build", "list", "--repo", short(&repo.id), "--json"])
        .ok()
        .json();
    assert_eq!(page.builds.len(), 1);

    // Builds by owner/name#NUMBER, by short id, and with a short repository id.
    for reference in [
        "me/app1#1".to_owned(),
        short(&build.id).to_owned(),
        format!("{}#1", short(&repo.id)),
    ] {
        let shown: BuildDto = cli
            .run(&["build", "show", &reference, "--json"])
            .ok()
            .json();
        assert_eq!(shown.id, build.id, "{reference}");
    }
    cli.run(&["build", "logs", "me/app1#1"])
        .ok()
        .stdout_has("hello from 1");
    cli.run(&["build", "show", "me/app1#2"])
        .code(1)
        .stderr_has("repository me/app1 has no build #2");
    cli.run(&["build", "show", "me/app1#x"])
        .code(1)
        .stderr_has("has no build number after '#'");
    cli.run(&["repo", "show", "me/none"])
        .code(1)
        .stderr_has("no repository is named me/none");
}

#[test]
fn a_name_on_two_providers_is_ambiguous_and_the_error_lists_both() {
    let (_server, cli, source) = setup();
    let github = add(&cli, "github", "Acme", "App", &source.url());
    let gitlab = add(&cli, "gitlab", "acme", "app", &source.url());
    let run = cli.run(&["repo", "show", "acme/app"]).code(1);
    let run = run
        .stderr_has("'acme/app' matches 2 repositories")
        .stderr_has(&format!("github Acme/App ({})", github.id))
        .stderr_has(&format!("gitlab acme/app ({})", gitlab.id));
    assert!(!run.stderr.contains("panicked"), "{run}");
    // Either id still names one.
    cli.run(&["repo", "show", short(&gitlab.id)])
        .ok()
        .stdout_has("gitlab");
}

#[test]
fn a_repository_pending_setup_can_be_built_by_hand_and_the_hints_do_not_loop() {
    let (_server, cli, source) = setup();
    let repo = add(&cli, "github", "me", "app1", &source.url());
    assert_eq!(repo.state, "pending_setup");
    let build: BuildDto = cli
        .run(&["build", "trigger", "me/app1", "--wait", "--json"])
        .ok()
        .json();
    assert_eq!(build.status, "success");

    // Activating it without a secret says how to set one, not to activate it.
    cli.run(&["repo", "activate", "me/app1"])
        .code(1)
        .stderr_has("builds by hand already work")
        .stderr_has("oore repo update");
    // Paused, then activated again without a secret: pending setup, buildable by hand.
    cli.run(&["repo", "deactivate", "me/app1"]).ok();
    cli.run(&["build", "trigger", "me/app1"])
        .code(1)
        .stderr_has("oore repo activate");
    cli.run(&["repo", "activate", "me/app1"])
        .ok()
        .stdout_has("pending_setup");
    cli.run(&["build", "trigger", "me/app1"])
        .ok()
        .stdout_has("queued");
}

#[test]
fn removing_a_repository_asks_and_says_what_becomes_of_its_running_builds() {
    let (_server, cli, source) = setup();
    source.write(
        "oore.yaml",
        "workflows:\n  ci:\n    scripts:\n      - name: Wait\n        script: sleep 60\n",
    );
    source.commit("slow");
    add(&cli, "git", "me", "slow", &source.url());
    cli.run(&["build", "trigger", "me/slow"]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let build: BuildDto = cli
            .run(&["build", "show", "me/slow#1", "--json"])
            .ok()
            .json();
        if build.status == "running" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never started: {build:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    cli.run(&["repo", "remove", "me/slow"])
        .code(1)
        .stderr_has("not removing repository me/slow")
        .stderr_has("pass --yes")
        .stderr_has("1 running build will run to the end");
    cli.run(&["repo", "remove", "me/slow", "--yes"])
        .ok()
        .stdout_has("removed repository me/slow")
        .stdout_has("1 running build will run to the end (stop it with `oore build cancel ID`)");
    // Its builds stay reachable by id for the cancel the message suggests.
    let build: BuildDto = cli
        .run(&["build", "list", "--json"])
        .ok()
        .json::<BuildListResponse>()
        .builds
        .remove(0);
    cli.run(&["build", "cancel", &build.id]).ok();
}

#[test]
fn long_branch_names_are_cut_to_the_terminal_width_unless_wide() {
    let (server, mut cli, source) = setup();
    let branch = format!("feature/{}", "x".repeat(192));
    source.git(&["branch", &branch]);
    add(&cli, "git", "me", "app1", &source.url());
    cli.run(&["build", "trigger", "me/app1", "--branch", &branch, "--wait"])
        .ok();
    cli.env("COLUMNS", "100");
    let run = cli.run(&["build", "list"]).ok().stdout_has("…");
    for line in run.stdout.lines() {
        assert!(line.chars().count() <= 100, "{line:?}\n{run}");
    }
    cli.run(&["build", "list", "--wide"])
        .ok()
        .stdout_has(&branch);
    cli.run(&["--wide", "build", "list"])
        .ok()
        .stdout_has(&branch);
    // Not a terminal and no COLUMNS: nothing is cut.
    let plain = Cli::new();
    let url = server.url();
    plain
        .run(&[
            "--server",
            &url,
            "--token",
            server.admin_token(),
            "build",
            "list",
        ])
        .ok()
        .stdout_has(&branch);
}
