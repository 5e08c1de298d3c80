//! Startup in the order that keeps two servers apart: lock the data directory, open the
//! database, build the [`Services`], and only then bind the port (so a second `oored`
//! on the same data directory reports the lock, not a busy port).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use oore_adapters::crypto::EncryptionKey;
use oore_adapters::lock::{DataDirLock, LockError};
use oore_adapters::sqlite::{OpenError, SqliteConfig, SqliteStore};
use oore_core::services::Services;
use tokio::net::TcpListener;

use crate::app::App;
use crate::config::Config;
use crate::httpd;

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

/// A started server that is not yet listening: owns the data-directory lock and the
/// open database.
pub struct Server {
    // Dropped in declaration order: the services (database) before the lock.
    app: App,
    shutdown_grace: Duration,
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
        let lock = DataDirLock::acquire(config.data_dir())?;
        let store = SqliteStore::open(
            &config.database_path,
            SqliteConfig {
                max_connections: config.database_max_connections,
                busy_timeout: BUSY_TIMEOUT,
            },
        )
        .await?;
        let services = adapt(build_services(store, &config.encryption_key));
        tracing::info!(database = %config.database_path.display(), lock = %lock.path().display(), "database open");
        Ok(Server {
            app: App::new(config, services),
            shutdown_grace: config.shutdown_grace,
            lock,
        })
    }

    /// The application state, e.g. to call use cases directly.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves on `listener` until `shutdown` completes, then shuts down gracefully and
    /// releases the database and the lock.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        match listener.local_addr() {
            Ok(addr) => tracing::info!(
                base_url = self.app.base_url(),
                "listening on {}",
                httpd::local_url(addr)
            ),
            Err(e) => tracing::warn!(error = %e, "listening (local address unknown)"),
        }
        httpd::serve(self.app.clone(), listener, shutdown, self.shutdown_grace).await;
        let lock_path = self.lock.path().to_owned();
        drop(self);
        tracing::info!(lock = %lock_path.display(), "stopped; data directory released");
    }
}
