//! The build queue (spec 16, 22.3, 15.2, 23): never more than
//! `OORE_MAX_CONCURRENT_BUILDS` running, priority order, restart recovery, graceful
//! shutdown, and pending builds of a removed or paused repository.

use oore_core::api::{BuildDto, BuildListResponse};
use oore_core::domain::build::{Build, BuildStatus, Priority, TriggerType};
use oore_core::domain::repository::BranchName;
use oore_core::ids::BuildId;
use oore_testkit::TestServer;

use crate::build_support::{
    DEADLINE, Gates, get_build, log_text, pipeline, project, step, trigger, wait_build,
    wait_finished, wait_no_processes, wait_step_running, wait_until,
};

/// Queues a push build directly in the store (webhooks are not part of this server yet)
/// and wakes the dispatcher; `template` is any build of the repository.
fn queue_push(
    server: &TestServer,
    template: &BuildDto,
    branch: &str,
    priority: Priority,
) -> String {
    let svc = server.services();
    let template_id: BuildId = template.id.parse().unwrap();
    let template = server
        .block_on(svc.builds.get_build(template_id))
        .unwrap()
        .unwrap();
    let build = Build {
        id: BuildId::from_ulid(svc.ids.new_ulid()),
        number: 0,
        status: BuildStatus::Pending,
        trigger: TriggerType::Push,
        priority,
        branch: Some(BranchName::new(branch).unwrap()),
        commit_sha: None,
        workflow: None,
        config_source: None,
        error_message: None,
        created_at: svc.clock.now(),
        started_at: None,
        finished_at: None,
        ..template
    };
    let stored = server.block_on(svc.builds.create_build(&build)).unwrap();
    server.app().signals().wake_dispatcher();
    stored.id.to_string()
}

#[test]
fn never_more_builds_run_than_the_limit() {
    let server = TestServer::builder().max_concurrent_builds(2).start();
    let probe = tempfile::tempdir().unwrap();
    let dir = probe.path().display();
    // Each step registers itself, counts the others, and records a violation.
    let script = format!(
        "mkdir \"{dir}/running.$OORE_BUILD_ID\"\n\
         n=$(ls -d \"{dir}\"/running.* | wc -l)\n\
         if [ \"$n\" -gt 2 ]; then touch \"{dir}/violation\"; fi\n\
         sleep 0.3\n\
         rmdir \"{dir}/running.$OORE_BUILD_ID\""
    );
    let project = project(&server, &pipeline(&step("probe", &script), ""));
    let ids: Vec<String> = (0..6).map(|_| trigger(&server, &project.repo).id).collect();
    let mut most = 0;
    wait_until("every build to finish", DEADLINE, || {
        let page: BuildListResponse = server.get("/api/builds?status=running").json_as();
        most = most.max(page.builds.len());
        let pending: BuildListResponse = server.get("/api/builds?status=pending,running").json_as();
        pending.builds.is_empty().then_some(())
    });
    assert!(most <= 2, "{most} builds ran at once");
    assert!(
        !probe.path().join("violation").exists(),
        "3 steps ran at once"
    );
    for id in &ids {
        assert_eq!(get_build(&server, id).status, "success");
    }
}

#[test]
fn manual_builds_start_before_pushes_and_default_branch_pushes_before_others() {
    let server = TestServer::builder().max_concurrent_builds(1).start();
    let gates = Gates::new();
    let order = tempfile::tempdir().unwrap();
    let order_file = order.path().join("order");
    let script = format!(
        "echo \"$OORE_BUILD_ID\" >> \"{}\"\nif [ \"$BUILD_NUMBER\" = 1 ]; then {}; fi",
        order_file.display(),
        gates.wait_line("go")
    );
    let project = project(&server, &pipeline(&step("record", &script), ""));
    project.git.branch("feature/x");
    let blocker = trigger(&server, &project.repo);
    wait_step_running(&server, &blocker.id, 0);

    // Queued in the opposite order of their priority.
    let other_push = queue_push(&server, &blocker, "feature/x", Priority::OTHER_PUSH);
    let main_push = queue_push(&server, &blocker, "main", Priority::DEFAULT_BRANCH_PUSH);
    let manual = trigger(&server, &project.repo).id;
    for id in [&other_push, &main_push, &manual] {
        assert_eq!(get_build(&server, id).status, "pending");
    }
    gates.open("go");
    for id in [&other_push, &main_push, &manual] {
        assert_eq!(wait_finished(&server, id).status, "success", "{id}");
    }
    let started = std::fs::read_to_string(&order_file).unwrap();
    let started: Vec<&str> = started.lines().collect();
    assert_eq!(
        started,
        [
            blocker.id.as_str(),
            manual.as_str(),
            main_push.as_str(),
            other_push.as_str()
        ]
    );
    let push = get_build(&server, &other_push);
    assert_eq!((push.trigger.as_str(), push.priority), ("push", 4));
}

#[test]
fn after_a_crash_running_builds_fail_and_pending_ones_run() {
    let server = TestServer::builder().max_concurrent_builds(1).start();
    let gates = Gates::new();
    let script = format!(
        "echo waiting\n{}\necho done",
        gates.wait_line("$BUILD_NUMBER")
    );
    let project = project(&server, &pipeline(&step("gated", &script), ""));
    let interrupted = trigger(&server, &project.repo);
    wait_step_running(&server, &interrupted.id, 0);
    let queued = trigger(&server, &project.repo);
    assert_eq!(get_build(&server, &queued.id).status, "pending");
    gates.open("2");

    let server = server.crash().start();
    wait_no_processes(&interrupted.id);
    let failed = wait_finished(&server, &interrupted.id);
    assert_eq!(failed.status, "failure");
    assert!(
        failed
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("interrupted by server restart")),
        "{failed:#?}"
    );
    let steps = failed.steps.as_ref().unwrap();
    assert_eq!(steps[0].status, "cancelled");
    assert!(log_text(&server, &failed.id, None).contains("interrupted by server restart"));

    let ran = wait_finished(&server, &queued.id);
    assert_eq!(ran.status, "success", "{ran:#?}");
    assert_eq!(
        log_text(&server, &ran.id, Some((0, "stdout"))),
        "waiting\ndone\n"
    );
}

#[test]
fn a_graceful_shutdown_interrupts_builds_after_the_grace_period() {
    let server = TestServer::builder()
        .max_concurrent_builds(1)
        .shutdown_grace(std::time::Duration::from_secs(1))
        .start();
    let gates = Gates::new();
    let script = gates.wait_line("$BUILD_NUMBER");
    let project = project(&server, &pipeline(&step("gated", &script), ""));
    let running = trigger(&server, &project.repo);
    wait_step_running(&server, &running.id, 0);
    let pending = trigger(&server, &project.repo);
    gates.open("2");

    let server = server.restart().start();
    let stopped = get_build(&server, &running.id);
    assert_eq!(
        stopped.status, "failure",
        "recorded before the old server exited"
    );
    assert_eq!(
        stopped.error_message.as_deref(),
        Some("interrupted by server shutdown; trigger the build again")
    );
    assert_eq!(stopped.steps.as_ref().unwrap()[0].status, "cancelled");
    wait_no_processes(&running.id);
    assert_eq!(wait_finished(&server, &pending.id).status, "success");
}

#[test]
fn pending_builds_of_a_paused_or_removed_repository_fail_instead_of_starting() {
    let server = TestServer::builder().max_concurrent_builds(1).start();
    let gates = Gates::new();
    let blocker_project = project(
        &server,
        &pipeline(&step("wait", &gates.wait_line("go")), ""),
    );
    let paused = project(&server, &pipeline(&step("x", "echo x"), ""));
    let removed = project(&server, &pipeline(&step("x", "echo x"), ""));
    let blocker = trigger(&server, &blocker_project.repo);
    wait_step_running(&server, &blocker.id, 0);
    let of_paused = trigger(&server, &paused.repo);
    let of_removed = trigger(&server, &removed.repo);
    let deactivated = server.send(
        "POST",
        &format!("/api/repositories/{}/deactivate", paused.repo.id),
        None,
    );
    assert_eq!(deactivated.status, 200, "{}", deactivated.text());
    let deleted = server.send(
        "DELETE",
        &format!("/api/repositories/{}", removed.repo.id),
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    gates.open("go");
    let paused_build = wait_build(&server, &of_paused.id, "failed", |b| b.status == "failure");
    assert!(
        paused_build
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("builds are paused")),
        "{paused_build:#?}"
    );
    assert_eq!(paused_build.started_at, None);
    let removed_build = wait_build(&server, &of_removed.id, "failed", |b| b.status == "failure");
    assert_eq!(
        removed_build.error_message.as_deref(),
        Some("the repository was removed before the build started")
    );
}

#[test]
fn the_reaper_fails_running_builds_that_no_worker_runs() {
    let server = TestServer::builder()
        .max_concurrent_builds(1)
        .env("OORE_MAX_BUILD_DURATION_SECS", "2")
        .env("OORE_MAX_STEP_DURATION_SECS", "2")
        .cleanup_interval(std::time::Duration::from_secs(1))
        .start();
    let gates = Gates::new();
    let project = project(
        &server,
        &pipeline(&step("wait", &gates.wait_line("go")), ""),
    );
    let blocker = trigger(&server, &project.repo);
    wait_step_running(&server, &blocker.id, 0);
    // A build left running by a lost worker: pending while the slot is taken, then moved
    // to running behind the dispatcher's back.
    let orphan = queue_push(&server, &blocker, "main", Priority::DEFAULT_BRANCH_PUSH);
    let svc = server.services();
    let update = oore_core::ports::BuildUpdate {
        started_at: Some(svc.clock.now()),
        ..Default::default()
    };
    let moved = server
        .block_on(svc.builds.transition_build(
            orphan.parse().unwrap(),
            BuildStatus::Pending,
            BuildStatus::Running,
            &update,
        ))
        .unwrap();
    assert!(moved);
    let reaped = wait_finished(&server, &orphan);
    assert_eq!(reaped.status, "failure");
    assert_eq!(
        reaped.error_message.as_deref(),
        Some("no worker was running it for more than 2 s; marked failed")
    );
    assert!(log_text(&server, &orphan, None).contains("no worker was running it"));
    // The blocker ran into the build time limit on its own.
    let blocker = wait_finished(&server, &blocker.id);
    assert_eq!(blocker.status, "failure");
}
