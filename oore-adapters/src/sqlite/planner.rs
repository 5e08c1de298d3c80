//! Query planner stability for every connection (`SQLITE_DBCONFIG_ENABLE_QPSG`).
//!
//! Since SQLite 3.47 the planner reads the value bound to `LIMIT ?` while preparing a
//! statement (to plan `LIMIT 1` specially), and marks the statement expired whenever that
//! parameter is bound again. diesel binds every `.limit(n)` and `.first()` as `LIMIT ?`,
//! and reuses its cached statements by binding them again, so without this every such
//! query was parsed and planned anew on each execution: measured, 20% of the CPU of
//! webhook ingestion went to `sqlite3Reprepare` for the one-row repository lookup.
//! With the stability guarantee on, a plan never depends on bound values (this database
//! has no `ANALYZE` statistics for them to matter anyway) and cached statements stay
//! prepared.
//!
//! diesel does not hand out its `sqlite3*` handle, so the setting is applied through
//! `sqlite3_auto_extension`: SQLite calls the registered function for every connection
//! this process opens afterwards. [`enable`] registers it once, before the first
//! connection; it is process-wide, which is what an embedding program wants too.

use std::ffi::{c_char, c_int};
use std::sync::Once;

use libsqlite3_sys as ffi;

/// Registers [`on_open`] for every connection opened from now on (once per process).
pub(super) fn enable() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `on_open` has exactly the signature SQLite calls an extension entry
        // point with, lives for the whole program, and does nothing but set a flag of
        // the connection it is given. Registering is thread-safe in SQLite.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(
                rc,
                "could not register the SQLite query planner setting; queries will be re-planned more often"
            );
        }
    });
}

/// Runs as each new connection opens: turns the planner stability guarantee on.
unsafe extern "C" fn on_open(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite passes a valid, open connection; ENABLE_QPSG takes an int (1: on)
    // and an optional `int*` to report the new setting into (null: not wanted).
    unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        );
    }
    ffi::SQLITE_OK
}
