//! [`FakeGitHub`]: a loopback GitHub faithful to `shared/forges.md` (G0-G6 and "What a
//! fake must check"), for the real `oored` and `oore` to talk to.
//!
//! One HTTP server plays both hosts: the web and git at its root (`OORE_GITHUB_URL`) and
//! the REST API under `/api/v3` (`OORE_GITHUB_API_URL`, GitHub Enterprise Server's
//! layout). It implements what Oore calls: the manifest pages, the manifest conversion
//! (single-use codes, one hour, the committed test key as `pem`), `GET /app`, the
//! installation listings with `Link` pagination, installation tokens (one hour), check
//! runs and commit statuses with GitHub's validation, and git's smart HTTP behind the
//! tokens. It checks what GitHub checks: RS256 JWTs against the App's keys and their
//! time window, credential kinds per endpoint, `User-Agent`, `Accept` and
//! `X-GitHub-Api-Version`; every API answer carries the rate-limit headers and a `Date`
//! on the fake's clock, which tests move with [`FakeGitHub::advance`]. Failures can be
//! injected per route ([`FakeGitHub::fail`]). Every call is recorded; calls announced
//! with [`FakeGitHub::expect`] must have come by the time it is dropped, or the test
//! fails.

mod api;
pub mod browser;
mod jwt;
mod state;
#[cfg(test)]
mod tests;
mod web;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, Uri};

pub use state::{Call, CallAuth, CheckRun, CommitStatus, Failure, FakeInstallation, FakeRepo};

use state::{Injected, State};

/// The committed test keys (see `fixtures/github/README.md`).
pub mod keys {
    /// The key the fake hands out as the new App's `pem`.
    pub const APP_KEY_1: &str = include_str!("../../fixtures/github/app-key-1.pem");
    /// A second key, PKCS#1, for rotation.
    pub const APP_KEY_2: &str = include_str!("../../fixtures/github/app-key-2.pem");
    /// The second key as PKCS#8.
    pub const APP_KEY_2_PKCS8: &str = include_str!("../../fixtures/github/app-key-2.pkcs8.pem");
    /// A key of no App.
    pub const OTHER_KEY: &str = include_str!("../../fixtures/github/other-key.pem");
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<State>>,
    base: String,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Installations to seed before the fake starts.
#[must_use]
#[derive(Default)]
pub struct FakeGitHubBuilder {
    installations: Vec<FakeInstallation>,
}

impl FakeGitHubBuilder {
    /// An installation on `account` covering `repos` repositories `repo-001`, ... (ids
    /// from `id * 1000 + 1`).
    pub fn installation(mut self, id: u64, account: &str, repos: usize) -> Self {
        self.installations.push(FakeInstallation {
            id,
            account: account.to_owned(),
            account_type: "Organization".to_owned(),
            selection: "selected".to_owned(),
            suspended: false,
            repos: (1..=repos)
                .map(|n| FakeRepo {
                    id: id * 1000 + n as u64,
                    owner: account.to_owned(),
                    name: format!("repo-{n:03}"),
                    default_branch: "main".to_owned(),
                })
                .collect(),
        });
        self
    }

    /// Starts the server on `127.0.0.1:0`.
    ///
    /// # Panics
    /// If it cannot bind or start its runtime.
    pub fn start(self) -> FakeGitHub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let base = format!("http://{addr}");
        let state = Arc::new(Mutex::new(State {
            key_pem: keys::APP_KEY_1.to_owned(),
            rate_remaining: 5000,
            installations: self.installations.into_iter().map(|i| (i.id, i)).collect(),
            ..State::default()
        }));
        let shared = Shared {
            state: Arc::clone(&state),
            base: base.clone(),
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("fake-github-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("the fake GitHub's runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    let app = Router::new().fallback(dispatch).with_state(shared);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stop_rx.await;
                        })
                        .await;
                });
            })
            .expect("spawn the fake GitHub");
        FakeGitHub {
            base,
            state,
            expected: Mutex::new(Vec::new()),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

/// The fake GitHub (see the module doc). Stops when dropped.
pub struct FakeGitHub {
    base: String,
    state: Arc<Mutex<State>>,
    expected: Mutex<Vec<(String, String)>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeGitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGitHub")
            .field("url", &self.base)
            .finish()
    }
}

impl FakeGitHub {
    /// A fake with no installations.
    pub fn start() -> FakeGitHub {
        Self::builder().start()
    }

    /// A builder to seed installations.
    pub fn builder() -> FakeGitHubBuilder {
        FakeGitHubBuilder::default()
    }

    /// The web and git host (`OORE_GITHUB_URL`).
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// The REST API (`OORE_GITHUB_API_URL`).
    pub fn api_url(&self) -> String {
        format!("{}/api/v3", self.base)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The calls whose path starts with `prefix`.
    pub fn calls_to(&self, method: &str, prefix: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path.starts_with(prefix))
            .collect()
    }

    /// Announces a call that must come before the fake is dropped (`path_prefix` matched
    /// against recorded paths).
    pub fn expect(&self, method: &str, path_prefix: &str) {
        self.expected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((method.to_owned(), path_prefix.to_owned()));
    }

    /// The next `times` calls of `method` (`*` for any) to a path starting with
    /// `path_prefix` get `failure` instead of their answer.
    pub fn fail(&self, method: &str, path_prefix: &str, failure: Failure, times: u32) {
        self.state().injected.push(Injected {
            method: method.to_owned(),
            path_prefix: path_prefix.to_owned(),
            failure,
            times,
        });
    }

    /// Moves the fake's clock (JWT windows, token and code expiry, `Date`).
    pub fn advance(&self, secs: i64) {
        self.state().offset_secs += secs;
    }

    /// The created App's id, slug and webhook secret, once a manifest was converted.
    pub fn app(&self) -> Option<(u64, String, String)> {
        self.state()
            .app
            .as_ref()
            .map(|a| (a.id, a.slug.clone(), a.webhook_secret.clone()))
    }

    /// Every secret GitHub handed out or minted so far, for leak checks: the App's
    /// client and webhook secrets, each base64 line of its key, every installation
    /// token.
    pub fn secrets(&self) -> Vec<String> {
        let state = self.state();
        let mut out: Vec<String> = state.tokens.keys().cloned().collect();
        if let Some(app) = &state.app {
            out.push(app.client_secret.clone());
            out.push(app.webhook_secret.clone());
            out.extend(
                state
                    .key_pem
                    .lines()
                    .filter(|l| !l.starts_with("-----") && l.len() > 40)
                    .map(str::to_owned),
            );
        }
        out
    }

    /// Adds a key to the App, as generating one in its settings does.
    ///
    /// # Panics
    /// Without an App, or for a key that is not RSA.
    pub fn add_app_key(&self, pem: &str) {
        let key = jwt::public_key(pem);
        self.state()
            .app
            .as_mut()
            .expect("an App exists")
            .keys
            .push(key);
    }

    /// Deletes a key of the App: JWTs it signs are refused from now on.
    ///
    /// # Panics
    /// Without an App.
    pub fn remove_app_key(&self, pem: &str) {
        let key = jwt::public_key(pem);
        self.state()
            .app
            .as_mut()
            .expect("an App exists")
            .keys
            .retain(|k| *k != key);
    }

    /// Adds (or replaces) an installation.
    pub fn install(&self, installation: FakeInstallation) {
        self.state()
            .installations
            .insert(installation.id, installation);
    }

    /// Changes an installation in place.
    ///
    /// # Panics
    /// For an unknown installation.
    pub fn update_installation(&self, id: u64, change: impl FnOnce(&mut FakeInstallation)) {
        change(
            self.state()
                .installations
                .get_mut(&id)
                .expect("a known installation"),
        );
    }

    /// Uninstalls: the installation and its tokens are gone.
    pub fn uninstall(&self, id: u64) {
        let mut state = self.state();
        state.installations.remove(&id);
        state.deleted_installations.push(id);
        state.tokens.retain(|_, t| t.installation != id);
    }

    /// Serves the repository `owner/name` over git's smart HTTP from `dir` (a
    /// repository's working tree or a bare repository).
    pub fn serve_git(&self, full_name: &str, dir: &Path) {
        self.state()
            .git_roots
            .insert(full_name.to_lowercase(), dir.to_owned());
    }

    /// Mints a token for `installation` directly (as a clone test needs one).
    ///
    /// # Panics
    /// For an unknown installation.
    pub fn token_for(&self, installation: u64) -> String {
        let mut state = self.state();
        assert!(
            state.installations.contains_key(&installation),
            "a known installation"
        );
        let token = format!("ghs_{}", &oore_adapters::crypto::random_token()[..36]);
        let expires_at = state.now() + 3600;
        state.tokens.insert(
            token.clone(),
            state::Token {
                installation,
                expires_at,
            },
        );
        token
    }

    /// Check runs created so far.
    pub fn check_runs(&self) -> Vec<CheckRun> {
        self.state().check_runs.clone()
    }

    /// Commit statuses posted so far.
    pub fn statuses(&self) -> Vec<CommitStatus> {
        self.state().statuses.clone()
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if std::thread::panicking() {
            return;
        }
        let calls = lock(&self.state).calls.clone();
        let expected =
            std::mem::take(&mut *self.expected.lock().unwrap_or_else(|p| p.into_inner()));
        for (method, prefix) in expected {
            assert!(
                calls
                    .iter()
                    .any(|c| c.method == method && c.path.starts_with(&prefix)),
                "the fake GitHub expected {method} {prefix}... but it never came; calls: {calls:#?}"
            );
        }
    }
}

fn git_target(path: &str) -> Option<(String, String)> {
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let owner = parts.next()?;
    let repo = parts.next()?.strip_suffix(".git")?;
    let rest = parts.next()?;
    Some((format!("{owner}/{repo}"), rest.to_owned()))
}

async fn dispatch(
    AxumState(shared): AxumState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().map(str::to_owned);
    let is_api = path.starts_with("/api/v3/");
    let (answer, recorded) = if let Some(api_path) = path.strip_prefix("/api/v3") {
        let mut state = lock(&shared.state);
        let a = api::handle(
            &mut state,
            &shared.base,
            &method,
            api_path,
            query.as_deref(),
            &headers,
            &body,
        );
        (a, api_path.to_owned())
    } else if let Some((repo, rest)) = git_target(&path) {
        let plan = web::git_plan(&lock(&shared.state), &repo, &headers);
        let answer = match plan {
            web::GitPlan::Answer(a) => a,
            web::GitPlan::Run { dir, installation } => {
                let mut a = web::http_backend(
                    &dir,
                    &rest,
                    &method,
                    query.as_deref(),
                    &headers,
                    body.to_vec(),
                )
                .await;
                a.auth = CallAuth::Installation(installation);
                a
            }
        };
        (answer, path.clone())
    } else {
        let mut state = lock(&shared.state);
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let a = match (&method, segments.as_slice()) {
            (&Method::POST, ["settings", "apps", "new"]) => {
                web::new_app(&mut state, "fake-user", query.as_deref(), &body)
            }
            (&Method::POST, ["organizations", org, "settings", "apps", "new"]) => {
                web::new_app(&mut state, org, query.as_deref(), &body)
            }
            (&Method::GET, ["apps", slug, "installations", "new"]) => {
                web::install_page(&state, slug)
            }
            _ => api::Answer::json(
                http::StatusCode::NOT_FOUND,
                &serde_json::json!({"message": "Not Found"}),
            ),
        };
        (a, path.clone())
    };
    let mut state = lock(&shared.state);
    state.calls.push(Call {
        method: method.to_string(),
        path: recorded,
        query,
        status: answer.status.as_u16(),
        auth: answer.auth.clone(),
    });
    let mut response = (answer.status, answer.body).into_response();
    let out = response.headers_mut();
    for (name, value) in &answer.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            out.insert(n, v);
        }
    }
    let now = state.now();
    if is_api {
        state.rate_remaining = state.rate_remaining.saturating_sub(1);
        let remaining = state.rate_remaining;
        let mut set = |name: &'static str, value: String| {
            if !out.contains_key(name)
                && let Ok(v) = HeaderValue::from_str(&value)
            {
                out.insert(name, v);
            }
        };
        set("x-ratelimit-limit", "5000".to_owned());
        set("x-ratelimit-remaining", remaining.to_string());
        set("x-ratelimit-used", (5000 - remaining).to_string());
        set("x-ratelimit-reset", (now + 3600).to_string());
        set("x-ratelimit-resource", "core".to_owned());
    }
    if let Ok(ts) = jiff::Timestamp::from_second(now)
        && let Ok(date) =
            jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&ts)
        && let Ok(v) = HeaderValue::from_str(&date)
    {
        out.insert(http::header::DATE, v);
    }
    response
}
