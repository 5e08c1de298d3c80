//! SQLite storage through diesel: implements [`RepositoryStore`](oore_core::ports::RepositoryStore),
//! [`BuildStore`](oore_core::ports::BuildStore), [`PipelineStore`](oore_core::ports::PipelineStore),
//! [`WebhookEventStore`](oore_core::ports::WebhookEventStore),
//! [`GitHubStore`](oore_core::github::ports::GitHubStore),
//! [`KeyCheckStore`](oore_core::ports::KeyCheckStore) and [`StoreHealth`] for
//! [`SqliteStore`], and seals the credentials of clone URLs stored before they were kept
//! apart ([`SqliteStore::seal_stored_clone_credentials`]).
//!
//! # Connections
//! Diesel is synchronous, so every query runs on a tokio blocking thread
//! (`spawn_blocking`). Reads go through an r2d2 pool of `max_connections` connections
//! opened with `query_only = ON`; every write goes through one dedicated writer
//! connection behind an async mutex, so SQLite never sees two writers and never has
//! to resolve writer contention with `SQLITE_BUSY`. Waiting for the writer happens on
//! the async side, not on a blocking thread.
//!
//! # PRAGMAs
//! Every connection gets `busy_timeout` (from [`SqliteConfig`]), `foreign_keys = ON`
//! and `synchronous = FULL`; the writer switches the file to `journal_mode = WAL`
//! (a property of the file, so readers see it too) and turns the automatic checkpoint
//! off: a separate thread and connection checkpoints instead (`checkpoint.rs`), so no
//! commit waits for a copy of the WAL. Every connection the process opens also gets
//! the query planner stability guarantee (`planner.rs`), without which SQLite re-plans
//! each diesel statement with a `LIMIT ?` every time it runs.
//!
//! `synchronous = FULL` follows the design decision "durable before acknowledged": once
//! `COMMIT` returns, the transaction survives a power loss or kernel crash, not only a
//! crash of the process. `oored` answers a webhook 2xx, or reports a build as queued,
//! only after its row is committed, so a forge that saw the 2xx never redelivers and
//! the row must not be rolled back. With `NORMAL`, WAL mode fsyncs only at checkpoints
//! and a power loss can drop the last few acknowledged commits. The price is one fsync
//! of the WAL per commit; throughput comes from batching several writes into one
//! transaction, not from weaker durability.
//!
//! # Storage conventions (every table, now and later)
//! - ids are ULIDs stored as their 26-character text (`TEXT PRIMARY KEY`); the text
//!   form sorts like the ULID itself;
//! - times are `INTEGER` unix **milliseconds**, UTC. Sub-millisecond precision is
//!   dropped on write; [`SystemClock`](crate::system::SystemClock) already returns
//!   whole milliseconds so values round-trip exactly;
//! - enums are `TEXT` holding the domain's `as_str()` name, checked by a `CHECK`;
//! - secrets are `BLOB`s sealed by [`XChaChaCipher`](crate::crypto::XChaChaCipher);
//! - tables are `STRICT`; rows other tables refer to are soft-deleted (`deleted_at`).
//!
//! Diesel types (`schema`, row structs, `diesel::result::Error`) do not leave this
//! module: rows convert to domain values with `TryFrom` and errors become
//! [`StoreError`].

mod build_rows;
mod builds;
mod checkpoint;
mod clone_credentials;
mod error;
mod github;
mod github_rows;
mod health;
mod key_check;
mod open;
mod pipelines;
mod planner;
mod pragmas;
mod repositories;
mod schema;
mod step_processes;
mod tx;
mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sqlite::SqliteConnection;
use jiff::Timestamp;
use oore_core::ports::{StoreError, StoreHealth};
use tokio::sync::Mutex;

pub use clone_credentials::SealCredentialsError;
pub use error::OpenError;
#[doc(hidden)]
pub use pragmas::{ConnectionPragmas, PragmaReport};

/// Tuning for [`SqliteStore::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// Size of the read pool (the writer connection is extra). `0` is treated as `1`.
    pub max_connections: u32,
    /// How long a connection waits for a lock held by another connection or process
    /// before a query fails with [`StoreError::Unavailable`]; also how long a read
    /// waits for a free pooled connection.
    pub busy_timeout: Duration,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The SQLite database: a read pool plus one writer connection. Cheap to clone; every
/// clone shares the same connections, which close when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    readers: Pool<ConnectionManager<SqliteConnection>>,
    writer: Arc<Mutex<SqliteConnection>>,
    checkpointer: Arc<checkpoint::Checkpointer>,
    write_health: health::WriteHealth,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file and its parent directories if
    /// missing, sets the PRAGMAs (see the module docs) and applies pending migrations.
    /// Blocking work runs on a blocking thread.
    pub async fn open(path: &Path, config: SqliteConfig) -> Result<SqliteStore, OpenError> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path, config))
            .await
            .unwrap_or_else(|e| {
                Err(OpenError::Interrupted {
                    detail: e.to_string(),
                })
            })
    }

    /// [`SqliteStore::open`] for callers without an async runtime (the CLI, tests).
    /// Blocks the current thread while it opens the file and runs migrations.
    pub fn open_blocking(path: &Path, config: SqliteConfig) -> Result<SqliteStore, OpenError> {
        let opened = open::open(path, &config)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: opened.path,
                readers: opened.readers,
                writer: Arc::new(Mutex::new(opened.writer)),
                checkpointer: Arc::new(opened.checkpointer),
                write_health: health::WriteHealth::default(),
            }),
        })
    }

    /// The absolute path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The PRAGMAs in effect on the writer and on a pooled reader, for tests and
    /// diagnostics.
    #[doc(hidden)]
    pub async fn pragma_report(&self) -> Result<PragmaReport, StoreError> {
        let writer = self.write(pragmas::read_pragmas).await?;
        let reader = self.read(pragmas::read_pragmas).await?;
        Ok(PragmaReport { writer, reader })
    }

    /// Runs `f` on a pooled read-only connection on a blocking thread.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.inner.readers.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| {
                StoreError::Unavailable(format!(
                    "no free database connection ({e}); the server is overloaded, retry later or raise max_connections"
                ))
            })?;
            f(&mut conn)
        })
        .await
        .map_err(join_error)?
    }

    /// Runs `f` on the single writer connection on a blocking thread. Callers queue on
    /// the async mutex, in order. A failure of the database is remembered for
    /// [`StoreHealth::writable`] (`health.rs`).
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let mut conn = self.inner.writer.clone().lock_owned().await;
        let checkpointer = Arc::clone(&self.inner.checkpointer);
        let result = tokio::task::spawn_blocking(move || {
            let result = f(&mut conn);
            drop(conn);
            checkpointer.committed();
            result
        })
        .await
        .map_err(join_error)
        .and_then(|result| result);
        self.inner.write_health.record(&result);
        result
    }

    /// Sets `PRAGMA max_page_count` on the writer connection (the only one that grows
    /// the file) and returns the limit now in effect: SQLite does not go below the
    /// current size. Writes that need a page beyond it fail with "database or disk is
    /// full", exactly as on a full disk: tests use it to fill the database on purpose.
    #[doc(hidden)]
    pub async fn set_max_page_count(&self, pages: u64) -> Result<u64, StoreError> {
        use diesel::RunQueryDsl;

        #[derive(diesel::QueryableByName)]
        struct Limit {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            max_page_count: i64,
        }
        let pages = i64::try_from(pages).unwrap_or(i64::MAX);
        self.write(move |conn| {
            diesel::sql_query(format!("PRAGMA max_page_count = {pages}"))
                .get_result::<Limit>(conn)
                .map(|l| u64::try_from(l.max_page_count).unwrap_or(0))
                .map_err(error::store_error)
        })
        .await
    }
}

/// Unix milliseconds, the storage form of every time (see the module docs).
fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Other(format!("database task failed: {e}"))
}

#[async_trait]
impl StoreHealth for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.batch_execute("SELECT 1").map_err(error::store_error))
            .await
    }

    async fn writable(&self) -> Result<(), StoreError> {
        match self.inner.write_health.pending() {
            health::Pending::Healthy => Ok(()),
            health::Pending::Failed(message) => Err(StoreError::Unavailable(message)),
            health::Pending::Probe(generation) => {
                // A failed probe is remembered by `write` like any other write.
                self.write(health::probe).await?;
                self.inner.write_health.probed_ok(generation);
                tracing::info!("the database takes writes again");
                Ok(())
            }
        }
    }
}
