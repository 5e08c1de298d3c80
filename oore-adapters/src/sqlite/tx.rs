//! [`immediate`]: diesel's `immediate_transaction` that keeps the cause of a failure.
//!
//! SQLite rolls a transaction back by itself on some errors (`SQLITE_FULL`,
//! `SQLITE_IOERR`, `SQLITE_NOMEM`). Diesel then runs its own `ROLLBACK`, which fails
//! ("cannot rollback - no transaction is active"), and returns *that* error instead of
//! the cause: a full disk read as an unknown database error (a 500 instead of a 503, and
//! no sign of it in `/api/health`). Diesel resets its transaction state from SQLite's
//! autocommit flag when that rollback fails, so the connection itself stays usable.
//! Writes with a transaction go through [`immediate`]; [`super::error::store_error`]
//! also classifies the rollback message for transactions run any other way.

use diesel::result::Error as DieselError;
use diesel::sqlite::SqliteConnection;

/// Why the transaction failed, seen from inside: the closure's error is kept aside.
enum Failed {
    /// The closure failed; its error is in the side slot.
    Closure,
    /// Diesel failed (begin, commit or rollback).
    Diesel(DieselError),
}

impl From<DieselError> for Failed {
    fn from(e: DieselError) -> Self {
        Self::Diesel(e)
    }
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction, committing on `Ok`. A failure returns
/// the first error that happened: the closure's (not the rollback's after it), or the
/// commit's (not the rollback's after a failed commit).
pub(super) fn immediate<T, E, F>(conn: &mut SqliteConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut SqliteConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    let mut closure_error = None;
    let result = conn.immediate_transaction(|conn| {
        f(conn).map_err(|e| {
            closure_error = Some(e);
            Failed::Closure
        })
    });
    match (result, closure_error) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(first)) => Err(first),
        (Err(Failed::Diesel(DieselError::RollbackErrorOnCommit { commit_error, .. })), None) => {
            Err(E::from(*commit_error))
        }
        (Err(Failed::Diesel(e)), None) => Err(E::from(e)),
        (Err(Failed::Closure), None) => Err(E::from(DieselError::RollbackTransaction)),
    }
}
