//! Whether the database takes writes, for [`StoreHealth::writable`]: every write that
//! fails as unavailable (a full disk, an I/O error, a read-only file, a lock held past
//! `busy_timeout`) is remembered; the next health check then probes with a write that
//! needs free space (a 256 KiB row inserted and deleted in one committed transaction,
//! in the always-empty `storage_probe` table), at most once per [`PROBE_INTERVAL`], and
//! only a probe that commits clears the failure. A later write that fits into space
//! already allocated (an in-place update) does not clear it: that a small write
//! succeeded says little about the next one.
//!
//! [`StoreHealth::writable`]: oore_core::ports::StoreHealth::writable

use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;
use oore_core::ports::StoreError;

use super::error::store_error;

/// Shortest time between two probes; health checks in between get the last answer.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Bytes the probe writes: 64 pages of 4 KiB, so it needs pages beyond those freed by
/// ordinary deletes, and WAL space on disk when it commits.
const PROBE_BYTES: i64 = 256 * 1024;

/// The last write failure and when it was last probed.
#[derive(Debug, Default)]
pub(super) struct WriteHealth {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failure: Option<String>,
    /// Counts failures, so a probe clears only what it saw.
    generation: u64,
    last_probe: Option<Instant>,
}

/// What [`WriteHealth::pending`] found.
pub(super) enum Pending {
    /// No write failed since the last successful probe.
    Healthy,
    /// A probe was run less than [`PROBE_INTERVAL`] ago: this is its failure.
    Failed(String),
    /// Probe now; clear with this generation if it commits.
    Probe(u64),
}

impl WriteHealth {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers a write's failure (only failures of the database itself, not rule
    /// violations such as duplicates).
    pub(super) fn record<T>(&self, result: &Result<T, StoreError>) {
        if let Err(StoreError::Unavailable(message)) = result {
            let mut state = self.state();
            state.failure = Some(message.clone());
            state.generation += 1;
        }
    }

    /// Whether a probe is due (see [`Pending`]); a due probe is marked as running.
    pub(super) fn pending(&self) -> Pending {
        let mut state = self.state();
        let Some(failure) = state.failure.clone() else {
            return Pending::Healthy;
        };
        match state.last_probe {
            Some(at) if at.elapsed() < PROBE_INTERVAL => Pending::Failed(failure),
            _ => {
                state.last_probe = Some(Instant::now());
                Pending::Probe(state.generation)
            }
        }
    }

    /// A probe started at `generation` committed: forget the failure unless another
    /// write failed since.
    pub(super) fn probed_ok(&self, generation: u64) {
        let mut state = self.state();
        if state.generation == generation {
            state.failure = None;
        }
    }
}

/// The probe write (module doc), on the writer connection.
pub(super) fn probe(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    super::tx::immediate(conn, |conn| {
        diesel::sql_query("INSERT INTO storage_probe (pad) VALUES (zeroblob(?))")
            .bind::<BigInt, _>(PROBE_BYTES)
            .execute(conn)?;
        diesel::sql_query("DELETE FROM storage_probe").execute(conn)?;
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_probed_once_per_interval_and_cleared_only_by_its_probe() {
        let health = WriteHealth::default();
        assert!(matches!(health.pending(), Pending::Healthy));
        health.record::<()>(&Err(StoreError::Duplicate("x".into())));
        assert!(
            matches!(health.pending(), Pending::Healthy),
            "not a failure of the database"
        );

        health.record::<()>(&Err(StoreError::Unavailable(
            "database or disk is full".into(),
        )));
        let Pending::Probe(generation) = health.pending() else {
            panic!("a probe is due");
        };
        let Pending::Failed(message) = health.pending() else {
            panic!("one probe per interval");
        };
        assert_eq!(message, "database or disk is full");

        // Another write failed while the probe ran: still failed.
        health.record::<()>(&Err(StoreError::Unavailable("disk I/O error".into())));
        health.probed_ok(generation);
        assert!(!matches!(health.pending(), Pending::Healthy));
    }
}
