//! A data directory that runs out of space: builds end `failure` saying what could not
//! be recorded, nothing stays `running`, `/api/health` says `degraded` and why, and once
//! space returns health is `healthy` again and the next build runs.
//!
//! Four ways to run out: SQLite's `max_page_count` on `oored`'s writer connection (the
//! same "database or disk is full" as a full disk; always runs), a build store whose
//! writes of a build's end fail on demand (the retry and the slot it frees), a step log
//! that is `/dev/full` (the files side), and a real small tmpfs filled by a step (needs
//! root; skipped with the reason printed otherwise).

use std::path::Path;
use std::sync::{Arc, Mutex};

use oore_core::api::{BuildListResponse, HealthResponse};
use oore_core::testing::{FailMode, FailingWrites};
use oore_testkit::TestServer;
use serde_json::json;

use crate::build_support::{
    DEADLINE, Gates, get_build, log_text, pipeline, project, step, trigger, wait_finished,
    wait_step_running, wait_until,
};

fn health(server: &TestServer) -> HealthResponse {
    let response = oore_testkit::http::get(&format!("{}/api/health", server.url()), None);
    assert_eq!(
        response.status,
        200,
        "health answers 200: {}",
        response.text()
    );
    response.json_as()
}

/// Waits until health is `healthy` (its write probe runs at most once a second).
#[track_caller]
fn wait_healthy(server: &TestServer) {
    wait_until("health to be healthy again", DEADLINE, || {
        let h = health(server);
        (h.status.as_str() == "healthy" && h.reason.is_none()).then_some(())
    });
}

fn running_builds(server: &TestServer) -> usize {
    let response = server.get("/api/builds?status=running");
    assert_eq!(response.status, 200, "{}", response.text());
    response.json_as::<BuildListResponse>().builds.len()
}

#[test]
fn a_full_database_fails_the_build_clearly_and_the_next_one_runs_once_space_returns() {
    let server = TestServer::builder()
        .max_concurrent_builds(1)
        .env("OORE_MIN_FREE_BYTES", "0")
        .start();
    let gates = Gates::new();
    // 400 artifacts: their rows need pages a full database does not have.
    let make = format!(
        "{}\nmkdir -p out\nfor i in $(seq 1 400); do echo $i > out/an-artifact-with-a-long-name-that-takes-room-$i.txt; done",
        gates.wait_line("full")
    );
    let project = project(
        &server,
        &pipeline(&step("make", &make), "    artifacts:\n      - out/*.txt\n"),
    );
    let first = trigger(&server, &project.repo);
    wait_step_running(&server, &first.id, 0);
    assert_eq!(health(&server).status.as_str(), "healthy");

    let limit = server
        .block_on(server.sqlite().set_max_page_count(1))
        .expect("limit the database to its current size");
    assert!(limit > 1);
    gates.open("full");

    let ended = wait_finished(&server, &first.id);
    assert_eq!(ended.status, "failure");
    let error = ended.error_message.clone().unwrap_or_default();
    assert!(
        error.starts_with("could not record ") && error.contains("database or disk is full"),
        "{error}"
    );
    assert!(
        error.ends_with("trigger it again once the database accepts writes"),
        "{error}"
    );
    assert_eq!(running_builds(&server), 0, "nothing stays running");
    let degraded = health(&server);
    assert_eq!(degraded.status.as_str(), "degraded");
    assert_eq!(degraded.database.as_str(), "connected");
    let reason = degraded.reason.unwrap_or_default();
    assert!(
        reason.contains("the database does not take writes")
            && reason.contains("database or disk is full"),
        "{reason}"
    );
    assert_eq!(degraded.workers.busy, 0);

    server
        .block_on(server.sqlite().set_max_page_count(1 << 30))
        .expect("space returns");
    wait_healthy(&server);
    let next = trigger(&server, &project.repo);
    let next = wait_finished(&server, &next.id);
    assert_eq!(next.status, "success", "{next:#?}");
    let artifacts = server.get(&format!("/api/builds/{}/artifacts", next.id));
    assert_eq!(artifacts.status, 200);
    assert_eq!(
        artifacts.json()["artifacts"].as_array().map(Vec::len),
        Some(400)
    );
}

#[test]
fn an_unrecorded_end_frees_its_slot_and_is_recorded_once_writes_succeed() {
    let failing: Arc<Mutex<Option<Arc<FailingWrites>>>> = Arc::default();
    let slot = failing.clone();
    let server = TestServer::builder()
        .max_concurrent_builds(1)
        .env("OORE_MIN_FREE_BYTES", "0")
        .services(move |mut services| {
            let store = Arc::new(FailingWrites::new(services.builds.clone()));
            *slot.lock().unwrap() = Some(store.clone());
            services.builds = store;
            services
        })
        .start();
    let failing = failing
        .lock()
        .unwrap()
        .clone()
        .expect("the store was wrapped");
    let gates = Gates::new();
    let quick = project(&server, &pipeline(&step("quick", "echo quick"), ""));
    let slow = project(
        &server,
        &pipeline(&step("slow", &gates.wait_line("slow")), ""),
    );

    failing.set(FailMode::BuildEnds);
    let first = trigger(&server, &quick.repo);
    wait_until("the first build's end to be refused", DEADLINE, || {
        log_text(&server, &first.id, None)
            .contains("could not record its end yet")
            .then_some(())
    });
    assert_eq!(
        get_build(&server, &first.id).status,
        "running",
        "not recorded yet"
    );

    // Its row still says running, but its slot is free: the next build starts.
    let second = trigger(&server, &slow.repo);
    wait_step_running(&server, &second.id, 0);
    assert_eq!(health(&server).workers.busy, 1, "only the second one runs");

    failing.set(FailMode::Off);
    let first = wait_finished(&server, &first.id);
    assert_eq!(first.status, "success", "{first:#?}");
    assert!(
        first
            .steps
            .as_ref()
            .is_some_and(|s| s[0].status == "success"),
        "{first:#?}"
    );
    gates.open("slow");
    assert_eq!(wait_finished(&server, &second.id).status, "success");
    assert_eq!(running_builds(&server), 0);
}

/// The files side of a full disk, on any machine: the step's log file is `/dev/full`,
/// where every write fails with "No space left on device".
#[cfg(target_os = "linux")]
#[test]
fn a_log_that_cannot_be_written_fails_the_build_saying_so() {
    let server = TestServer::builder()
        .max_concurrent_builds(1)
        .env("OORE_MIN_FREE_BYTES", "0")
        .start();
    let gates = Gates::new();
    let blocker = project(
        &server,
        &pipeline(&step("wait", &gates.wait_line("go")), ""),
    );
    let noisy = project(
        &server,
        &pipeline(&step("noisy", "yes | head -c 1000000"), ""),
    );
    let first = trigger(&server, &blocker.repo);
    wait_step_running(&server, &first.id, 0);
    // Queued behind the first build: its log is in place before it starts.
    let second = trigger(&server, &noisy.repo);
    let log = server.logs_dir().join(&second.id).join("step-0-stdout.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/dev/full", &log).unwrap();
    gates.open("go");

    let failed = wait_finished(&server, &second.id);
    assert_eq!(failed.status, "failure");
    let error = failed.error_message.clone().unwrap_or_default();
    assert!(
        error.contains("No space left on device") && error.contains("free disk space"),
        "{error}"
    );
    assert_eq!(running_builds(&server), 0, "nothing stays running");
    assert_eq!(wait_finished(&server, &first.id).status, "success");

    std::fs::remove_file(&log).unwrap();
    let next = trigger(&server, &noisy.repo);
    assert_eq!(wait_finished(&server, &next.id).status, "success");
}

/// A tmpfs of `size` on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None`, with the reason printed, where this machine does not let us mount one.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            Some(Tmpfs { dir })
        } else {
            skipped("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
            None
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn on_a_full_filesystem_builds_fail_and_wait_until_space_returns() {
    let Some(fs) = Tmpfs::mount("48m") else {
        return;
    };
    let data = fs.path().join("data");
    let fill = fs.path().join("fill");
    let dir = |name: &str| data.join(name).to_string_lossy().into_owned();
    let server = TestServer::builder()
        .max_concurrent_builds(1)
        .env("DATABASE_URL", &dir("oore.db"))
        .env("OORE_WORKSPACES_DIR", &dir("workspaces"))
        .env("OORE_LOGS_DIR", &dir("logs"))
        .env("OORE_MIN_FREE_BYTES", &(8u64 << 20).to_string())
        .start();
    assert_eq!(health(&server).status.as_str(), "healthy");
    let gates = Gates::new();
    // The step fills the filesystem, then needs 1 MiB more of it.
    let more = fs.path().join("more");
    let script = format!(
        "{}\ncat /dev/zero > {} 2>/dev/null || true\nhead -c 1048576 /dev/zero > {}",
        gates.wait_line("fill"),
        fill.display(),
        more.display()
    );
    let filler = project(&server, &pipeline(&step("fill", &script), ""));
    let simple = project(&server, &pipeline(&step("simple", "echo fine"), ""));
    let first = trigger(&server, &filler.repo);
    wait_step_running(&server, &first.id, 0);
    gates.open("fill");

    // Whether its end is recorded now or once space returns, its slot frees up.
    wait_until("the filling build to leave its slot", DEADLINE, || {
        (health(&server).workers.busy == 0).then_some(())
    });
    let degraded = health(&server);
    assert_eq!(degraded.status.as_str(), "degraded");
    let reason = degraded.reason.unwrap_or_default();
    assert!(
        reason.contains("OORE_MIN_FREE_BYTES is 8.0 MiB"),
        "{reason}"
    );

    // A build triggered now (if the database still takes the row) waits, saying why.
    let waiting = server.send(
        "POST",
        &format!("/api/repositories/{}/trigger", simple.repo.id),
        Some(&json!({})),
    );
    let waiting_id = if waiting.status == 201 {
        let id = waiting.json()["id"].as_str().unwrap().to_owned();
        let build = wait_until("the waiting reason", DEADLINE, || {
            let build = get_build(&server, &id);
            build.waiting_reason.is_some().then_some(build)
        });
        assert_eq!(build.status, "pending");
        assert!(
            build
                .waiting_reason
                .as_deref()
                .is_some_and(|w| w.contains("free disk space there; new builds wait until then")),
            "{build:#?}"
        );
        Some(id)
    } else {
        assert_eq!(waiting.status, 503, "{}", waiting.text());
        None
    };

    std::fs::remove_file(&fill).expect("free the space");
    let _ = std::fs::remove_file(&more);
    let first = wait_finished(&server, &first.id);
    assert_eq!(first.status, "failure", "{first:#?}");
    assert!(
        first
            .error_message
            .as_deref()
            .is_some_and(|e| !e.is_empty()),
        "{first:#?}"
    );
    wait_healthy(&server);
    let next = match waiting_id {
        Some(id) => id,
        None => trigger(&server, &simple.repo).id,
    };
    let next = wait_finished(&server, &next);
    assert_eq!(next.status, "success", "{next:#?}");
    assert_eq!(next.waiting_reason, None);
    assert_eq!(running_builds(&server), 0);
    drop(server);
    // Unmounted only after the server let go of its files.
    drop(fs);
}

/// Says why a test returns early: it needs what this machine lacks.
#[expect(
    clippy::print_stderr,
    reason = "the reason a test skips is for the person running it"
)]
fn skipped(why: &str) {
    eprintln!("skipped: {why}");
}
