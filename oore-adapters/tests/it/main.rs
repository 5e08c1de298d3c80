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
mod sqlite_storage;
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

/// The throwaway account of the tests that need a build user; `None` (with the reason
/// printed) when not running as root or `useradd` is missing.
pub(crate) fn test_build_user() -> Option<oore_adapters::build_user::BuildUser> {
    use oore_adapters::build_user::{BuildUser, effective_uid};
    const NAME: &str = "oore-test-build";
    #[expect(clippy::print_stderr, reason = "a skipped test says why")]
    let skip = |why: &str| {
        eprintln!("skipped: {why}");
        None
    };
    if effective_uid() != 0 {
        return skip("needs root to create and switch to a build user");
    }
    if BuildUser::lookup(NAME).is_err() {
        let made = std::process::Command::new("useradd")
            .args(["--system", "--no-create-home", NAME])
            .status();
        match made {
            // Another test may have created it meanwhile (exit 9: already exists).
            Ok(status) if status.success() || status.code() == Some(9) => {}
            Ok(status) => return skip(&format!("useradd failed ({status})")),
            Err(e) => return skip(&format!("useradd is missing ({e})")),
        }
    }
    BuildUser::lookup(NAME).ok()
}
