//! A store that refuses writes mid-build (a full disk): the build stops with a failure
//! that says what could not be recorded, and its end, kept whole, is recorded once the
//! store takes writes again.

use std::sync::Arc;
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::domain::build::{BuildStatus, StepStatus};
use crate::pipeline::PipelinePrecedence;
use crate::ports::{
    ArtifactCollector, ArtifactError, CollectOutcome, CollectRequest, CollectedFile, StepCommand,
    StepEnd,
};
use crate::services::Services;
use crate::testing::{FailMode, FailingWrites, FakeExecution, FakeWorkspaces, services};

use super::fixtures::{repo, start};
use super::*;

const TWO_STEPS: &str =
    "workflows:\n  w:\n    scripts:\n      - fill the disk\n      - echo never\n";

fn settings() -> ExecutionSettings {
    ExecutionSettings {
        max_build_duration: Duration::from_secs(3600),
        max_step_duration: Duration::from_secs(1800),
        precedence: PipelinePrecedence::Database,
        base_env: Vec::new(),
    }
}

/// Services whose build store fails as `failing` is told.
fn flaky() -> (Services, Arc<FailingWrites>) {
    let mut svc = services();
    let failing = Arc::new(FailingWrites::new(svc.builds.clone()));
    svc.builds = failing.clone();
    (svc, failing)
}

fn steps(svc: &Services, id: crate::ids::BuildId) -> Vec<(StepStatus, Option<i32>)> {
    crate::testing::block_on(svc.builds.list_steps(id))
        .unwrap()
        .iter()
        .map(|s| (s.status, s.exit_code))
        .collect()
}

#[test]
fn a_refused_step_end_stops_the_build_and_is_recorded_with_its_end() {
    let (svc, failing) = flaky();
    let id = start(&svc, &repo(&svc));
    let during = failing.clone();
    let fx = FakeExecution::new("abc1234", move |_: &StepCommand, _: &FakeWorkspaces| {
        // The step fills the disk: from its end on, every write fails.
        during.set(FailMode::AllWrites);
        StepEnd::Exited(0)
    });
    fx.workspaces
        .files
        .lock()
        .unwrap()
        .insert("codemagic.yaml".into(), TWO_STEPS.into());

    let result = crate::testing::block_on(execute_build(
        &svc,
        &fx.ports(),
        &settings(),
        id,
        &CancelToken::new(),
    ));
    let Err(ExecuteError::Unrecorded { end, error }) = result else {
        panic!("the end cannot be recorded while writes fail: {result:?}");
    };
    assert!(error.to_string().contains("disk is full"), "{error}");
    assert_eq!(end.status, BuildStatus::Failure);
    let message = end.error.clone().unwrap();
    assert!(
        message.starts_with(
            "could not record the end of step 0 (database unavailable: database or disk is full"
        ),
        "{message}"
    );
    assert!(
        message.ends_with("trigger it again once the database accepts writes"),
        "{message}"
    );
    assert_eq!(
        fx.runner.commands.lock().unwrap().len(),
        1,
        "step 1 never ran"
    );
    assert_eq!(end.steps.len(), 1);
    assert_eq!(
        (end.steps[0].step.status, end.steps[0].from),
        (StepStatus::Success, StepStatus::Running)
    );
    let stored = crate::testing::block_on(svc.builds.get_build(id))
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, BuildStatus::Running, "nothing recorded yet");
    assert!(
        fx.logs.finished.lock().unwrap().is_empty(),
        "viewers wait for the record"
    );

    // Still full: another attempt fails and changes nothing.
    let logs = fx.logs.as_ref();
    assert!(crate::testing::block_on(record_build_end(&svc, logs, &end)).is_err());

    failing.set(FailMode::Off);
    assert_eq!(
        crate::testing::block_on(record_build_end(&svc, logs, &end)),
        Ok(BuildStatus::Failure)
    );
    let stored = crate::testing::block_on(svc.builds.get_build(id))
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, BuildStatus::Failure);
    assert_eq!(stored.error_message.as_deref(), Some(message.as_str()));
    assert_eq!(
        steps(&svc, id),
        [(StepStatus::Success, Some(0)), (StepStatus::Skipped, None)],
        "the refused step end is recorded as it happened, the rest skipped"
    );
    assert_eq!(*fx.logs.finished.lock().unwrap(), [id]);

    // Recording again (a retry whose answer was lost) changes nothing.
    assert_eq!(
        crate::testing::block_on(record_build_end(&svc, logs, &end)),
        Ok(BuildStatus::Failure)
    );
}

#[test]
fn a_refused_build_end_keeps_the_outcome_for_the_retry() {
    let (svc, failing) = flaky();
    let id = start(&svc, &repo(&svc));
    let fx = FakeExecution::new("abc1234", |_: &StepCommand, _: &FakeWorkspaces| {
        StepEnd::Exited(0)
    });
    failing.set(FailMode::BuildEnds);
    let result = crate::testing::block_on(execute_build(
        &svc,
        &fx.ports(),
        &settings(),
        id,
        &CancelToken::new(),
    ));
    let Err(ExecuteError::Unrecorded { end, .. }) = result else {
        panic!("expected an unrecorded end: {result:?}");
    };
    assert_eq!(
        (end.status, end.error.as_deref()),
        (BuildStatus::Success, None)
    );
    assert!(end.steps.is_empty(), "the steps were recorded");
    failing.set(FailMode::Off);
    assert_eq!(
        crate::testing::block_on(record_build_end(&svc, fx.logs.as_ref(), &end)),
        Ok(BuildStatus::Success)
    );
}

/// Collects what `inner` collects, then makes every write fail.
struct FillingCollector {
    inner: Arc<crate::testing::FakeArtifacts>,
    failing: Arc<FailingWrites>,
}

#[async_trait::async_trait]
impl ArtifactCollector for FillingCollector {
    async fn collect(&self, request: &CollectRequest) -> Result<CollectOutcome, ArtifactError> {
        let collected = self.inner.collect(request).await;
        self.failing.set(FailMode::AllWrites);
        collected
    }
}

#[test]
fn refused_artifacts_fail_the_build_naming_them() {
    let (svc, failing) = flaky();
    let id = start(&svc, &repo(&svc));
    let fx = FakeExecution::new("abc1234", |_: &StepCommand, _: &FakeWorkspaces| {
        StepEnd::Exited(0)
    });
    fx.workspaces.files.lock().unwrap().insert(
        "codemagic.yaml".into(),
        "workflows:\n  w:\n    scripts:\n      - make\n    artifacts:\n      - build/*.apk\n"
            .into(),
    );
    fx.artifacts
        .outcome
        .lock()
        .unwrap()
        .files
        .push(CollectedFile {
            path: "build/app.apk".into(),
            size: 3,
            sha256: "0".repeat(64),
        });
    let mut ports = fx.ports();
    ports.artifacts = Arc::new(FillingCollector {
        inner: fx.artifacts.clone(),
        failing: failing.clone(),
    });
    let result = crate::testing::block_on(execute_build(
        &svc,
        &ports,
        &settings(),
        id,
        &CancelToken::new(),
    ));
    let Err(ExecuteError::Unrecorded { end, .. }) = result else {
        panic!("expected an unrecorded end: {result:?}");
    };
    assert_eq!(end.status, BuildStatus::Failure);
    assert!(
        end.error
            .as_deref()
            .unwrap()
            .starts_with("could not record the artifacts (database unavailable"),
        "{:?}",
        end.error
    );
    failing.set(FailMode::Off);
    crate::testing::block_on(record_build_end(&svc, fx.logs.as_ref(), &end)).unwrap();
    assert_eq!(steps(&svc, id), [(StepStatus::Success, Some(0))]);
    assert!(
        crate::testing::block_on(svc.builds.list_artifacts(id))
            .unwrap()
            .is_empty(),
        "all or none"
    );
}
