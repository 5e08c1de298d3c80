//! `oore build ...` against a real server running real builds: a local git repository
//! (`file://`) with an `oore.yaml`, triggered, waited for, inspected, cancelled, its logs
//! read (binary output included) and its artifacts downloaded and resumed.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oore_core::api::{
    ArtifactListResponse, BuildDto, BuildListResponse, RepositoryDto, StepListResponse,
};
use oore_testkit::TestServer;
use serde_json::Value;

use crate::support::{Cli, Run};

/// The longest a build in these tests may take before the test gives up.
const BUILD_TIMEOUT: Duration = Duration::from_secs(120);

const PIPELINE: &str = r#"workflows:
  ci:
    name: CI
    environment:
      vars:
        GREETING: hello from oore
    scripts:
      - name: Greet
        script: |
          echo "greeting: $GREETING"
          echo "build number: $OORE_BUILD_NUMBER on branch $OORE_BRANCH"
          mkdir -p out/nested
          cp assets/blob.bin out/blob.bin
          echo "report for build $OORE_BUILD_NUMBER" > out/nested/report.txt
      - name: Warn
        script: echo "this goes to stderr" >&2
      - name: Binary
        script: printf '\033[31m\000\377\n'
    artifacts:
      - out
  fails:
    scripts:
      - name: Fine
        script: echo fine
      - name: Fail
        script: |
          echo "about to fail" >&2
          exit 3
      - name: Never
        script: echo never
  slow:
    scripts:
      - name: Sleep
        script: |
          echo "sleeping now"
          sleep 120
"#;

/// A server, a configured CLI, and an active `git` repository whose clone URL is a
/// local repository holding [`PIPELINE`] and `assets/blob.bin`.
struct Fixture {
    _server: TestServer,
    cli: Cli,
    _source: tempfile::TempDir,
    blob: Vec<u8>,
    repo_id: String,
}

fn fixture() -> Fixture {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    let source = tempfile::tempdir().expect("temp dir");
    let blob = pseudo_random(700 * 1024 + 7);
    let dir = source.path();
    std::fs::write(dir.join("oore.yaml"), PIPELINE).unwrap();
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("assets").join("blob.bin"), &blob).unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["checkout", "-q", "-b", "main"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "pipeline and assets"]);
    let url = format!("file://{}", dir.display());
    let repo: RepositoryDto = cli
        .run(&[
            "repo",
            "add",
            "--provider",
            "git",
            "--owner",
            "local",
            "--repo",
            "app",
            "--clone-url",
            &url,
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(repo.state, "active", "a git repository needs no webhook");
    Fixture {
        _server: server,
        cli,
        _source: source,
        blob,
        repo_id: repo.id,
    }
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=Oore Test",
            "-c",
            "user.email=test@oore.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("run git (is it installed?)");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Deterministic bytes that do not compress or repeat.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// What one run of `oore` did, stdout as bytes.
struct RawRun {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl RawRun {
    #[track_caller]
    fn text(self) -> Run {
        Run {
            code: self.code,
            stdout: String::from_utf8(self.stdout).expect("stdout is UTF-8"),
            stderr: self.stderr,
        }
    }
}

/// `oore args...` in the fixture's sandbox, killed (and the test failed) after `limit`.
fn run_limited(cli: &Cli, args: &[&str], limit: Duration) -> RawRun {
    let mut child = spawn(cli, args);
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = String::new();
        let _ = stderr.read_to_string(&mut buf);
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for oore") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "oore {args:?} still running after {limit:?}\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&out.join().unwrap()),
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    RawRun {
        code: status.code().expect("oore exited by a signal"),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// `oore args...` started in the fixture's sandbox, output piped.
fn spawn(cli: &Cli, args: &[&str]) -> std::process::Child {
    let home = cli.home();
    Command::new(env!("CARGO_BIN_EXE_oore"))
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .env("OORE_CONFIG", cli.config_path())
        .current_dir(home.parent().unwrap())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oore")
}

fn show(cli: &Cli, id: &str) -> BuildDto {
    cli.run(&["build", "show", id, "--json"]).ok().json()
}

/// Poll `build show` until `done` holds, or fail the test.
#[track_caller]
fn wait_until(cli: &Cli, id: &str, what: &str, done: impl Fn(&BuildDto) -> bool) -> BuildDto {
    let deadline = Instant::now() + BUILD_TIMEOUT;
    loop {
        let build = show(cli, id);
        if done(&build) {
            return build;
        }
        assert!(
            Instant::now() < deadline,
            "build {id} never became {what}: {build:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Trigger a build of `workflow` and wait for its end with `--wait`.
fn trigger_and_wait(f: &Fixture, workflow: &str) -> (Run, String) {
    let run = run_limited(
        &f.cli,
        &[
            "build",
            "trigger",
            &f.repo_id,
            "--workflow",
            workflow,
            "--wait",
        ],
        BUILD_TIMEOUT,
    )
    .text();
    let id = run
        .stdout
        .lines()
        .find_map(|l| l.strip_suffix(" queued (branch main, latest commit)"))
        .and_then(|l| l.split(' ').nth(2))
        .unwrap_or_else(|| panic!("no queued line\n{run}"))
        .to_owned();
    (run, id)
}

#[test]
fn successful_build_is_listed_shown_and_logged() {
    let f = fixture();
    let cli = &f.cli;
    let (run, id) = trigger_and_wait(&f, "ci");
    let run = run.ok().stdout_has("build #1 succeeded in ");
    assert!(run.stdout.starts_with("build #1 "), "{run}");

    // list: #1, the short ids, the status and the commit's first 7 characters.
    let built = show(cli, &id);
    let commit = built.commit_sha.clone().expect("commit resolved");
    assert_eq!(built.status, "success");
    assert_eq!(built.number, 1);
    assert_eq!(built.trigger, "manual");
    assert_eq!(built.workflow.as_deref(), Some("ci"));
    assert_eq!(built.config_source.map(|s| s.as_str()), Some("repository"));
    let list = cli.run(&["build", "list"]).ok();
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("#1 "))
        .unwrap_or_else(|| panic!("no #1 row\n{list}"));
    for cell in [
        &id[18..],
        &f.repo_id[18..],
        "success",
        "manual",
        "main",
        &commit[..7],
    ] {
        assert!(row.contains(cell), "row lacks {cell:?}: {row}");
    }
    assert!(list.stdout.starts_with("#   ID"), "{list}");
    let page: BuildListResponse = cli
        .run(&[
            "build",
            "list",
            "--repo",
            &f.repo_id,
            "--status",
            "success,failure",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(page.builds.len(), 1);
    assert_eq!(page.builds[0].id, id);
    assert!(page.next.is_none());
    cli.run(&["build", "list", "--status", "failure"])
        .ok()
        .stdout_has("no builds match");
    cli.run(&["build", "list", "--commit", &commit[..8]])
        .ok()
        .stdout_has(&id[18..]);

    // show and steps: steps from 0, by name.
    cli.run(&["build", "show", &id])
        .ok()
        .stdout_has("build:          #1")
        .stdout_has(&format!("commit:         {commit}"))
        .stdout_has("config source:  repository")
        .stdout_has("STEP  NAME")
        .stdout_has("0     Greet")
        .stdout_has("2     Binary");
    let steps: StepListResponse = cli.run(&["build", "steps", &id, "--json"]).ok().json();
    let names: Vec<(u32, &str, &str)> = steps
        .steps
        .iter()
        .map(|s| (s.index, s.name.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (0, "Greet", "success"),
            (1, "Warn", "success"),
            (2, "Binary", "success")
        ]
    );
    cli.run(&["build", "steps", &id])
        .ok()
        .stdout_has("1     Warn");
    // The short id from the list works as well.
    cli.run(&["build", "show", &id[18..]]).ok().stdout_has(&id);

    // logs: every step's stdout with a header; one step's stderr; the system log.
    let logs = cli.run(&["build", "logs", &id]).ok();
    let greet = logs
        .stdout
        .find("== step 0: Greet ==\n")
        .expect("step 0 header");
    let warn = logs
        .stdout
        .find("== step 1: Warn ==\n")
        .expect("step 1 header");
    let binary = logs
        .stdout
        .find("== step 2: Binary ==\n")
        .expect("step 2 header");
    assert!(greet < warn && warn < binary, "{logs}");
    let logs = logs
        .stdout_has("greeting: hello from oore\n")
        .stdout_has("build number: 1 on branch main\n");
    assert!(!logs.stdout.contains("this goes to stderr"), "{logs}");
    let stderr = cli
        .run(&["build", "logs", &id, "--step", "1", "--stderr"])
        .ok();
    assert_eq!(stderr.stdout, "this goes to stderr\n", "{stderr}");
    cli.run(&["build", "logs", &id, "--step", "9"])
        .code(1)
        .stderr_has("has no step 9: its steps are 0 to 2");
    cli.run(&["build", "logs", &id, "--system"])
        .ok()
        .stdout_has("== system ==\n")
        .stdout_has("== step 0: Greet ==\n");
    // Following a build that has ended prints everything and returns.
    run_limited(cli, &["build", "logs", &id, "--follow"], BUILD_TIMEOUT)
        .text()
        .ok()
        .stdout_has("greeting: hello from oore\n")
        .stderr_has("ended: success");

    // Binary output: escaped by default, exact with --raw.
    let escaped = cli.run(&["build", "logs", &id, "--step", "2"]).ok();
    assert_eq!(escaped.stdout, "\\x1b[31m\\x00\\xff\n", "{escaped}");
    let raw = run_limited(
        cli,
        &["build", "logs", &id, "--step", "2", "--raw"],
        BUILD_TIMEOUT,
    );
    assert_eq!(raw.code, 0, "{}", raw.stderr);
    assert_eq!(raw.stdout, b"\x1b[31m\x00\xff\n");

    // --json: the API's DTOs, and the log chunks as JSON lines.
    let shown: BuildDto = cli.run(&["--json", "build", "show", &id]).ok().json();
    assert_eq!(shown.steps.as_ref().map(Vec::len), Some(3));
    let lines = cli.run(&["build", "logs", &id, "--json"]).ok();
    let chunks: Vec<Value> = lines
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        chunks.iter().any(|c| c["step"] == 2
            && c["stream"] == "stdout"
            && c["data_base64"] == "G1szMW0A/wo="),
        "{lines}"
    );
}

#[test]
fn failing_workflow_fails_the_wait() {
    let f = fixture();
    let (run, id) = trigger_and_wait(&f, "fails");
    run.code(1)
        .stdout_has("build #1 failure after")
        .stdout_has("step 1 Fail: failure, exit code 3")
        .stdout_has(&format!("oore build logs {id} --step 1"))
        .stderr_has(&format!(
            "error: build #1 {id} ended failure: step 1 exited with code 3"
        ));
    let steps: StepListResponse = f.cli.run(&["build", "steps", &id, "--json"]).ok().json();
    let statuses: Vec<&str> = steps.steps.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(statuses, ["success", "failure", "skipped"]);
    f.cli
        .run(&["build", "logs", &id, "--step", "1", "--stderr"])
        .ok()
        .stdout_has("about to fail");
    f.cli
        .run(&["build", "show", &id])
        .ok()
        .stdout_has("error:          step 1 exited with code 3");
    // A build that has ended cannot be cancelled.
    f.cli
        .run(&["build", "cancel", &id])
        .code(1)
        .stderr_has("already ended");
}

#[test]
fn cancel_stops_a_running_build_and_ends_a_follow() {
    let f = fixture();
    let cli = &f.cli;
    let queued: BuildDto = cli
        .run(&[
            "build",
            "trigger",
            &f.repo_id,
            "--workflow",
            "slow",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(queued.number, 1);
    let id = queued.id;
    let follower = spawn(cli, &["build", "logs", &id, "--follow"]);
    wait_until(cli, &id, "running its step", |b| {
        b.steps
            .iter()
            .flatten()
            .any(|s| s.index == 0 && s.status == "running")
    });
    cli.run(&["build", "cancel", &id])
        .ok()
        .stdout_has(&format!("build #1 {id}"));
    let ended = wait_until(cli, &id, "cancelled", |b| b.status == "cancelled");
    assert_eq!(
        ended.steps.as_ref().unwrap()[0].status,
        "cancelled",
        "{ended:#?}"
    );
    let output = wait_with_limit(follower, BUILD_TIMEOUT);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("== step 0: Sleep ==\nsleeping now\n"),
        "{stdout}"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("ended: cancelled"), "{stderr}");
    cli.run(&["build", "list", "--status", "cancelled"])
        .ok()
        .stdout_has("cancelled");
}

fn wait_with_limit(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{:?}", child.wait_with_output());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn artifacts_are_downloaded_verified_and_resumed() {
    let f = fixture();
    let cli = &f.cli;
    let (run, id) = trigger_and_wait(&f, "ci");
    run.ok();
    let list: ArtifactListResponse = cli.run(&["build", "artifacts", &id, "--json"]).ok().json();
    let mut paths: Vec<&str> = list.artifacts.iter().map(|a| a.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["out/blob.bin", "out/nested/report.txt"]);
    cli.run(&["build", "artifacts", &id])
        .ok()
        .stdout_has("PATH")
        .stdout_has("out/blob.bin")
        .stdout_has("700.0 KiB");

    // A fresh download, into a directory that does not exist yet.
    let dest = tempfile::tempdir().unwrap();
    let dir = dest.path().join("releases");
    let dir_arg = dir.display().to_string();
    cli.run(&[
        "build",
        "artifacts",
        &id,
        "--download",
        "--output",
        &dir_arg,
    ])
    .ok()
    .stdout_has("downloaded out/blob.bin (700.0 KiB, sha256 verified)")
    .stdout_has("2 artifacts in");
    assert_eq!(std::fs::read(dir.join("out/blob.bin")).unwrap(), f.blob);
    assert_eq!(
        std::fs::read_to_string(dir.join("out/nested/report.txt")).unwrap(),
        "report for build 1\n"
    );
    assert!(!dir.join("out/blob.bin.part").exists());
    // Again: nothing to fetch.
    cli.run(&[
        "build",
        "artifacts",
        &id,
        "--download",
        "--output",
        &dir_arg,
    ])
    .ok()
    .stdout_has("out/blob.bin is already there");

    // Resume: the first half is already in the .part file.
    let resume = dest.path().join("resume");
    let half = f.blob.len() / 2;
    std::fs::create_dir_all(resume.join("out")).unwrap();
    std::fs::write(resume.join("out/blob.bin.part"), &f.blob[..half]).unwrap();
    let resume_arg = resume.display().to_string();
    cli.run(&[
        "build",
        "artifacts",
        &id,
        "--download",
        "--output",
        &resume_arg,
    ])
    .ok()
    .stdout_has("resumed out/blob.bin at 350.0 KiB");
    assert_eq!(std::fs::read(resume.join("out/blob.bin")).unwrap(), f.blob);
    assert!(!resume.join("out/blob.bin.part").exists());

    // A .part file that does not match: the checksum catches it, the part goes.
    let corrupt = dest.path().join("corrupt");
    std::fs::create_dir_all(corrupt.join("out")).unwrap();
    std::fs::write(corrupt.join("out/blob.bin.part"), vec![0u8; half]).unwrap();
    let corrupt_arg = corrupt.display().to_string();
    cli.run(&[
        "build",
        "artifacts",
        &id,
        "--download",
        "--output",
        &corrupt_arg,
    ])
    .code(1)
    .stderr_has("out/blob.bin is corrupt: expected 716807 bytes with sha256");
    assert!(!corrupt.join("out/blob.bin.part").exists());
    assert!(!corrupt.join("out/blob.bin").exists());
    // The next run starts afresh and succeeds.
    cli.run(&[
        "build",
        "artifacts",
        &id,
        "--download",
        "--output",
        &corrupt_arg,
    ])
    .ok()
    .stdout_has("downloaded out/blob.bin");
    assert_eq!(std::fs::read(corrupt.join("out/blob.bin")).unwrap(), f.blob);
}

#[test]
fn unknown_builds_fail_with_a_hint() {
    let server = TestServer::start();
    let cli = Cli::new();
    cli.init(&server);
    const MISSING: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    for args in [
        &["build", "show", MISSING][..],
        &["build", "steps", MISSING],
        &["build", "logs", MISSING],
        &["build", "cancel", MISSING],
        &["build", "artifacts", MISSING],
    ] {
        cli.run(args)
            .code(1)
            .stderr_has("not found")
            .stderr_has("oore build list")
            .stderr_has("request id:");
    }
    cli.run(&["build", "show", "7K3M9Q2A"])
        .code(1)
        .stderr_has("no build id ends in 7K3M9Q2A");
    cli.run(&["build", "trigger", MISSING])
        .code(1)
        .stderr_has("not found")
        .stderr_has("oore repo list");
    cli.run(&["build", "list"]).ok().stdout_has("no builds yet");
    let empty: BuildListResponse = cli.run(&["build", "list", "--json"]).ok().json();
    assert!(empty.builds.is_empty());
    cli.run(&["build", "list", "--commit", "xyz"])
        .code(1)
        .stderr_has("--commit");
}
