//! `LogFollow` over `MemoryLogs` and the memory stores: one test per behaviour of the
//! module doc.

use super::*;
use crate::domain::build::BuildStep;
use crate::ids::StepId;
use crate::ports::{BuildUpdate, Clock, LogStream};
use crate::testing::{FixedClock, MemoryLogs, block_on, services};
use crate::usecases::build::fixtures::{repo, start as start_build};

const OUT: LogFile = LogFile::Step {
    index: 0,
    stream: LogStream::Stdout,
};

struct Fx {
    svc: Services,
    clock: Arc<FixedClock>,
    logs: Arc<MemoryLogs>,
    build: BuildId,
}

/// A running build with one running step and `system` + step 0 stdout logs.
fn running() -> Fx {
    let mut svc = services();
    let clock = Arc::new(FixedClock::default());
    svc.clock = clock.clone();
    let build = start_build(&svc, &repo(&svc));
    let step = BuildStep {
        id: StepId::from_ulid(ulid::Ulid::from_parts(9, 1)),
        build_id: build,
        index: 0,
        name: "test".into(),
        status: StepStatus::Running,
        ignore_failure: false,
        exit_code: None,
        error_message: None,
        started_at: Some(clock.now()),
        finished_at: None,
    };
    block_on(svc.builds.put_steps(build, &[step])).expect("steps");
    let logs = Arc::new(MemoryLogs::default());
    logs.write(build, LogFile::System, b"cloning\n");
    logs.write(build, OUT, b"hello\n");
    Fx {
        svc,
        clock,
        logs,
        build,
    }
}

impl Fx {
    fn start(&self, from: &[(LogFile, u64)]) -> FollowStart {
        let from = from.iter().copied().collect();
        block_on(LogFollow::start(
            &self.svc,
            self.logs.clone(),
            self.build,
            from,
        ))
        .expect("start")
    }

    /// Ends the step (exit `code`) and the build.
    fn end(&self, to: BuildStatus, code: i32) {
        let mut step = block_on(self.svc.builds.list_steps(self.build)).expect("steps")[0].clone();
        step.status = if code == 0 {
            StepStatus::Success
        } else {
            StepStatus::Failure
        };
        step.exit_code = Some(code);
        block_on(self.svc.builds.transition_step(&step, StepStatus::Running)).expect("step");
        let update = BuildUpdate {
            error_message: (to == BuildStatus::Failure).then(|| "step 0 failed".to_owned()),
            ..BuildUpdate::default()
        };
        block_on(
            self.svc
                .builds
                .transition_build(self.build, BuildStatus::Running, to, &update),
        )
        .expect("end");
    }

    fn grew(&self, file: LogFile, data: &[u8]) -> Option<LogUpdate> {
        Some(LogUpdate::Grew {
            file,
            len: self.logs.write(self.build, file, data),
        })
    }
}

/// A compact view of events: `status:<build>`, `log:<file>@<offset>:<text>`, `end:<status>`.
fn shown(events: &[FollowEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            FollowEvent::Status(s) => format!("status:{}", s.status.as_str()),
            FollowEvent::Log { file, chunk } => {
                let name = match file {
                    LogFile::System => "system".to_owned(),
                    LogFile::Step { index, stream } => format!("{index}.{}", stream.as_str()),
                };
                let text = String::from_utf8_lossy(&chunk.data);
                format!("log:{name}@{}:{}", chunk.offset, text.trim_end())
            }
            FollowEvent::End { status, .. } => format!("end:{}", status.as_str()),
        })
        .collect()
}

#[test]
fn an_ended_build_gets_everything_and_end_without_following() {
    let fx = running();
    fx.end(BuildStatus::Failure, 2);
    let start = fx.start(&[]);
    assert!(start.updates.is_none(), "an ended build is not followed");
    assert_eq!(
        shown(&start.events),
        [
            "status:failure",
            "log:system@0:cloning",
            "log:0.stdout@0:hello",
            "end:failure"
        ]
    );
    let Some(FollowEvent::End { error_message, .. }) = start.events.last() else {
        panic!("ends with End");
    };
    assert_eq!(error_message.as_deref(), Some("step 0 failed"));
    assert!(start.follow.is_done() && !start.follow.wants_updates());
}

#[test]
fn a_running_build_is_caught_up_then_followed_by_offset() {
    let fx = running();
    let FollowStart {
        mut follow,
        events,
        updates,
    } = fx.start(&[]);
    assert!(updates.is_some(), "a running build is followed");
    assert_eq!(
        shown(&events),
        [
            "status:running",
            "log:system@0:cloning",
            "log:0.stdout@0:hello"
        ]
    );
    assert!(follow.wants_updates() && !follow.is_done());
    let events = block_on(follow.on_update(fx.grew(OUT, b"world\n")));
    assert_eq!(shown(&events), ["log:0.stdout@6:world"]);
    assert_eq!(follow.offsets()[&OUT], 12);
}

#[test]
fn given_offsets_skip_what_the_viewer_already_has() {
    let fx = running();
    let start = fx.start(&[(LogFile::System, 3), (OUT, 6)]);
    assert_eq!(
        shown(&start.events),
        ["status:running", "log:system@3:ning"]
    );
}

#[test]
fn a_missed_update_loses_nothing() {
    let fx = running();
    let mut follow = fx.start(&[]).follow;
    let _missed = fx.grew(OUT, b"one\n");
    let events = block_on(follow.on_update(fx.grew(OUT, b"two\n")));
    assert_eq!(shown(&events), ["log:0.stdout@6:one\ntwo"]);
}

#[test]
fn large_logs_come_in_bounded_events_and_batches() {
    let fx = running();
    let big: Vec<u8> = (0..FOLLOW_EVENT_BYTES * 20 + 5)
        .map(|i| (i % 200) as u8)
        .collect();
    let len = fx.logs.write(fx.build, LogFile::System, &big);
    fx.end(BuildStatus::Success, 0);
    let start = fx.start(&[(LogFile::System, 8)]);
    let mut follow = start.follow;
    let mut batches = vec![start.events];
    loop {
        let next = block_on(follow.more());
        if next.is_empty() {
            break;
        }
        batches.push(next);
    }
    assert!(
        batches.iter().all(|b| b.len() <= FOLLOW_BATCH),
        "batches are bounded"
    );
    let events: Vec<FollowEvent> = batches.into_iter().flatten().collect();
    let mut system = Vec::new();
    for e in &events {
        if let FollowEvent::Log {
            file: LogFile::System,
            chunk,
        } = e
        {
            assert!(chunk.data.len() <= FOLLOW_EVENT_BYTES);
            assert_eq!(chunk.offset, 8 + system.len() as u64);
            system.extend_from_slice(&chunk.data);
        }
    }
    assert_eq!(system.len() as u64, len - 8);
    assert!(system == big, "every byte, in order");
    assert!(matches!(events.last(), Some(FollowEvent::End { .. })));
    assert!(follow.is_done());
}

#[test]
fn updates_read_the_status_at_most_every_quarter_second_after_the_logs() {
    let fx = running();
    let mut follow = fx.start(&[]).follow;
    fx.end(BuildStatus::Success, 0);
    // Right after the start: logs only.
    let events = block_on(follow.on_update(fx.grew(OUT, b"a\n")));
    assert_eq!(shown(&events), ["log:0.stdout@6:a"]);
    fx.clock.advance(jiff::SignedDuration::from_millis(250));
    let events = block_on(follow.on_update(fx.grew(OUT, b"b\n")));
    assert_eq!(
        shown(&events),
        ["log:0.stdout@8:b", "status:success", "end:success"]
    );
    assert!(follow.is_done());
}

#[test]
fn a_step_that_starts_is_shown_running_with_its_first_output() {
    let fx = running();
    let mut follow = fx.start(&[]).follow;
    let mut steps = block_on(fx.svc.builds.list_steps(fx.build)).expect("steps");
    let mut second = steps[0].clone();
    second.id = StepId::from_ulid(ulid::Ulid::from_parts(9, 2));
    second.index = 1;
    second.name = "build".into();
    steps.push(second);
    block_on(fx.svc.builds.put_steps(fx.build, &steps)).expect("steps");
    let second_out = LogFile::Step {
        index: 1,
        stream: LogStream::Stdout,
    };
    // No time passed since the start, but the file is new: the status is read now.
    let events = block_on(follow.on_update(fx.grew(second_out, b"compiling\n")));
    assert_eq!(
        shown(&events),
        ["log:1.stdout@0:compiling", "status:running"]
    );
    let FollowEvent::Status(status) = &events[1] else {
        panic!("a status event: {events:?}");
    };
    assert_eq!(status.steps.len(), 2);
    // Its next output is only logs again.
    let events = block_on(follow.on_update(fx.grew(second_out, b"done\n")));
    assert_eq!(shown(&events), ["log:1.stdout@10:done"]);
}

#[test]
fn ticks_send_status_only_when_it_changed() {
    let fx = running();
    let mut follow = fx.start(&[]).follow;
    assert!(block_on(follow.on_tick()).is_empty(), "nothing changed");
    let mut step = block_on(fx.svc.builds.list_steps(fx.build)).expect("steps")[0].clone();
    step.status = StepStatus::Success;
    step.exit_code = Some(0);
    block_on(fx.svc.builds.transition_step(&step, StepStatus::Running)).expect("step");
    let events = block_on(follow.on_tick());
    let [FollowEvent::Status(status)] = events.as_slice() else {
        panic!("one status event: {events:?}");
    };
    assert_eq!(status.status, BuildStatus::Running);
    assert_eq!(
        status.steps,
        [FollowStep {
            index: 0,
            name: "test".into(),
            status: StepStatus::Success,
            exit_code: Some(0)
        }]
    );
    assert!(block_on(follow.on_tick()).is_empty());
}

#[test]
fn a_tick_that_finds_the_build_ended_catches_up_and_ends() {
    let fx = running();
    let mut follow = fx.start(&[]).follow;
    let _unannounced = fx.grew(OUT, b"last\n");
    fx.end(BuildStatus::Success, 0);
    let events = block_on(follow.on_tick());
    assert_eq!(
        shown(&events),
        ["status:success", "log:0.stdout@6:last", "end:success"]
    );
    assert!(follow.is_done());
    assert!(block_on(follow.on_tick()).is_empty());
    assert!(block_on(follow.on_update(fx.grew(OUT, b"x"))).is_empty());
}

#[test]
fn finished_ends_at_once_when_the_build_ended() {
    let fx = running();
    let mut follow = fx.start(&[]).follow;
    fx.end(BuildStatus::Success, 0);
    let events = block_on(follow.on_update(Some(LogUpdate::Finished)));
    assert_eq!(shown(&events), ["status:success", "end:success"]);
    assert!(follow.is_done());
}

#[test]
fn finished_before_the_build_ended_waits_for_the_end_on_ticks() {
    let fx = running();
    let mut follow = fx.start(&[]).follow;
    // The follower closed (a build failed without its worker, say): stop reading it.
    assert!(block_on(follow.on_update(None)).is_empty());
    assert!(!follow.wants_updates() && !follow.is_done());
    assert!(block_on(follow.on_update(fx.grew(OUT, b"ignored\n"))).is_empty());
    assert!(block_on(follow.on_tick()).is_empty(), "still running");
    fx.end(BuildStatus::Failure, 1);
    let events = block_on(follow.on_tick());
    assert_eq!(
        shown(&events),
        ["status:failure", "log:0.stdout@6:ignored", "end:failure"]
    );
    assert!(follow.is_done());
}

#[test]
fn an_unreadable_log_is_skipped_until_it_can_be_read() {
    let fx = running();
    let mut follow = fx.start(&[]).follow;
    let missing = LogFile::Step {
        index: 3,
        stream: LogStream::Stderr,
    };
    let update = Some(LogUpdate::Grew {
        file: missing,
        len: 10,
    });
    assert!(block_on(follow.on_update(update)).is_empty());
    assert!(!follow.offsets().contains_key(&missing));
}

#[test]
fn an_unknown_build_is_not_found() {
    let fx = running();
    let other = BuildId::from_ulid(ulid::Ulid::from_parts(1, 1));
    let result = block_on(LogFollow::start(
        &fx.svc,
        fx.logs.clone(),
        other,
        HashMap::new(),
    ));
    assert!(matches!(result, Err(BuildQueryError::NotFound(id)) if id == other));
}
