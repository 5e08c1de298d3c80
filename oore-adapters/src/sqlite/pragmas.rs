//! Per-connection PRAGMAs: applied to the writer at open and to every pooled reader by
//! an r2d2 [`CustomizeConnection`], and read back by [`read_pragmas`] for tests.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, Error as PoolError};
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{QueryableByName, RunQueryDsl};
use oore_core::ports::StoreError;

use super::error::store_error;

/// Which connection the PRAGMAs are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The single writer: also switches the file to WAL.
    Writer,
    /// A pooled reader: `query_only`, so a bug cannot write around the writer.
    Reader,
    /// The WAL checkpoint thread's connection (`checkpoint.rs`): copies committed pages
    /// into the database file, never writes a transaction.
    Checkpointer,
}

/// Sets the PRAGMAs for `role`. `busy_timeout` comes first so that switching to WAL
/// waits for other processes instead of failing.
pub(super) fn apply(
    conn: &mut SqliteConnection,
    role: Role,
    busy_timeout: Duration,
) -> diesel::QueryResult<()> {
    let millis = busy_timeout.as_millis().min(i32::MAX as u128);
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {millis}; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
    ))?;
    match role {
        Role::Writer => {
            let mode =
                diesel::sql_query("PRAGMA journal_mode = WAL").get_result::<JournalMode>(conn)?;
            super::checkpoint::writer_pragmas(conn)?;
            if !mode.journal_mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(
                    journal_mode = %mode.journal_mode,
                    "the filesystem does not support WAL; readers will block the writer, put the database on a local disk"
                );
            }
            Ok(())
        }
        Role::Reader => conn.batch_execute("PRAGMA query_only = ON;"),
        Role::Checkpointer => Ok(()),
    }
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

/// Applies the reader PRAGMAs to every connection the pool opens.
#[derive(Debug)]
pub(super) struct Customizer {
    pub(super) busy_timeout: Duration,
}

impl CustomizeConnection<SqliteConnection, PoolError> for Customizer {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), PoolError> {
        apply(conn, Role::Reader, self.busy_timeout).map_err(PoolError::QueryError)
    }
}

/// The PRAGMAs of one connection as SQLite reports them.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPragmas {
    /// `wal` when the file is in WAL mode.
    pub journal_mode: String,
    /// `1` when foreign keys are enforced.
    pub foreign_keys: i64,
    /// `1` is `NORMAL`, `2` is `FULL`.
    pub synchronous: i64,
    /// Milliseconds.
    pub busy_timeout: i64,
    /// `1` on pooled readers.
    pub query_only: i64,
    /// WAL pages after which a commit checkpoints by itself; `0` on the writer, whose
    /// checkpoints run on their own thread (`checkpoint.rs`).
    pub wal_autocheckpoint: i64,
}

#[derive(QueryableByName)]
struct PragmaRow {
    #[diesel(sql_type = Text)]
    journal_mode: String,
    #[diesel(sql_type = BigInt)]
    foreign_keys: i64,
    #[diesel(sql_type = BigInt)]
    synchronous: i64,
    #[diesel(sql_type = BigInt)]
    busy_timeout: i64,
    #[diesel(sql_type = BigInt)]
    query_only: i64,
}

#[derive(QueryableByName)]
struct AutoCheckpoint {
    #[diesel(sql_type = BigInt)]
    wal_autocheckpoint: i64,
}

/// The PRAGMAs of the writer and of one pooled reader.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PragmaReport {
    /// The writer connection.
    pub writer: ConnectionPragmas,
    /// A pooled reader connection.
    pub reader: ConnectionPragmas,
}

pub(super) fn read_pragmas(conn: &mut SqliteConnection) -> Result<ConnectionPragmas, StoreError> {
    let row: PragmaRow = diesel::sql_query(
        "SELECT (SELECT journal_mode FROM pragma_journal_mode) AS journal_mode, \
                (SELECT foreign_keys FROM pragma_foreign_keys) AS foreign_keys, \
                (SELECT synchronous FROM pragma_synchronous) AS synchronous, \
                (SELECT timeout FROM pragma_busy_timeout) AS busy_timeout, \
                (SELECT query_only FROM pragma_query_only) AS query_only",
    )
    .get_result(conn)
    .map_err(store_error)?;
    // Not available as a table-valued pragma function: asked on its own.
    let auto: AutoCheckpoint = diesel::sql_query("PRAGMA wal_autocheckpoint")
        .get_result(conn)
        .map_err(store_error)?;
    Ok(ConnectionPragmas {
        journal_mode: row.journal_mode,
        foreign_keys: row.foreign_keys,
        synchronous: row.synchronous,
        busy_timeout: row.busy_timeout,
        query_only: row.query_only,
        wal_autocheckpoint: auto.wal_autocheckpoint,
    })
}
