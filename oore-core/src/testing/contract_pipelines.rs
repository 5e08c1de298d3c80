//! Contract suite for [`PipelineStore`] implementations.

use jiff::{SignedDuration, Timestamp};

use crate::ids::RepositoryId;
use crate::pipeline::Format;
use crate::ports::{PipelineStore, StoreError};

const YAML: &str = "workflows:\n  app:\n    scripts:\n      - echo one\n";
const HUML: &str = "workflows::\n  app::\n    scripts::\n      - \"echo two\"\n";

/// Runs every [`PipelineStore`] check. `repo` must be an existing repository id of the
/// store's database (and `other` another one) when the store has foreign keys.
pub async fn pipeline_store_contract(
    store: &dyn PipelineStore,
    repo: RepositoryId,
    other: RepositoryId,
) {
    let t0 = Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH);
    assert_eq!(
        store.current(repo).await.expect("current"),
        None,
        "nothing stored yet"
    );
    assert!(store.history(repo).await.expect("history").is_empty());
    assert_eq!(
        store.clear(repo, t0).await,
        Err(StoreError::NotFound),
        "clearing nothing is NotFound"
    );

    let v1 = store
        .save(repo, YAML, Format::Yaml, t0)
        .await
        .expect("save v1");
    assert_eq!(
        (v1.version, v1.content.as_str(), v1.format),
        (1, YAML, Format::Yaml)
    );
    let t1 = t0 + SignedDuration::from_secs(60);
    let v2 = store
        .save(repo, HUML, Format::Huml, t1)
        .await
        .expect("save v2");
    assert_eq!(v2.version, 2);
    assert_eq!(v2.created_at, t1);
    assert_eq!(
        store.current(repo).await.expect("current"),
        Some(v2.clone())
    );

    let other_v1 = store
        .save(other, YAML, Format::Yaml, t1)
        .await
        .expect("save other");
    assert_eq!(other_v1.version, 1, "versions are numbered per repository");

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemoryPipelineStore, block_on};
    use ulid::Ulid;

    #[test]
    fn memory_store_keeps_the_contract() {
        let store = MemoryPipelineStore::default();
        block_on(pipeline_store_contract(
            &store,
            RepositoryId::from_ulid(Ulid::from_parts(1, 1)),
            RepositoryId::from_ulid(Ulid::from_parts(1, 2)),
        ));
    }
}
