//! Running builds end to end: real git checkouts, real step processes, statuses, exit
//! codes, the injected environment, `CM_ENV`, failures, `ignore_failure`, step timeouts
//! and where the pipeline came from.

use oore_core::api::{HealthResponse, StepListResponse};
use oore_testkit::TestServer;
use serde_json::json;

use crate::build_support::{
    DEADLINE, get_build, log_text, pipeline, project, project_with, step, step_with, trigger,
    trigger_with, wait_finished, wait_until,
};

fn statuses(build: &oore_core::api::BuildDto) -> Vec<(u32, String, Option<i32>)> {
    build
        .steps
        .as_ref()
        .expect("steps in a single-build answer")
        .iter()
        .map(|s| (s.index, s.status.to_string(), s.exit_code))
        .collect()
}

#[test]
fn a_triggered_build_checks_out_runs_its_steps_and_records_them() {
    let server = TestServer::start();
    let yaml = pipeline(
        &format!(
            "{}{}",
            step(
                "show the environment",
                "echo \"id=$OORE_BUILD_ID number=$BUILD_NUMBER oore_number=$OORE_BUILD_NUMBER\"\n\
                 echo \"branch=$CM_BRANCH oore_branch=$OORE_BRANCH commit=$CM_COMMIT\"\n\
                 echo \"dir=$CM_BUILD_DIR pwd=$(pwd) ci=$CI oore=$OORE trigger=$OORE_TRIGGER_TYPE\"\n\
                 echo \"greeting=$GREETING repo=$OORE_REPOSITORY_ID\"\n\
                 echo \"FROM_STEP_0=carried over\" >> \"$CM_ENV\"\n\
                 cat README.md"
            ),
            step(
                "use CM_ENV",
                "echo \"from step 0: $FROM_STEP_0\"\necho to-stderr >&2"
            ),
        ),
        "    environment:\n      vars:\n        GREETING: hello\n",
    );
    let project = project(&server, &yaml);
    let head = project.git.head();
    let queued = trigger(&server, &project.repo);
    assert_eq!(
        (
            queued.status.as_str(),
            queued.trigger.as_str(),
            queued.number
        ),
        ("pending", "manual", 1)
    );
    assert_eq!(queued.branch.as_deref(), Some("main"));

    let build = wait_finished(&server, &queued.id);
    assert_eq!(build.status, "success", "{build:#?}");
    assert_eq!(build.error_message, None);
    assert_eq!(build.commit_sha.as_deref(), Some(head.as_str()));
    assert_eq!(build.workflow.as_deref(), Some("ci"));
    assert_eq!(build.config_source.map(|s| s.as_str()), Some("repository"));
    assert!(build.started_at.is_some() && build.finished_at.is_some());
    assert_eq!(
        statuses(&build),
        [
            (0, "success".to_owned(), Some(0)),
            (1, "success".to_owned(), Some(0))
        ]
    );
    let steps = build.steps.as_ref().unwrap();
    assert_eq!(steps[0].name, "show the environment");
    assert!(
        steps
            .iter()
            .all(|s| s.started_at.is_some() && s.duration_ms.is_some())
    );

    let out = log_text(&server, &build.id, Some((0, "stdout")));
    let workspace = server.workspaces_dir().join(&build.id);
    let workspace = workspace.display();
    for expected in [
        format!("id={} number=1 oore_number=1", build.id),
        format!("branch=main oore_branch=main commit={head}"),
        format!("dir={workspace} pwd={workspace} ci=true oore=true trigger=manual"),
        format!("greeting=hello repo={}", project.repo.id),
        "test project".to_owned(),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }
    let second = log_text(&server, &build.id, Some((1, "stdout")));
    assert_eq!(second, "from step 0: carried over\n");
    assert_eq!(
        log_text(&server, &build.id, Some((1, "stderr"))),
        "to-stderr\n"
    );
    let system = log_text(&server, &build.id, None);
    assert!(system.contains("build success"), "{system}");

    let listed: StepListResponse = server
        .get(&format!("/api/builds/{}/steps", build.id))
        .json_as();
    assert_eq!(&listed.steps, build.steps.as_ref().unwrap());
    let health: HealthResponse = server.get("/api/health").json_as();
    assert_eq!((health.workers.busy, health.workers.max), (0, 2));
}

#[test]
fn a_failing_step_fails_the_build_and_skips_the_rest() {
    let server = TestServer::start();
    let yaml = pipeline(
        &format!(
            "{}{}{}",
            step("fine", "echo fine"),
            step("breaks", "echo about to fail\nexit 3"),
            step("never", "echo never ran"),
        ),
        "",
    );
    let project = project(&server, &yaml);
    let build = wait_finished(&server, &trigger(&server, &project.repo).id);
    assert_eq!(build.status, "failure");
    assert_eq!(
        build.error_message.as_deref(),
        Some("step 1 exited with code 3")
    );
    assert_eq!(
        statuses(&build),
        [
            (0, "success".to_owned(), Some(0)),
            (1, "failure".to_owned(), Some(3)),
            (2, "skipped".to_owned(), None),
        ]
    );
    assert_eq!(log_text(&server, &build.id, Some((2, "stdout"))), "");
}

#[test]
fn a_step_with_ignore_failure_lets_the_build_succeed() {
    let server = TestServer::start();
    let yaml = pipeline(
        &format!(
            "{}{}",
            step_with("flaky", "exit 1", &[("ignore_failure", "true")]),
            step("after", "echo still ran"),
        ),
        "",
    );
    let project = project(&server, &yaml);
    let build = wait_finished(&server, &trigger(&server, &project.repo).id);
    assert_eq!(build.status, "success", "{build:#?}");
    assert_eq!(
        statuses(&build),
        [
            (0, "failure".to_owned(), Some(1)),
            (1, "success".to_owned(), Some(0)),
        ]
    );
    assert!(build.steps.as_ref().unwrap()[0].ignore_failure);
    assert_eq!(
        log_text(&server, &build.id, Some((1, "stdout"))),
        "still ran\n"
    );
}

#[test]
fn a_step_past_its_timeout_is_stopped_and_fails_the_build() {
    let server = TestServer::start();
    let yaml = pipeline(
        &format!(
            "{}{}",
            step_with("slow", "echo sleeping\nsleep 120", &[("timeout", "1")]),
            step("never", "echo never"),
        ),
        "",
    );
    let project = project(&server, &yaml);
    let started = std::time::Instant::now();
    let build = wait_finished(&server, &trigger(&server, &project.repo).id);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(build.status, "failure");
    assert_eq!(
        build.error_message.as_deref(),
        Some("step 0 timed out after 1 s")
    );
    let steps = build.steps.as_ref().unwrap();
    assert_eq!(
        (steps[0].status.as_str(), steps[0].error_message.as_deref()),
        ("failure", Some("step 0 timed out after 1 s"))
    );
    assert_eq!(steps[1].status, "skipped");
    crate::build_support::wait_no_processes(&build.id);
}

#[test]
fn the_stored_pipeline_wins_over_the_repository_file_unless_configured_otherwise() {
    let from_repo = pipeline(&step("repo", "echo from the repository file"), "");
    let stored = "workflows:\n  stored:\n    scripts:\n      - echo from the stored pipeline\n";
    for (precedence, source, output) in [
        ("database", "database", "from the stored pipeline\n"),
        ("repository", "repository", "from the repository file\n"),
    ] {
        let server = TestServer::builder()
            .env("OORE_PIPELINE_PRECEDENCE", precedence)
            .start();
        let project = project(&server, &from_repo);
        let saved = server.send(
            "PUT",
            &format!("/api/repositories/{}/pipeline", project.repo.id),
            Some(&json!({ "content": stored, "format": "yaml" })),
        );
        assert!(
            saved.status == 200 || saved.status == 201,
            "{}",
            saved.text()
        );
        let build = wait_finished(&server, &trigger(&server, &project.repo).id);
        assert_eq!(build.status, "success", "{build:#?}");
        assert_eq!(
            build.config_source.map(|s| s.as_str()),
            Some(source),
            "{precedence}"
        );
        assert_eq!(
            log_text(&server, &build.id, Some((0, "stdout"))),
            output,
            "{precedence}"
        );
    }
}

#[test]
fn a_repository_without_any_pipeline_runs_the_default_one() {
    let server = TestServer::start();
    let project = project_with(&server, None, json!({}));
    let build = wait_finished(&server, &trigger(&server, &project.repo).id);
    assert_eq!(
        build.config_source.map(|s| s.as_str()),
        Some("default"),
        "{build:#?}"
    );
}

#[test]
fn a_build_of_a_named_commit_and_branch_checks_that_commit_out() {
    let server = TestServer::start();
    let yaml = pipeline(&step("which", "git rev-parse HEAD; cat version.txt"), "");
    let project = project(&server, &yaml);
    project.git.write("version.txt", "one\n");
    let first = project.git.commit("one");
    project.git.write("version.txt", "two\n");
    project.git.commit("two");
    project.git.branch("feature/x");
    let build = trigger_with(
        &server,
        &project.repo,
        json!({ "branch": "feature/x", "commit": first[..12] }),
    );
    assert_eq!(build.branch.as_deref(), Some("feature/x"));
    let build = wait_finished(&server, &build.id);
    assert_eq!(build.status, "success", "{build:#?}");
    assert_eq!(build.commit_sha.as_deref(), Some(first.as_str()));
    assert_eq!(
        log_text(&server, &build.id, Some((0, "stdout"))),
        format!("{first}\none\n")
    );
}

#[test]
fn old_workspaces_are_removed_by_the_cleanup_task_but_not_while_running() {
    let server = TestServer::builder()
        .env("OORE_WORKSPACE_RETENTION_HOURS", "0")
        .cleanup_interval(std::time::Duration::from_secs(1))
        .start();
    let gates = crate::build_support::Gates::new();
    let waiting = pipeline(
        &step("wait", &format!("touch marker\n{}", gates.wait_line("go"))),
        "",
    );
    let slow = project(&server, &waiting);
    let fast = project(&server, &pipeline(&step("quick", "touch marker"), ""));
    let running = trigger(&server, &slow.repo);
    crate::build_support::wait_step_running(&server, &running.id, 0);
    let health: HealthResponse = server.get("/api/health").json_as();
    assert_eq!(health.workers.busy, 1);

    let done = wait_finished(&server, &trigger(&server, &fast.repo).id);
    assert_eq!(done.status, "success");
    let done_workspace = server.workspaces_dir().join(&done.id);
    wait_until("the finished build's workspace to go", DEADLINE, || {
        (!done_workspace.exists()).then_some(())
    });
    // That cleanup pass ran while the other build was running: its workspace stays.
    let running_workspace = server.workspaces_dir().join(&running.id);
    assert!(
        running_workspace.join("marker").is_file(),
        "the running build's workspace was removed"
    );
    gates.open("go");
    assert_eq!(wait_finished(&server, &running.id).status, "success");
    wait_until("the second workspace to go", DEADLINE, || {
        (!running_workspace.exists()).then_some(())
    });
    // Records and logs stay.
    assert_eq!(get_build(&server, &done.id).status, "success");
    assert!(log_text(&server, &done.id, None).contains("build success"));
}
