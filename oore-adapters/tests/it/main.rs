//! Integration tests of oore-adapters: the oore-core contract suites against the real
//! implementations, plus what only a real file, key or lock can show.

mod artifacts;
mod crypto;
mod files;
mod git;
mod git_local;
mod github_tokens;
mod lock;
mod logs;
mod runner;
mod sqlite;
mod sqlite_builds;
mod sqlite_github;
mod sqlite_pipelines;
mod sqlite_webhooks;
mod wiring;
mod workspace;

use std::time::{Duration, Instant};

use oore_core::ids::BuildId;

/// A multi-threaded tokio runtime for a contract case (each case runs on its own, as
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` would).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A fresh build id.
pub(crate) fn new_build() -> BuildId {
    BuildId::from_ulid(ulid::Ulid::new())
}

/// Polls `condition` until it holds, failing the test after `limit`.
pub(crate) async fn eventually(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
