//! `SqliteStore` against the `GitHubStore` contract, and the GitHub App migration over
//! a database of the previous version.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::repository::Provider;
use oore_core::github::ports::GitHubStore;
use oore_core::ports::RepositoryStore;
use oore_core::testing::contract::sample_repository;

oore_core::contract_tests!(github_store, |case| {
    let (_dir, store) = crate::sqlite::temp_store();
    crate::runtime().block_on(case(&store, &store))
});

const VERSION: &str = "20261203000004";

#[tokio::test]
async fn the_github_migration_keeps_existing_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let repo = sample_repository(1, Provider::GitHub, "acme", "app");
    {
        let store = SqliteStore::open(&path, SqliteConfig::default())
            .await
            .unwrap();
        store.insert(&repo).await.unwrap();
    }
    // Back to the previous version, as a database written before this migration.
    {
        let down = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../migrations/2026-12-03-000004_github_app/down.sql"),
        )
        .unwrap();
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute(&down).unwrap();
        conn.batch_execute(&format!(
            "DELETE FROM __diesel_schema_migrations WHERE version = '{VERSION}'"
        ))
        .unwrap();
    }
    let store = SqliteStore::open(&path, SqliteConfig::default())
        .await
        .unwrap();
    assert_eq!(store.get(repo.id).await.unwrap(), Some(repo.clone()));
    assert_eq!(store.repository_link(repo.id).await.unwrap(), None);
    assert_eq!(GitHubStore::app(&store).await.unwrap(), None);
}
