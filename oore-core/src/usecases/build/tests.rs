//! Use-case tests of the build flow over in-memory stores and execution fakes.

use std::time::Duration;

use crate::cancel::{CancelReason, CancelToken};
use crate::domain::build::{BuildStatus, StepStatus};
use crate::domain::repository::Repository;
use crate::error::{ErrorClass, UseCaseError};
use crate::ids::BuildId;
use crate::pipeline::{Format, PipelinePrecedence};
use crate::ports::{CollectOutcome, CollectedFile, FetchError, StepCommand, StepEnd};
use crate::services::Services;
use crate::testing::{
    FakeExecution, FakeWorkspaces, RecordingSignals, block_on, scripted_process, services,
};
use crate::usecases::repository::set_repository_active;

use super::fixtures::repo;
use super::*;

fn settings() -> ExecutionSettings {
    ExecutionSettings {
        max_build_duration: Duration::from_secs(3600),
        max_step_duration: Duration::from_secs(1800),
        precedence: PipelinePrecedence::Database,
        base_env: vec![("PATH".into(), "/usr/bin:/bin".into())],
    }
}

/// Triggers a manual build and moves it to running, as the dispatcher would.
fn start(svc: &Services, repo: &Repository, request: TriggerBuild) -> BuildId {
    let signals = RecordingSignals::default();
    let build = block_on(trigger_build(svc, &signals, repo.id, request)).unwrap();
    assert_eq!(
        *signals.wakes.lock().unwrap(),
        1,
        "trigger wakes the dispatcher"
    );
    let update = crate::ports::BuildUpdate {
        started_at: Some(svc.clock.now()),
        ..Default::default()
    };
    assert!(
        block_on(svc.builds.transition_build(
            build.id,
            BuildStatus::Pending,
            BuildStatus::Running,
            &update
        ))
        .unwrap()
    );
    build.id
}

/// The build as stored now.
fn stored(svc: &Services, id: BuildId) -> crate::domain::build::Build {
    block_on(svc.builds.get_build(id))
        .unwrap()
        .expect("the build exists")
}

fn env_of(cmd: &StepCommand, key: &str) -> Option<String> {
    cmd.env
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

fn exit_by_script(cmd: &StepCommand, _: &FakeWorkspaces) -> StepEnd {
    match cmd.script.trim().strip_prefix("exit ") {
        Some(code) => StepEnd::Exited(code.parse().unwrap_or(1)),
        None if cmd.script.trim() == "slow" => StepEnd::TimedOut,
        None => StepEnd::Exited(0),
    }
}

fn run(svc: &Services, fx: &FakeExecution, id: BuildId) -> BuildStatus {
    block_on(execute_build(
        svc,
        &fx.ports(),
        &settings(),
        id,
        &CancelToken::new(),
    ))
    .unwrap()
}

fn steps(svc: &Services, id: BuildId) -> Vec<(u32, StepStatus, Option<i32>)> {
    block_on(svc.builds.list_steps(id))
        .unwrap()
        .iter()
        .map(|s| (s.index, s.status, s.exit_code))
        .collect()
}

const TWO_STEPS: &str = "workflows:\n  app:\n    environment:\n      vars:\n        FLAVOR: prod\n    scripts:\n      - name: one\n        script: echo one\n      - echo two\n";

#[test]
fn a_successful_build_records_commit_workflow_source_and_step_results() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("0123456789abcdef0123456789abcdef01234567", exit_by_script);
    fx.workspaces
        .files
        .lock()
        .unwrap()
        .insert("oore.yaml".into(), TWO_STEPS.into());
    let id = start(&svc, &repo, TriggerBuild::default());

    assert_eq!(run(&svc, &fx, id), BuildStatus::Success);
    let build = stored(&svc, id);
    assert_eq!(build.status, BuildStatus::Success);
    assert_eq!(build.number, 1);
    assert_eq!(
        build.commit_sha.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(build.workflow.as_deref(), Some("app"));
    assert_eq!(build.config_source.as_deref(), Some("repository"));
    assert!(build.finished_at.is_some());
    assert_eq!(
        steps(&svc, id),
        [
            (0, StepStatus::Success, Some(0)),
            (1, StepStatus::Success, Some(0))
        ]
    );

    let commands = fx.runner.commands.lock().unwrap();
    assert_eq!(commands[0].index, 0);
    assert_eq!(env_of(&commands[0], "OORE_BUILD_ID"), Some(id.to_string()));
    assert_eq!(
        env_of(&commands[0], "OORE_BRANCH").as_deref(),
        Some("main"),
        "default branch"
    );
    assert_eq!(
        env_of(&commands[0], "OORE_TRIGGER_TYPE").as_deref(),
        Some("manual")
    );
    assert_eq!(env_of(&commands[0], "BUILD_NUMBER").as_deref(), Some("1"));
    assert_eq!(env_of(&commands[0], "FLAVOR").as_deref(), Some("prod"));
    assert_eq!(
        env_of(&commands[0], "PATH").as_deref(),
        Some("/usr/bin:/bin")
    );
    assert_eq!(
        fx.fetcher.requests.lock().unwrap()[0].branch.as_deref(),
        Some("main")
    );
    assert!(
        fx.logs.finished.lock().unwrap().contains(&id),
        "log followers are told the build ended"
    );
    assert!(
        fx.system_log(id)
            .iter()
            .any(|l| l.contains("pipeline from repository (oore.yaml)"))
    );
    assert_eq!(
        block_on(svc.builds.step_processes(id)).unwrap(),
        [scripted_process(0), scripted_process(1)],
        "each step's processes are recorded when it starts, for restart recovery"
    );
}

#[test]
fn a_failing_step_fails_the_build_skips_the_rest_but_runs_publishing() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "codemagic.yaml".into(),
        "workflows:\n  w:\n    scripts:\n      - exit 3\n      - echo never\n    publishing:\n      scripts:\n        - echo notify\n".into(),
    );
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(run(&svc, &fx, id), BuildStatus::Failure);
    assert_eq!(
        steps(&svc, id),
        [
            (0, StepStatus::Failure, Some(3)),
            (1, StepStatus::Skipped, None),
            (2, StepStatus::Success, Some(0))
        ]
    );
    let build = stored(&svc, id);
    assert_eq!(
        build.error_message.as_deref(),
        Some("step 0 exited with code 3")
    );
    // Publishing scripts are told how the build went, as on Codemagic.
    let commands = fx.runner.commands.lock().unwrap();
    let status_of = |index: u32| {
        let command = commands.iter().find(|c| c.index == index).unwrap();
        command
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "CM_BUILD_STEP_STATUS")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(status_of(2).as_deref(), Some("failure"));
    assert_eq!(status_of(0), None, "only publishing scripts get it");
}

#[test]
fn publishing_scripts_of_a_passing_build_see_success() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "codemagic.yaml".into(),
        "workflows:\n  w:\n    scripts:\n      - echo ok\n    publishing:\n      scripts:\n        - echo notify\n".into(),
    );
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(run(&svc, &fx, id), BuildStatus::Success);
    let commands = fx.runner.commands.lock().unwrap();
    let publish = commands.iter().find(|c| c.index == 1).unwrap();
    for key in ["CM_BUILD_STEP_STATUS", "FCI_BUILD_STEP_STATUS"] {
        assert!(
            publish
                .env
                .contains(&(key.to_owned(), "success".to_owned())),
            "{key}"
        );
    }
}

#[test]
fn ignore_failure_lets_the_build_succeed() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "oore.yaml".into(),
        "workflows:\n  w:\n    scripts:\n      - script: exit 1\n        ignore_failure: true\n      - echo after\n".into(),
    );
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(run(&svc, &fx, id), BuildStatus::Success);
    assert_eq!(
        steps(&svc, id),
        [
            (0, StepStatus::Failure, Some(1)),
            (1, StepStatus::Success, Some(0))
        ]
    );
}

#[test]
fn a_timed_out_step_names_its_index_and_limit() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "oore.yaml".into(),
        "workflows:\n  w:\n    scripts:\n      - echo ok\n      - script: slow\n        timeout: 5\n".into(),
    );
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(run(&svc, &fx, id), BuildStatus::Failure);
    let build = stored(&svc, id);
    assert_eq!(
        build.error_message.as_deref(),
        Some("step 1 timed out after 5 s")
    );
    assert_eq!(
        fx.runner.commands.lock().unwrap()[1].timeout,
        Duration::from_secs(5)
    );
}

#[test]
fn max_build_duration_caps_step_timeouts() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "oore.yaml".into(),
        "workflows:\n  w:\n    max_build_duration: 2\n    scripts:\n      - slow\n".into(),
    );
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(run(&svc, &fx, id), BuildStatus::Failure);
    assert_eq!(
        fx.runner.commands.lock().unwrap()[0].timeout,
        Duration::from_secs(120)
    );
    let build = stored(&svc, id);
    assert_eq!(
        build.error_message.as_deref(),
        Some("build timed out after 120 s (max_build_duration)")
    );
}

#[test]
fn cm_env_lines_reach_later_steps() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", |cmd, ws| {
        if cmd.index == 0 {
            ws.cm_env
                .lock()
                .unwrap()
                .push(("VERSION".into(), "1.2.3".into()));
        }
        StepEnd::Exited(0)
    });
    fx.workspaces
        .files
        .lock()
        .unwrap()
        .insert("oore.yaml".into(), TWO_STEPS.into());
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(run(&svc, &fx, id), BuildStatus::Success);
    let commands = fx.runner.commands.lock().unwrap();
    assert_eq!(env_of(&commands[0], "VERSION"), None);
    assert_eq!(env_of(&commands[1], "VERSION").as_deref(), Some("1.2.3"));
    assert!(env_of(&commands[1], "CM_ENV").unwrap().ends_with("/cm_env"));
}

#[test]
fn stored_pipeline_wins_unless_precedence_says_repository() {
    let svc = services();
    let repo = repo(&svc);
    block_on(svc.pipelines.save(
        repo.id,
        "workflows:\n  stored:\n    scripts: [echo db]\n",
        Format::Yaml,
        svc.clock.now(),
    ))
    .unwrap();
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces
        .files
        .lock()
        .unwrap()
        .insert("oore.yaml".into(), TWO_STEPS.into());

    let id = start(&svc, &repo, TriggerBuild::default());
    run(&svc, &fx, id);
    let build = stored(&svc, id);
    assert_eq!(
        (build.config_source.as_deref(), build.workflow.as_deref()),
        (Some("database"), Some("stored"))
    );

    let id = start(&svc, &repo, TriggerBuild::default());
    let mut repo_first = settings();
    repo_first.precedence = PipelinePrecedence::Repository;
    block_on(execute_build(
        &svc,
        &fx.ports(),
        &repo_first,
        id,
        &CancelToken::new(),
    ))
    .unwrap();
    let build = stored(&svc, id);
    assert_eq!(
        (build.config_source.as_deref(), build.number),
        (Some("repository"), 2)
    );
}

#[test]
fn no_configuration_runs_the_default_pipeline() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(run(&svc, &fx, id), BuildStatus::Success);
    let build = stored(&svc, id);
    assert_eq!(build.config_source.as_deref(), Some("default"));
}

#[test]
fn an_invalid_repository_pipeline_fails_with_its_location() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "oore.yaml".into(),
        "workflows:\n  w:\n    scripts: []\n".into(),
    );
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(run(&svc, &fx, id), BuildStatus::Failure);
    let build = stored(&svc, id);
    let message = build.error_message.unwrap();
    assert!(
        message.starts_with("the pipeline in oore.yaml is invalid:"),
        "{message}"
    );
    assert!(fx.runner.commands.lock().unwrap().is_empty());
}

#[test]
fn a_fetch_failure_fails_the_build_with_the_reason() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    *fx.fetcher.result.lock().unwrap() =
        Err(FetchError::NotFound("branch 'nope' does not exist".into()));
    let id = start(
        &svc,
        &repo,
        TriggerBuild {
            branch: Some("nope".into()),
            ..Default::default()
        },
    );
    assert_eq!(run(&svc, &fx, id), BuildStatus::Failure);
    let build = stored(&svc, id);
    assert_eq!(
        build.error_message.as_deref(),
        Some("could not fetch the source: branch 'nope' does not exist")
    );
}

#[test]
fn a_missing_default_branch_says_how_to_change_it() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    *fx.fetcher.result.lock().unwrap() = Err(FetchError::NotFound(format!(
        "branch '{}' not found",
        repo.default_branch.as_str()
    )));
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(run(&svc, &fx, id), BuildStatus::Failure);
    let message = stored(&svc, id).error_message.unwrap_or_default();
    assert!(
        message.ends_with(&format!(
            "run `oore repo update {} --default-branch <branch>`",
            repo.id
        )),
        "{message}"
    );
}

#[test]
fn artifacts_are_recorded() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "oore.yaml".into(),
        "workflows:\n  w:\n    scripts: [echo]\n    artifacts:\n      - build/*.apk\n      - missing/*.ipa\n".into(),
    );
    *fx.artifacts.outcome.lock().unwrap() = CollectOutcome {
        files: vec![CollectedFile {
            path: "build/app.apk".into(),
            size: 3,
            sha256: "ab".repeat(32),
        }],
        warnings: vec!["artifact pattern 'missing/*.ipa' matched no files".into()],
    };
    let id = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(
        run(&svc, &fx, id),
        BuildStatus::Success,
        "a pattern matching nothing is only a warning"
    );
    let artifacts = block_on(list_build_artifacts(&svc, id)).unwrap();
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0].path, "build/app.apk");
    assert!(
        fx.system_log(id)
            .iter()
            .any(|l| l.contains("matched no files"))
    );
}

#[test]
fn cancelling_a_running_build_cancels_the_step_and_skips_the_rest() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "oore.yaml".into(),
        "workflows:\n  w:\n    scripts: [wait, echo after]\n".into(),
    );
    let id = start(&svc, &repo, TriggerBuild::default());
    let token = CancelToken::new();
    let canceller = {
        let token = token.clone();
        std::thread::spawn(move || {
            // The step waits on the token; cancel once it is waiting (any time works).
            token.cancel(CancelReason::User);
        })
    };
    let status = block_on(execute_build(&svc, &fx.ports(), &settings(), id, &token)).unwrap();
    canceller.join().unwrap();
    assert_eq!(status, BuildStatus::Cancelled);
    let got = steps(&svc, id);
    assert!(
        got == [
            (0, StepStatus::Cancelled, None),
            (1, StepStatus::Skipped, None)
        ] || got
            == [
                (0, StepStatus::Skipped, None),
                (1, StepStatus::Skipped, None)
            ],
        "{got:?}"
    );
}

#[test]
fn a_superseded_running_build_says_which_build_replaced_it() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "oore.yaml".into(),
        "workflows:\n  w:\n    scripts: [wait]\n".into(),
    );
    let id = start(&svc, &repo, TriggerBuild::default());
    let token = CancelToken::new();
    token.cancel(CancelReason::Superseded(7));
    let status = block_on(execute_build(&svc, &fx.ports(), &settings(), id, &token)).unwrap();
    assert_eq!(status, BuildStatus::Cancelled);
    assert_eq!(
        stored(&svc, id).error_message.as_deref(),
        Some("cancelled: superseded by build #7 (cancel_previous_builds)")
    );
}

#[test]
fn shutdown_interrupts_the_build_as_a_failure() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("abc1234", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "oore.yaml".into(),
        "workflows:\n  w:\n    scripts: [wait]\n".into(),
    );
    let id = start(&svc, &repo, TriggerBuild::default());
    let token = CancelToken::new();
    token.cancel(CancelReason::Shutdown);
    let status = block_on(execute_build(&svc, &fx.ports(), &settings(), id, &token)).unwrap();
    assert_eq!(status, BuildStatus::Failure);
    let build = stored(&svc, id);
    assert!(
        build
            .error_message
            .unwrap()
            .contains("interrupted by server shutdown")
    );
}

#[test]
fn trigger_validates_input_and_repository_state() {
    let svc = services();
    let repo = repo(&svc);
    let signals = RecordingSignals::default();
    let bad = TriggerBuild {
        branch: Some("a b".into()),
        commit: Some("xyz".into()),
        ..Default::default()
    };
    let err = block_on(trigger_build(&svc, &signals, repo.id, bad)).unwrap_err();
    let fields: Vec<_> = err
        .field_errors()
        .unwrap()
        .as_slice()
        .iter()
        .map(|f| f.field)
        .collect();
    assert_eq!(fields, ["branch", "commit"]);

    block_on(svc.pipelines.save(
        repo.id,
        "workflows:\n  ios:\n    scripts: [x]\n",
        Format::Yaml,
        svc.clock.now(),
    ))
    .unwrap();
    let err = block_on(trigger_build(
        &svc,
        &signals,
        repo.id,
        TriggerBuild {
            workflow: Some("android".into()),
            ..Default::default()
        },
    ))
    .unwrap_err();
    assert!(
        err.to_string().contains("android")
            || err.field_errors().unwrap().as_slice()[0]
                .message
                .contains("ios")
    );

    block_on(set_repository_active(&svc, repo.id, false)).unwrap();
    let err = block_on(trigger_build(
        &svc,
        &signals,
        repo.id,
        TriggerBuild::default(),
    ))
    .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Conflict);
    assert!(err.to_string().contains("oore repo activate"), "{err}");
    assert_eq!(
        *signals.wakes.lock().unwrap(),
        0,
        "nothing queued, nothing woken"
    );
}

#[test]
fn cancel_handles_pending_running_orphaned_and_finished_builds() {
    let svc = services();
    let repo = repo(&svc);
    let signals = RecordingSignals::default();

    let pending = block_on(trigger_build(
        &svc,
        &signals,
        repo.id,
        TriggerBuild::default(),
    ))
    .unwrap();
    let cancelled = block_on(cancel_build(&svc, &signals, pending.id)).unwrap();
    assert_eq!(cancelled.status, BuildStatus::Cancelled);

    let owned = start(&svc, &repo, TriggerBuild::default());
    signals.live.lock().unwrap().push(owned);
    let answer = block_on(cancel_build(&svc, &signals, owned)).unwrap();
    assert_eq!(
        answer.status,
        BuildStatus::Running,
        "the worker records the end"
    );
    assert_eq!(*signals.cancelled.lock().unwrap(), [owned]);

    let orphan = start(&svc, &repo, TriggerBuild::default());
    assert_eq!(
        block_on(cancel_build(&svc, &signals, orphan))
            .unwrap()
            .status,
        BuildStatus::Cancelled
    );

    let err = block_on(cancel_build(&svc, &signals, pending.id)).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Conflict);
}

#[test]
fn recovery_fails_running_builds_and_keeps_pending_ones() {
    let svc = services();
    let repo = repo(&svc);
    let running = start(&svc, &repo, TriggerBuild::default());
    let signals = RecordingSignals::default();
    block_on(trigger_build(
        &svc,
        &signals,
        repo.id,
        TriggerBuild::default(),
    ))
    .unwrap();
    let step = crate::domain::build::BuildStep {
        id: crate::ids::StepId::from_ulid(svc.ids.new_ulid()),
        build_id: running,
        index: 0,
        name: "long".into(),
        status: StepStatus::Running,
        ignore_failure: false,
        exit_code: None,
        error_message: None,
        started_at: None,
        finished_at: None,
    };
    block_on(svc.builds.put_steps(running, std::slice::from_ref(&step))).unwrap();
    assert!(
        block_on(
            svc.builds
                .record_step_process(running, step.id, &scripted_process(0))
        )
        .unwrap()
    );
    let fx = FakeExecution::new("abc1234", exit_by_script);

    let report = block_on(recover_builds(&svc, fx.runner.as_ref())).unwrap();
    assert_eq!(
        (report.interrupted, report.pending),
        (
            vec![InterruptedBuild {
                id: running,
                stopped_processes: 1
            }],
            1
        )
    );
    assert_eq!(
        *fx.runner.interrupted.lock().unwrap(),
        [(running, vec![scripted_process(0)])],
        "its processes are stopped with what its steps recorded"
    );
    assert_eq!(steps(&svc, running), [(0, StepStatus::Cancelled, None)]);
    let build = stored(&svc, running);
    assert_eq!(build.status, BuildStatus::Failure);
    assert!(
        build
            .error_message
            .unwrap()
            .contains("interrupted by server restart")
    );
}

#[test]
fn list_builds_rejects_short_commit_prefixes() {
    let svc = services();
    let query = crate::ports::BuildQuery {
        commit_prefix: Some("ab".into()),
        ..Default::default()
    };
    let err = block_on(list_builds(&svc, query)).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Invalid);
}

/// Queues a build as webhook processing does (no workflow chosen) and moves it to
/// running, as the dispatcher would.
fn start_event_build(
    svc: &Services,
    repo: &Repository,
    change: impl FnOnce(&mut crate::domain::build::Build),
) -> BuildId {
    let mut build = crate::testing::contract::sample_build(1, repo.id);
    build.id = BuildId::from_ulid(svc.ids.new_ulid());
    change(&mut build);
    let build = block_on(svc.builds.create_build(&build)).unwrap();
    assert!(
        block_on(svc.builds.transition_build(
            build.id,
            BuildStatus::Pending,
            BuildStatus::Running,
            &Default::default()
        ))
        .unwrap()
    );
    build.id
}

const BY_EVENT: &str = concat!(
    "workflows:\n",
    "  manual-only:\n    scripts: [echo manual]\n",
    "  into-main:\n    triggering:\n      events: [pull_request]\n      branch_patterns:\n",
    "        - pattern: main\n          source: false\n    scripts: [echo review]\n",
    "  releases:\n    triggering:\n      events: [tag]\n    scripts: [echo release]\n",
);

#[test]
fn event_builds_select_their_workflow_like_webhook_processing() {
    use crate::domain::build::{Priority, TriggerType};
    use crate::domain::repository::BranchName;
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("0123456789abcdef0123456789abcdef01234567", exit_by_script);
    fx.workspaces
        .files
        .lock()
        .unwrap()
        .insert("oore.yaml".into(), BY_EVENT.into());

    let review = start_event_build(&svc, &repo, |b| {
        b.trigger = TriggerType::PullRequest;
        b.priority = Priority::REVIEW;
        b.branch = Some(BranchName::new("feature/x").unwrap());
        b.base_branch = Some(BranchName::main());
        b.pull_request = Some(3);
    });
    assert_eq!(run(&svc, &fx, review), BuildStatus::Success);
    let build = block_on(svc.builds.get_build(review)).unwrap().unwrap();
    assert_eq!(
        build.workflow.as_deref(),
        Some("into-main"),
        "the target branch decides"
    );

    let tag = start_event_build(&svc, &repo, |b| {
        b.branch = None;
        b.tag = Some("v1.0".into());
    });
    assert_eq!(run(&svc, &fx, tag), BuildStatus::Success);
    assert_eq!(
        block_on(svc.builds.get_build(tag))
            .unwrap()
            .unwrap()
            .workflow
            .as_deref(),
        Some("releases")
    );

    let push = start_event_build(&svc, &repo, |_| {});
    assert_eq!(run(&svc, &fx, push), BuildStatus::Failure);
    let build = block_on(svc.builds.get_build(push)).unwrap().unwrap();
    assert_eq!(
        build.error_message.as_deref(),
        Some(
            "no workflow in oore.yaml is triggered by push to main; add a `triggering` section \
             with this event to a workflow, or trigger the build by hand"
        ),
        "no fallback to the first workflow once any workflow declares triggering"
    );
}

#[test]
fn event_builds_of_a_simple_pipeline_run_its_first_workflow() {
    let svc = services();
    let repo = repo(&svc);
    let fx = FakeExecution::new("0123456789abcdef0123456789abcdef01234567", exit_by_script);
    fx.workspaces.files.lock().unwrap().insert(
        "oore.yaml".into(),
        "workflows:\n  first:\n    scripts: [echo 1]\n  second:\n    scripts: [echo 2]\n".into(),
    );
    let push = start_event_build(&svc, &repo, |b| {
        b.branch = Some(crate::domain::repository::BranchName::new("any/branch").unwrap())
    });
    assert_eq!(run(&svc, &fx, push), BuildStatus::Success);
    assert_eq!(
        block_on(svc.builds.get_build(push))
            .unwrap()
            .unwrap()
            .workflow
            .as_deref(),
        Some("first")
    );
}
