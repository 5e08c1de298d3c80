//! Opening the database: create the file, connect the writer, set PRAGMAs, run the
//! embedded migrations, then build the read pool. Every failure becomes an
//! [`OpenError`] that names the path.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::Connection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::SqliteConfig;
use super::checkpoint::Checkpointer;
use super::error::{OpenError, sqlite_message};
use super::pragmas::{self, Role};

/// The SQL files in `/migrations`, compiled in.
pub(super) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// What [`open`] hands to [`super::SqliteStore`].
pub(super) struct Opened {
    pub(super) path: PathBuf,
    pub(super) writer: SqliteConnection,
    pub(super) readers: Pool<ConnectionManager<SqliteConnection>>,
    pub(super) checkpointer: Checkpointer,
}

pub(super) fn open(path: &Path, config: &SqliteConfig) -> Result<Opened, OpenError> {
    let path = std::path::absolute(path).map_err(|e| OpenError::from_io(path, e))?;
    create_file(&path)?;
    // An absolute path never starts with `file:`, so SQLite cannot mistake it for a URI.
    let url = path
        .to_str()
        .ok_or_else(|| OpenError::NonUtf8Path { path: path.clone() })?
        .to_owned();

    super::planner::enable();
    let mut writer = SqliteConnection::establish(&url)
        .map_err(|e| OpenError::from_sqlite(&path, &e.to_string()))?;
    pragmas::apply(&mut writer, Role::Writer, config.busy_timeout)
        .map_err(|e| OpenError::from_sqlite(&path, &sqlite_message(&e)))?;
    run_migrations(&mut writer, &path)?;

    let readers = Pool::builder()
        .max_size(config.max_connections.max(1))
        .min_idle(Some(1))
        // A local file does not go stale like a network connection: skip the `SELECT 1`
        // r2d2 would otherwise run on every checkout.
        .test_on_check_out(false)
        .connection_timeout(config.busy_timeout.max(Duration::from_secs(1)))
        .connection_customizer(Box::new(pragmas::Customizer {
            busy_timeout: config.busy_timeout,
        }))
        .build(ConnectionManager::<SqliteConnection>::new(url.as_str()))
        .map_err(|e| OpenError::from_sqlite(&path, &e.to_string()))?;

    let mut conn = SqliteConnection::establish(&url)
        .map_err(|e| OpenError::from_sqlite(&path, &e.to_string()))?;
    pragmas::apply(&mut conn, Role::Checkpointer, config.busy_timeout)
        .map_err(|e| OpenError::from_sqlite(&path, &sqlite_message(&e)))?;
    let checkpointer = Checkpointer::start(conn).map_err(|e| OpenError::from_io(&path, e))?;

    tracing::info!(path = %path.display(), readers = config.max_connections.max(1), "database open");
    Ok(Opened {
        path,
        writer,
        readers,
        checkpointer,
    })
}

/// Creates the parent directories and the (empty) file, so that filesystem problems
/// surface as precise `io::Error`s rather than SQLite's "unable to open database file".
fn create_file(path: &Path) -> Result<(), OpenError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| OpenError::from_io(path, e))?;
    }
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| OpenError::from_io(path, e))?;
    Ok(())
}

/// Applies pending migrations one at a time (each in its own transaction), so a
/// failure names the migration that failed.
fn run_migrations(conn: &mut SqliteConnection, path: &Path) -> Result<(), OpenError> {
    let classify = |detail: String, migration: Option<String>| -> OpenError {
        match (OpenError::from_sqlite(path, &detail), migration) {
            (OpenError::Sqlite { .. }, Some(migration)) => OpenError::Migration {
                path: path.to_path_buf(),
                migration,
                detail,
            },
            (e, _) => e,
        }
    };

    let applied = MigrationHarness::<Sqlite>::applied_migrations(conn)
        .map_err(|e| classify(e.to_string(), None))?;
    let known: HashSet<String> =
        diesel::migration::MigrationSource::<Sqlite>::migrations(&MIGRATIONS)
            .map_err(|e| classify(e.to_string(), None))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
    if let Some(unknown) = applied
        .iter()
        .map(ToString::to_string)
        .find(|v| !known.contains(v))
    {
        return Err(OpenError::NewerSchema {
            path: path.to_path_buf(),
            version: unknown,
        });
    }

    let pending = conn
        .pending_migrations(MIGRATIONS)
        .map_err(|e| classify(e.to_string(), None))?;
    for migration in pending {
        let name = migration.name().to_string();
        conn.run_migration(&*migration)
            .map_err(|e| classify(e.to_string(), Some(name.clone())))?;
        tracing::info!(migration = %name, "applied database migration");
    }
    Ok(())
}
