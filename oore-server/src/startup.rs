//! Startup in the order that keeps two servers apart: lock the data directory, open the
//! database, check `ENCRYPTION_KEY` against it (a key that cannot open the database's
//! check value refuses the start: [`StartupError::KeyMismatch`], exit 2), seal the
//! credentials of clone URLs stored before they were kept apart, build the [`Services`]
//! and the build execution adapters, and only then bind the port (so a second `oored`
//! on the same data directory reports the lock, not a busy port).
//!
//! Before the lock, `OORE_BUILD_USER` is checked against who `oored` runs as
//! (`isolation`); after the database is open, its files are made private when steps run
//! as a build user.
//!
//! [`Server::serve`] then makes `oored` a child subreaper (so processes that steps detach
//! are still found and reaped), starts the dispatcher, whose first act is restart
//! recovery (the processes interrupted builds left are stopped, then those builds are
//! failed, "interrupted by server restart"; pending ones stay queued; retried until it
//! succeeds, and no build starts before), the webhook writer and event worker (which
//! works off the events left `received`) and the cleanup task, and serves HTTP. On
//! shutdown both stop together: no new connections or builds, in-flight requests and
//! running builds get `OORE_SHUTDOWN_GRACE_SECS`, then the builds are interrupted and
//! recorded failed ("interrupted by server shutdown"); the webhook writer commits what
//! receivers handed it before it stops (after the HTTP server), and only then are the
//! database and the lock released.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oore_adapters::crypto::EncryptionKey;
use oore_adapters::lock::{DataDirLock, LockError};
use oore_adapters::runner::become_subreaper;
use oore_adapters::sqlite::{OpenError, SealCredentialsError, SqliteConfig, SqliteStore};
use oore_core::ports::BuildSignals;
use oore_core::services::Services;
use oore_core::usecases::system::{KeyCheckError, KeyCheckOutcome, check_encryption_key};
use oore_core::usecases::webhook::ProcessSettings;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot, watch};

use crate::app::App;
use crate::config::Config;
use crate::execution::{base_env, execution};
use crate::httpd;
use crate::isolation::{IsolationError, StepsRunAs};
use crate::webhooks::{self, EventWorker, WebhookSettings, Webhooks, WriterQueue};
use crate::workers::{Cleanup, CleanupConfig, DispatchConfig, Dispatcher, Engine, GitHubSync};

/// The dispatcher looks at the queue at least this often, woken or not.
const DISPATCH_TICK: Duration = Duration::from_secs(1);

/// The webhook event worker looks at the queue at least this often, woken or not.
const EVENT_TICK: Duration = Duration::from_secs(30);

/// How long a database call waits for SQLite's lock before failing as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why `oored` could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Another `oored` owns the data directory (or it cannot be locked).
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// `ENCRYPTION_KEY` is well-formed but not the key this database was used with.
    /// `oored run` adds where the key came from and exits with 2.
    #[error(
        "ENCRYPTION_KEY does not match the one this database was created with; restore the old key"
    )]
    KeyMismatch,
    /// The key could not be checked (the database failed).
    #[error("{0}; check the database and start again")]
    KeyCheck(KeyCheckError),
    /// Clone URL credentials stored in plain text could not be sealed.
    #[error("{0}; oored does not start while credentials are stored in plain text")]
    Credentials(#[from] SealCredentialsError),
    /// Build steps cannot be kept away from `oored`'s secrets as configured.
    #[error(transparent)]
    Isolation(#[from] IsolationError),
    /// The GitHub client could not be set up (`OORE_GITHUB_CA_BUNDLE`).
    #[error("OORE_GITHUB_CA_BUNDLE: {0}")]
    GitHub(#[from] oore_adapters::http_client::HttpsSetupError),
}

/// Why the listen address could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {}", bind_hint(*addr, source))]
pub struct BindError {
    /// The address.
    pub addr: SocketAddr,
    /// The cause.
    pub source: io::Error,
}

fn bind_hint(addr: SocketAddr, e: &io::Error) -> String {
    let mut other = addr;
    other.set_port(addr.port().wrapping_add(1).max(1024));
    match e.kind() {
        io::ErrorKind::AddrInUse => {
            format!("address already in use; stop the other service or set OORE_BIND_ADDRESS={other}")
        }
        io::ErrorKind::PermissionDenied => {
            format!("permission denied; ports below 1024 need root: set OORE_BIND_ADDRESS={}:8080", addr.ip())
        }
        io::ErrorKind::AddrNotAvailable => {
            "this machine has no such address; set OORE_BIND_ADDRESS to one of its addresses, e.g. 0.0.0.0:8080".to_owned()
        }
        _ => format!("{e}; check OORE_BIND_ADDRESS"),
    }
}

/// Binds `addr`.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })
}

/// The production ports: SQLite for every store, XChaCha20-Poly1305 with `key`, the
/// system clock and monotonic ULIDs.
pub fn build_services(store: SqliteStore, key: &EncryptionKey) -> Services {
    oore_adapters::services::sqlite_services(store, key)
}

/// A started server that is not yet listening: owns the data-directory lock, the open
/// database and the (not yet started) build workers.
pub struct Server {
    // Dropped in declaration order: the services (database) before the lock.
    app: App,
    dispatcher: Arc<Dispatcher>,
    engine: Engine,
    dispatch: DispatchConfig,
    cleanup: Cleanup,
    github_sync: GitHubSync,
    webhook_queue: WriterQueue,
    events: EventWorker,
    shutdown_grace: Duration,
    store: SqliteStore,
    lock: DataDirLock,
}

impl Server {
    /// Locks the data directory and opens the database.
    pub async fn open(config: &Config) -> Result<Server, StartupError> {
        Self::open_with(config, |services| services).await
    }

    /// Like [`Server::open`], with `adapt` replacing ports of the production
    /// [`Services`] (tests use it to inject failures).
    pub async fn open_with(
        config: &Config,
        adapt: impl FnOnce(Services) -> Services,
    ) -> Result<Server, StartupError> {
        let runs_as = StepsRunAs::resolve(
            config.build_user.as_deref(),
            oore_adapters::build_user::effective_uid(),
        )?;
        let lock = DataDirLock::acquire(config.data_dir())?;
        let store = SqliteStore::open(
            &config.database_path,
            SqliteConfig {
                max_connections: config.database_max_connections,
                busy_timeout: BUSY_TIMEOUT,
            },
        )
        .await?;
        let github_store = crate::github::sqlite_github_store(store.clone());
        let services = adapt(build_services(store.clone(), &config.encryption_key));
        let github = crate::github::github_services(config, &services, github_store)?;
        tracing::info!(database = %config.database_path.display(), lock = %lock.path().display(), "database open");
        match check_encryption_key(&services).await {
            Ok(KeyCheckOutcome::Verified) => tracing::debug!("ENCRYPTION_KEY matches the database"),
            Ok(KeyCheckOutcome::Created {
                against_stored_secret,
            }) => tracing::info!(
                against_stored_secret,
                "ENCRYPTION_KEY check value created: later starts with another key are refused"
            ),
            Err(KeyCheckError::Mismatch) => return Err(StartupError::KeyMismatch),
            Err(e) => return Err(StartupError::KeyCheck(e)),
        }
        store
            .seal_stored_clone_credentials(services.cipher.as_ref())
            .await?;
        runs_as.log();
        for change in crate::isolation::prepare(config, &runs_as)? {
            tracing::info!("{change}");
        }
        let env = base_env(
            |name| std::env::var(name).ok(),
            &config.step_env_passthrough,
            runs_as.build_user(),
        );
        let exec = execution(config, env, &runs_as);
        let dispatcher = Dispatcher::new();
        let wake = Arc::new(Notify::new());
        let (writer, webhook_queue) = webhooks::writer::queue();
        let app = App::new(
            config,
            services.clone(),
            Arc::clone(&dispatcher),
            Arc::clone(&exec.ports.logs),
            Arc::new(exec.artifacts.clone()),
            Arc::new(Webhooks::new(
                WebhookSettings::from_config(config),
                writer,
                Arc::clone(&wake),
                services.clock.now(),
            )),
            github.clone(),
            Arc::clone(&exec.ports.fetcher),
        );
        let events = EventWorker {
            services: services.clone(),
            signals: Arc::clone(&dispatcher) as Arc<dyn BuildSignals>,
            settings: ProcessSettings {
                precedence: exec.settings.precedence,
            },
            wake,
            tick: EVENT_TICK,
        };
        let engine = Engine {
            services: services.clone(),
            ports: exec.ports.clone(),
            settings: Arc::clone(&exec.settings),
            sweeper: exec.runner.clone(),
            space: app.space_handle(),
        };
        let github_sync = GitHubSync {
            services: services.clone(),
            github,
            interval: config.github_sync_interval,
        };
        let cleanup = Cleanup {
            services,
            workspaces: Arc::new(exec.workspaces.clone()),
            log_dirs: Arc::new(exec.logs.clone()),
            artifact_dirs: Arc::new(exec.artifacts.clone()),
            dispatcher: Arc::clone(&dispatcher),
            logs: Arc::clone(&exec.ports.logs),
            config: CleanupConfig {
                interval: config.cleanup_interval,
                workspace_retention: config.workspace_retention,
                log_retention: config.log_retention,
                max_build_duration: config.max_build_duration,
                rejected: WebhookSettings::from_config(config).rejected,
            },
        };
        Ok(Server {
            app,
            dispatcher,
            engine,
            dispatch: DispatchConfig {
                max_concurrent: usize::try_from(config.max_concurrent_builds).unwrap_or(1),
                tick: DISPATCH_TICK,
                shutdown_grace: config.shutdown_grace,
                min_free_bytes: config.min_free_bytes,
            },
            cleanup,
            github_sync,
            webhook_queue,
            events,
            shutdown_grace: config.shutdown_grace,
            store,
            lock,
        })
    }

    /// The application state, e.g. to call use cases directly.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The SQLite database itself, for tests that must reach what no port offers (e.g.
    /// `SqliteStore::set_max_page_count` to fill it up).
    pub fn sqlite(&self) -> &SqliteStore {
        &self.store
    }

    /// Starts the workers (the dispatcher recovers builds first) and serves on `listener`
    /// until `shutdown` completes, then shuts down gracefully and releases the database
    /// and the lock (module doc).
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        if let Err(e) = become_subreaper() {
            tracing::warn!(error = %e, "cannot become a child subreaper: processes that build steps detach may outlive their build");
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let dispatcher = tokio::spawn(Arc::clone(&self.dispatcher).run(
            self.engine.clone(),
            self.dispatch,
            stop_rx.clone(),
        ));
        let Server {
            app,
            cleanup,
            github_sync,
            webhook_queue,
            events,
            shutdown_grace,
            lock,
            ..
        } = self;
        let (writer_stop, writer_stopped) = oneshot::channel();
        let writer = tokio::spawn(webhooks::writer::run(
            app.services().clone(),
            webhook_queue,
            Arc::clone(&events.wake),
            app.webhooks().settings().writer_limits(),
            writer_stopped,
        ));
        let events = tokio::spawn(events.run(stop_rx.clone()));
        let cleanup = tokio::spawn(cleanup.run(stop_rx.clone()));
        let github_sync = tokio::spawn(github_sync.run(stop_rx.clone()));
        let lock_path = lock.path().to_owned();
        let stopped = async move {
            let mut stop = stop_rx;
            let _ = stop.wait_for(|stop| *stop).await;
        };
        let signal = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        let http = Self::serve_http(app, listener, stopped, shutdown_grace);
        tokio::join!(http, signal);
        // No request runs any more: commit what the receivers handed over, then stop.
        let _ = writer_stop.send(());
        if let Err(e) = writer.await {
            tracing::error!(error = %e, "the webhook writer failed");
        }
        if let Err(e) = events.await {
            tracing::error!(error = %e, "the webhook event worker failed");
        }
        if let Err(e) = dispatcher.await {
            tracing::error!(error = %e, "the build dispatcher failed");
        }
        if let Err(e) = cleanup.await {
            tracing::error!(error = %e, "the cleanup task failed");
        }
        if let Err(e) = github_sync.await {
            tracing::error!(error = %e, "the GitHub sync task failed");
        }
        drop(lock);
        tracing::info!(lock = %lock_path.display(), "stopped; data directory released");
    }

    async fn serve_http(
        app: App,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) {
        match listener.local_addr() {
            Ok(addr) => tracing::info!(
                base_url = app.base_url(),
                "listening on {}",
                httpd::local_url(addr)
            ),
            Err(e) => tracing::warn!(error = %e, "listening (local address unknown)"),
        }
        httpd::serve(app, listener, shutdown, grace).await;
    }
}
