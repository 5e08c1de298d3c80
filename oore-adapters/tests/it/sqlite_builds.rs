//! `SqliteStore` against the `BuildStore` contract, plus what only real threads and a
//! real file show: numbering under contention from several threads and a second
//! connection, and the build-concurrency column added to existing repositories.

use std::collections::HashMap;
use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::repository::Provider;
use oore_core::ids::RepositoryId;
use oore_core::ports::{BuildQuery, BuildStore, RepositoryStore};
use oore_core::scheduling::RepoConcurrency;
use oore_core::testing::contract::{sample_build, sample_repository};

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open_blocking(path, SqliteConfig::default()).expect("open")
}

oore_core::contract_tests!(build_store, |case| {
    let (_dir, store) = crate::sqlite::temp_store();
    crate::runtime().block_on(case(&store, &store))
});

/// Eight tasks on a multi-threaded runtime create builds in three repositories at once,
/// half of them through a second `SqliteStore` on the same file: a second writer
/// connection, as a second process would have. Numbers stay 1..=n per repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn numbers_stay_dense_under_threads_and_a_second_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let first = open(&path);
    let second = open(&path);
    let mut repos: Vec<RepositoryId> = Vec::new();
    for n in 1..=3u128 {
        let repo = sample_repository(n, Provider::GitHub, "acme", &format!("app-{n}"));
        first.insert(&repo).await.unwrap();
        repos.push(repo.id);
    }

    const PER_TASK: u128 = 12;
    let tasks: Vec<_> = (0..8u128)
        .map(|t| {
            let store = if t % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let repos = repos.clone();
            tokio::spawn(async move {
                let mut made = Vec::new();
                for i in 0..PER_TASK {
                    let n = 1000 + t * PER_TASK + i;
                    let build = sample_build(n, repos[(n % 3) as usize]);
                    made.push(store.create_build(&build).await.expect("create"));
                }
                made
            })
        })
        .collect();
    let mut numbers: HashMap<RepositoryId, Vec<u64>> = HashMap::new();
    for task in tasks {
        for build in task.await.unwrap() {
            numbers
                .entry(build.repository_id)
                .or_default()
                .push(build.number);
        }
    }
    let mut total = 0;
    for (repo, mut got) in numbers {
        got.sort_unstable();
        total += got.len();
        assert_eq!(
            got,
            (1..=got.len() as u64).collect::<Vec<_>>(),
            "repository {repo}"
        );
        let stored = second
            .list_builds(&BuildQuery {
                repository_id: Some(repo),
                limit: BuildQuery::MAX_LIMIT,
                ..BuildQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            stored.builds.len(),
            got.len(),
            "returned numbers are the stored ones"
        );
    }
    assert_eq!(total, 8 * PER_TASK as usize);
}

/// A database made before the setting existed: its repositories read back as parallel,
/// and the column refuses values the core does not know.
#[tokio::test]
async fn existing_repositories_become_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let first =
        std::fs::read_to_string(migrations.join("2026-11-25-000000_create_repositories/up.sql"))
            .unwrap();
    let repo = sample_repository(1, Provider::GitHub, "acme", "app");
    {
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute(&first).unwrap();
        conn.batch_execute(&format!(
            "CREATE TABLE __diesel_schema_migrations (
                 version VARCHAR(50) PRIMARY KEY NOT NULL,
                 run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20261125000000');
             INSERT INTO repositories (id, provider, owner, name, identity_key, owner_folded,
                 name_folded, clone_url, default_branch, state, created_at, updated_at)
             VALUES ('{}', 'github', 'acme', 'app', 'github:acme/app', 'acme', 'app',
                 'https://github.com/acme/app.git', 'main', 'active', 0, 0);",
            repo.id
        ))
        .unwrap();
    }
    let store = open(&path);
    let read = store.get(repo.id).await.unwrap().expect("kept");
    assert_eq!(read.build_concurrency, RepoConcurrency::Parallel);
    drop(store);

    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 5000;").unwrap();
    let err = conn
        .batch_execute("UPDATE repositories SET build_concurrency = 'sometimes'")
        .unwrap_err();
    assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
}

/// A database from before the step process columns: its steps read back unchanged,
/// with nothing recorded, and new records can be written.
#[tokio::test]
async fn steps_of_an_older_database_gain_the_process_columns() {
    use oore_core::domain::build::{BuildStep, StepStatus};
    use oore_core::ids::StepId;
    use oore_core::ports::StepProcess;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let repo = sample_repository(1, Provider::Git, "acme", "app");
    let (build, step) = {
        let store = open(&path);
        store.insert(&repo).await.unwrap();
        let build = store.create_build(&sample_build(1, repo.id)).await.unwrap();
        let step = BuildStep {
            id: StepId::from_ulid(ulid::Ulid::from_parts(1, 77)),
            build_id: build.id,
            index: 0,
            name: "old".into(),
            status: StepStatus::Running,
            ignore_failure: false,
            exit_code: None,
            error_message: None,
            started_at: None,
            finished_at: None,
        };
        store
            .put_steps(build.id, std::slice::from_ref(&step))
            .await
            .unwrap();
        (build, step)
    };
    // Back to the version before: the migration's down.sql, and its record removed.
    let migration = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations/2026-12-03-000001_step_processes/down.sql");
    {
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute(&std::fs::read_to_string(migration).unwrap())
            .unwrap();
        conn.batch_execute(
            "DELETE FROM __diesel_schema_migrations WHERE version = '20261203000001'",
        )
        .unwrap();
    }

    let store = open(&path);
    assert_eq!(
        store.list_steps(build.id).await.unwrap(),
        std::slice::from_ref(&step)
    );
    assert_eq!(store.step_processes(build.id).await.unwrap(), []);
    let process = StepProcess {
        pid: 4242,
        process_group: 4242,
        started: "linux:boot:1".into(),
    };
    assert!(
        store
            .record_step_process(build.id, step.id, &process)
            .await
            .unwrap()
    );
    assert_eq!(store.step_processes(build.id).await.unwrap(), [process]);
}
