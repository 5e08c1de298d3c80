//! Following a build's logs live (spec 17.3; design decision 8), shared by the SSE route
//! of `oored`, the CLI and the web UI: what to send, in which order, and when to stop.
//!
//! Core owns no timers, so [`LogFollow`] is a state machine its caller drives with two
//! inputs: the build's live [`LogUpdate`]s ([`LogFollow::on_update`]) and a periodic tick
//! ([`LogFollow::on_tick`], every [`FOLLOW_TICK`]). Each returns [`FollowEvent`]s, at most
//! [`FOLLOW_BATCH`] at a time: the caller sends them, then calls [`LogFollow::more`]
//! until it returns none, before it waits for the next input. That bounds what a slow
//! viewer holds in memory to one batch, whatever the size of the logs.
//!
//! The semantics:
//!
//! * **Start** reads the build first. A build still running is followed *before* its logs
//!   are caught up, so no update between the two is lost; one that already ended gets
//!   everything and `End` at once, without following. The first event is always a
//!   `Status`; then every file from the viewer's offsets (0 unless given) to its end.
//! * **Logs** are read by logical offset, at most [`FOLLOW_EVENT_BYTES`] per event, after
//!   each `Grew`. A viewer that missed updates loses nothing: it reads from its offset.
//! * **Status** is read from the store on every tick, on the first update of a file not
//!   seen before (a step that started), and on other updates at most every
//!   [`STATUS_MIN_INTERVAL`] (by the `Clock` port); a `Status` event goes out only when
//!   the build's or a step's status or exit code changed. A store error skips that read.
//! * **End**: once a read finds the build ended, the rest of every file and then `End`
//!   are sent, and the follow is done. `Finished` (or the follower closing) is sent right
//!   after the end is recorded, so it triggers that read; if the build is still not ended
//!   (e.g. failed without its worker), updates are no longer read and each tick reads
//!   the status again until it is.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::domain::build::{BuildStatus, StepStatus};
use crate::ids::BuildId;
use crate::ports::{BuildLogs, LogChunk, LogFile, LogFollower, LogUpdate};
use crate::services::Services;

use super::query::{BuildQueryError, BuildView, get_build};

/// Most log bytes in one [`FollowEvent::Log`].
pub const FOLLOW_EVENT_BYTES: usize = 64 * 1024;
/// Most events returned by one call; call [`LogFollow::more`] for the rest.
pub const FOLLOW_BATCH: usize = 16;
/// How often the caller should call [`LogFollow::on_tick`].
pub const FOLLOW_TICK: Duration = Duration::from_secs(1);
/// While updates arrive, the status is read at most this often.
pub const STATUS_MIN_INTERVAL: Duration = Duration::from_millis(250);

/// One step as a [`FollowStatus`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowStep {
    /// 0-based index.
    pub index: u32,
    /// Display name.
    pub name: String,
    /// Its status.
    pub status: StepStatus,
    /// Its exit code, once it exited.
    pub exit_code: Option<i32>,
}

/// The build's status and its steps'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowStatus {
    /// The build's status.
    pub status: BuildStatus,
    /// Its steps by index.
    pub steps: Vec<FollowStep>,
}

impl FollowStatus {
    fn of(view: &BuildView) -> Self {
        Self {
            status: view.build.status,
            steps: view
                .steps
                .iter()
                .map(|s| FollowStep {
                    index: s.index,
                    name: s.name.clone(),
                    status: s.status,
                    exit_code: s.exit_code,
                })
                .collect(),
        }
    }
}

/// What a viewer is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowEvent {
    /// New bytes of one log file (may be binary; `chunk.offset` is greater than the
    /// viewer's offset when the size cap dropped bytes in between).
    Log {
        /// Which file.
        file: LogFile,
        /// The bytes and their logical offsets.
        chunk: LogChunk,
    },
    /// The build's or a step's status changed (always sent first).
    Status(FollowStatus),
    /// The build ended and every byte was sent: the last event.
    End {
        /// The final status.
        status: BuildStatus,
        /// Why it failed, when it did.
        error_message: Option<String>,
    },
}

/// What [`LogFollow::start`] returns.
pub struct FollowStart {
    /// The follow, to drive.
    pub follow: LogFollow,
    /// The first events (at most [`FOLLOW_BATCH`]; then [`LogFollow::more`]).
    pub events: Vec<FollowEvent>,
    /// The build's live updates, to pass to [`LogFollow::on_update`] while
    /// [`LogFollow::wants_updates`]; `None` when the build had already ended.
    pub updates: Option<Box<dyn LogFollower>>,
}

impl std::fmt::Debug for FollowStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FollowStart")
            .field("follow", &self.follow)
            .field("events", &self.events)
            .field("updates", &self.updates.is_some())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading updates and ticks.
    Following,
    /// The updates ended but the build had not: ticks only.
    Finishing,
    /// The build ended: the rest of the logs and `End` are queued.
    Ending,
    /// `End` was returned.
    Done,
}

/// Work still to do, in order.
#[derive(Debug)]
enum Work {
    /// Send `file` from its offset up to `len`.
    File { file: LogFile, len: u64 },
    /// Send every file from its offset to its current end.
    CatchUp,
    /// Read the build; send `Status` if it changed; if it ended, catch up and end.
    CheckStatus,
    /// Send `End`.
    End {
        status: BuildStatus,
        error_message: Option<String>,
    },
}

/// One viewer following one build's logs; see the module doc.
pub struct LogFollow {
    svc: Services,
    logs: Arc<dyn BuildLogs>,
    build: BuildId,
    offsets: HashMap<LogFile, u64>,
    last_status: Option<FollowStatus>,
    last_status_read: Timestamp,
    work: VecDeque<Work>,
    state: State,
}

impl std::fmt::Debug for LogFollow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFollow")
            .field("build", &self.build)
            .field("offsets", &self.offsets)
            .field("state", &self.state)
            .field("work", &self.work)
            .finish_non_exhaustive()
    }
}

impl LogFollow {
    /// Reads the build and starts following it; `from` gives where each file starts for
    /// this viewer (0 for the others). Fails only when the build does not exist or the
    /// store cannot be read.
    pub async fn start(
        svc: &Services,
        logs: Arc<dyn BuildLogs>,
        build: BuildId,
        from: HashMap<LogFile, u64>,
    ) -> Result<FollowStart, BuildQueryError> {
        let view = get_build(svc, build).await?;
        let ended = view.build.status.is_terminal();
        // Follow before catching up, so no update between the two is lost.
        let updates = (!ended).then(|| logs.follow(build));
        let mut follow = LogFollow {
            svc: svc.clone(),
            logs,
            build,
            offsets: from,
            last_status: None,
            last_status_read: svc.clock.now(),
            work: VecDeque::new(),
            state: if ended {
                State::Ending
            } else {
                State::Following
            },
        };
        let mut events = Vec::new();
        follow.status(&view, &mut events);
        follow.work.push_back(Work::CatchUp);
        if ended {
            follow.work.push_back(end_of(&view));
        }
        follow.run(&mut events).await;
        Ok(FollowStart {
            follow,
            events,
            updates,
        })
    }

    /// Handles what the build's follower yielded (`None`: it closed). Ignored unless
    /// [`wants_updates`](Self::wants_updates).
    pub async fn on_update(&mut self, update: Option<LogUpdate>) -> Vec<FollowEvent> {
        if self.state == State::Following {
            match update {
                Some(LogUpdate::Grew { file, len }) => {
                    // A file seen for the first time is a step that started: its status
                    // changed, so it is read now rather than on the next tick (a fast
                    // step could otherwise end before any viewer saw it running).
                    let new_file = !self.offsets.contains_key(&file);
                    self.work.push_back(Work::File { file, len });
                    let now = self.svc.clock.now();
                    if new_file
                        || now.duration_since(self.last_status_read).unsigned_abs()
                            >= STATUS_MIN_INTERVAL
                    {
                        self.last_status_read = now;
                        self.work.push_back(Work::CheckStatus);
                    }
                }
                // Finished is sent after the end was recorded.
                Some(LogUpdate::Finished) | None => {
                    self.state = State::Finishing;
                    self.work.push_back(Work::CheckStatus);
                }
            }
        }
        self.more().await
    }

    /// Handles a tick: reads the status (see the module doc).
    pub async fn on_tick(&mut self) -> Vec<FollowEvent> {
        if matches!(self.state, State::Following | State::Finishing) {
            self.last_status_read = self.svc.clock.now();
            self.work.push_back(Work::CheckStatus);
        }
        self.more().await
    }

    /// The next events of work already decided; none when there is nothing left to send
    /// until the next update or tick.
    pub async fn more(&mut self) -> Vec<FollowEvent> {
        let mut events = Vec::new();
        self.run(&mut events).await;
        events
    }

    /// Whether the caller should pass the follower's updates: false once it yielded
    /// `Finished` or closed, and once the build ended (only ticks matter then).
    pub fn wants_updates(&self) -> bool {
        self.state == State::Following
    }

    /// True once `End` was returned: stop driving.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Where each file's next byte is for this viewer (to resume after a disconnect).
    pub fn offsets(&self) -> &HashMap<LogFile, u64> {
        &self.offsets
    }

    /// Does queued work until it is done or a batch is full.
    async fn run(&mut self, events: &mut Vec<FollowEvent>) {
        while events.len() < FOLLOW_BATCH {
            let Some(work) = self.work.pop_front() else {
                return;
            };
            match work {
                Work::File { file, len } => self.send_file(file, len, events).await,
                Work::CatchUp => {
                    // A listing that fails sends nothing now; the next read catches up.
                    let files = self.logs.files(self.build).await.unwrap_or_default();
                    for (file, len) in files.into_iter().rev() {
                        self.work.push_front(Work::File { file, len });
                    }
                }
                Work::CheckStatus => self.check_status(events).await,
                Work::End {
                    status,
                    error_message,
                } => {
                    events.push(FollowEvent::End {
                        status,
                        error_message,
                    });
                    self.state = State::Done;
                    self.work.clear();
                }
            }
        }
    }

    /// One event of `file` from its offset, if it has bytes below `len`; the rest stays
    /// queued.
    async fn send_file(&mut self, file: LogFile, len: u64, events: &mut Vec<FollowEvent>) {
        let offset = self.offsets.get(&file).copied().unwrap_or(0);
        if offset >= len {
            return;
        }
        // A file that cannot be read now is read again on its next update or the end.
        let Ok(chunk) = self
            .logs
            .read(self.build, file, offset, FOLLOW_EVENT_BYTES)
            .await
        else {
            return;
        };
        if chunk.next_offset <= offset {
            return;
        }
        self.offsets.insert(file, chunk.next_offset);
        if chunk.next_offset < len {
            self.work.push_front(Work::File { file, len });
        }
        events.push(FollowEvent::Log { file, chunk });
    }

    async fn check_status(&mut self, events: &mut Vec<FollowEvent>) {
        if matches!(self.state, State::Ending | State::Done) {
            return;
        }
        // A store hiccup: try again on the next tick.
        let Ok(view) = get_build(&self.svc, self.build).await else {
            return;
        };
        self.status(&view, events);
        if view.build.status.is_terminal() {
            self.state = State::Ending;
            self.work.push_front(end_of(&view));
            self.work.push_front(Work::CatchUp);
        }
    }

    /// Sends `Status` when it differs from the last one sent.
    fn status(&mut self, view: &BuildView, events: &mut Vec<FollowEvent>) {
        let status = FollowStatus::of(view);
        if self.last_status.as_ref() != Some(&status) {
            events.push(FollowEvent::Status(status.clone()));
            self.last_status = Some(status);
        }
    }
}

fn end_of(view: &BuildView) -> Work {
    Work::End {
        status: view.build.status,
        error_message: view.build.error_message.clone(),
    }
}

#[cfg(test)]
mod tests;
