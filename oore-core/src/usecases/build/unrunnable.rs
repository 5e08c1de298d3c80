//! Pending builds that cannot start (spec 16): their repository was removed or is not
//! active. The dispatcher hands every pass's queue to [`fail_unrunnable_builds`], which
//! fails those builds (pending -> failure, with a message saying why and what to do) and
//! returns the ones that may start.

use std::collections::HashMap;

use crate::domain::build::BuildStatus;
use crate::ids::{BuildId, RepositoryId};
use crate::ports::{BuildLogs, BuildUpdate, StoreError};
use crate::scheduling::QueuedBuild;
use crate::services::Services;

/// What [`fail_unrunnable_builds`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnrunnableOutcome {
    /// The queued builds that may start, in the order given.
    pub startable: Vec<QueuedBuild>,
    /// The builds failed now, with the message recorded on each.
    pub failed: Vec<(BuildId, String)>,
}

/// Why builds of repository `id` cannot start now (`None`: they can).
pub async fn unrunnable_reason(
    svc: &Services,
    id: RepositoryId,
) -> Result<Option<String>, StoreError> {
    Ok(match svc.repositories.get(id).await? {
        None => Some("the repository was removed before the build started".to_owned()),
        // Only manual builds exist for a repository pending setup (webhook builds need an
        // active one), so both states may start what is queued.
        Some(repo) if !repo.state.manual_builds_enabled() => Some(format!(
            "repository {id} is {}: builds are paused; activate it with `oore repo activate {id}` and trigger the build again",
            repo.state
        )),
        Some(_) => None,
    })
}

/// Fails the queued builds whose repository cannot run builds (see
/// [`unrunnable_reason`]; each repository is read once) and returns the others. A failed
/// build gets `finished_at`, the reason as its error, a `build failure: <reason>` line in
/// its system log, and its logs finished. A build that left pending meanwhile (started,
/// cancelled) is neither failed nor returned.
pub async fn fail_unrunnable_builds(
    svc: &Services,
    logs: &dyn BuildLogs,
    queued: Vec<QueuedBuild>,
) -> Result<UnrunnableOutcome, StoreError> {
    let mut verdicts: HashMap<RepositoryId, Option<String>> = HashMap::new();
    let mut outcome = UnrunnableOutcome {
        startable: Vec::with_capacity(queued.len()),
        failed: Vec::new(),
    };
    for build in queued {
        let repo_id = build.repository_id;
        let verdict = match verdicts.get(&repo_id) {
            Some(known) => known.clone(),
            None => {
                let verdict = unrunnable_reason(svc, repo_id).await?;
                verdicts.insert(repo_id, verdict.clone());
                verdict
            }
        };
        match verdict {
            None => outcome.startable.push(build),
            Some(message) => {
                if fail_pending_build(svc, logs, build.id, &message).await? {
                    outcome.failed.push((build.id, message));
                }
            }
        }
    }
    Ok(outcome)
}

/// Fails a pending build that cannot start; false when it was no longer pending.
pub async fn fail_pending_build(
    svc: &Services,
    logs: &dyn BuildLogs,
    id: BuildId,
    message: &str,
) -> Result<bool, StoreError> {
    let update = BuildUpdate {
        finished_at: Some(svc.clock.now()),
        error_message: Some(message.to_owned()),
        ..BuildUpdate::default()
    };
    let moved = svc
        .builds
        .transition_build(id, BuildStatus::Pending, BuildStatus::Failure, &update)
        .await?;
    if moved {
        // The row is the record; a log that cannot be written loses only this line.
        let _ = logs
            .append_system(id, &format!("build failure: {message}"))
            .await;
        logs.finish(id);
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::Repository;
    use crate::testing::{MemoryLogs, block_on, services};
    use crate::usecases::build::fixtures::{queue, repo};
    use crate::usecases::repository::{remove_repository, set_repository_active};

    fn queued(svc: &Services) -> Vec<QueuedBuild> {
        block_on(svc.builds.queued_builds()).expect("queued builds")
    }

    fn status(svc: &Services, id: BuildId) -> (BuildStatus, Option<String>) {
        let build = block_on(svc.builds.get_build(id))
            .expect("read")
            .expect("exists");
        (build.status, build.error_message)
    }

    fn second_repo(svc: &Services) -> Repository {
        block_on(crate::usecases::repository::add_repository(
            svc,
            crate::usecases::repository::AddRepository {
                provider: "git".into(),
                owner: "local".into(),
                name: "other".into(),
                clone_url: Some("/srv/git/other.git".into()),
                ..Default::default()
            },
        ))
        .expect("add")
    }

    #[test]
    fn builds_of_active_repositories_stay_startable() {
        let svc = services();
        let logs = MemoryLogs::default();
        let repo = repo(&svc);
        let a = queue(&svc, &repo);
        let b = queue(&svc, &repo);
        let out = block_on(fail_unrunnable_builds(&svc, &logs, queued(&svc))).expect("pass");
        let ids: Vec<BuildId> = out.startable.iter().map(|q| q.id).collect();
        assert_eq!(ids, [a, b]);
        assert!(out.failed.is_empty());
        assert_eq!(status(&svc, a).0, BuildStatus::Pending);
    }

    #[test]
    fn builds_of_a_removed_repository_fail_with_the_reason_in_row_and_log() {
        let svc = services();
        let logs = MemoryLogs::default();
        let repo = repo(&svc);
        let other = second_repo(&svc);
        let gone = queue(&svc, &repo);
        let kept = queue(&svc, &other);
        block_on(remove_repository(&svc, repo.id)).expect("remove");
        let out = block_on(fail_unrunnable_builds(&svc, &logs, queued(&svc))).expect("pass");
        assert_eq!(
            out.startable.iter().map(|q| q.id).collect::<Vec<_>>(),
            [kept]
        );
        let message = "the repository was removed before the build started";
        assert_eq!(out.failed, [(gone, message.to_owned())]);
        assert_eq!(
            status(&svc, gone),
            (BuildStatus::Failure, Some(message.to_owned()))
        );
        let row = block_on(svc.builds.get_build(gone))
            .expect("read")
            .expect("row");
        assert_eq!(row.finished_at, Some(svc.clock.now()));
        assert_eq!(
            logs.lines.lock().expect("lines")[&gone],
            [format!("build failure: {message}")]
        );
        assert_eq!(*logs.finished.lock().expect("finished"), [gone]);
    }

    #[test]
    fn builds_of_an_inactive_repository_say_how_to_activate_it() {
        let svc = services();
        let logs = MemoryLogs::default();
        let repo = repo(&svc);
        let id = queue(&svc, &repo);
        block_on(set_repository_active(&svc, repo.id, false)).expect("pause");
        let out = block_on(fail_unrunnable_builds(&svc, &logs, queued(&svc))).expect("pass");
        assert!(out.startable.is_empty());
        let (status, message) = status(&svc, id);
        assert_eq!(status, BuildStatus::Failure);
        let message = message.expect("a message");
        assert!(
            message.contains("is inactive")
                && message.contains(&format!("oore repo activate {}", repo.id)),
            "{message}"
        );
    }

    #[test]
    fn a_build_that_left_pending_meanwhile_is_left_alone() {
        let svc = services();
        let logs = MemoryLogs::default();
        let repo = repo(&svc);
        let snapshot = {
            queue(&svc, &repo);
            queued(&svc)
        };
        // The build starts between the queue read and the pass.
        let running = snapshot[0].id;
        let update = BuildUpdate::default();
        block_on(svc.builds.transition_build(
            running,
            BuildStatus::Pending,
            BuildStatus::Running,
            &update,
        ))
        .expect("start");
        block_on(remove_repository(&svc, repo.id)).expect("remove");
        let out = block_on(fail_unrunnable_builds(&svc, &logs, snapshot)).expect("pass");
        assert_eq!(out, UnrunnableOutcome::default());
        assert_eq!(status(&svc, running).0, BuildStatus::Running);
        assert!(logs.finished.lock().expect("finished").is_empty());
    }
}
