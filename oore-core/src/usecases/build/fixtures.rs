//! Shared setup of the build use-case tests: a repository, a queued build, a started one.

use crate::domain::build::BuildStatus;
use crate::domain::repository::Repository;
use crate::ids::BuildId;
use crate::ports::BuildUpdate;
use crate::services::Services;
use crate::testing::{RecordingSignals, block_on};
use crate::usecases::repository::{AddRepository, add_repository};

use super::{TriggerBuild, trigger_build};

/// An active plain-git repository.
pub(super) fn repo(svc: &Services) -> Repository {
    block_on(add_repository(
        svc,
        AddRepository {
            provider: "git".into(),
            owner: "local".into(),
            name: "app".into(),
            clone_url: Some("/srv/git/app.git".into()),
            ..AddRepository::default()
        },
    ))
    .expect("add the sample repository")
}

/// A manual build of `repo`, pending.
pub(super) fn queue(svc: &Services, repo: &Repository) -> BuildId {
    let signals = RecordingSignals::default();
    block_on(trigger_build(
        svc,
        &signals,
        repo.id,
        TriggerBuild::default(),
    ))
    .expect("trigger a build")
    .id
}

/// A manual build of `repo`, moved to running as the dispatcher would.
pub(super) fn start(svc: &Services, repo: &Repository) -> BuildId {
    let id = queue(svc, repo);
    let update = BuildUpdate {
        started_at: Some(svc.clock.now()),
        ..BuildUpdate::default()
    };
    let moved = block_on(svc.builds.transition_build(
        id,
        BuildStatus::Pending,
        BuildStatus::Running,
        &update,
    ));
    assert_eq!(moved, Ok(true), "the build starts");
    id
}
