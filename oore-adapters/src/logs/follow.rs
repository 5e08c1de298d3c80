//! Live updates: a per-build `tokio::sync::broadcast` of [`LogUpdate`]s.
//!
//! Writers never wait for viewers: `broadcast::Sender::send` only overwrites the oldest
//! slot, and a follower that fell behind gets `Lagged`, skips ahead and reads the file by
//! offset anyway. Writers coalesce: a file announces its growth at most every
//! [`NOTIFY_INTERVAL`], and whatever was held back is announced when the writer goes idle
//! ([`Notifier::flush`]) or is dropped, so the final length is always sent.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use oore_core::ports::{LogFile, LogFollower, LogUpdate};
use tokio::sync::broadcast;

/// At most one `Grew` per file per interval while output streams.
pub const NOTIFY_INTERVAL: Duration = Duration::from_millis(50);

/// Updates kept for slow followers before they lag (and skip ahead).
pub(crate) const CHANNEL_CAPACITY: usize = 256;

/// One file's side of the per-build channel.
#[derive(Debug)]
pub(crate) struct Notifier {
    tx: broadcast::Sender<LogUpdate>,
    file: LogFile,
    last_sent_at: Option<Instant>,
    sent_len: Option<u64>,
}

impl Notifier {
    pub(crate) fn new(tx: broadcast::Sender<LogUpdate>, file: LogFile) -> Self {
        Self {
            tx,
            file,
            last_sent_at: None,
            sent_len: None,
        }
    }

    /// The file grew to `len`: announce it unless one went out less than an interval ago.
    pub(crate) fn grew(&mut self, len: u64) {
        let due = self
            .last_sent_at
            .is_none_or(|t| t.elapsed() >= NOTIFY_INTERVAL);
        if due {
            self.send(len);
        }
    }

    /// Announce `len` now if it was not announced yet.
    pub(crate) fn flush(&mut self, len: u64) {
        if self.sent_len != Some(len) {
            self.send(len);
        }
    }

    fn send(&mut self, len: u64) {
        // No receiver is fine: nobody is watching.
        let _ = self.tx.send(LogUpdate::Grew {
            file: self.file,
            len,
        });
        self.last_sent_at = Some(Instant::now());
        self.sent_len = Some(len);
    }
}

/// A [`LogFollower`] over the build's broadcast channel.
#[derive(Debug)]
pub(crate) struct BroadcastFollower {
    rx: Option<broadcast::Receiver<LogUpdate>>,
    /// `Finished` is still to be delivered to a follower of an already finished build.
    finished_pending: bool,
}

impl BroadcastFollower {
    pub(crate) fn live(rx: broadcast::Receiver<LogUpdate>) -> Self {
        Self {
            rx: Some(rx),
            finished_pending: false,
        }
    }

    pub(crate) fn already_finished() -> Self {
        Self {
            rx: None,
            finished_pending: true,
        }
    }
}

#[async_trait]
impl LogFollower for BroadcastFollower {
    async fn next(&mut self) -> Option<LogUpdate> {
        if self.finished_pending {
            self.finished_pending = false;
            return Some(LogUpdate::Finished);
        }
        let rx = self.rx.as_mut()?;
        loop {
            match rx.recv().await {
                Ok(LogUpdate::Finished) => {
                    self.rx = None;
                    return Some(LogUpdate::Finished);
                }
                Ok(update) => return Some(update),
                // Fell behind: the skipped updates only said "it grew"; the next one says more.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {
                    self.rx = None;
                    return None;
                }
            }
        }
    }
}
