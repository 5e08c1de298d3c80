//! Repositories on the server's machine: the default branch read from the repository's
//! `HEAD`, and relative paths resolved where `oore` runs (only when the server runs
//! there too).

use oore_core::api::{BuildDto, RepositoryDto};
use oore_testkit::TestServer;
use oore_testkit::git::GitFixture;

use crate::support::Cli;

const PIPELINE: &str = "workflows:\n  ci:\n    scripts:\n      - name: Branch\n        script: echo \"on $OORE_BRANCH\"\n";

/// A repository whose only branch, and `HEAD`, is `master`.
fn master_repository() -> GitFixture {
    let source = GitFixture::new();
    source.write("oore.yaml", PIPELINE);
    source.commit("pipeline");
    source.git(&["branch", "-m", "main", "master"]);
    source
}

fn setup() -> (TestServer, Cli) {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    (server, cli)
}

fn add(cli: &Cli, clone_url: &str) -> crate::support::Run {
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
        clone_url,
        "--json",
    ])
}

#[test]
fn a_local_repository_on_master_is_added_with_master_and_its_first_build_works() {
    let (_server, cli) = setup();
    let source = master_repository();
    for url in [source.path().display().to_string(), source.url()] {
        let repo: RepositoryDto = add(&cli, &url).ok().json();
        assert_eq!(repo.default_branch, "master", "{url}");
        let build: BuildDto = cli
            .run(&["build", "trigger", "me/app", "--wait", "--json"])
            .ok()
            .json();
        assert_eq!(build.branch.as_deref(), Some("master"));
        cli.run(&["repo", "remove", "me/app", "--yes"]).ok();
    }
    // A branch given explicitly wins.
    let repo: RepositoryDto = cli
        .run(&[
            "repo",
            "add",
            "--provider",
            "git",
            "--owner",
            "me",
            "--repo",
            "app",
            "--clone-url",
            &source.url(),
            "--default-branch",
            "develop",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(repo.default_branch, "develop");
}

#[test]
fn a_path_that_is_not_a_repository_is_refused_with_the_way_around_it() {
    let (_server, cli) = setup();
    let empty = tempfile::tempdir().unwrap();
    for url in [
        "/nonexistent/oore/app".to_owned(),
        empty.path().display().to_string(),
    ] {
        add(&cli, &url)
            .code(1)
            .stderr_has("clone_url (--clone-url)")
            .stderr_has("--default-branch");
    }
    cli.run(&["repo", "list", "--json"]).ok().stdout_has("[]");
}

#[test]
fn relative_paths_are_resolved_here_when_the_server_runs_here() {
    let (_server, cli) = setup();
    let source = master_repository();
    // `oore` runs in the sandbox's directory: reach the fixture from there.
    let depth = cli.work_dir().components().count() - 1;
    let relative = format!(
        "{}{}",
        "../".repeat(depth),
        source.path().display().to_string().trim_start_matches('/')
    );
    let repo: RepositoryDto = add(&cli, &relative).ok().json();
    let canonical = source.path().canonicalize().unwrap();
    assert_eq!(repo.clone_url, canonical.display().to_string());
    assert_eq!(repo.default_branch, "master");

    add(&cli, "./no-such-dir")
        .code(1)
        .stderr_has("is not a directory here");
}

#[test]
fn relative_paths_are_refused_for_a_server_on_another_machine() {
    let cli = Cli::new();
    cli.run(&[
        "--server",
        "http://ci.example.invalid:8080",
        "--token",
        "t0ken",
        "repo",
        "add",
        "--provider",
        "git",
        "--owner",
        "me",
        "--repo",
        "app",
        "--clone-url",
        "./app",
    ])
    .code(1)
    .stderr_has(
        "is a relative path, but the server (http://ci.example.invalid:8080) is on another machine",
    );
}
