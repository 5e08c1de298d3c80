//! `SqliteStore` against the `WebhookEventStore` contract, plus what only real threads
//! and a real file show: concurrent deliveries of one id through two stores on the same
//! file (as two processes would), and the migration of existing repository secrets.

use std::path::Path;

use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::repository::Provider;
use oore_core::domain::secret::StoredSecret;
use oore_core::ports::{InsertOutcome, RepositoryStore, WebhookEventStore};
use oore_core::testing::contract::{sample_repository, sample_webhook_event};

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open_blocking(path, SqliteConfig::default()).expect("open")
}

oore_core::contract_tests!(webhook_store, |case| {
    let (_dir, store) = crate::sqlite::temp_store();
    crate::runtime().block_on(case(&store, &store))
});

/// Twenty tasks on a multi-threaded runtime deliver the same id at once, half through a
/// second `SqliteStore` on the same file (a second writer connection): one insert.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_delivery_id_is_stored_once_across_threads_and_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let first = open(&path);
    let second = open(&path);
    let repo = sample_repository(1, Provider::GitHub, "acme", "app");
    first.insert(&repo).await.unwrap();

    let tasks: Vec<_> = (1..=20u128)
        .map(|n| {
            let store = if n % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let mut event = sample_webhook_event(n, Some(repo.id));
            event.delivery_id = "same-guid".to_owned();
            tokio::spawn(async move { store.insert_batch(&[event]).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.unwrap().unwrap());
    }
    let inserted: Vec<_> = outcomes.iter().filter(|o| !o.is_duplicate()).collect();
    assert_eq!(inserted.len(), 1, "{outcomes:?}");
    let id = inserted[0].event_id();
    assert!(outcomes.iter().all(|o| o.event_id() == id));
    assert_eq!(first.count_unprocessed().await.unwrap(), 1);
    assert_eq!(
        second
            .insert_batch(&[sample_webhook_event(99, Some(repo.id))])
            .await
            .unwrap(),
        [InsertOutcome::Inserted(sample_webhook_event(99, None).id)]
    );
}

/// Repository secrets stored before the digest column existed stay sealed, and a row
/// holds at most one of the two (the CHECK backs the conversion code).
#[tokio::test]
async fn secrets_are_sealed_or_digested_never_both() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let store = open(&path);
    let github = sample_repository(1, Provider::GitHub, "acme", "app");
    let gitlab = sample_repository(2, Provider::GitLab, "group/sub", "app");
    store.insert(&github).await.unwrap();
    store.insert(&gitlab).await.unwrap();
    assert!(matches!(
        RepositoryStore::get(&store, github.id)
            .await
            .unwrap()
            .unwrap()
            .webhook_secret,
        Some(StoredSecret::Sealed(_))
    ));
    assert_eq!(
        RepositoryStore::get(&store, gitlab.id)
            .await
            .unwrap()
            .unwrap()
            .webhook_secret,
        gitlab.webhook_secret
    );
    drop(store);

    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let both = format!(
        "UPDATE repositories SET webhook_secret = x'01' WHERE id = '{}'",
        gitlab.id
    );
    let err = conn.batch_execute(&both).unwrap_err().to_string();
    assert!(err.contains("CHECK constraint failed"), "{err}");
    let short = format!(
        "UPDATE repositories SET webhook_token_digest = x'01' WHERE id = '{}'",
        gitlab.id
    );
    assert!(conn.batch_execute(&short).is_err(), "a digest is 32 bytes");
}
