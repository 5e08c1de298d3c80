//! WAL checkpoints on their own thread and connection, off the writer's path.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that pushes the WAL past 1000
//! pages: that commit copies the whole WAL into the database file and fsyncs it before
//! it returns. Every write here waits on the one writer connection (webhook deliveries
//! wait for their commit before they are answered), so that copy stalled all of them:
//! measured, a quarter of the writer's time under webhook load. The writer therefore
//! runs with `wal_autocheckpoint = 0` and tells a [`Checkpointer`] after each write;
//! the checkpointer's thread runs `PRAGMA wal_checkpoint(PASSIVE)` on its own
//! connection, at most once per [`INTERVAL`], while the writer goes on committing.
//!
//! Durability does not change: a commit is durable once its WAL frames are fsynced
//! (`synchronous = FULL`), whoever copies them into the database file later. A PASSIVE
//! checkpoint never blocks the writer or readers; the WAL is reused from its start
//! once a checkpoint has caught up, exactly as with the automatic checkpoint, and
//! `journal_size_limit` trims the file afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;
use diesel::{QueryableByName, RunQueryDsl};

/// Shortest time between two checkpoints while writes keep coming.
pub(super) const INTERVAL: Duration = Duration::from_millis(100);

/// The WAL file is truncated to this size after it was reset (bytes).
pub(super) const JOURNAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// The writer's handle on the checkpoint thread. Dropping it lets the thread run a last
/// checkpoint and end; the drop waits for that.
pub(super) struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Whether the thread was found gone (said once, not on every write).
    gone: AtomicBool,
}

impl Checkpointer {
    /// Starts the thread, which owns `conn` (a connection that may write).
    pub(super) fn start(conn: SqliteConnection) -> std::io::Result<Self> {
        let (wake, asleep) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("oore-sqlite-checkpoint".to_owned())
            .spawn(move || run(conn, &asleep))?;
        Ok(Self {
            wake: Some(wake),
            thread: Some(thread),
            gone: AtomicBool::new(false),
        })
    }

    /// Says that something was committed. Never blocks: a wake-up already pending
    /// covers this one.
    pub(super) fn committed(&self) {
        if let Some(wake) = &self.wake {
            match wake.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    if !self.gone.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            "the WAL checkpoint thread has stopped; the database's -wal file grows until oored is restarted: restart it"
                        );
                    }
                }
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(QueryableByName)]
struct Outcome {
    #[diesel(sql_type = BigInt)]
    busy: i64,
    #[diesel(sql_type = BigInt)]
    log: i64,
    #[diesel(sql_type = BigInt)]
    checkpointed: i64,
}

fn run(mut conn: SqliteConnection, wake: &mpsc::Receiver<()>) {
    let mut pending = wake.recv().is_ok();
    while pending {
        let started = Instant::now();
        checkpoint(&mut conn);
        // Writes during the pause are remembered and checkpointed right after it; a
        // closed channel (the store is gone) ends the pause and the thread at once.
        pending = false;
        loop {
            let left = INTERVAL.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            match wake.recv_timeout(left) {
                Ok(()) => pending = true,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    checkpoint(&mut conn);
                    return;
                }
            }
        }
        if !pending {
            pending = wake.recv().is_ok();
        }
    }
    checkpoint(&mut conn);
}

fn checkpoint(conn: &mut SqliteConnection) {
    match diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result::<Outcome>(conn) {
        Ok(o) => tracing::trace!(
            busy = o.busy,
            wal_frames = o.log,
            checkpointed = o.checkpointed,
            "WAL checkpoint"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint failed; it is retried after the next write")
        }
    }
}

/// The PRAGMAs of the writer that go with a separate checkpointer.
pub(super) fn writer_pragmas(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.batch_execute(&format!(
        "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT};"
    ))
}
