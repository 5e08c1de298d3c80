//! Build logs over HTTP while the build runs: the offset API and the server-sent events
//! stream (design decision 8).

use std::time::Duration;

use base64::Engine as _;
use oore_testkit::TestServer;
use oore_testkit::http::{EventStream, SseEvent};

use crate::build_support::{
    DEADLINE, Gates, log_chunk, pipeline, project, step, trigger, wait_finished, wait_step_running,
    wait_until,
};
use crate::support::assert_error;

fn gated_pipeline(gates: &Gates) -> String {
    pipeline(
        &step(
            "talk",
            &format!(
                "echo first line\nprintf 'caf\\303\\251 \\377\\n'\n{}\necho second line",
                gates.wait_line("go")
            ),
        ),
        "",
    )
}

#[test]
fn output_is_readable_by_offset_while_the_step_runs() {
    let server = TestServer::start();
    let gates = Gates::new();
    let project = project(&server, &gated_pipeline(&gates));
    let build = trigger(&server, &project.repo);
    wait_step_running(&server, &build.id, 0);
    let first = wait_until("the first lines", DEADLINE, || {
        let chunk = log_chunk(&server, &build.id, Some((0, "stdout")), 0);
        chunk.data.contains('\u{fffd}').then_some(chunk)
    });
    assert!(!first.complete);
    assert_eq!(first.offset, 0);
    // `data` is lossy, `data_base64` exact.
    let exact = base64::engine::general_purpose::STANDARD
        .decode(&first.data_base64)
        .unwrap();
    assert_eq!(exact, b"first line\ncaf\xc3\xa9 \xff\n");
    assert_eq!(first.data, "first line\ncafé \u{fffd}\n");
    assert_eq!(first.next_offset, exact.len() as u64);
    // Nothing more yet.
    let idle = log_chunk(&server, &build.id, Some((0, "stdout")), first.next_offset);
    assert_eq!((idle.data.as_str(), idle.complete), ("", false));

    gates.open("go");
    assert_eq!(wait_finished(&server, &build.id).status, "success");
    let rest = log_chunk(&server, &build.id, Some((0, "stdout")), first.next_offset);
    assert_eq!(rest.data, "second line\n");
    assert!(rest.complete);
    // A small limit pages through it.
    let response = server.get(&format!(
        "/api/builds/{}/logs?step=0&stream=stdout&offset=0&limit=5",
        build.id
    ));
    let page: oore_core::api::LogChunkResponse = response.json_as();
    assert_eq!(
        (page.data.as_str(), page.next_offset, page.complete),
        ("first", 5, false)
    );
    // The system log says what happened.
    let system = log_chunk(&server, &build.id, None, 0);
    assert!(
        system.data.contains("step 0 (talk) started"),
        "{}",
        system.data
    );
    assert!(system.complete);

    let missing = server.get(&format!("/api/builds/{}/logs?step=7", build.id));
    assert_error(&missing, 404, "not_found");
    let bad = server.get(&format!("/api/builds/{}/logs?step=0&stream=both", build.id));
    assert_error(&bad, 400, "validation_failed");
}

fn log_text(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter(|e| e.event == "log")
        .map(|e| e.json())
        .filter(|d| d["step"] == 0 && d["stream"] == "stdout")
        .map(|d| d["data"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_event_stream_delivers_output_live_and_ends_with_the_build() {
    let server = TestServer::start();
    let gates = Gates::new();
    let project = project(&server, &gated_pipeline(&gates));
    let build = trigger(&server, &project.repo);
    let url = format!("{}/api/builds/{}/logs/stream", server.url(), build.id);
    let mut stream = EventStream::open(&url, server.admin_token()).unwrap();
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));

    // The first lines arrive while the step still waits at its gate.
    let mut events = stream.events_until(DEADLINE, |e| {
        e.event == "log" && e.data.contains("first line")
    });
    assert!(
        events.iter().any(|e| e.event == "status"),
        "no status event: {events:#?}"
    );
    wait_step_running(&server, &build.id, 0);

    gates.open("go");
    events.extend(stream.events_until(DEADLINE, |e| e.event == "end"));
    let end = events.last().unwrap().json();
    assert_eq!(end["status"], "success");
    assert_eq!(stream.rest(), [], "nothing after end");
    assert_eq!(
        log_text(&events),
        "first line\ncafé \u{fffd}\nsecond line\n"
    );
    // Offsets chain without gaps, and the exact bytes are there too.
    let mut offset = 0;
    for data in events
        .iter()
        .filter(|e| e.event == "log")
        .map(SseEvent::json)
    {
        if data["step"] == 0 && data["stream"] == "stdout" {
            assert_eq!(data["offset"], offset);
            offset = data["next_offset"].as_u64().unwrap();
            assert!(data["data_base64"].is_string());
        }
    }
    let statuses: Vec<String> = events
        .iter()
        .filter(|e| e.event == "status")
        .map(|e| e.json()["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(statuses.iter().any(|s| s == "running"), "{statuses:?}");
    assert!(
        events.iter().any(|e| e.event == "log"
            && e.json()["step"].is_null()
            && e.json()["stream"] == "system"),
        "no system log event"
    );

    // A viewer of the ended build gets everything and `end` at once; `from` skips ahead.
    let mut late = EventStream::open(&url, server.admin_token()).unwrap();
    late.set_timeout(Duration::from_secs(10)).unwrap();
    let replay = late.rest();
    assert_eq!(
        log_text(&replay),
        "first line\ncafé \u{fffd}\nsecond line\n"
    );
    assert_eq!(replay.last().map(|e| e.event.as_str()), Some("end"));
    let mut resumed =
        EventStream::open(&format!("{url}?from=0.stdout:11"), server.admin_token()).unwrap();
    let replay = resumed.rest();
    assert_eq!(log_text(&replay), "caf\u{e9} \u{fffd}\nsecond line\n");
}

#[test]
fn several_viewers_follow_one_build() {
    let server = TestServer::start();
    let gates = Gates::new();
    let project = project(&server, &gated_pipeline(&gates));
    let build = trigger(&server, &project.repo);
    let url = format!("{}/api/builds/{}/logs/stream", server.url(), build.id);
    let mut viewers: Vec<EventStream> = (0..3)
        .map(|_| EventStream::open(&url, server.admin_token()).unwrap())
        .collect();
    for viewer in &mut viewers {
        viewer.events_until(DEADLINE, |e| {
            e.event == "log" && e.data.contains("first line")
        });
    }
    gates.open("go");
    for viewer in &mut viewers {
        let events = viewer.events_until(DEADLINE, |e| e.event == "end");
        assert!(log_text(&events).ends_with("second line\n"), "{events:#?}");
    }
}
