//! Server-side failures, provoked by swapping ports of the real server: a database that
//! does not answer (degraded health, 503) and a store that breaks (500 with request id).

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use oore_core::api::HealthResponse;
use oore_core::domain::repository::Repository;
use oore_core::ids::RepositoryId;
use oore_core::ports::{RepositoryFilter, RepositoryStore, StoreError, StoreHealth};
use oore_testkit::TestServer;

use crate::support::Cli;

/// A database that never answers.
struct Down;

#[async_trait]
impl StoreHealth for Down {
    async fn ping(&self) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("test: the database is down".into()))
    }
}

/// A store whose every operation fails with an unexpected error.
struct Broken;

#[async_trait]
impl RepositoryStore for Broken {
    async fn insert(&self, _: &Repository) -> Result<(), StoreError> {
        Err(StoreError::Other("test: broken".into()))
    }
    async fn get(&self, _: RepositoryId) -> Result<Option<Repository>, StoreError> {
        Err(StoreError::Other("test: broken".into()))
    }
    async fn list(&self, _: &RepositoryFilter) -> Result<Vec<Repository>, StoreError> {
        Err(StoreError::Other("test: broken".into()))
    }
    async fn update(&self, _: &Repository) -> Result<(), StoreError> {
        Err(StoreError::Other("test: broken".into()))
    }
    async fn soft_delete(&self, _: RepositoryId, _: Timestamp) -> Result<(), StoreError> {
        Err(StoreError::Other("test: broken".into()))
    }
}

#[test]
fn degraded_health_is_shown_and_exits_1() {
    let server = TestServer::builder()
        .services(|mut s| {
            s.store_health = Arc::new(Down);
            s
        })
        .start();
    let cli = Cli::new();
    cli.init(&server);
    cli.run(&["health"])
        .code(1)
        .stdout_has("degraded")
        .stdout_has("unavailable")
        .stderr_has("is degraded");
    let health: HealthResponse = cli.run(&["health", "--json"]).code(1).json();
    assert_eq!(health.status, "degraded");
    cli.run(&["setup"])
        .ok()
        .stdout_has("Database:")
        .stdout_has("✗");
}

#[test]
fn internal_errors_show_the_request_id_for_the_log() {
    let server = TestServer::builder()
        .services(|mut s| {
            s.repositories = Arc::new(Broken);
            s
        })
        .start();
    let cli = Cli::new();
    cli.init(&server);
    let run = cli
        .run(&["repo", "list"])
        .code(1)
        .stderr_has("error: ")
        .stderr_has("the oored log has the details under this id");
    assert!(
        !run.stderr.contains("test: broken"),
        "the cause stays in the server log\n{run}"
    );
    let id_line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("request id: "))
        .unwrap();
    let id = id_line
        .trim_start_matches("request id: ")
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(id.len(), 26, "{run}");
}
