//! Health, version, the setup checklist, and CORS for the dashboard origin.

use oore_core::api::{API_VERSION, HealthResponse, SetupStatusResponse, VersionResponse};
use oore_testkit::TestServer;
use oore_testkit::http::{get, request};
use serde_json::json;

#[test]
fn health_reports_database_and_workers() {
    let server = TestServer::builder()
        .env("OORE_MAX_CONCURRENT_BUILDS", "3")
        .start();
    let response = get(&format!("{}/api/health", server.url()), None);
    assert_eq!(response.status, 200);
    let health: HealthResponse = response.json_as();
    assert_eq!(
        (health.status.as_str(), health.database.as_str()),
        ("healthy", "connected")
    );
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!((health.workers.busy, health.workers.max), (0, 3));
    assert!(health.uptime_seconds < 600);
}

#[test]
fn version_reports_the_api_version() {
    let server = TestServer::start();
    let version: VersionResponse = get(&format!("{}/api/version", server.url()), None).json_as();
    assert_eq!(
        version,
        VersionResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            api_version: API_VERSION
        }
    );
}

#[test]
fn setup_status_walks_through_the_checklist() {
    let server = TestServer::start();
    let status: SetupStatusResponse = server.get("/api/setup/status").json_as();
    let keys: Vec<&str> = status.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "encryption",
            "admin_token",
            "database",
            "github",
            "gitlab",
            "repositories"
        ]
    );
    let item = |s: &SetupStatusResponse, key: &str| {
        s.items.iter().find(|i| i.key == key).cloned().unwrap()
    };
    assert!(item(&status, "encryption").configured && item(&status, "database").configured);
    assert!(item(&status, "github").detail.contains("oore github setup"));
    assert!(
        item(&status, "gitlab")
            .detail
            .contains("oore repo add --provider gitlab")
    );
    let repos = item(&status, "repositories");
    assert!(
        !repos.configured && repos.detail.contains("oore repo add"),
        "{repos:?}"
    );
    assert!(!status.complete);

    let body = json!({"provider": "git", "owner": "me", "name": "tool", "clone_url": "/srv/tool.git", "default_branch": "main"});
    assert_eq!(
        server.send("POST", "/api/repositories", Some(&body)).status,
        201
    );
    let status: SetupStatusResponse = server.get("/api/setup/status").json_as();
    assert_eq!(item(&status, "repositories").detail, "1 repository");
    assert!(status.complete, "github and gitlab are optional");
}

#[test]
fn cors_preflight_and_responses_for_the_dashboard_origin_only() {
    let origin = "http://dash.example.test:3000";
    let server = TestServer::builder()
        .env("OORE_DASHBOARD_ORIGIN", origin)
        .start();
    let url = format!("{}/api/repositories", server.url());
    let preflight = [
        ("Origin", origin),
        ("Access-Control-Request-Method", "POST"),
    ];
    let response = request("OPTIONS", &url, &preflight, None).unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(response.header("access-control-allow-origin"), Some(origin));
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    assert!(
        response
            .header("access-control-allow-headers")
            .unwrap()
            .contains("authorization")
    );

    let other = request(
        "OPTIONS",
        &url,
        &[
            ("Origin", "http://evil.test"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(other.status, 204);
    assert_eq!(other.header("access-control-allow-origin"), None);
    assert_eq!(other.header("allow"), Some("GET, POST, OPTIONS"));

    let auth = format!("Bearer {}", server.admin_token());
    let actual = request(
        "GET",
        &url,
        &[("Origin", origin), ("Authorization", &auth)],
        None,
    )
    .unwrap();
    assert_eq!(actual.status, 200);
    assert_eq!(actual.header("access-control-allow-origin"), Some(origin));
    assert!(
        actual
            .header("access-control-expose-headers")
            .unwrap()
            .contains("x-request-id")
    );
    assert_eq!(
        request(
            "OPTIONS",
            &format!("{}/api/nope", server.url()),
            &preflight,
            None
        )
        .unwrap()
        .status,
        404
    );
}

#[test]
fn test_servers_stop_cleanly() {
    let server = TestServer::start();
    let url = server.url();
    let data_dir = server.data_dir().to_owned();
    assert!(data_dir.join("oore.db").exists());
    server.stop();
    assert!(
        oore_testkit::http::request("GET", &format!("{url}/api/health"), &[], None).is_err(),
        "still serving"
    );
    assert!(!data_dir.exists(), "temporary data directory left behind");
}
