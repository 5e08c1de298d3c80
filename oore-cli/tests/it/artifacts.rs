//! `oore build artifacts --download` past missing files, and `--zip` with resume.

use oore_core::api::BuildDto;
use oore_testkit::TestServer;
use oore_testkit::git::GitFixture;

use crate::support::Cli;

const PIPELINE: &str = r#"workflows:
  ci:
    scripts:
      - name: Make
        script: |
          mkdir -p out
          echo "first" > out/a.txt
          head -c 300000 /dev/urandom > out/b.bin
    artifacts:
      - out/*
"#;

/// A server, a CLI and a finished build of `me/app` with `out/a.txt` and `out/b.bin`.
fn built() -> (TestServer, Cli, GitFixture, BuildDto) {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let source = GitFixture::new();
    source.write("oore.yaml", PIPELINE);
    source.commit("pipeline");
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
        &source.url(),
    ])
    .ok();
    let build: BuildDto = cli
        .run(&["build", "trigger", "me/app", "--wait", "--json"])
        .ok()
        .json();
    (server, cli, source, build)
}

#[test]
fn a_missing_file_is_reported_and_the_others_are_still_downloaded() {
    let (server, cli, _source, build) = built();
    let stored = server
        .logs_dir()
        .join("artifacts")
        .join(&build.id)
        .join("out");
    std::fs::remove_file(stored.join("a.txt")).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let dir = dest.path().display().to_string();
    let run = cli
        .run(&["build", "artifacts", "me/app#1", "--download", "--output", &dir])
        .code(1)
        .stderr_has("out/a.txt is no longer on the server")
        .stdout_has("downloaded out/b.bin")
        .stderr_has("1 of 2 artifacts could not be downloaded, their files are gone from the server: out/a.txt");
    assert!(!run.stderr.contains("request id"), "{run}");
    assert_eq!(
        std::fs::read(dest.path().join("out/b.bin")).unwrap(),
        std::fs::read(stored.join("b.bin")).unwrap()
    );
    assert!(!dest.path().join("out/a.txt").exists());
}

#[test]
fn the_zip_downloads_and_resumes_like_a_file() {
    let (server, cli, _source, build) = built();
    let dest = tempfile::tempdir().unwrap();
    let dir = dest.path().display().to_string();
    cli.run(&["build", "artifacts", "me/app#1", "--zip", "--output", &dir])
        .ok()
        .stdout_has("downloaded build-1-artifacts.zip");
    let zip_path = dest.path().join("build-1-artifacts.zip");
    let zip = std::fs::read(&zip_path).unwrap();
    assert!(zip.starts_with(b"PK\x03\x04"));
    let blob = std::fs::read(
        server
            .logs_dir()
            .join("artifacts")
            .join(&build.id)
            .join("out/b.bin"),
    )
    .unwrap();
    assert!(
        zip.windows(blob.len()).any(|w| w == blob.as_slice()),
        "the zip stores b.bin as it is"
    );
    cli.run(&["build", "artifacts", "me/app#1", "--zip", "--output", &dir])
        .ok()
        .stdout_has("build-1-artifacts.zip is already there");

    // Interrupted halfway: the next run asks for the rest and ends with the same bytes.
    std::fs::remove_file(&zip_path).unwrap();
    let part = dest.path().join("build-1-artifacts.zip.part");
    std::fs::write(&part, &zip[..zip.len() / 2]).unwrap();
    cli.run(&["build", "artifacts", "me/app#1", "--zip", "--output", &dir])
        .ok()
        .stdout_has("resumed build-1-artifacts.zip at");
    assert_eq!(std::fs::read(&zip_path).unwrap(), zip);
    assert!(!part.exists());

    cli.run(&["build", "artifacts", "me/app#1", "--zip", "--download"])
        .code(1)
        .stderr_has("not both");
}
