//! A failing database, injected through `TestServerBuilder::services`: internal errors
//! are 500 with a generic message and the request id (the cause stays in the log),
//! unavailability is 503 with `Retry-After`, and health reports `degraded`.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use oore_core::api::{HealthResponse, SetupStatusResponse};
use oore_core::domain::repository::Repository;
use oore_core::ids::RepositoryId;
use oore_core::ports::{RepositoryFilter, RepositoryStore, StoreError, StoreHealth};
use oore_testkit::TestServer;
use serde_json::json;

use crate::support::{SOME_ULID, assert_error};

/// Every call fails with the same error.
struct BrokenStore(StoreError);

#[async_trait]
impl RepositoryStore for BrokenStore {
    async fn insert(&self, _: &Repository) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
    async fn get(&self, _: RepositoryId) -> Result<Option<Repository>, StoreError> {
        Err(self.0.clone())
    }
    async fn list(&self, _: &RepositoryFilter) -> Result<Vec<Repository>, StoreError> {
        Err(self.0.clone())
    }
    async fn update(&self, _: &Repository) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
    async fn soft_delete(&self, _: RepositoryId, _: Timestamp) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
}

#[async_trait]
impl StoreHealth for BrokenStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
}

fn server_with(error: StoreError) -> TestServer {
    TestServer::builder()
        .services(move |mut services| {
            let store = Arc::new(BrokenStore(error));
            services.repositories = store.clone();
            services.store_health = store;
            services
        })
        .start()
}

#[test]
fn internal_errors_are_500_with_the_request_id_and_without_the_cause() {
    let server = server_with(StoreError::Corrupt(
        "row 7: disk on fire at /secret/path".into(),
    ));
    let requests = [
        ("GET", "/api/repositories".to_owned(), None),
        ("GET", format!("/api/repositories/{SOME_ULID}"), None),
        (
            "POST",
            "/api/repositories".to_owned(),
            Some(
                json!({"provider": "git", "owner": "me", "name": "tool", "clone_url": "/srv/tool.git", "default_branch": "main"}),
            ),
        ),
    ];
    for (method, path, body) in requests {
        let response = server.send(method, &path, body.as_ref());
        let envelope = assert_error(&response, 500, "internal_error");
        assert!(
            envelope.error.message.contains(&envelope.request_id),
            "{}",
            envelope.error.message
        );
        assert!(
            !response.text().contains("disk on fire"),
            "{}",
            response.text()
        );
    }
}

#[test]
fn unavailable_database_is_503_with_retry_after() {
    let server = server_with(StoreError::Unavailable("busy beyond timeout".into()));
    let response = server.get("/api/repositories");
    let envelope = assert_error(&response, 503, "unavailable");
    assert_eq!(response.header("retry-after"), Some("5"));
    assert!(
        !envelope.error.message.contains("busy beyond timeout"),
        "{}",
        envelope.error.message
    );
}

#[test]
fn health_and_setup_report_the_database_down() {
    let server = server_with(StoreError::Unavailable("down".into()));
    let health: HealthResponse =
        oore_testkit::http::get(&format!("{}/api/health", server.url()), None).json_as();
    assert_eq!(
        (health.status.as_str(), health.database.as_str()),
        ("degraded", "unavailable")
    );
    let setup: SetupStatusResponse = server.get("/api/setup/status").json_as();
    assert!(!setup.complete);
    let database = setup.items.iter().find(|i| i.key == "database").unwrap();
    assert!(
        !database.configured && database.detail.contains("DATABASE_URL"),
        "{database:?}"
    );
}
