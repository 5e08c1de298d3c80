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
//! woken for the freed slot. A worker whose `execute_build` failed on the store or
//! panicked records the build as failed itself ([`fail_unfinished_build`]), so no build
//! is left running.
//!
//! **Shutdown.** The loop stops starting builds, lets the running ones go on for the grace
//! period, then cancels the rest with [`CancelReason::Shutdown`] (the executor records
//! them failed, "interrupted by server shutdown") and waits for the workers to record
//! their end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use oore_adapters::runner::ProcessRunner;
use oore_core::cancel::{CancelReason, CancelToken};
use oore_core::domain::build::BuildStatus;
use oore_core::ids::BuildId;
use oore_core::ports::{BuildSignals, BuildUpdate, StoreError};
use oore_core::scheduling::builds_to_start;
use oore_core::services::{ExecutionPorts, Services};
use oore_core::usecases::build::{
    ExecutionSettings, execute_build, fail_unfinished_build, fail_unrunnable_builds,
};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

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
}

/// Wakes the dispatcher and cancels the builds it runs; see the module doc. Shared
/// (`Arc`) by the HTTP handlers (as [`BuildSignals`]), the cleanup task and the loop.
#[derive(Default)]
pub(crate) struct Dispatcher {
    wake: Notify,
    live: Mutex<HashMap<BuildId, CancelToken>>,
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

    /// Builds a worker of this process runs now.
    pub(crate) fn busy(&self) -> usize {
        self.live().len()
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
        tracing::info!(
            max_concurrent = config.max_concurrent,
            "build dispatcher started"
        );
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(e) = self
                .pass(&engine, config.max_concurrent, &mut workers)
                .await
            {
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

    /// One look at the queue: fail what cannot run, start what may.
    async fn pass(
        self: &Arc<Self>,
        engine: &Engine,
        max_concurrent: usize,
        workers: &mut JoinSet<()>,
    ) -> Result<(), StoreError> {
        let store = &engine.services.builds;
        let queued = store.queued_builds().await?;
        if queued.is_empty() {
            return Ok(());
        }
        let running = store.running_builds().await?;
        if running.len() >= max_concurrent {
            return Ok(());
        }
        let outcome =
            fail_unrunnable_builds(&engine.services, engine.ports.logs.as_ref(), queued).await?;
        for (id, message) in &outcome.failed {
            tracing::warn!(build_id = %id, "build not started: {message}");
        }
        for id in builds_to_start(&outcome.startable, &running, max_concurrent) {
            self.start(engine, id, workers).await?;
        }
        Ok(())
    }

    /// Moves `id` to running and spawns its worker; nothing if it left pending meanwhile.
    async fn start(
        self: &Arc<Self>,
        engine: &Engine,
        id: BuildId,
        workers: &mut JoinSet<()>,
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
                workers.spawn(async move { this.work(engine, id, token).await });
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

    /// One worker: runs the build, then frees its slot (module doc).
    async fn work(self: Arc<Self>, engine: Engine, id: BuildId, token: CancelToken) {
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
        match (&mut run.0).await {
            Ok(Ok(status)) => tracing::info!(build_id = %id, %status, "build finished"),
            Ok(Err(e)) => {
                tracing::error!(build_id = %id, error = %e, "build could not be driven");
                let message = format!(
                    "internal error while running the build ({e}); check the server log and trigger the build again"
                );
                fail_unfinished(&engine, id, &message).await;
            }
            Err(e) => {
                tracing::error!(build_id = %id, error = %e, "build worker panicked");
                fail_unfinished(
                    &engine,
                    id,
                    "internal error: the build worker crashed; check the server log and trigger the build again",
                )
                .await;
            }
        }
        self.live().remove(&id);
        engine.sweeper.stop_build_processes(id).await;
        self.wake_dispatcher();
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

/// Records a build its worker could not finish as failed ([`fail_unfinished_build`]).
/// Best effort: a store failure is logged (the reaper or the next start ends the build).
async fn fail_unfinished(engine: &Engine, id: BuildId, message: &str) {
    let logs = engine.ports.logs.as_ref();
    if let Err(e) = fail_unfinished_build(&engine.services, logs, id, message).await {
        tracing::error!(build_id = %id, error = %e, "could not record the build as failed");
    }
}
