//! Copies a step's stdout or stderr pipe into its log file as output arrives.
//!
//! One thread per stream rather than an async task: file writes block, and a thread doing
//! one `read` and one `write` per chunk (up to [`READ_BUF`], with the pipe grown to
//! [`PIPE_SIZE`] so the writer rarely waits for us) keeps capture close to raw file speed
//! without tying up the async runtime. The pipe is non-blocking and the thread `poll`s it
//! with a short timeout, so it can announce held-back log growth when output pauses, and
//! stop at a deadline the runner sets even if some process still holds the pipe's write end
//! (a background job, or a process that escaped the kill).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use std::{io, thread};

use tokio::sync::{mpsc, oneshot};

use super::sys;
use crate::logs::{LogWriter, NOTIFY_INTERVAL};

/// Bytes per `read`.
pub(crate) const READ_BUF: usize = 128 * 1024;
/// Requested pipe buffer size (Linux; the default is 64 KiB).
pub(crate) const PIPE_SIZE: usize = 1024 * 1024;
/// Longest `poll` while the pipe is idle.
const IDLE_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct Ctl {
    stopping: AtomicBool,
    stop_at: Mutex<Option<Instant>>,
}

impl Ctl {
    /// `Some(remaining)` once a deadline is set; `Some(ZERO)` once it passed.
    fn remaining(&self) -> Option<Duration> {
        if !self.stopping.load(Ordering::Acquire) {
            return None;
        }
        let at = (*self.stop_at.lock().unwrap_or_else(|p| p.into_inner()))?;
        Some(at.saturating_duration_since(Instant::now()))
    }
}

/// A running copy of one pipe.
#[derive(Debug)]
pub(crate) struct Pump {
    ctl: Arc<Ctl>,
    done: oneshot::Receiver<Result<(), String>>,
}

/// Starts copying `pipe` into `writer`. A write failure is also sent on `failed` at once,
/// so the runner can stop the step without waiting for the pipe to close.
pub(crate) fn start(
    pipe: OwnedFd,
    writer: LogWriter,
    failed: mpsc::UnboundedSender<String>,
) -> io::Result<Pump> {
    sys::set_nonblocking(pipe.as_fd())?;
    sys::grow_pipe(pipe.as_fd(), PIPE_SIZE);
    let ctl = Arc::new(Ctl::default());
    let (tx, done) = oneshot::channel();
    let thread_ctl = ctl.clone();
    thread::Builder::new()
        .name("oore-step-log".into())
        .spawn(move || {
            let result = copy(&pipe, writer, &thread_ctl);
            if let Err(message) = &result {
                let _ = failed.send(message.clone());
            }
            let _ = tx.send(result);
        })?;
    Ok(Pump { ctl, done })
}

impl Pump {
    /// Stop reading at `at` even if the pipe is still open (EOF ends it earlier).
    pub(crate) fn stop_by(&self, at: Instant) {
        *self.ctl.stop_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
        self.ctl.stopping.store(true, Ordering::Release);
    }

    /// Waits for the copy to end; `Err` says why the log could not be written.
    pub(crate) async fn finish(self) -> Result<(), String> {
        self.done
            .await
            .unwrap_or_else(|_| Err("the log copy thread died; see the server log".to_owned()))
    }
}

fn copy(pipe: &OwnedFd, mut writer: LogWriter, ctl: &Ctl) -> Result<(), String> {
    let mut buf = vec![0u8; READ_BUF];
    // Bytes written since followers were last told about them by `flush`.
    let mut unannounced = false;
    loop {
        let remaining = ctl.remaining();
        if remaining == Some(Duration::ZERO) {
            break;
        }
        match sys::read(pipe.as_fd(), &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = writer.write_all(&buf[..n]) {
                    return Err(format!(
                        "cannot write {}: {e}; free disk space under the logs directory and retry the build",
                        writer.path().display()
                    ));
                }
                unannounced = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // While output streams the writer announces growth itself, at most once per
                // interval; if output pauses for an interval, announce what it held back.
                let idle = if unannounced {
                    NOTIFY_INTERVAL
                } else {
                    IDLE_POLL
                };
                let wait = remaining.map_or(idle, |r| r.min(idle));
                match sys::poll_readable(pipe.as_fd(), wait) {
                    Ok(true) => {}
                    Ok(false) => {
                        if unannounced {
                            writer.flush();
                            unannounced = false;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("polling a step's output pipe failed: {e}");
                        break;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!("reading a step's output pipe failed: {e}");
                break;
            }
        }
    }
    writer.flush();
    Ok(())
}
