//! `SqliteStore` against the `RepositoryStore` contract, on a fresh temp file per
//! instance, plus what only a real file shows: reopening, migrations, PRAGMAs, open
//! errors, concurrent writers.

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use libsqlite3_sys as ffi;
use oore_adapters::sqlite::{OpenError, SqliteConfig, SqliteStore};
use oore_core::domain::repository::Provider;
use oore_core::ports::{RepositoryFilter, RepositoryStore, StoreHealth, WebhookEventStore};
use oore_core::testing::contract::{sample_repository, sample_webhook_event};

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open_blocking(path, SqliteConfig::default()).expect("open")
}

/// A plain connection for poking at the file behind the store's back. It waits for
/// locks, since a dropped store's pooled connections may still be closing.
fn raw(path: &Path) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 5000;").unwrap();
    conn
}

/// A store on a fresh file, with the directory that must outlive it.
pub(crate) fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir.path().join("oore.db"));
    (dir, store)
}

oore_core::contract_tests!(repository_store, |case| {
    let (_dir, store) = temp_store();
    crate::runtime().block_on(case(&store))
});

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/oore.db");
    let repo = sample_repository(1, Provider::GitHub, "acme", "app");
    {
        let store = SqliteStore::open(&path, SqliteConfig::default())
            .await
            .unwrap();
        store.insert(&repo).await.unwrap();
    }
    assert!(path.is_file(), "the file and its directory were created");
    let store = SqliteStore::open(&path, SqliteConfig::default())
        .await
        .unwrap();
    assert_eq!(store.get(repo.id).await.unwrap(), Some(repo));
}

#[tokio::test]
async fn migrations_run_once_and_reopening_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    for round in 0..3u128 {
        let store = SqliteStore::open(&path, SqliteConfig::default())
            .await
            .unwrap();
        store
            .insert(&sample_repository(
                round,
                Provider::GitHub,
                "acme",
                &format!("r{round}"),
            ))
            .await
            .unwrap();
    }
    let mut conn = raw(&path);
    let applied: Vec<String> =
        diesel::sql_query("SELECT version AS value FROM __diesel_schema_migrations")
            .load::<Text>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|t| t.value)
            .collect();
    let on_disk = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
        .unwrap()
        .count();
    assert_eq!(
        applied.len(),
        on_disk,
        "each migration recorded exactly once: {applied:?}"
    );
    let store = open(&path);
    assert_eq!(
        store
            .list(&RepositoryFilter::default())
            .await
            .unwrap()
            .len(),
        3
    );
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

#[tokio::test]
async fn a_database_from_a_newer_oored_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    drop(open(&path));
    let mut conn = raw(&path);
    conn.batch_execute(
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000')",
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path, SqliteConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, OpenError::NewerSchema { .. }), "{err:?}");
    assert!(err.to_string().contains("29991231000000"), "{err}");
}

#[tokio::test]
async fn pragmas_are_set_on_the_writer_and_on_readers() {
    let dir = tempfile::tempdir().unwrap();
    let config = SqliteConfig {
        busy_timeout: std::time::Duration::from_millis(1234),
        ..SqliteConfig::default()
    };
    let store = SqliteStore::open(&dir.path().join("oore.db"), config)
        .await
        .unwrap();
    let report = store.pragma_report().await.unwrap();
    for (role, p) in [("writer", &report.writer), ("reader", &report.reader)] {
        assert_eq!(p.journal_mode, "wal", "{role}");
        assert_eq!(p.foreign_keys, 1, "{role}");
        assert_eq!(
            p.synchronous, 2,
            "{role}: FULL, durable before acknowledged"
        );
        assert_eq!(p.busy_timeout, 1234, "{role}");
    }
    assert_eq!(report.writer.query_only, 0);
    assert_eq!(
        report.reader.query_only, 1,
        "readers cannot write around the writer"
    );
    assert_eq!(
        report.writer.wal_autocheckpoint, 0,
        "commits never checkpoint; the checkpoint thread does"
    );
}

/// With the writer's automatic checkpoint off, committed pages reach the database file
/// only through the checkpoint thread: the file grows while the store is open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpoint_thread_copies_the_wal_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let store = open(&path);
    let empty = std::fs::metadata(&path).unwrap().len();
    let events: Vec<_> = (0..200u128)
        .map(|n| {
            let mut event = sample_webhook_event(n, None);
            event.payload = vec![b'x'; 8 * 1024];
            event
        })
        .collect();
    for batch in events.chunks(20) {
        store.insert_batch(batch).await.unwrap();
    }
    let payloads = 200 * 8 * 1024;
    crate::eventually(
        "the WAL checkpointed into the database file",
        Duration::from_secs(10),
        || std::fs::metadata(&path).unwrap().len() >= empty + payloads,
    )
    .await;
    // Dropping the store stops the checkpoint thread (the drop joins it); every event
    // is still there for the next connection.
    drop(store);
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query("SELECT count(*) AS n FROM webhook_events")
        .get_result(&mut raw(&path))
        .unwrap();
    assert_eq!(count.n, 200);
}

/// Every connection of the process gets the query planner stability guarantee, so
/// statements diesel caches are not re-planned each time `LIMIT ?` is bound again.
#[test]
fn connections_opened_after_a_store_have_the_planner_stability_guarantee() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let _store = open(&path);
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let mut db: *mut ffi::sqlite3 = std::ptr::null_mut();
    let mut enabled: std::ffi::c_int = -1;
    // SAFETY: plain SQLite C API use: `db` is opened here, checked, read and closed.
    unsafe {
        assert_eq!(
            ffi::sqlite3_open(name.as_ptr(), &raw mut db),
            ffi::SQLITE_OK
        );
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            -1 as std::ffi::c_int,
            &raw mut enabled,
        );
        ffi::sqlite3_close(db);
    }
    assert_eq!(enabled, 1);
}

#[tokio::test]
async fn ping_answers() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("oore.db"), SqliteConfig::default())
        .await
        .unwrap();
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let config = SqliteConfig {
        max_connections: 2,
        ..SqliteConfig::default()
    };
    let store = SqliteStore::open(&dir.path().join("oore.db"), config)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..64u128)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let repo = sample_repository(n, Provider::GitLab, "group", &format!("app-{n}"));
                store.insert(&repo).await?;
                store.list(&RepositoryFilter::default()).await.map(drop)
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        store
            .list(&RepositoryFilter::default())
            .await
            .unwrap()
            .len(),
        64
    );
}

#[tokio::test]
async fn a_path_under_a_regular_file_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let path = file.join("sub/oore.db");
    let err = SqliteStore::open(&path, SqliteConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, OpenError::NotADirectory { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot create database at {}: {} is a file, not a directory; fix the path or set DATABASE_URL",
            path.display(),
            file.display()
        )
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    std::fs::write(&path, "this is a text file, not a database\n".repeat(200)).unwrap();
    let err = SqliteStore::open(&path, SqliteConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{} is not an SQLite database (file is not a database); move it away or set DATABASE_URL",
            path.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().len(),
        36 * 200,
        "the file was left untouched"
    );
}

#[tokio::test]
async fn a_damaged_database_is_reported_as_corrupt_with_the_recovery_tools() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    drop(open(&path));
    // Move everything from the WAL into the main file (a pooled reader may still be
    // closing in the background, so the last close might not have done it yet).
    let mut conn = raw(&path);
    conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
        .unwrap();
    drop(conn);
    // Keep the 100-byte header, which makes it an SQLite file, and wreck the rest.
    let mut bytes = std::fs::read(&path).unwrap();
    for b in &mut bytes[100..] {
        *b = 0xa5;
    }
    std::fs::write(&path, bytes).unwrap();
    let _ = std::fs::remove_file(path.with_extension("db-wal"));
    let _ = std::fs::remove_file(path.with_extension("db-shm"));
    let err = SqliteStore::open(&path, SqliteConfig::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
    assert!(
        text.contains("PRAGMA integrity_check") && text.contains(".recover"),
        "{text}"
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
}
