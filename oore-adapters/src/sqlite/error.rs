//! Errors of the SQLite adapter: [`OpenError`] for opening the database, and the one
//! mapping from diesel's errors to the technology-free [`StoreError`].

use std::io;
use std::path::{Path, PathBuf};

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use oore_core::ports::StoreError;

/// Why the database could not be opened. Every message names the path and says what
/// to do about it.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file or its directory cannot be created or written by this user.
    #[error(
        "cannot create database at {}: permission denied; make the directory writable by this user or set DATABASE_URL",
        path.display()
    )]
    PermissionDenied {
        /// The database path.
        path: PathBuf,
    },
    /// A component of the path is a regular file, so the directory cannot be created.
    #[error(
        "cannot create database at {}: {} is a file, not a directory; fix the path or set DATABASE_URL",
        path.display(),
        blocker.display()
    )]
    NotADirectory {
        /// The database path.
        path: PathBuf,
        /// The file standing where a directory should be (or the path itself if unknown).
        blocker: PathBuf,
    },
    /// The file or its filesystem is read-only.
    #[error(
        "cannot write database at {}: the file or its filesystem is read-only; make it writable by this user or set DATABASE_URL",
        path.display()
    )]
    ReadOnly {
        /// The database path.
        path: PathBuf,
    },
    /// The filesystem is full.
    #[error(
        "cannot write database at {}: no space left on device; free at least 50 MB on that filesystem and start again",
        path.display()
    )]
    DiskFull {
        /// The database path.
        path: PathBuf,
    },
    /// The file exists but is not an SQLite database.
    #[error("{} is not an SQLite database (file is not a database); move it away or set DATABASE_URL", path.display())]
    NotADatabase {
        /// The database path.
        path: PathBuf,
    },
    /// The file is an SQLite database, but damaged.
    #[error(
        "database at {p} is corrupt ({detail}); check it with `sqlite3 {p} 'PRAGMA integrity_check'`, \
         rescue the data with `sqlite3 {p} .recover`, or restore a backup",
        p = path.display()
    )]
    Corrupt {
        /// The database path.
        path: PathBuf,
        /// SQLite's description.
        detail: String,
    },
    /// Another process kept the database locked for longer than `busy_timeout`.
    #[error(
        "database at {} stayed locked by another process; stop the other program using it, or raise busy_timeout",
        path.display()
    )]
    Busy {
        /// The database path.
        path: PathBuf,
    },
    /// A migration failed; it was rolled back and later ones were not attempted.
    #[error(
        "cannot apply migration {migration} to {}: {detail}; the database is unchanged since the previous migration, restore a backup or report a bug",
        path.display()
    )]
    Migration {
        /// The database path.
        path: PathBuf,
        /// The migration's name (`<timestamp>_<name>`).
        migration: String,
        /// What failed.
        detail: String,
    },
    /// The database has a migration this build does not know: a newer `oored` used it.
    #[error(
        "database at {} has migration {version}, which this oored does not know; it was used by a newer version: upgrade oored or restore a backup",
        path.display()
    )]
    NewerSchema {
        /// The database path.
        path: PathBuf,
        /// The unknown migration version.
        version: String,
    },
    /// SQLite takes paths as UTF-8.
    #[error("database path {} is not valid UTF-8; choose another path or set DATABASE_URL", path.display())]
    NonUtf8Path {
        /// The database path.
        path: PathBuf,
    },
    /// Any other filesystem error.
    #[error(
        "cannot open database at {}: {source}; check that the path is right and writable by this user, or set DATABASE_URL",
        path.display()
    )]
    Io {
        /// The database path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Any other SQLite error.
    #[error("cannot open database at {}: {detail}; check the file, or set DATABASE_URL", path.display())]
    Sqlite {
        /// The database path.
        path: PathBuf,
        /// SQLite's description.
        detail: String,
    },
    /// The blocking task opening the database panicked or was cancelled.
    #[error("opening the database was interrupted: {detail}; this is a bug, please report it")]
    Interrupted {
        /// What happened to the task.
        detail: String,
    },
}

impl OpenError {
    /// Classifies a filesystem error met while creating `path` or its directories.
    pub(super) fn from_io(path: &Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::PermissionDenied => Self::PermissionDenied { path },
            io::ErrorKind::NotADirectory => {
                let blocker = path
                    .ancestors()
                    .skip(1)
                    .find(|p| p.is_file())
                    .unwrap_or(&path)
                    .to_path_buf();
                Self::NotADirectory { path, blocker }
            }
            io::ErrorKind::ReadOnlyFilesystem => Self::ReadOnly { path },
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Self::DiskFull { path },
            _ => Self::Io { path, source },
        }
    }

    /// Classifies an SQLite error message met while opening `path`.
    pub(super) fn from_sqlite(path: &Path, message: &str) -> Self {
        let path = path.to_path_buf();
        match Failure::of(message) {
            Failure::NotADatabase => Self::NotADatabase { path },
            Failure::Corrupt => Self::Corrupt {
                path,
                detail: message.to_owned(),
            },
            Failure::Full => Self::DiskFull { path },
            Failure::ReadOnly => Self::ReadOnly { path },
            Failure::Permission => Self::PermissionDenied { path },
            Failure::Busy => Self::Busy { path },
            Failure::Io | Failure::RolledBack | Failure::Other => Self::Sqlite {
                path,
                detail: message.to_owned(),
            },
        }
    }
}

/// The SQLite result codes we treat specially, recognised from their messages (diesel
/// passes only `sqlite3_errmsg` through; the bundled SQLite's wording is fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// `SQLITE_NOTADB`.
    NotADatabase,
    /// `SQLITE_CORRUPT`.
    Corrupt,
    /// `SQLITE_FULL`.
    Full,
    /// `SQLITE_READONLY`.
    ReadOnly,
    /// `SQLITE_PERM` / `SQLITE_CANTOPEN` caused by permissions.
    Permission,
    /// `SQLITE_BUSY` / `SQLITE_LOCKED`.
    Busy,
    /// `SQLITE_IOERR`.
    Io,
    /// A `ROLLBACK` (or `ROLLBACK TO` a savepoint) after SQLite had already rolled the
    /// transaction back by itself (what a full disk or an I/O error inside a transaction
    /// does; see `tx.rs`).
    RolledBack,
    /// Anything else.
    Other,
}

impl Failure {
    pub(super) fn of(message: &str) -> Self {
        let m = message.to_ascii_lowercase();
        if m.contains("file is not a database") {
            Self::NotADatabase
        } else if m.contains("malformed") || m.contains("corrupt") {
            Self::Corrupt
        } else if m.contains("database or disk is full") {
            Self::Full
        } else if m.contains("readonly database") || m.contains("read-only") {
            Self::ReadOnly
        } else if m.contains("access permission denied") {
            Self::Permission
        } else if m.contains("database is locked") || m.contains("is locked") {
            Self::Busy
        } else if m.contains("disk i/o error") {
            Self::Io
        } else if m.contains("cannot rollback - no transaction is active")
            || m.contains("no such savepoint")
        {
            Self::RolledBack
        } else {
            Self::Other
        }
    }
}

/// The message SQLite gave for a diesel error, if it came from SQLite.
pub(super) fn sqlite_message(e: &DieselError) -> String {
    match e {
        DieselError::DatabaseError(_, info) => info.message().to_owned(),
        other => other.to_string(),
    }
}

/// Maps a diesel error to [`StoreError`]. Unique violations become
/// `Duplicate(<sqlite's message>)`; callers that know what was duplicated say so.
pub(super) fn store_error(e: DieselError) -> StoreError {
    match e {
        DieselError::NotFound => StoreError::NotFound,
        // A failed commit is about the commit, not the rollback tried after it.
        DieselError::RollbackErrorOnCommit { commit_error, .. } => store_error(*commit_error),
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Duplicate(info.message().to_owned())
        }
        DieselError::DeserializationError(e) => {
            StoreError::Corrupt(format!("a stored value could not be read: {e}"))
        }
        DieselError::DatabaseError(kind, info) => {
            let message = info.message();
            match Failure::of(message) {
                Failure::Busy => StoreError::Unavailable(format!(
                    "{message}: another process kept the database locked for longer than busy_timeout; retry, and stop other programs writing to it"
                )),
                Failure::Full => StoreError::Unavailable(format!(
                    "{message}: no space left on device; free disk space on the database's filesystem"
                )),
                Failure::ReadOnly | Failure::Permission => StoreError::Unavailable(format!(
                    "{message}: the database file is not writable; fix its permissions"
                )),
                Failure::Io => StoreError::Unavailable(format!(
                    "{message}: check the disk holding the database"
                )),
                Failure::RolledBack => StoreError::Unavailable(format!(
                    "{message}: SQLite rolled the write back by itself, as it does on a full disk or an I/O error; free disk space on the database's filesystem and check the disk"
                )),
                Failure::Corrupt | Failure::NotADatabase => StoreError::Corrupt(format!(
                    "{message}: the database file is damaged; stop oored and run `sqlite3 <db> 'PRAGMA integrity_check'`"
                )),
                Failure::Other => StoreError::Other(format!("{message} ({kind:?})")),
            }
        }
        other => StoreError::Other(other.to_string()),
    }
}

/// A failure inside a transaction: diesel's own errors, which roll it back, and ours.
pub(super) enum TxError {
    Diesel(DieselError),
    Store(StoreError),
}

impl From<DieselError> for TxError {
    fn from(e: DieselError) -> Self {
        Self::Diesel(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl TxError {
    /// A missing parent row (foreign key) is `NotFound`; a unique violation is
    /// `Duplicate` described by `what`.
    pub(super) fn into_store(self, what: impl FnOnce() -> String) -> StoreError {
        match self {
            Self::Diesel(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                StoreError::NotFound
            }
            Self::Diesel(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                StoreError::Duplicate(format!("{} ({})", what(), info.message()))
            }
            Self::Diesel(e) => store_error(e),
            Self::Store(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_are_classified() {
        assert_eq!(Failure::of("file is not a database"), Failure::NotADatabase);
        assert_eq!(
            Failure::of("database disk image is malformed"),
            Failure::Corrupt
        );
        assert_eq!(Failure::of("database or disk is full"), Failure::Full);
        assert_eq!(
            Failure::of("attempt to write a readonly database"),
            Failure::ReadOnly
        );
        assert_eq!(Failure::of("database is locked"), Failure::Busy);
        assert_eq!(Failure::of("database table is locked"), Failure::Busy);
        assert_eq!(Failure::of("disk I/O error"), Failure::Io);
        assert_eq!(
            Failure::of("cannot rollback - no transaction is active"),
            Failure::RolledBack
        );
        assert_eq!(
            Failure::of("no such savepoint: diesel_savepoint_1"),
            Failure::RolledBack
        );
        assert_eq!(Failure::of("no such table: x"), Failure::Other);
    }

    #[test]
    fn io_errors_name_the_path_and_the_fix() {
        let path = Path::new("/srv/oore/oore.db");
        let denied = OpenError::from_io(path, io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(
            denied.to_string(),
            "cannot create database at /srv/oore/oore.db: permission denied; \
             make the directory writable by this user or set DATABASE_URL"
        );
        let full = OpenError::from_io(path, io::Error::from(io::ErrorKind::StorageFull));
        assert!(
            full.to_string()
                .contains("no space left on device; free at least 50 MB"),
            "{full}"
        );
    }

    #[test]
    fn corrupt_message_points_at_the_tools() {
        let e = OpenError::from_sqlite(Path::new("/d/oore.db"), "database disk image is malformed");
        let text = e.to_string();
        assert!(
            text.contains("PRAGMA integrity_check") && text.contains(".recover"),
            "{text}"
        );
    }

    #[test]
    fn busy_maps_to_unavailable() {
        let e = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database is locked".to_owned()),
        );
        assert!(matches!(store_error(e), StoreError::Unavailable(_)));
        let e = DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("UNIQUE".to_owned()),
        );
        assert!(matches!(store_error(e), StoreError::Duplicate(_)));
    }
}
