//! Cancelling builds (spec 6.5): a running build's whole process tree is stopped, even a
//! step that ignores TERM and a grandchild that left the group with `setsid`; a pending
//! build ends at once.

use oore_core::api::BuildDto;
use oore_testkit::TestServer;

use crate::build_support::{
    DEADLINE, Gates, build_processes, get_build, log_chunk, pipeline, project, step, trigger,
    wait_finished, wait_no_processes, wait_step_running, wait_until,
};
use crate::support::assert_error;

#[test]
fn cancelling_a_running_build_stops_every_process_it_started() {
    let server = TestServer::start();
    let script = "trap 'echo got TERM, ignoring it' TERM\n\
                  setsid sh -c 'trap \"\" TERM; sleep 300' &\n\
                  echo started\n\
                  while true; do sleep 0.1; done";
    let yaml = pipeline(
        &format!(
            "{}{}",
            step("stubborn", script),
            step("never", "echo never")
        ),
        "",
    );
    let project = project(&server, &yaml);
    let build = trigger(&server, &project.repo);
    wait_step_running(&server, &build.id, 0);
    wait_until("the step's first output", DEADLINE, || {
        log_chunk(&server, &build.id, Some((0, "stdout")), 0)
            .data
            .contains("started")
            .then_some(())
    });
    // The step, its shell loop and the detached grandchild.
    wait_until("the detached grandchild", DEADLINE, || {
        (build_processes(&build.id).len() >= 2).then_some(())
    });

    let response = server.send("POST", &format!("/api/builds/{}/cancel", build.id), None);
    assert!(
        response.status == 200 || response.status == 202,
        "{}",
        response.text()
    );
    let answered: BuildDto = response.json_as();
    if response.status == 202 {
        assert_eq!(answered.status, "running");
    } else {
        assert_eq!(answered.status, "cancelled");
    }
    let build = wait_finished(&server, &build.id);
    assert_eq!(build.status, "cancelled", "{build:#?}");
    assert_eq!(build.error_message.as_deref(), Some("cancelled by user"));
    let steps = build.steps.as_ref().unwrap();
    assert_eq!(
        steps.iter().map(|s| s.status.as_str()).collect::<Vec<_>>(),
        ["cancelled", "skipped"]
    );
    wait_no_processes(&build.id);

    // Cancelling again is a conflict.
    let again = server.send("POST", &format!("/api/builds/{}/cancel", build.id), None);
    let envelope = assert_error(&again, 409, "conflict");
    assert!(
        envelope.error.message.contains("already ended"),
        "{envelope:?}"
    );
}

#[test]
fn cancelling_a_pending_build_ends_it_at_once() {
    let server = TestServer::builder().max_concurrent_builds(1).start();
    let gates = Gates::new();
    let yaml = pipeline(&step("wait", &gates.wait_line("go")), "");
    let project = project(&server, &yaml);
    let running = trigger(&server, &project.repo);
    wait_step_running(&server, &running.id, 0);
    let queued = trigger(&server, &project.repo);
    assert_eq!(get_build(&server, &queued.id).status, "pending");

    let response = server.send("POST", &format!("/api/builds/{}/cancel", queued.id), None);
    assert_eq!(response.status, 200, "{}", response.text());
    let cancelled: BuildDto = response.json_as();
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(
        cancelled.error_message.as_deref(),
        Some("cancelled by user")
    );
    assert_eq!(cancelled.started_at, None);
    assert!(cancelled.finished_at.is_some());
    assert_eq!(cancelled.steps.as_deref(), Some(&[][..]));

    gates.open("go");
    assert_eq!(wait_finished(&server, &running.id).status, "success");
    // The cancelled build never ran.
    let after = get_build(&server, &queued.id);
    assert_eq!(
        (after.status.as_str(), after.started_at),
        ("cancelled", None)
    );
}
