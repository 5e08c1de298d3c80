//! The [`PipelineStore`] contract suite. Run it with
//! [`contract_tests!`](crate::contract_tests)`(pipeline_store, ...)`.
//!
//! Each case takes a fresh store and two repository ids, `repo` and `other`, which must
//! exist in the store's database when it has foreign keys.

use jiff::{SignedDuration, Timestamp};

use crate::ids::RepositoryId;
use crate::pipeline::Format;
use crate::ports::{PipelineStore, PipelineVersion, StoreError};

const YAML: &str = "workflows:\n  app:\n    scripts:\n      - echo one\n";
const HUML: &str = "workflows::\n  app::\n    scripts::\n      - \"echo two\"\n";

fn t0() -> Timestamp {
    Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn t1() -> Timestamp {
    t0() + SignedDuration::from_secs(60)
}

/// Saves the YAML then the HUML document for `repo`, returning both versions.
async fn save_two(
    store: &dyn PipelineStore,
    repo: RepositoryId,
) -> (PipelineVersion, PipelineVersion) {
    let v1 = store
        .save(repo, YAML, Format::Yaml, t0())
        .await
        .expect("save v1");
    let v2 = store
        .save(repo, HUML, Format::Huml, t1())
        .await
        .expect("save v2");
    (v1, v2)
}

pub async fn an_empty_store_has_nothing_to_clear(
    store: &dyn PipelineStore,
    repo: RepositoryId,
    _other: RepositoryId,
) {
    assert_eq!(
        store.current(repo).await.expect("current"),
        None,
        "nothing stored yet"
    );
    assert!(store.history(repo).await.expect("history").is_empty());
    assert_eq!(
        store.clear(repo, t0()).await,
        Err(StoreError::NotFound),
        "clearing nothing is NotFound"
    );
}

pub async fn saves_are_numbered_per_repository(
    store: &dyn PipelineStore,
    repo: RepositoryId,
    other: RepositoryId,
) {
    let (v1, v2) = save_two(store, repo).await;
    assert_eq!(
        (v1.version, v1.content.as_str(), v1.format),
        (1, YAML, Format::Yaml)
    );
    assert_eq!(v2.version, 2);
    assert_eq!(v2.created_at, t1());
    assert_eq!(
        store.current(repo).await.expect("current"),
        Some(v2.clone())
    );

    let other_v1 = store
        .save(other, YAML, Format::Yaml, t1())
        .await
        .expect("save other");
    assert_eq!(other_v1.version, 1, "versions are numbered per repository");
    assert_eq!(
        store.current(repo).await.expect("current"),
        Some(v2),
        "another repository's save changes nothing here"
    );
}

pub async fn history_is_newest_first_with_the_current_version_marked(
    store: &dyn PipelineStore,
    repo: RepositoryId,
    other: RepositoryId,
) {
    let (v1, _) = save_two(store, repo).await;
    store
        .save(other, YAML, Format::Yaml, t1())
        .await
        .expect("save other");
    let history = store.history(repo).await.expect("history");
    let listed: Vec<(u32, bool)> = history
        .iter()
        .map(|h| (h.version.version, h.current))
        .collect();
    assert_eq!(
        listed,
        [(2, true), (1, false)],
        "newest first, current marked"
    );
    assert_eq!(history[1].version, v1, "history keeps the content exactly");
}

pub async fn clearing_keeps_history_and_numbering_continues(
    store: &dyn PipelineStore,
    repo: RepositoryId,
    _other: RepositoryId,
) {
    let (v1, _) = save_two(store, repo).await;
    let t1 = t1();
    store.clear(repo, t1).await.expect("clear");
    assert_eq!(store.current(repo).await.expect("current"), None);
    assert_eq!(
        store.history(repo).await.expect("history").len(),
        2,
        "clearing keeps history"
    );
    assert!(
        store
            .history(repo)
            .await
            .expect("history")
            .iter()
            .all(|h| !h.current)
    );
    assert_eq!(store.version(repo, 1).await.expect("version"), Some(v1));
    assert_eq!(store.version(repo, 9).await.expect("version"), None);

    let v3 = store
        .save(
            repo,
            "workflows:\n  ü:\n    scripts: [\"echo ✓\"]\n",
            Format::Yaml,
            t1,
        )
        .await
        .expect("save");
    assert_eq!(v3.version, 3, "numbering continues after a clear");
    assert_eq!(
        store
            .current(repo)
            .await
            .expect("current")
            .map(|v| v.content),
        Some(v3.content)
    );
}
