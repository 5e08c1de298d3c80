//! Repository management through HTTP, end to end against the real SQLite store.

use oore_core::api::{RepositoryDto, RepositoryListResponse, WebhookUrlResponse};
use oore_testkit::TestServer;
use oore_testkit::http::HttpResponse;
use serde_json::{Value, json};

use crate::support::assert_error;

const SECRET: &str = "whsec-do-not-leak-0123";
const NEW_SECRET: &str = "whsec-rotated-do-not-leak-4567";

/// Wraps a server and remembers every response body, to check that no secret leaks.
struct Api {
    server: TestServer,
    bodies: Vec<String>,
}

impl Api {
    fn new() -> Self {
        Self {
            server: TestServer::start(),
            bodies: Vec::new(),
        }
    }

    fn send(&mut self, method: &str, path: &str, body: Option<Value>) -> HttpResponse {
        let response = self.server.send(method, path, body.as_ref());
        self.bodies.push(response.text());
        response
    }

    fn create(&mut self, body: Value) -> RepositoryDto {
        let response = self.send("POST", "/api/repositories", Some(body));
        assert_eq!(response.status, 201, "{}", response.text());
        let repo: RepositoryDto = response.json_as();
        assert_eq!(
            response.header("location"),
            Some(format!("/api/repositories/{}", repo.id).as_str())
        );
        repo
    }

    fn list(&mut self, query: &str) -> Vec<RepositoryDto> {
        let response = self.send("GET", &format!("/api/repositories{query}"), None);
        assert_eq!(response.status, 200, "{}", response.text());
        response.json_as::<RepositoryListResponse>().repositories
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        for body in &self.bodies {
            assert!(
                !body.contains(SECRET) && !body.contains(NEW_SECRET),
                "a secret leaked: {body}"
            );
        }
    }
}

#[test]
fn full_lifecycle_of_a_github_repository() {
    let mut api = Api::new();
    let repo = api.create(json!({"provider": "github", "owner": "acme", "name": "app"}));
    assert_eq!(
        (repo.state.as_str(), repo.webhook_secret_configured),
        ("pending_setup", false)
    );
    assert_eq!(repo.clone_url, "https://github.com/acme/app.git");
    assert_eq!(
        (repo.full_name.as_str(), repo.default_branch.as_str()),
        ("acme/app", "main")
    );
    let path = format!("/api/repositories/{}", repo.id);

    // Cannot activate before a secret exists.
    let refused = api.send("POST", &format!("{path}/activate"), None);
    assert!(
        assert_error(&refused, 409, "conflict")
            .error
            .message
            .contains("webhook_secret")
    );

    // The webhook URL tells how to finish setup.
    let hook: WebhookUrlResponse = api
        .send("GET", &format!("{path}/webhook-url"), None)
        .json_as();
    assert_eq!(
        hook.url,
        format!("{}/api/webhooks/github/{}", api.server.url(), repo.id)
    );
    assert!(!hook.secret_configured);
    assert!(
        hook.instructions
            .iter()
            .any(|i| i.contains("github.com/acme/app/settings/hooks")),
        "{:?}",
        hook.instructions
    );

    // Setting the secret activates it.
    let updated = api.send(
        "PUT",
        &path,
        Some(json!({"webhook_secret": SECRET, "default_branch": "develop"})),
    );
    assert_eq!(updated.status, 200, "{}", updated.text());
    let updated: RepositoryDto = updated.json_as();
    assert_eq!(
        (updated.state.as_str(), updated.webhook_secret_configured),
        ("active", true)
    );
    assert_eq!(updated.default_branch, "develop");
    // As instants: RFC 3339 strings with trimmed fractions do not sort ("05Z" > "05.1Z").
    let instant = |s: &str| s.parse::<jiff::Timestamp>().expect("RFC 3339 timestamp");
    assert!(
        instant(&updated.updated_at) >= instant(&repo.updated_at),
        "{} < {}",
        updated.updated_at,
        repo.updated_at
    );
    assert!(
        api.send("GET", &format!("{path}/webhook-url"), None)
            .json_as::<WebhookUrlResponse>()
            .secret_configured
    );

    // Rotating the secret keeps it active.
    let rotated: RepositoryDto = api
        .send("PUT", &path, Some(json!({"webhook_secret": NEW_SECRET})))
        .json_as();
    assert_eq!(rotated.state, "active");

    // Pause and resume.
    let paused: RepositoryDto = api
        .send("POST", &format!("{path}/deactivate"), None)
        .json_as();
    assert_eq!(paused.state, "inactive");
    assert_eq!(api.list("?state=inactive").len(), 1);
    let resumed: RepositoryDto = api
        .send("POST", &format!("{path}/activate"), None)
        .json_as();
    assert_eq!(resumed.state, "active");
    let again: RepositoryDto = api
        .send("POST", &format!("{path}/activate"), None)
        .json_as();
    assert_eq!(again.state, "active", "activate is idempotent");

    // Clearing the secret goes back to pending setup.
    let cleared: RepositoryDto = api
        .send("PUT", &path, Some(json!({"clear_webhook_secret": true})))
        .json_as();
    assert_eq!(
        (cleared.state.as_str(), cleared.webhook_secret_configured),
        ("pending_setup", false)
    );

    // Soft delete: gone from show and list, and the same repository can be added again.
    assert_eq!(api.send("DELETE", &path, None).status, 204);
    assert_error(&api.send("GET", &path, None), 404, "not_found");
    assert_error(&api.send("DELETE", &path, None), 404, "not_found");
    assert_error(
        &api.send("PUT", &path, Some(json!({"name": "x"}))),
        404,
        "not_found",
    );
    assert!(api.list("").is_empty());
    let readded = api.create(
        json!({"provider": "github", "owner": "acme", "name": "app", "webhook_secret": SECRET}),
    );
    assert_ne!(readded.id, repo.id);
    assert_eq!(readded.state, "active");
}

#[test]
fn the_delete_response_is_empty_but_has_a_request_id() {
    let mut api = Api::new();
    let repo = api.create(json!({"provider": "gitlab", "owner": "group/sub", "name": "app"}));
    let response = api.send("DELETE", &format!("/api/repositories/{}", repo.id), None);
    assert_eq!(response.status, 204);
    assert!(response.body.is_empty());
    assert!(response.header("x-request-id").is_some());
}

#[test]
fn unicode_names_round_trip() {
    let mut api = Api::new();
    let repo = api
        .create(json!({"provider": "gitlab", "owner": "équipe/モバイル", "name": "café-app-🚀"}));
    assert_eq!(
        (repo.owner.as_str(), repo.name.as_str()),
        ("équipe/モバイル", "café-app-🚀")
    );
    let shown: RepositoryDto = api
        .send("GET", &format!("/api/repositories/{}", repo.id), None)
        .json_as();
    assert_eq!(shown, repo);
    let renamed: RepositoryDto = api
        .send(
            "PUT",
            &format!("/api/repositories/{}", repo.id),
            Some(json!({"name": "アプリ"})),
        )
        .json_as();
    assert_eq!(renamed.full_name, "équipe/モバイル/アプリ");
}

#[test]
fn list_filters_by_provider_and_state() {
    let mut api = Api::new();
    api.create(
        json!({"provider": "github", "owner": "b", "name": "two", "webhook_secret": SECRET}),
    );
    api.create(json!({"provider": "github", "owner": "a", "name": "one"}));
    api.create(json!({"provider": "git", "owner": "me", "name": "tool", "clone_url": "git@example.com:me/tool.git"}));

    let names =
        |repos: Vec<RepositoryDto>| repos.into_iter().map(|r| r.full_name).collect::<Vec<_>>();
    assert_eq!(names(api.list("")), ["a/one", "b/two", "me/tool"]);
    assert_eq!(names(api.list("?provider=github")), ["a/one", "b/two"]);
    assert_eq!(names(api.list("?provider=github&state=active")), ["b/two"]);
    assert_eq!(names(api.list("?state=pending_setup")), ["a/one"]);
    assert_eq!(names(api.list("?provider=git")), ["me/tool"]);

    let bad = api.send(
        "GET",
        "/api/repositories?provider=svn&state=paused&sort=name",
        None,
    );
    let envelope = assert_error(&bad, 400, "validation_failed");
    let fields: Vec<&str> = envelope
        .error
        .fields
        .iter()
        .flatten()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(fields, ["provider", "state", "query"]);
}

#[test]
fn plain_git_repositories_have_no_webhook_url() {
    let mut api = Api::new();
    let repo = api.create(
        json!({"provider": "git", "owner": "me", "name": "tool", "clone_url": "/srv/git/tool.git", "default_branch": "main"}),
    );
    assert_eq!(repo.state, "active");
    let response = api.send(
        "GET",
        &format!("/api/repositories/{}/webhook-url", repo.id),
        None,
    );
    let envelope = assert_error(&response, 409, "conflict");
    assert!(
        envelope
            .error
            .message
            .contains("provider git, which has no webhooks"),
        "{}",
        envelope.error.message
    );
}

#[test]
fn updates_validate_every_field_and_keep_identities_unique() {
    let mut api = Api::new();
    api.create(json!({"provider": "github", "owner": "acme", "name": "taken"}));
    let repo = api.create(json!({"provider": "github", "owner": "acme", "name": "app"}));
    let path = format!("/api/repositories/{}", repo.id);
    let bad = api.send(
        "PUT",
        &path,
        Some(json!({"owner": "a/b", "clone_url": "not a url", "webhook_secret": ""})),
    );
    let envelope = assert_error(&bad, 400, "validation_failed");
    let fields: Vec<&str> = envelope
        .error
        .fields
        .iter()
        .flatten()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(fields, ["owner", "clone_url", "webhook_secret"]);
    assert_error(
        &api.send("PUT", &path, Some(json!({"name": "TAKEN"}))),
        409,
        "conflict",
    );
}

/// Every byte of the database's files.
fn database_bytes(server: &TestServer) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["oore.db", "oore.db-wal"] {
        if let Ok(b) = std::fs::read(server.data_dir().join(name)) {
            bytes.extend(b);
        }
    }
    bytes
}

#[test]
fn clone_url_credentials_are_stored_encrypted_and_never_shown() {
    const TOKEN: &str = "ghp_CloneT0ken-do-not-leak-89";
    let mut api = Api::new();
    let repo = api.create(json!({
        "provider": "git", "owner": "acme", "name": "private",
        "clone_url": format!("https://x-access-token:{TOKEN}@git.example.com/acme/private.git"),
    }));
    assert_eq!(repo.clone_url, "https://git.example.com/acme/private.git");
    assert!(repo.clone_credentials_configured);
    let path = format!("/api/repositories/{}", repo.id);
    let shown: RepositoryDto = api.send("GET", &path, None).json_as();
    assert_eq!(shown, repo);

    // A password where git cannot use it is refused, saying what to do instead.
    let refused = api.send(
        "PUT",
        &path,
        Some(json!({"clone_url": format!("ssh://git:{TOKEN}@git.example.com/acme/private.git")})),
    );
    let envelope = assert_error(&refused, 400, "validation_failed");
    let field = &envelope.error.fields.as_ref().unwrap()[0];
    assert_eq!(field.field, "clone_url");
    assert!(field.message.contains("SSH key"), "{}", field.message);

    // A new URL without credentials clears them.
    let cleared: RepositoryDto = api
        .send(
            "PUT",
            &path,
            Some(json!({"clone_url": "https://git.example.com/acme/moved.git"})),
        )
        .json_as();
    assert!(!cleared.clone_credentials_configured);

    for body in &api.bodies {
        assert!(!body.contains(TOKEN), "the token was shown: {body}");
    }
    let bytes = database_bytes(&api.server);
    assert!(
        !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
        "the token is in the database files in plain text"
    );
}
