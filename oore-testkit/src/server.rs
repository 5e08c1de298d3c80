//! [`TestServer`]: the real `oored` service in-process, on its own runtime thread: the
//! HTTP API, the build dispatcher with real step processes, and the cleanup task, over a
//! temporary data directory (database, workspaces, logs).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use oore_adapters::crypto::{EncryptionKey, random_token};
use oore_adapters::sqlite::SqliteStore;
use oore_core::services::Services;
use oore_server::config::{Config, LogFormat, check_readable_file};
use oore_server::{App, Server, init_logging};
use serde_json::Value;
use tempfile::TempDir;

use crate::http::{self, HttpResponse};

type Adapt = Box<dyn FnOnce(Services) -> Services + Send>;

/// How long [`TestServer::crash`] waits for the abandoned runtime's blocking work.
const CRASH_SHUTDOWN: Duration = Duration::from_secs(10);

/// Settings for a [`TestServer`] before it starts.
#[must_use]
pub struct TestServerBuilder {
    env: BTreeMap<String, String>,
    adapt: Option<Adapt>,
    data_dir: Option<TempDir>,
}

impl TestServerBuilder {
    /// Sets a variable of the server's configuration, over the test defaults.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    /// `OORE_MAX_CONCURRENT_BUILDS` (test default 2, as in production).
    pub fn max_concurrent_builds(self, n: u32) -> Self {
        self.env("OORE_MAX_CONCURRENT_BUILDS", &n.to_string())
    }

    /// `OORE_CLEANUP_INTERVAL_SECS` (whole seconds, at least 1).
    pub fn cleanup_interval(self, every: Duration) -> Self {
        self.env(
            "OORE_CLEANUP_INTERVAL_SECS",
            &every.as_secs().max(1).to_string(),
        )
    }

    /// `OORE_SHUTDOWN_GRACE_SECS` (test default 5).
    pub fn shutdown_grace(self, grace: Duration) -> Self {
        self.env("OORE_SHUTDOWN_GRACE_SECS", &grace.as_secs().to_string())
    }

    /// `OORE_CANCEL_GRACE_SECS` between TERM and KILL (test default 2).
    pub fn cancel_grace(self, grace: Duration) -> Self {
        self.env("OORE_CANCEL_GRACE_SECS", &grace.as_secs().to_string())
    }

    /// Replaces ports of the production [`Services`] before the server starts, e.g. a
    /// repository store that fails, to provoke 500s and 503s.
    pub fn services(mut self, adapt: impl FnOnce(Services) -> Services + Send + 'static) -> Self {
        self.adapt = Some(Box::new(adapt));
        self
    }

    /// Starts the server and waits until it accepts connections.
    ///
    /// # Panics
    /// If the settings are invalid or the server cannot start: a test cannot go on.
    pub fn start(self) -> TestServer {
        if std::env::var_os("OORE_TEST_LOG").is_some() {
            // Several servers in one test binary share the global subscriber.
            let _ = init_logging(LogFormat::Text, "debug");
        }
        let data_dir = match self.data_dir {
            Some(dir) => dir,
            None => tempfile::tempdir().expect("create a temporary data directory"),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = listener.local_addr().expect("listener address");
        let url = format!("http://{addr}");
        let admin_token = random_token();

        let dir = |name: &str| data_dir.path().join(name).to_string_lossy().into_owned();
        let mut vars = BTreeMap::from([
            (
                "ENCRYPTION_KEY".to_owned(),
                EncryptionKey::generate().to_hex(),
            ),
            ("OORE_ADMIN_TOKEN".to_owned(), admin_token.clone()),
            ("DATABASE_URL".to_owned(), dir("oore.db")),
            ("OORE_WORKSPACES_DIR".to_owned(), dir("workspaces")),
            ("OORE_LOGS_DIR".to_owned(), dir("logs")),
            ("OORE_BIND_ADDRESS".to_owned(), addr.to_string()),
            ("OORE_BASE_URL".to_owned(), url.clone()),
            ("OORE_SHUTDOWN_GRACE_SECS".to_owned(), "5".to_owned()),
            ("OORE_CANCEL_GRACE_SECS".to_owned(), "2".to_owned()),
        ]);
        if oore_adapters::build_user::effective_uid() == 0 {
            // As root (CI), oored needs OORE_BUILD_USER; tests that want a build user
            // set one with `env`.
            vars.insert("OORE_BUILD_USER".to_owned(), "root".to_owned());
        }
        vars.extend(self.env);
        let (config, _warnings) = Config::from_vars(&vars, &check_readable_file)
            .unwrap_or_else(|e| panic!("test server settings: {e}"));
        let admin_token = vars["OORE_ADMIN_TOKEN"].clone();
        let adapt = self.adapt.unwrap_or_else(|| Box::new(|s| s));
        // Kept so a restart on the same data directory can read the same secrets.
        let kept_env: BTreeMap<String, String> = vars
            .iter()
            .filter(|(k, _)| !DERIVED_VARS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();

        type Ready = Result<(App, SqliteStore, tokio::runtime::Handle), String>;
        let (ready_tx, ready_rx) = mpsc::channel::<Ready>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<Stop>();
        let thread = std::thread::Builder::new()
            .name(format!("oored-test-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("oored-test-worker")
                    .enable_all()
                    .build()
                    .expect("build the test server's runtime");
                let handle = runtime.handle().clone();
                let crashed = runtime.block_on(async move {
                    let server = match Server::open_with(&config, adapt).await {
                        Ok(server) => server,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return false;
                        }
                    };
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("register the listener");
                    let _ =
                        ready_tx.send(Ok((server.app().clone(), server.sqlite().clone(), handle)));
                    let (graceful_tx, graceful_rx) = tokio::sync::oneshot::channel::<()>();
                    let serve = server.serve(listener, async {
                        // A dropped sender (the TestServer is gone) also stops it.
                        let _ = graceful_rx.await;
                    });
                    let mut serve = std::pin::pin!(serve);
                    tokio::select! {
                        () = &mut serve => false,
                        stop = stop_rx => match stop {
                            Ok(Stop::Crash) => true,
                            Ok(Stop::Graceful) | Err(_) => {
                                let _ = graceful_tx.send(());
                                serve.await;
                                false
                            }
                        },
                    }
                });
                if crashed {
                    // Like a SIGKILL: every task (workers included) is dropped where it is,
                    // nothing is recorded, and step processes are killed as their runs are
                    // abandoned.
                    runtime.shutdown_timeout(CRASH_SHUTDOWN);
                }
            })
            .expect("spawn the test server thread");
        let (app, sqlite, runtime) = match ready_rx.recv() {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => panic!("test server failed to start: {e}"),
            Err(_) => panic!("test server thread died while starting"),
        };
        TestServer {
            url,
            admin_token,
            env: kept_env,
            app: Some(app),
            sqlite: Some(sqlite),
            runtime,
            data_dir: Some(data_dir),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

/// Settings the builder derives from the data directory and the port: not carried over
/// to a restart.
const DERIVED_VARS: &[&str] = &[
    "DATABASE_URL",
    "OORE_WORKSPACES_DIR",
    "OORE_LOGS_DIR",
    "OORE_BIND_ADDRESS",
    "OORE_BASE_URL",
];

/// How the server thread is told to stop.
enum Stop {
    /// Shut down gracefully.
    Graceful,
    /// Drop everything at once, as if killed.
    Crash,
}

/// The real `oored` service on `127.0.0.1:<random port>` (see the crate doc).
pub struct TestServer {
    url: String,
    admin_token: String,
    env: BTreeMap<String, String>,
    app: Option<App>,
    sqlite: Option<SqliteStore>,
    runtime: tokio::runtime::Handle,
    // Dropped after the thread is joined (fields drop after `Drop::drop` ran).
    data_dir: Option<TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<Stop>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with the test defaults.
    pub fn start() -> TestServer {
        Self::builder().start()
    }

    /// A builder to change settings or ports first.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            env: BTreeMap::new(),
            adapt: None,
            data_dir: None,
        }
    }

    /// `http://127.0.0.1:PORT`, without trailing slash.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The admin token the server accepts.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The temporary data directory (database, lock file, workspaces, logs).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.as_ref().map_or(Path::new(""), TempDir::path)
    }

    /// `OORE_WORKSPACES_DIR`.
    pub fn workspaces_dir(&self) -> std::path::PathBuf {
        self.data_dir().join("workspaces")
    }

    /// `OORE_LOGS_DIR`.
    pub fn logs_dir(&self) -> std::path::PathBuf {
        self.data_dir().join("logs")
    }

    /// The running service's state: its [`Services`] (to write rows the API cannot, such
    /// as push builds) and its build signals (to wake the dispatcher afterwards).
    ///
    /// # Panics
    /// After the server was stopped.
    pub fn app(&self) -> &App {
        self.app.as_ref().expect("the test server is running")
    }

    /// The running service's SQLite database, for what no port offers (e.g.
    /// `set_max_page_count`, to make the database full).
    ///
    /// # Panics
    /// After the server was stopped.
    pub fn sqlite(&self) -> &SqliteStore {
        self.sqlite.as_ref().expect("the test server is running")
    }

    /// The running service's ports.
    pub fn services(&self) -> &Services {
        self.app().services()
    }

    /// Runs `future` to completion on the server's runtime (e.g. a store call through
    /// [`services`](Self::services)), from a test thread.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Stops the server abruptly, as a SIGKILL would: requests, workers and their records
    /// are abandoned where they are (builds stay `running` in the database, their step
    /// processes are killed). Returns a builder for a new server on the same data
    /// directory, with the same secrets and settings (and a new port).
    ///
    /// # Panics
    /// If the server thread panicked.
    pub fn crash(mut self) -> TestServerBuilder {
        self.finish(Stop::Crash)
    }

    /// Shuts the server down gracefully (as SIGTERM does) and returns a builder for a new
    /// server on the same data directory, like [`crash`](Self::crash).
    ///
    /// # Panics
    /// If the server thread panicked.
    pub fn restart(mut self) -> TestServerBuilder {
        self.finish(Stop::Graceful)
    }

    fn finish(&mut self, how: Stop) -> TestServerBuilder {
        self.app = None;
        self.sqlite = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(how);
        }
        if let Some(thread) = self.thread.take()
            && let Err(panic) = thread.join()
        {
            std::panic::resume_unwind(panic);
        }
        TestServerBuilder {
            env: std::mem::take(&mut self.env),
            adapt: None,
            data_dir: self.data_dir.take(),
        }
    }

    /// `GET path` with the admin token.
    pub fn get(&self, path: &str) -> HttpResponse {
        self.send("GET", path, None)
    }

    /// `method path` with the admin token and, if given, a JSON body.
    pub fn send(&self, method: &str, path: &str, json: Option<&Value>) -> HttpResponse {
        http::send(
            method,
            &format!("{}{path}", self.url),
            Some(&self.admin_token),
            json,
        )
    }

    /// Shuts the server down gracefully and joins its thread.
    ///
    /// # Panics
    /// If the server thread panicked.
    pub fn stop(mut self) {
        if let Err(panic) = self.shutdown() {
            std::panic::resume_unwind(panic);
        }
    }

    fn shutdown(&mut self) -> std::thread::Result<()> {
        self.app = None;
        self.sqlite = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Stop::Graceful);
        }
        self.thread.take().map_or(Ok(()), JoinHandle::join)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let result = self.shutdown();
        if result.is_err() && !std::thread::panicking() {
            panic!("the test server thread panicked");
        }
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("url", &self.url)
            .field("data_dir", &self.data_dir())
            .finish()
    }
}
