//! The [`BuildStore`] contract suite. Run it with
//! [`contract_tests!`](crate::contract_tests)`(build_store, ...)`.
//!
//! Builds refer to repositories, so each case takes a build store and a repository store
//! over the same empty data (for SQLite: the same `SqliteStore` twice).

use jiff::{SignedDuration, Timestamp};
use ulid::Ulid;

pub use super::build_list::{
    every_list_filter_and_both_orders, keyset_pages_have_no_gaps_or_repeats,
    page_size_defaults_and_is_capped,
};
use super::sample_repository;
use crate::domain::build::{
    Artifact, Build, BuildStatus, BuildStep, Priority, StepStatus, TriggerType,
};
use crate::domain::repository::{BranchName, Provider, Repository};
use crate::ids::{ArtifactId, BuildId, RepositoryId, StepId, WebhookEventId};
use crate::ports::{BuildStore, BuildUpdate, RepositoryStore, StoreError};
use crate::scheduling::{QueuedBuild, RepoConcurrency, RunningBuild};
use crate::testing::join_all;

const EPOCH_MS: u64 = 1_767_225_600_000;

pub(super) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_millisecond(EPOCH_MS as i64 + seconds * 1000).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(super) fn ulid(n: u128) -> Ulid {
    Ulid::from_parts(EPOCH_MS, n)
}

/// A pending push build of `main` in `repository`, created `n` seconds after the test
/// epoch; `n` makes the id unique and orders ids like creation. Number 0 (the store
/// assigns it), every optional field empty.
pub fn sample_build(n: u128, repository: RepositoryId) -> Build {
    Build {
        id: BuildId::from_ulid(ulid(n)),
        repository_id: repository,
        number: 0,
        status: BuildStatus::Pending,
        trigger: TriggerType::Push,
        priority: Priority::OTHER_PUSH,
        branch: Some(BranchName::main()),
        base_branch: None,
        tag: None,
        pull_request: None,
        commit_sha: None,
        workflow: None,
        config_source: None,
        webhook_event_id: None,
        error_message: None,
        created_at: at(n as i64),
        started_at: None,
        finished_at: None,
    }
}

fn step(n: u128, build: BuildId, index: u32, name: &str) -> BuildStep {
    BuildStep {
        id: StepId::from_ulid(ulid(n)),
        build_id: build,
        index,
        name: name.to_owned(),
        status: StepStatus::Pending,
        ignore_failure: false,
        exit_code: None,
        error_message: None,
        started_at: None,
        finished_at: None,
    }
}

fn artifact(n: u128, build: BuildId, path: &str, size: u64) -> Artifact {
    Artifact {
        id: ArtifactId::from_ulid(ulid(n)),
        build_id: build,
        path: path.to_owned(),
        size,
        sha256: format!("{n:064x}"),
        created_at: at(n as i64),
    }
}

pub(super) async fn add_repo(
    repos: &dyn RepositoryStore,
    n: u128,
    concurrency: RepoConcurrency,
) -> Repository {
    let mut repo = sample_repository(n, Provider::GitHub, "acme", &format!("app-{n}"));
    repo.build_concurrency = concurrency;
    repos.insert(&repo).await.expect("insert repository");
    repo
}

pub(super) async fn create(builds: &dyn BuildStore, build: Build) -> Build {
    builds.create_build(&build).await.expect("create build")
}

pub(super) async fn get(builds: &dyn BuildStore, id: BuildId) -> Build {
    builds.get_build(id).await.expect("get").expect("stored")
}

pub async fn numbers_are_per_repository_without_gaps_or_repeats(
    builds: &dyn BuildStore,
    repos: &dyn RepositoryStore,
) {
    let a = add_repo(repos, 1, RepoConcurrency::Parallel).await;
    let b = add_repo(repos, 2, RepoConcurrency::Serial).await;
    for n in 1..=3u128 {
        let mut input = sample_build(n, a.id);
        input.number = 99; // ignored: the store assigns numbers
        let stored = create(builds, input.clone()).await;
        assert_eq!(
            stored,
            Build {
                number: n as u64,
                ..input
            },
            "returned as stored"
        );
        assert_eq!(get(builds, stored.id).await, stored);
    }
    assert_eq!(
        create(builds, sample_build(4, b.id)).await.number,
        1,
        "numbers are per repository"
    );

    // Many creations at once, across both repositories.
    let wave: Vec<Build> = (10..34u128)
        .map(|n| sample_build(n, if n % 2 == 0 { a.id } else { b.id }))
        .collect();
    let created = join_all(wave.iter().map(|build| builds.create_build(build))).await;
    let mut numbers = (Vec::new(), Vec::new());
    for (result, input) in created.into_iter().zip(&wave) {
        let stored = result.expect("concurrent create");
        assert_eq!(get(builds, input.id).await.number, stored.number);
        let side = if input.repository_id == a.id {
            &mut numbers.0
        } else {
            &mut numbers.1
        };
        side.push(stored.number);
    }
    numbers.0.sort_unstable();
    numbers.1.sort_unstable();
    assert_eq!(
        numbers.0,
        (4..=15).collect::<Vec<u64>>(),
        "repository a: no gaps, no repeats"
    );
    assert_eq!(
        numbers.1,
        (2..=13).collect::<Vec<u64>>(),
        "repository b: no gaps, no repeats"
    );
}

pub async fn a_build_of_an_unknown_repository_is_not_found(
    builds: &dyn BuildStore,
    repos: &dyn RepositoryStore,
) {
    let ghost = sample_repository(7, Provider::GitHub, "nobody", "nothing");
    assert_eq!(
        builds.create_build(&sample_build(1, ghost.id)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        builds.get_build(sample_build(1, ghost.id).id).await,
        Ok(None)
    );

    let gone = add_repo(repos, 8, RepoConcurrency::Parallel).await;
    repos.soft_delete(gone.id, at(0)).await.expect("delete");
    builds
        .create_build(&sample_build(2, gone.id))
        .await
        .expect("a soft-deleted repository still exists for its builds");
}

pub async fn builds_are_found_by_number_and_by_id_suffix(
    builds: &dyn BuildStore,
    repos: &dyn RepositoryStore,
) {
    let a = add_repo(repos, 1, RepoConcurrency::Parallel).await;
    let b = add_repo(repos, 2, RepoConcurrency::Parallel).await;
    // 32^4 apart: the first and the last id share their last 4 characters (`...0001`).
    let twin = 1 + (1 << 20);
    let mut created = Vec::new();
    for (n, repo) in [(1, a.id), (2, b.id), (3, a.id), (twin, a.id)] {
        created.push(
            builds
                .create_build(&sample_build(n, repo))
                .await
                .expect("create"),
        );
    }
    let found = builds
        .get_build_by_number(a.id, 2)
        .await
        .expect("by number");
    assert_eq!(found.map(|b| b.id), Some(created[2].id));
    assert_eq!(builds.get_build_by_number(b.id, 2).await, Ok(None));
    assert_eq!(builds.get_build_by_number(a.id, 0).await, Ok(None));
    assert_eq!(builds.get_build_by_number(a.id, u64::MAX).await, Ok(None));

    let id = created[1].id.to_string();
    let found = builds
        .find_builds_by_id_suffix(&id[id.len() - 8..], 10)
        .await
        .expect("by suffix");
    assert_eq!(found, [created[1].clone()], "one build, every field");
    let ids = |list: Vec<Build>| list.into_iter().map(|b| b.id).collect::<Vec<_>>();
    let shared = builds
        .find_builds_by_id_suffix("0001", 10)
        .await
        .expect("two");
    assert_eq!(ids(shared), [created[3].id, created[0].id], "newest first");
    let limited = builds
        .find_builds_by_id_suffix("0001", 1)
        .await
        .expect("limit");
    assert_eq!(ids(limited), [created[3].id]);
    assert_eq!(
        builds.find_builds_by_id_suffix("ZZZZ", 10).await,
        Ok(Vec::new())
    );
}

pub async fn every_field_round_trips(builds: &dyn BuildStore, repos: &dyn RepositoryStore) {
    let repo = add_repo(repos, 1, RepoConcurrency::Parallel).await;
    let full = Build {
        id: BuildId::from_ulid(ulid(1)),
        repository_id: repo.id,
        number: 0,
        status: BuildStatus::Pending,
        trigger: TriggerType::PullRequest,
        priority: Priority::REVIEW,
        branch: Some(BranchName::new_for("branch", "fëature/ünïcode-🚀").expect("valid")),
        base_branch: Some(BranchName::new_for("branch", "rélease/2").expect("valid")),
        tag: Some("v1.2.3-βeta".to_owned()),
        pull_request: Some(4_294_967_297),
        commit_sha: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        workflow: Some("ios-release ✈".to_owned()),
        config_source: Some("repository".to_owned()),
        webhook_event_id: Some(WebhookEventId::from_ulid(ulid(77))),
        error_message: Some("line one\nline two: «quoted» ✗".to_owned()),
        created_at: at(1),
        started_at: Some(at(2) + SignedDuration::from_millis(345)),
        finished_at: Some(at(95)),
    };
    let stored = create(builds, full.clone()).await;
    assert_eq!(stored, Build { number: 1, ..full });
    assert_eq!(get(builds, full.id).await, stored);

    let mut bare = sample_build(2, repo.id);
    bare.trigger = TriggerType::Manual;
    bare.priority = Priority::MANUAL;
    bare.branch = None;
    let stored = create(builds, bare.clone()).await;
    assert_eq!(get(builds, bare.id).await, Build { number: 2, ..bare });
    assert_eq!(stored.number, 2);

    assert_eq!(
        builds.get_build(BuildId::from_ulid(ulid(999))).await,
        Ok(None)
    );
}

pub async fn transition_build_is_compare_and_set(
    builds: &dyn BuildStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, RepoConcurrency::Parallel).await;
    let mut expected = create(builds, sample_build(1, repo.id)).await;

    let start = BuildUpdate {
        started_at: Some(at(10)),
        commit_sha: Some("ab".repeat(20)),
        workflow: Some("default".to_owned()),
        config_source: Some("default".to_owned()),
        ..BuildUpdate::default()
    };
    let moved = builds.transition_build(
        expected.id,
        BuildStatus::Pending,
        BuildStatus::Running,
        &start,
    );
    assert_eq!(moved.await, Ok(true));
    expected.status = BuildStatus::Running;
    expected.started_at = start.started_at;
    expected.commit_sha.clone_from(&start.commit_sha);
    expected.workflow.clone_from(&start.workflow);
    expected.config_source.clone_from(&start.config_source);
    assert_eq!(get(builds, expected.id).await, expected);

    let stale = BuildUpdate {
        finished_at: Some(at(11)),
        error_message: Some("must not be written".to_owned()),
        commit_sha: Some("cd".repeat(20)),
        ..BuildUpdate::default()
    };
    let lost = builds.transition_build(
        expected.id,
        BuildStatus::Pending,
        BuildStatus::Cancelled,
        &stale,
    );
    assert_eq!(lost.await, Ok(false), "the build is not pending any more");
    assert_eq!(
        get(builds, expected.id).await,
        expected,
        "a lost compare-and-set changes nothing"
    );

    let fail = BuildUpdate {
        finished_at: Some(at(20)),
        error_message: Some("step 2 exited with 1".to_owned()),
        ..BuildUpdate::default()
    };
    let done = builds.transition_build(
        expected.id,
        BuildStatus::Running,
        BuildStatus::Failure,
        &fail,
    );
    assert_eq!(done.await, Ok(true));
    expected.status = BuildStatus::Failure;
    expected.finished_at = fail.finished_at;
    expected.error_message.clone_from(&fail.error_message);
    assert_eq!(
        get(builds, expected.id).await,
        expected,
        "`None` fields keep their values"
    );

    let ghost = BuildId::from_ulid(ulid(999));
    let none = BuildUpdate::default();
    assert_eq!(
        builds
            .transition_build(ghost, BuildStatus::Pending, BuildStatus::Running, &none)
            .await,
        Ok(false)
    );

    // Two dispatchers race to start the same build: exactly one wins.
    let raced = create(builds, sample_build(2, repo.id)).await;
    let racers = (0..4).map(|_| {
        builds.transition_build(raced.id, BuildStatus::Pending, BuildStatus::Running, &none)
    });
    let wins = join_all(racers)
        .await
        .into_iter()
        .filter(|r| r == &Ok(true))
        .count();
    assert_eq!(wins, 1, "exactly one compare-and-set wins");
}

pub async fn queue_and_running_views(builds: &dyn BuildStore, repos: &dyn RepositoryStore) {
    assert_eq!(builds.queued_builds().await, Ok(vec![]));
    assert_eq!(builds.running_builds().await, Ok(vec![]));
    let mut serial = add_repo(repos, 1, RepoConcurrency::Serial).await;
    let parallel = add_repo(repos, 2, RepoConcurrency::Parallel).await;

    let mut manual = sample_build(1, serial.id);
    manual.priority = Priority::MANUAL;
    let b1 = create(builds, manual).await;
    let b2 = create(builds, sample_build(2, parallel.id)).await;
    let b3 = create(builds, sample_build(3, parallel.id)).await;
    let b4 = create(builds, sample_build(4, serial.id)).await;
    let none = BuildUpdate::default();
    for (id, from, to) in [
        (b2.id, BuildStatus::Pending, BuildStatus::Running),
        (b3.id, BuildStatus::Pending, BuildStatus::Running),
        (b3.id, BuildStatus::Running, BuildStatus::Success),
    ] {
        assert_eq!(builds.transition_build(id, from, to, &none).await, Ok(true));
    }

    let queued = |b: &Build, concurrency| QueuedBuild {
        id: b.id,
        repository_id: b.repository_id,
        priority: b.priority,
        queued_at: b.created_at,
        concurrency,
    };
    let mut queue = builds.queued_builds().await.expect("queued");
    queue.sort_by_key(|q| q.id);
    assert_eq!(
        queue,
        [
            queued(&b1, RepoConcurrency::Serial),
            queued(&b4, RepoConcurrency::Serial)
        ]
    );
    assert_eq!(
        builds.running_builds().await,
        Ok(vec![RunningBuild {
            id: b2.id,
            repository_id: parallel.id
        }])
    );

    serial.build_concurrency = RepoConcurrency::Parallel;
    repos.update(&serial).await.expect("update");
    let mut queue = builds.queued_builds().await.expect("queued");
    queue.sort_by_key(|q| q.id);
    assert_eq!(
        queue,
        [
            queued(&b1, RepoConcurrency::Parallel),
            queued(&b4, RepoConcurrency::Parallel)
        ],
        "the repository's current mode, not the one at queue time"
    );
}

pub async fn steps_are_replaced_listed_by_index_and_compare_and_set(
    builds: &dyn BuildStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, RepoConcurrency::Parallel).await;
    let b = create(builds, sample_build(1, repo.id)).await;
    let other = create(builds, sample_build(2, repo.id)).await;

    let mut first = vec![step(12, b.id, 2, "test"), step(10, b.id, 0, "clone")];
    first.push(BuildStep {
        ignore_failure: true,
        ..step(11, b.id, 1, "pub get — ünïcode")
    });
    builds.put_steps(b.id, &first).await.expect("put");
    builds
        .put_steps(other.id, &[step(20, other.id, 0, "other")])
        .await
        .expect("put");
    let mut by_index = first.clone();
    by_index.sort_by_key(|s| s.index);
    assert_eq!(builds.list_steps(b.id).await, Ok(by_index));

    let planned = vec![step(31, b.id, 1, "build"), step(30, b.id, 0, "clone")];
    builds.put_steps(b.id, &planned).await.expect("replace");
    let mut expected = vec![planned[1].clone(), planned[0].clone()];
    assert_eq!(
        builds.list_steps(b.id).await,
        Ok(expected.clone()),
        "replaced, not added"
    );
    assert_eq!(
        builds.list_steps(other.id).await.map(|s| s.len()),
        Ok(1),
        "other builds untouched"
    );

    let old = BuildStep {
        status: StepStatus::Running,
        ..first[1].clone()
    };
    assert_eq!(
        builds.transition_step(&old, StepStatus::Pending).await,
        Ok(false),
        "replaced steps are gone"
    );

    let running = BuildStep {
        status: StepStatus::Running,
        started_at: Some(at(5)),
        ..expected[0].clone()
    };
    assert_eq!(
        builds.transition_step(&running, StepStatus::Pending).await,
        Ok(true)
    );
    expected[0] = running.clone();
    assert_eq!(builds.list_steps(b.id).await, Ok(expected.clone()));

    let finished = BuildStep {
        status: StepStatus::Failure,
        exit_code: Some(-9),
        error_message: Some("timed out after 30m ⏱".to_owned()),
        finished_at: Some(at(6) + SignedDuration::from_millis(7)),
        ..running.clone()
    };
    assert_eq!(
        builds.transition_step(&finished, StepStatus::Pending).await,
        Ok(false),
        "the step is running, not pending"
    );
    assert_eq!(
        builds.list_steps(b.id).await,
        Ok(expected.clone()),
        "a lost compare-and-set changes nothing"
    );
    assert_eq!(
        builds.transition_step(&finished, StepStatus::Running).await,
        Ok(true)
    );
    expected[0] = finished;
    let skipped = BuildStep {
        status: StepStatus::Skipped,
        ..expected[1].clone()
    };
    assert_eq!(
        builds.transition_step(&skipped, StepStatus::Pending).await,
        Ok(true)
    );
    expected[1] = skipped;
    assert_eq!(builds.list_steps(b.id).await, Ok(expected));

    let ghost = BuildId::from_ulid(ulid(999));
    assert_eq!(builds.list_steps(ghost).await, Ok(vec![]));
    assert_eq!(
        builds.put_steps(ghost, &[step(40, ghost, 0, "x")]).await,
        Err(StoreError::NotFound)
    );
    builds.put_steps(b.id, &[]).await.expect("clear");
    assert_eq!(builds.list_steps(b.id).await, Ok(vec![]));
}

pub async fn artifacts_are_listed_by_path_and_scoped_to_their_build(
    builds: &dyn BuildStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, RepoConcurrency::Parallel).await;
    let b = create(builds, sample_build(1, repo.id)).await;
    let other = create(builds, sample_build(2, repo.id)).await;
    let apk = artifact(10, b.id, "build/app/outputs/app-release.apk", 5_000_000_000);
    let ipa = artifact(11, b.id, "build/ios/Runner.ipa", 0);
    let notes = artifact(12, b.id, "reports/résumé ✓.txt", 42);
    let elsewhere = artifact(13, other.id, "build/ios/Runner.ipa", 7);
    builds
        .add_artifacts(&[notes.clone(), apk.clone(), elsewhere.clone(), ipa.clone()])
        .await
        .expect("add");
    assert_eq!(
        builds.list_artifacts(b.id).await,
        Ok(vec![apk.clone(), ipa, notes])
    );
    assert_eq!(
        builds.list_artifacts(other.id).await,
        Ok(vec![elsewhere.clone()])
    );
    assert_eq!(
        builds.get_artifact(b.id, apk.id).await,
        Ok(Some(apk.clone()))
    );
    assert_eq!(
        builds.get_artifact(other.id, apk.id).await,
        Ok(None),
        "another build's artifact"
    );
    assert_eq!(builds.get_artifact(b.id, elsewhere.id).await, Ok(None));
    assert_eq!(
        builds
            .get_artifact(b.id, ArtifactId::from_ulid(ulid(999)))
            .await,
        Ok(None)
    );

    let ghost = BuildId::from_ulid(ulid(999));
    let late = artifact(20, other.id, "late.zip", 1);
    assert_eq!(
        builds
            .add_artifacts(&[late.clone(), artifact(21, ghost, "x", 1)])
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        builds.get_artifact(other.id, late.id).await,
        Ok(None),
        "all or none"
    );
    assert_eq!(builds.list_artifacts(ghost).await, Ok(vec![]));
}
