//! `list_builds` over a million builds: first pages and deep keyset pages, with each
//! single filter the builds page offers and the common combinations, through the real
//! `SqliteStore` (read pool, blocking thread, row conversion).
//!
//! Setup is a fast path, not the store's: one transaction fills `builds` from a
//! recursive CTE with the secondary indexes dropped, then rebuilds them. Target: a page
//! in under 10 ms (median), whatever the filter and however deep, so the builds page
//! stays interactive with years of history.
//!
//! Run with `cargo bench -p oore-adapters --bench build_list` (or `make bench`).
#![expect(
    clippy::print_stdout,
    reason = "a benchmark reports its figures on stdout"
)]

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::build::{BuildStatus, TriggerType};
use oore_core::domain::repository::{BranchName, Provider};
use oore_core::ids::{BuildId, RepositoryId};
use oore_core::ports::{BuildQuery, BuildStore, RepositoryStore};
use oore_core::scheduling::RepoConcurrency;
use oore_core::testing::contract::sample_repository;

const BUILDS: u64 = 1_000_000;
const REPOSITORIES: u64 = 50;
/// One build a minute: a million builds is about two years of history.
const SPACING_MS: i64 = 60_000;
const EPOCH_MS: i64 = 1_735_689_600_000;
const RUNS: usize = 150;
const TARGET: Duration = Duration::from_millis(10);

type Error = Box<dyn std::error::Error>;

/// The id of the `i`-th build: ULID text that sorts like `i` (digits are valid
/// Crockford base-32 characters).
fn build_id(i: u64) -> BuildId {
    format!("01KB{i:022}").parse().expect("valid ULID text")
}

#[derive(QueryableByName)]
struct Sql {
    #[diesel(sql_type = Text)]
    sql: String,
}

fn fill(path: &std::path::Path) -> Result<(), Error> {
    let mut conn = SqliteConnection::establish(path.to_str().ok_or("path is not UTF-8")?)?;
    conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -262144;")?;
    let indexes: Vec<Sql> = diesel::sql_query(
        "SELECT sql FROM sqlite_master \
         WHERE type = 'index' AND tbl_name = 'builds' AND sql IS NOT NULL",
    )
    .load(&mut conn)?;
    conn.batch_execute(
        "CREATE TEMP TABLE bench_repos AS \
         SELECT row_number() OVER (ORDER BY id) - 1 AS k, id FROM repositories;",
    )?;
    conn.transaction(|conn| {
        for index in &indexes {
            let name = index.sql.split_whitespace().nth(2).unwrap_or_default();
            conn.batch_execute(&format!("DROP INDEX {name};"))?;
        }
        conn.batch_execute(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
             INSERT INTO builds (id, repository_id, number, status, trigger_type, priority,
                 branch, commit_sha, workflow, config_source, created_at, started_at, finished_at)
             SELECT printf('01KB%022d', i), r.id, i / {REPOSITORIES} + 1,
                 CASE WHEN i >= {last} - 8 THEN 'pending'
                      WHEN i >= {last} - 12 THEN 'running'
                      WHEN i % 13 = 3 THEN 'failure'
                      WHEN i % 31 = 0 THEN 'cancelled'
                      ELSE 'success' END,
                 CASE i % 4 WHEN 0 THEN 'push' WHEN 1 THEN 'pull_request'
                            WHEN 2 THEN 'manual' ELSE 'push' END,
                 CASE i % 4 WHEN 0 THEN 3 WHEN 1 THEN 2 WHEN 2 THEN 1 ELSE 4 END,
                 CASE WHEN i % 7 = 0 THEN 'main' ELSE 'feature/f-' || (i % 997) END,
                 lower(hex(randomblob(20))), 'default', 'repository',
                 {EPOCH_MS} + i * {SPACING_MS},
                 {EPOCH_MS} + i * {SPACING_MS} + 2000,
                 {EPOCH_MS} + i * {SPACING_MS} + 300000
             FROM n JOIN bench_repos r ON r.k = i % {REPOSITORIES};",
            last = BUILDS - 1,
        ))?;
        for index in &indexes {
            conn.batch_execute(&format!("{};", index.sql))?;
        }
        diesel::QueryResult::Ok(())
    })?;
    conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

/// Median and 95th percentile of `RUNS` runs of `query`.
fn measure(
    rt: &tokio::runtime::Runtime,
    store: &SqliteStore,
    query: &BuildQuery,
) -> Result<(Duration, Duration, usize), Error> {
    let mut times = Vec::with_capacity(RUNS);
    let mut rows = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let page = rt.block_on(store.list_builds(query))?;
        times.push(start.elapsed());
        rows = page.builds.len();
    }
    times.sort_unstable();
    Ok((times[RUNS / 2], times[RUNS * 95 / 100], rows))
}

fn main() -> Result<(), Error> {
    let total = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("oore.db");
    let store = SqliteStore::open_blocking(&path, SqliteConfig::default())?;

    let mut repos: Vec<RepositoryId> = Vec::new();
    for n in 0..REPOSITORIES {
        let mut repo =
            sample_repository(u128::from(n), Provider::GitHub, "acme", &format!("app-{n}"));
        if n % 5 == 0 {
            repo.build_concurrency = RepoConcurrency::Serial;
        }
        rt.block_on(store.insert(&repo))?;
        repos.push(repo.id);
    }
    repos.sort_unstable();
    let setup = Instant::now();
    fill(&path)?;
    let size_mb = std::fs::metadata(&path)?.len() / 1_000_000;
    println!(
        "setup: {BUILDS} builds in {REPOSITORIES} repositories, {size_mb} MB, {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    // Repository 7 owns builds i = 7, 57, 107, ...; a deep cursor sits 90% of the way
    // into the history in the order being paged, on one of that repository's builds.
    let repo = repos[7];
    let deep_newest = build_id(BUILDS / 10 / REPOSITORIES * REPOSITORIES + 7);
    let deep_oldest = build_id(BUILDS * 9 / 10 / REPOSITORIES * REPOSITORIES + 7);
    let week_ms = 7 * 24 * 3600 * 1000;
    let mid = jiff::Timestamp::from_millisecond(EPOCH_MS + (BUILDS as i64 / 2) * SPACING_MS)?;
    let base = BuildQuery::default();
    let cases: Vec<(&str, BuildQuery)> = vec![
        ("no filter", base.clone()),
        (
            "repository",
            BuildQuery {
                repository_id: Some(repo),
                ..base.clone()
            },
        ),
        (
            "status failure",
            BuildQuery {
                statuses: vec![BuildStatus::Failure],
                ..base.clone()
            },
        ),
        (
            "statuses success+failure",
            BuildQuery {
                statuses: vec![BuildStatus::Success, BuildStatus::Failure],
                ..base.clone()
            },
        ),
        (
            "repository + status failure",
            BuildQuery {
                repository_id: Some(repo),
                statuses: vec![BuildStatus::Failure],
                ..base.clone()
            },
        ),
        (
            "branch main",
            BuildQuery {
                branch: Some(BranchName::main()),
                ..base.clone()
            },
        ),
        (
            "trigger manual",
            BuildQuery {
                trigger: Some(TriggerType::Manual),
                ..base.clone()
            },
        ),
        (
            "one week",
            BuildQuery {
                created_from: Some(mid),
                created_until: Some(jiff::Timestamp::from_millisecond(
                    mid.as_millisecond() + week_ms,
                )?),
                ..base.clone()
            },
        ),
        (
            "commit prefix (4)",
            BuildQuery {
                commit_prefix: Some("abcd".into()),
                ..base.clone()
            },
        ),
    ];

    println!(
        "list_builds, page of {} (median / p95 of {RUNS} runs):",
        BuildQuery::DEFAULT_LIMIT
    );
    let mut worst = Duration::ZERO;
    for (name, query) in cases {
        for (page, q) in [
            ("first", query.clone()),
            (
                "deep",
                BuildQuery {
                    after: Some(deep_newest),
                    ..query.clone()
                },
            ),
            (
                "oldest first, deep",
                BuildQuery {
                    after: Some(deep_oldest),
                    oldest_first: true,
                    ..query
                },
            ),
        ] {
            let (median, p95, rows) = measure(&rt, &store, &q)?;
            worst = worst.max(median);
            println!(
                "  {name:<28} {page:<19} {:>8.3} ms / {:>8.3} ms  {rows:>3} rows  ratio to target {:.3}",
                median.as_secs_f64() * 1e3,
                p95.as_secs_f64() * 1e3,
                median.as_secs_f64() / TARGET.as_secs_f64()
            );
        }
    }
    let mut times = Vec::with_capacity(RUNS);
    let mut queued = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        queued = rt.block_on(store.queued_builds())?.len();
        times.push(start.elapsed());
    }
    times.sort_unstable();
    let median = times[RUNS / 2];
    println!(
        "queued_builds ({queued} pending of {BUILDS}): {:.3} ms median",
        median.as_secs_f64() * 1e3
    );
    println!(
        "worst median {:.3} ms, target {} ms: ratio {:.3}; total {:.1} s",
        worst.as_secs_f64() * 1e3,
        TARGET.as_millis(),
        worst.as_secs_f64() / TARGET.as_secs_f64(),
        total.elapsed().as_secs_f64()
    );
    Ok(())
}
