//! [`TestServer`]: the real `oored` service in-process, on its own runtime thread.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use oore_adapters::crypto::{EncryptionKey, random_token};
use oore_core::services::Services;
use oore_server::config::{Config, LogFormat, check_readable_file};
use oore_server::{Server, init_logging};
use serde_json::Value;

use crate::http::{self, HttpResponse};

type Adapt = Box<dyn FnOnce(Services) -> Services + Send>;

/// Settings for a [`TestServer`] before it starts.
#[must_use]
pub struct TestServerBuilder {
    env: BTreeMap<String, String>,
    adapt: Option<Adapt>,
}

impl TestServerBuilder {
    /// Sets a variable of the server's configuration, over the test defaults.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
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
        let data_dir = tempfile::tempdir().expect("create a temporary data directory");
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
        ]);
        vars.extend(self.env);
        let (config, _warnings) = Config::from_vars(&vars, &check_readable_file)
            .unwrap_or_else(|e| panic!("test server settings: {e}"));
        let admin_token = vars["OORE_ADMIN_TOKEN"].clone();
        let adapt = self.adapt.unwrap_or_else(|| Box::new(|s| s));

        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("oored-test-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("build the test server's runtime");
                runtime.block_on(async move {
                    let server = match Server::open_with(&config, adapt).await {
                        Ok(server) => server,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("register the listener");
                    let _ = ready_tx.send(Ok(()));
                    server
                        .serve(listener, async {
                            // A dropped sender (the TestServer is gone) also stops it.
                            let _ = stop_rx.await;
                        })
                        .await;
                });
            })
            .expect("spawn the test server thread");
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("test server failed to start: {e}"),
            Err(_) => panic!("test server thread died while starting"),
        }
        TestServer {
            url,
            admin_token,
            data_dir,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

/// The real `oored` service on `127.0.0.1:<random port>` (see the crate doc).
pub struct TestServer {
    url: String,
    admin_token: String,
    // Dropped after the thread is joined (fields drop after `Drop::drop` ran).
    data_dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
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
        self.data_dir.path()
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
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
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
            .field("data_dir", &self.data_dir.path())
            .finish()
    }
}
