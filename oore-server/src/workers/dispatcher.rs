//! The build dispatcher: starts pending builds as slots free up (spec 16, 22.3).
//!
//! **The database is the queue; memory only wakes** (design decision 1). A pending build
//! row is the only record that a build waits. The [`Dispatcher`] keeps two things in
//! memory: a [`Notify`] that says "look again" (a build was queued, a slot freed) and the
//! cancel tokens of the builds this process runs. Each pass of its loop, on a wake or on a
//! safety tick, reads the pending and running rows, asks
//! [`builds_to_start`](oore_core::scheduling::builds_to_start) which may start, and moves
//! each chosen build from pending to running with a compare-and-set. Only a build whose
//! compare-and-set succeeded gets a worker, so a build never starts twice, and counting
//! running rows (not workers) keeps the total at `OORE_MAX_CONCURRENT_BUILDS` even while a
//! build left running by a lost worker waits for the reaper.
//!
//! A pending build whose repository was removed or deactivated is failed with a message
//! saying so, instead of starting ([`fail_unrunnable_builds`]; the status rules live in
//! core, the dispatcher only logs).
//!
//! **Workers.** A worker is a task running [`execute_build`] with the build's
//! [`CancelToken`]. When it ends (whatever the outcome, a panic included) the build leaves
//! the live map, every process the build left behind is stopped, and the dispatcher is
//! woken for the freed slot. A worker whose `execute_build` failed or panicked records
//! the build as failed itself ([`BuildEnd::failure`]), so no build is left running.
//!
//! **A failed write is retried, never abandoned.** When recording a build's end fails
//! (the database refuses writes: a full disk), the worker keeps the end
//! ([`ExecuteError::Unrecorded`]) and records it again with [`record_build_end`],
//! waiting 250 ms, doubling up to 5 s, until it succeeds or `oored` stops (the next start
//! then fails the build, "interrupted by server restart"). Meanwhile the build is in the
//! `ending` set: its row still says running, but it no longer counts against
//! `OORE_MAX_CONCURRENT_BUILDS` or the busy workers, and the reaper leaves it alone.
//!
//! **The free-space gate.** No build starts while the data directory's filesystem has
//! less than `OORE_MIN_FREE_BYTES` available ([`low_space`]); pending builds wait, and
//! [`Dispatcher::waiting_reason`] says why (shown with pending builds in the API, not
//! stored). If free space cannot be measured the gate stays open (and says so in the
//! log): a broken measurement must not stop every build.
//!
//! **Restart recovery** ([`recover_builds`]: the processes of builds left running are
//! stopped, then those builds are failed; pending ones stay queued) is the loop's first act, retried with the same backoff until it
//! succeeds: no build starts before it did, so every running row it fails is one a
//! previous process left.
//!
//! **Shutdown.** The loop stops starting builds, lets the running ones go on for the grace
//! period, then cancels the rest with [`CancelReason::Shutdown`] (the executor records
//! them failed, "interrupted by server shutdown") and waits for the workers to record
//! their end.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use oore_adapters::runner::ProcessRunner;
use oore_core::cancel::{CancelReason, CancelToken};
use oore_core::domain::build::BuildStatus;
use oore_core::ids::BuildId;
use oore_core::ports::{BuildSignals, BuildUpdate, DiskSpace, StoreError};
use oore_core::scheduling::builds_to_start;
use oore_core::services::{ExecutionPorts, Services};
use oore_core::usecases::build::{
    BuildEnd, ExecuteError, ExecutionSettings, execute_build, fail_unrunnable_builds,
    record_build_end, recover_builds,
};
use oore_core::usecases::system::low_space;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::backoff::Backoff;

/// How long the workers of a cancelled shutdown may take to record their end before they
/// are abandoned (abandoning a step kills its processes at once).
const SHUTDOWN_RECORD_BOUND: Duration = Duration::from_secs(60);

/// Stops whatever processes a build left running once it ended.
#[async_trait]
pub(crate) trait ProcessSweeper: Send + Sync {
    /// Stops every remaining process of `build` (TERM, grace, KILL).
    async fn stop_build_processes(&self, build: BuildId);
}

#[async_trait]
impl ProcessSweeper for ProcessRunner {
    async fn stop_build_processes(&self, build: BuildId) {
        ProcessRunner::stop_build_processes(self, build).await;
    }
}

/// What the dispatcher needs to run builds.
#[derive(Clone)]
pub(crate) struct Engine {
    /// The stores, clock and ids.
    pub(crate) services: Services,
    /// Processes, logs, workspaces, sources, artifacts.
    pub(crate) ports: ExecutionPorts,
    /// Limits and the base environment.
    pub(crate) settings: Arc<ExecutionSettings>,
    /// Stops a build's leftover processes when it ends.
    pub(crate) sweeper: Arc<dyn ProcessSweeper>,
    /// Free space of the data directory, for the gate.
    pub(crate) space: Arc<dyn DiskSpace>,
}

/// How the dispatcher schedules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DispatchConfig {
    /// `OORE_MAX_CONCURRENT_BUILDS`.
    pub(crate) max_concurrent: usize,
    /// Look at the queue at least this often, woken or not.
    pub(crate) tick: Duration,
    /// `OORE_SHUTDOWN_GRACE_SECS`: how long running builds go on after shutdown began.
    pub(crate) shutdown_grace: Duration,
    /// `OORE_MIN_FREE_BYTES`: no build starts below it (0: no check).
    pub(crate) min_free_bytes: u64,
}

/// Wakes the dispatcher and cancels the builds it runs; see the module doc. Shared
/// (`Arc`) by the HTTP handlers (as [`BuildSignals`]), the cleanup task and the loop.
#[derive(Default)]
pub(crate) struct Dispatcher {
    wake: Notify,
    live: Mutex<HashMap<BuildId, CancelToken>>,
    /// Live builds that ended but whose end is not recorded yet (module doc).
    ending: Mutex<HashSet<BuildId>>,
    /// Why pending builds wait although a slot may be free (the free-space gate).
    waiting: Mutex<Option<String>>,
    /// Free space could not be measured at the last look (said once, not every pass).
    space_unknown: AtomicBool,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("busy", &self.busy())
            .finish()
    }
}

impl BuildSignals for Dispatcher {
    fn wake_dispatcher(&self) {
        self.wake.notify_one();
    }

    fn cancel_running(&self, build: BuildId, reason: CancelReason) -> bool {
        match self.live().get(&build) {
            Some(token) => {
                token.cancel(reason);
                true
            }
            None => false,
        }
    }
}

impl Dispatcher {
    /// A dispatcher with no live builds.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn live(&self) -> MutexGuard<'_, HashMap<BuildId, CancelToken>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ending(&self) -> MutexGuard<'_, HashSet<BuildId>> {
        self.ending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Builds a worker of this process runs now (not those only recording their end).
    pub(crate) fn busy(&self) -> usize {
        self.live().len().saturating_sub(self.ending().len())
    }

    /// Why pending builds do not start although a slot may be free; `None` when nothing
    /// but the slots holds them.
    pub(crate) fn waiting_reason(&self) -> Option<String> {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sets the waiting reason, logging when it appears, changes or goes.
    fn set_waiting(&self, reason: Option<String>) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if *waiting == reason {
            return;
        }
        match &reason {
            Some(why) => tracing::warn!("pending builds wait: {why}"),
            None => tracing::info!("pending builds may start again"),
        }
        *waiting = reason;
    }

    /// Whether a worker of this process runs `build`.
    pub(crate) fn is_live(&self, build: BuildId) -> bool {
        self.live().contains_key(&build)
    }

    /// The builds workers of this process run now.
    pub(crate) fn live_builds(&self) -> Vec<BuildId> {
        self.live().keys().copied().collect()
    }

    /// Runs the loop until `stop` turns true, then shuts the workers down (module doc).
    pub(crate) async fn run(
        self: Arc<Self>,
        engine: Engine,
        config: DispatchConfig,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut workers = JoinSet::new();
        if !self.recover(&engine, &mut stop).await {
            tracing::info!("build dispatcher stopped before restart recovery succeeded");
            return;
        }
        tracing::info!(
            max_concurrent = config.max_concurrent,
            "build dispatcher started"
        );
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(e) = self.pass(&engine, &config, &mut workers, &stop).await {
                tracing::warn!(error = %e, "build dispatch failed; retrying on the next tick");
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(config.tick) => {}
                _ = stop.changed() => {}
                Some(_) = workers.join_next(), if !workers.is_empty() => {}
            }
        }
        self.shut_down(workers, config.shutdown_grace).await;
    }

    /// Restart recovery, retried until it succeeds; false if `oored` stopped first.
    async fn recover(&self, engine: &Engine, stop: &mut watch::Receiver<bool>) -> bool {
        let mut backoff = Backoff::new();
        loop {
            match recover_builds(&engine.services, engine.ports.runner.as_ref()).await {
                Ok(report) => {
                    let logs = &engine.ports.logs;
                    for build in &report.interrupted {
                        let (id, n) = (build.id, build.stopped_processes);
                        let _ = logs
                            .append_system(
                                id,
                                &format!(
                                    "server restart: stopped {n} process{} the build had left running",
                                    if n == 1 { "" } else { "es" }
                                ),
                            )
                            .await;
                        let _ = logs
                            .append_system(
                                id,
                                "build failure: interrupted by server restart; trigger the build again",
                            )
                            .await;
                        logs.finish(id);
                    }
                    tracing::info!(
                        interrupted = report.interrupted.len(),
                        pending = report.pending,
                        "build recovery: {} running build(s) marked failed (interrupted by server restart), {} pending build(s) queued",
                        report.interrupted.len(),
                        report.pending
                    );
                    return true;
                }
                Err(e) => tracing::error!(
                    error = %e,
                    "build recovery failed; no build starts before it succeeds: retrying in {:?}",
                    backoff.peek()
                ),
            }
            if !backoff.wait(stop).await {
                return false;
            }
        }
    }

    /// One look at the queue: hold everything while space is low, else fail what cannot
    /// run and start what may.
    async fn pass(
        self: &Arc<Self>,
        engine: &Engine,
        config: &DispatchConfig,
        workers: &mut JoinSet<()>,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), StoreError> {
        let store = &engine.services.builds;
        let queued = store.queued_builds().await?;
        if queued.is_empty() {
            self.set_waiting(None);
            return Ok(());
        }
        match low_space(engine.space.as_ref(), config.min_free_bytes).await {
            Ok(Some(reason)) => {
                self.set_waiting(Some(reason));
                return Ok(());
            }
            Ok(None) => {
                self.set_waiting(None);
                self.space_unknown.store(false, Ordering::Relaxed);
            }
            Err(e) => {
                self.set_waiting(None);
                if !self.space_unknown.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "free space unknown: builds start without the OORE_MIN_FREE_BYTES check");
                }
            }
        }
        let mut running = store.running_builds().await?;
        {
            let ending = self.ending();
            running.retain(|r| !ending.contains(&r.id));
        }
        if running.len() >= config.max_concurrent {
            return Ok(());
        }
        let outcome =
            fail_unrunnable_builds(&engine.services, engine.ports.logs.as_ref(), queued).await?;
        for (id, message) in &outcome.failed {
            tracing::warn!(build_id = %id, "build not started: {message}");
        }
        for id in builds_to_start(&outcome.startable, &running, config.max_concurrent) {
            self.start(engine, id, workers, stop).await?;
        }
        Ok(())
    }

    /// Moves `id` to running and spawns its worker; nothing if it left pending meanwhile.
    async fn start(
        self: &Arc<Self>,
        engine: &Engine,
        id: BuildId,
        workers: &mut JoinSet<()>,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), StoreError> {
        // Registered before the compare-and-set, so a cancel that sees the build running
        // always reaches its token.
        let token = CancelToken::new();
        self.live().insert(id, token.clone());
        let update = BuildUpdate {
            started_at: Some(engine.services.clock.now()),
            ..BuildUpdate::default()
        };
        let moved = engine
            .services
            .builds
            .transition_build(id, BuildStatus::Pending, BuildStatus::Running, &update)
            .await;
        match moved {
            Ok(true) => {
                tracing::info!(build_id = %id, "build started");
                let this = Arc::clone(self);
                let engine = engine.clone();
                let stop = stop.clone();
                workers.spawn(async move { this.work(engine, id, token, stop).await });
                Ok(())
            }
            Ok(false) => {
                self.live().remove(&id);
                Ok(())
            }
            Err(e) => {
                self.live().remove(&id);
                Err(e)
            }
        }
    }

    /// One worker: runs the build, records its end (retrying), then frees its slot
    /// (module doc).
    async fn work(
        self: Arc<Self>,
        engine: Engine,
        id: BuildId,
        token: CancelToken,
        stop: watch::Receiver<bool>,
    ) {
        let mut run = {
            let engine = engine.clone();
            AbortOnDrop(tokio::spawn(async move {
                execute_build(
                    &engine.services,
                    &engine.ports,
                    &engine.settings,
                    id,
                    &token,
                )
                .await
            }))
        };
        let unrecorded = match (&mut run.0).await {
            Ok(Ok(status)) => {
                tracing::info!(build_id = %id, %status, "build finished");
                None
            }
            Ok(Err(ExecuteError::Unrecorded { end, error })) => Some((*end, Some(error))),
            Ok(Err(e)) => {
                tracing::error!(build_id = %id, error = %e, "build could not be driven");
                let message = format!(
                    "internal error while running the build ({e}); check the server log and trigger the build again"
                );
                let now = engine.services.clock.now();
                Some((BuildEnd::failure(id, now, message), None))
            }
            Err(e) => {
                tracing::error!(build_id = %id, error = %e, "build worker panicked");
                let message = "internal error: the build worker crashed; check the server log and trigger the build again";
                let now = engine.services.clock.now();
                Some((BuildEnd::failure(id, now, message), None))
            }
        };
        if let Some((end, failed)) = unrecorded {
            self.record_end(&engine, &end, failed, stop).await;
        }
        self.live().remove(&id);
        engine.sweeper.stop_build_processes(id).await;
        self.wake_dispatcher();
    }

    /// Records `end` until it is (module doc). `failed` is the error of an attempt the
    /// executor already made. While it fails the build is `ending`: its slot is free.
    async fn record_end(
        &self,
        engine: &Engine,
        end: &BuildEnd,
        mut failed: Option<StoreError>,
        mut stop: watch::Receiver<bool>,
    ) {
        let id = end.build;
        let logs = engine.ports.logs.as_ref();
        let mut backoff = Backoff::new();
        let mut attempts: u32 = u32::from(failed.is_some());
        let mut last_attempt = false;
        loop {
            if let Some(error) = &failed {
                if self.ending().insert(id) {
                    tracing::error!(
                        build_id = %id,
                        status = %end.status,
                        %error,
                        "could not record the end of the build; its slot is free, and recording is retried until the database takes it"
                    );
                    self.wake_dispatcher();
                }
                if last_attempt {
                    tracing::error!(
                        build_id = %id,
                        attempts,
                        %error,
                        "oored is stopping before the end of the build could be recorded; the next start marks it failed (interrupted by server restart)"
                    );
                    break;
                }
                if !backoff.wait(&mut stop).await {
                    last_attempt = true;
                }
            }
            attempts += 1;
            match record_build_end(&engine.services, logs, end).await {
                Ok(status) => {
                    if attempts > 1 {
                        tracing::info!(build_id = %id, %status, attempts, "build end recorded after the database refused it");
                    } else {
                        tracing::info!(build_id = %id, %status, "build finished");
                    }
                    break;
                }
                Err(e) => failed = Some(e),
            }
        }
        self.ending().remove(&id);
    }

    async fn shut_down(&self, mut workers: JoinSet<()>, grace: Duration) {
        if workers.is_empty() {
            tracing::info!("build dispatcher stopped; no build was running");
            return;
        }
        tracing::info!(
            running = workers.len(),
            grace_secs = grace.as_secs(),
            "shutting down: no new builds; running builds may finish within the grace period"
        );
        let deadline = tokio::time::Instant::now() + grace;
        while !workers.is_empty() {
            tokio::select! {
                _ = workers.join_next() => {}
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        if !workers.is_empty() {
            let live = self.live_builds();
            tracing::warn!(
                builds = ?live.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "grace period over: interrupting the running builds"
            );
            for token in self.live().values() {
                token.cancel(CancelReason::Shutdown);
            }
            let recorded = tokio::time::timeout(SHUTDOWN_RECORD_BOUND, async {
                while workers.join_next().await.is_some() {}
            })
            .await;
            if recorded.is_err() {
                tracing::error!(
                    "some builds did not record their end within {SHUTDOWN_RECORD_BOUND:?}; abandoning them (the next start marks them failed)"
                );
                workers.shutdown().await;
            }
        }
        tracing::info!("build dispatcher stopped");
    }
}

/// Aborts the build's task when the worker itself is abandoned (a shutdown that ran out
/// of time), so its steps are dropped, which kills their processes.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
