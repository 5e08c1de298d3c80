//! `SqliteStore` against the `PipelineStore` contract, plus what only the real schema
//! shows: a pipeline cannot belong to a repository that does not exist.

use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::repository::Provider;
use oore_core::ids::RepositoryId;
use oore_core::pipeline::Format;
use oore_core::ports::{PipelineStore, RepositoryStore};
use oore_core::testing::contract::sample_repository;

oore_core::contract_tests!(pipeline_store, |case| {
    let (_dir, store) = crate::sqlite::temp_store();
    crate::runtime().block_on(async {
        let a = sample_repository(1, Provider::GitHub, "acme", "a");
        let b = sample_repository(2, Provider::GitHub, "acme", "b");
        store.insert(&a).await.expect("insert a");
        store.insert(&b).await.expect("insert b");
        case(&store, a.id, b.id).await
    })
});

#[tokio::test]
async fn history_survives_reopening_and_unknown_repositories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let repo = sample_repository(1, Provider::GitLab, "group", "app");
    {
        let store = SqliteStore::open(&path, SqliteConfig::default())
            .await
            .unwrap();
        store.insert(&repo).await.unwrap();
        store
            .save(repo.id, "workflows: {}", Format::Yaml, repo.created_at)
            .await
            .unwrap();
        let ghost = RepositoryId::from_ulid(ulid::Ulid::from_parts(1, 99));
        assert!(
            store
                .save(ghost, "x", Format::Yaml, repo.created_at)
                .await
                .is_err(),
            "foreign key holds"
        );
    }
    let store = SqliteStore::open(&path, SqliteConfig::default())
        .await
        .unwrap();
    let current = store.current(repo.id).await.unwrap().expect("still there");
    assert_eq!(
        (current.version, current.content.as_str()),
        (1, "workflows: {}")
    );
}
