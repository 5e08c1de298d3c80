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

/// A database at the schema before `fork_approval`, with a repository, events of every
/// status and a registered delivery id, migrated: every row is kept (sizes filled in,
/// repositories now hold forks for approval), the delivery still decides duplicates,
/// and the rebuilt table takes the new status and refuses half an approval.
#[tokio::test]
async fn the_fork_approval_migration_keeps_every_event() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};
    use oore_core::domain::repository::ForkPolicy;
    use oore_core::domain::webhook::WebhookEventStatus;
    use oore_core::ports::{EventFinish, WebhookEventQuery};

    const NEW: &str = "2026-12-03-000000_fork_approval";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut previous: Vec<_> = std::fs::read_dir(&migrations)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.as_str() < NEW)
        .collect();
    previous.sort();
    let repo = sample_repository(1, Provider::GitHub, "acme", "app");
    let events: Vec<_> = (1..=4u128)
        .map(|n| sample_webhook_event(n, Some(repo.id)))
        .collect();
    {
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE __diesel_schema_migrations (
                 version VARCHAR(50) PRIMARY KEY NOT NULL,
                 run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);",
        )
        .unwrap();
        for name in &previous {
            conn.batch_execute(
                &std::fs::read_to_string(migrations.join(name).join("up.sql")).unwrap(),
            )
            .unwrap();
            let version: String = name.chars().take(17).filter(char::is_ascii_digit).collect();
            conn.batch_execute(&format!(
                "INSERT INTO __diesel_schema_migrations (version) VALUES ('{version}')"
            ))
            .unwrap();
        }
        conn.batch_execute(&format!(
            "INSERT INTO repositories (id, provider, owner, name, identity_key, owner_folded,
                 name_folded, clone_url, default_branch, state, created_at, updated_at)
             VALUES ('{}', 'github', 'acme', 'app', 'github:acme/app', 'acme', 'app',
                 'https://github.com/acme/app.git', 'main', 'active', 0, 0);",
            repo.id
        ))
        .unwrap();
        for (event, status) in events
            .iter()
            .zip(["received", "processed", "rejected", "failed"])
        {
            conn.batch_execute(&format!(
                "INSERT INTO webhook_events (id, provider, delivery_id, event_type,
                     repository_id, status, received_at, build_ids, headers, payload)
                 VALUES ('{}', 'github', '{}', 'push', '{}', '{status}', 1767225600000, '[]',
                     '[[\"x-github-event\",\"push\"]]', x'7b7d0a');",
                event.id, event.delivery_id, repo.id
            ))
            .unwrap();
        }
        conn.batch_execute(&format!(
            "INSERT INTO webhook_deliveries (provider, delivery_id, received_at, event_id)
             VALUES ('github', '{}', 1767225600000, '{}');",
            events[0].delivery_id, events[0].id
        ))
        .unwrap();
    }

    let store = open(&path);
    let read = RepositoryStore::get(&store, repo.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.fork_pull_requests, ForkPolicy::Approve);
    let page = store
        .list_events(&WebhookEventQuery::default())
        .await
        .unwrap();
    assert_eq!(page.events.len(), 4, "every event is kept");
    for (event, status) in events.iter().zip([
        WebhookEventStatus::Received,
        WebhookEventStatus::Processed,
        WebhookEventStatus::Rejected,
        WebhookEventStatus::Failed,
    ]) {
        let detail = store.get_event(event.id).await.unwrap().unwrap();
        assert_eq!(detail.event.status, status);
        assert_eq!(
            (detail.payload.as_slice(), detail.payload_size),
            (&b"{}\n"[..], 3)
        );
        assert_eq!(detail.event.approval, None);
    }
    let mut again = sample_webhook_event(9, Some(repo.id));
    again.delivery_id = events[0].delivery_id.clone();
    assert_eq!(
        store.insert_batch(&[again]).await.unwrap(),
        [InsertOutcome::Duplicate(events[0].id)],
        "the replay window survives the rebuild"
    );
    let held = EventFinish {
        status: WebhookEventStatus::AwaitingApproval,
        reason: Some("a fork".into()),
        build_ids: Vec::new(),
        at: jiff::Timestamp::now(),
    };
    assert_eq!(store.finish(events[0].id, &held).await, Ok(true));
    drop(store);

    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let half = format!(
        "UPDATE webhook_events SET approved_by = 'alice' WHERE id = '{}'",
        events[0].id
    );
    let err = conn.batch_execute(&half).unwrap_err().to_string();
    assert!(err.contains("CHECK constraint failed"), "{err}");
    let orphan = format!(
        "PRAGMA foreign_keys = ON; INSERT INTO webhook_deliveries VALUES ('github', 'x', 0, '{}')",
        "01KAZ0000000000000000000ZZ"
    );
    assert!(
        conn.batch_execute(&orphan).is_err(),
        "deliveries still refer to events"
    );
}
