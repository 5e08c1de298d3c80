//! Helpers of the build tests: local git repositories registered as `git` repositories,
//! triggering, waiting on build states with a deadline, reading logs, and scanning
//! `/proc` for a build's processes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use oore_core::api::{BuildDto, LogChunkResponse, RepositoryDto};
use oore_testkit::TestServer;
use oore_testkit::git::GitFixture;
use serde_json::{Value, json};

/// How long a test waits for a build to reach a state.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// Polls `check` until it returns `Some`, failing after `deadline`.
#[track_caller]
pub(crate) fn wait_until<T>(
    what: &str,
    deadline: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A git repository with a pipeline file, registered with the server.
pub(crate) struct Project {
    pub(crate) git: GitFixture,
    pub(crate) repo: RepositoryDto,
}

static NAMES: AtomicU32 = AtomicU32::new(0);

/// A repository whose `oore.yaml` is `pipeline` (none when `None`), added as a `git`
/// repository with `extra` fields merged into the request.
pub(crate) fn project_with(server: &TestServer, pipeline: Option<&str>, extra: Value) -> Project {
    let git = GitFixture::new();
    git.write("README.md", "test project\n");
    if let Some(pipeline) = pipeline {
        git.write("oore.yaml", pipeline);
    }
    git.commit("initial commit");
    let mut body = json!({
        "provider": "git",
        "owner": "acme",
        "name": format!("app-{}", NAMES.fetch_add(1, Ordering::Relaxed)),
        "clone_url": git.url(),
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            body.insert(k.clone(), v.clone());
        }
    }
    let response = server.send("POST", "/api/repositories", Some(&body));
    assert_eq!(response.status, 201, "{}", response.text());
    Project {
        git,
        repo: response.json_as(),
    }
}

/// [`project_with`] without extra fields.
pub(crate) fn project(server: &TestServer, pipeline: &str) -> Project {
    project_with(server, Some(pipeline), json!({}))
}

/// `POST /api/repositories/:id/trigger` with `body`; asserts 201 and the `Location`.
#[track_caller]
pub(crate) fn trigger_with(server: &TestServer, repo: &RepositoryDto, body: Value) -> BuildDto {
    let response = server.send(
        "POST",
        &format!("/api/repositories/{}/trigger", repo.id),
        Some(&body),
    );
    assert_eq!(response.status, 201, "{}", response.text());
    let build: BuildDto = response.json_as();
    assert_eq!(
        response.header("location"),
        Some(format!("/api/builds/{}", build.id).as_str())
    );
    build
}

/// Triggers the default branch.
#[track_caller]
pub(crate) fn trigger(server: &TestServer, repo: &RepositoryDto) -> BuildDto {
    trigger_with(server, repo, json!({}))
}

/// `GET /api/builds/:id`.
#[track_caller]
pub(crate) fn get_build(server: &TestServer, id: &str) -> BuildDto {
    let response = server.get(&format!("/api/builds/{id}"));
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as()
}

/// Waits until build `id` satisfies `done`.
#[track_caller]
pub(crate) fn wait_build(
    server: &TestServer,
    id: &str,
    what: &str,
    done: impl Fn(&BuildDto) -> bool,
) -> BuildDto {
    let mut last = None;
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(what, DEADLINE, || {
            let build = get_build(server, id);
            let ok = done(&build);
            last = Some(build.clone());
            ok.then_some(build)
        })
    }));
    match found {
        Ok(build) => build,
        Err(_) => panic!(
            "build {id} never became {what}; last seen: {last:#?}\nsystem log:\n{}",
            log_text(server, id, None)
        ),
    }
}

/// Waits until build `id` ended.
#[track_caller]
pub(crate) fn wait_finished(server: &TestServer, id: &str) -> BuildDto {
    wait_build(server, id, "finished", |b| {
        matches!(b.status.as_str(), "success" | "failure" | "cancelled")
    })
}

/// Waits until build `id` is running with step `index` running.
#[track_caller]
pub(crate) fn wait_step_running(server: &TestServer, id: &str, index: u32) -> BuildDto {
    wait_build(server, id, &format!("running step {index}"), |b| {
        b.status == "running"
            && b.steps
                .as_ref()
                .and_then(|s| s.iter().find(|s| s.index == index))
                .is_some_and(|s| s.status == "running")
    })
}

/// One chunk of a log through the offset API (`step` `None`: the system log).
#[track_caller]
pub(crate) fn log_chunk(
    server: &TestServer,
    id: &str,
    step: Option<(u32, &str)>,
    offset: u64,
) -> LogChunkResponse {
    let file = match step {
        Some((index, stream)) => format!("step={index}&stream={stream}&"),
        None => String::new(),
    };
    let response = server.get(&format!("/api/builds/{id}/logs?{file}offset={offset}"));
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as()
}

/// A whole log as text, read chunk by chunk.
pub(crate) fn log_text(server: &TestServer, id: &str, step: Option<(u32, &str)>) -> String {
    let mut text = String::new();
    let mut offset = 0;
    loop {
        let chunk = log_chunk(server, id, step, offset);
        text.push_str(&chunk.data);
        if chunk.next_offset == offset {
            return text;
        }
        offset = chunk.next_offset;
    }
}

/// Pids of live processes whose environment has `OORE_BUILD_ID=<id>`.
pub(crate) fn build_processes(id: &str) -> Vec<u32> {
    let marker = format!("OORE_BUILD_ID={id}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
                return false;
            };
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // A zombie is dead already (its parent has yet to reap it).
            let zombie = state
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie
                && environ
                    .split(|b| *b == 0)
                    .any(|var| var == marker.as_bytes())
        })
        .collect()
}

/// Waits until no process of build `id` is left.
#[track_caller]
pub(crate) fn wait_no_processes(id: &str) {
    wait_until(
        &format!("the processes of build {id} to be gone"),
        DEADLINE,
        || build_processes(id).is_empty().then_some(()),
    );
}

/// A directory of gate files: a step waits for `<dir>/<name>` to exist.
pub(crate) struct Gates {
    dir: tempfile::TempDir,
}

impl Gates {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary gate directory"),
        }
    }

    /// Lets the steps waiting for `name` go on.
    pub(crate) fn open(&self, name: &str) {
        std::fs::write(self.dir.path().join(name), b"go").expect("write a gate file");
    }

    /// A shell line waiting for gate `name` (an expression may use `$BUILD_NUMBER`).
    pub(crate) fn wait_line(&self, name: &str) -> String {
        format!(
            "while [ ! -e \"{}/{name}\" ]; do sleep 0.02; done",
            self.dir.path().display()
        )
    }
}

/// A pipeline with one workflow `ci` of the given scripts (YAML list items, indented
/// by 6 spaces) and extra workflow keys (indented by 4).
pub(crate) fn pipeline(scripts: &str, extra: &str) -> String {
    format!("workflows:\n  ci:\n{extra}    scripts:\n{scripts}")
}

/// A script item: `name` running `script` (one line per script line).
pub(crate) fn step(name: &str, script: &str) -> String {
    step_with(name, script, &[])
}

/// A script item with extra keys, e.g. `("timeout", "1")`.
pub(crate) fn step_with(name: &str, script: &str, keys: &[(&str, &str)]) -> String {
    let body: String = script.lines().map(|l| format!("          {l}\n")).collect();
    let keys: String = keys
        .iter()
        .map(|(k, v)| format!("        {k}: {v}\n"))
        .collect();
    format!("      - name: {name}\n{keys}        script: |\n{body}")
}
