//! Wire types of the repository endpoints.
//!
//! Requests carry enumerated values (`provider`, `build_concurrency`) as plain strings, so
//! the server can name a value it does not accept in its error; their schemas still list
//! the accepted values.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{BuildConcurrencyDto, ForkPullRequestsDto, ProviderDto, RepositoryStateDto};
use crate::domain::repository::Repository;
use crate::domain::secret::SecretString;
use crate::usecases::repository::{AddRepository, UpdateRepository, WebhookSetup};

/// A repository as the API shows it. The webhook secret is never included, only whether
/// one is stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct RepositoryDto {
    /// ULID.
    pub id: String,
    /// Where it is hosted.
    pub provider: ProviderDto,
    /// Owner or group path.
    pub owner: String,
    /// Name.
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    /// Clone URL, without credentials (they are stored apart, encrypted).
    pub clone_url: String,
    /// Whether credentials taken out of the clone URL (`https://user:token@host/...`)
    /// are stored, encrypted; they are never shown. Absent from older servers.
    #[serde(default)]
    #[schema(required)]
    pub clone_credentials_configured: bool,
    /// Default branch.
    pub default_branch: String,
    /// Lifecycle state.
    pub state: RepositoryStateDto,
    /// Whether a webhook secret is stored.
    pub webhook_secret_configured: bool,
    /// Whether its builds may run side by side. Absent from servers older than the
    /// setting, which ran every repository in parallel.
    #[serde(default)]
    #[schema(required)]
    pub build_concurrency: BuildConcurrencyDto,
    /// What pull/merge requests from forks do. Absent from servers older than the
    /// setting, which built them all.
    #[serde(default)]
    #[schema(required)]
    pub fork_pull_requests: ForkPullRequestsDto,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl From<&Repository> for RepositoryDto {
    fn from(r: &Repository) -> Self {
        Self {
            id: r.id.to_string(),
            provider: r.provider.into(),
            owner: r.owner.as_str().to_owned(),
            name: r.name.as_str().to_owned(),
            full_name: r.full_name(),
            clone_url: r.clone_url.redacted(),
            clone_credentials_configured: r.clone_credentials.is_some(),
            default_branch: r.default_branch.as_str().to_owned(),
            state: r.state.into(),
            webhook_secret_configured: r.webhook_secret.is_some(),
            build_concurrency: r.build_concurrency.into(),
            fork_pull_requests: r.fork_pull_requests.into(),
            created_at: r.created_at.to_string(),
            updated_at: r.updated_at.to_string(),
        }
    }
}

/// `GET /api/repositories`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct RepositoryListResponse {
    /// The repositories.
    pub repositories: Vec<RepositoryDto>,
}

/// A clone URL for `Debug`: credentials replaced by `***`.
fn without_credentials(url: &str) -> String {
    match crate::domain::repository::split_url_credentials(url) {
        (_, None) => url.to_owned(),
        (plain, Some(_)) => crate::domain::repository::join_url_credentials(&plain, "***"),
    }
}

/// `POST /api/repositories`.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRepositoryRequest {
    /// `github`, `gitlab` or `git`.
    #[schema(value_type = ProviderDto)]
    pub provider: String,
    /// Owner or group path.
    pub owner: String,
    /// Name.
    pub name: String,
    /// Required for `git`. Credentials in it (`https://user:token@host/...`) are taken
    /// out and stored encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_url: Option<String>,
    /// Defaults to `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// The forge webhook's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// `parallel` (the default) or `serial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BuildConcurrencyDto>)]
    pub build_concurrency: Option<String>,
    /// `never`, `approve` (the default) or `always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ForkPullRequestsDto>)]
    pub fork_pull_requests: Option<String>,
}

impl std::fmt::Debug for CreateRepositoryRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateRepositoryRequest")
            .field("provider", &self.provider)
            .field("owner", &self.owner)
            .field("name", &self.name)
            .field(
                "clone_url",
                &self.clone_url.as_deref().map(without_credentials),
            )
            .field("default_branch", &self.default_branch)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "***"),
            )
            .field("build_concurrency", &self.build_concurrency)
            .field("fork_pull_requests", &self.fork_pull_requests)
            .finish()
    }
}

impl From<CreateRepositoryRequest> for AddRepository {
    fn from(r: CreateRepositoryRequest) -> Self {
        Self {
            provider: r.provider,
            owner: r.owner,
            name: r.name,
            clone_url: r.clone_url,
            default_branch: r.default_branch,
            webhook_secret: r.webhook_secret.map(SecretString::new),
            build_concurrency: r.build_concurrency,
            fork_pull_requests: r.fork_pull_requests,
        }
    }
}

/// `PUT /api/repositories/{id}`: only the fields present change.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRepositoryRequest {
    /// New owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New clone URL. Its credentials replace the stored ones; a URL without any
    /// clears them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_url: Option<String>,
    /// New default branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// New webhook secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// Forget the webhook secret.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clear_webhook_secret: bool,
    /// `parallel` or `serial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BuildConcurrencyDto>)]
    pub build_concurrency: Option<String>,
    /// `never`, `approve` or `always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ForkPullRequestsDto>)]
    pub fork_pull_requests: Option<String>,
}

impl std::fmt::Debug for UpdateRepositoryRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateRepositoryRequest")
            .field("owner", &self.owner)
            .field("name", &self.name)
            .field(
                "clone_url",
                &self.clone_url.as_deref().map(without_credentials),
            )
            .field("default_branch", &self.default_branch)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "***"),
            )
            .field("clear_webhook_secret", &self.clear_webhook_secret)
            .field("build_concurrency", &self.build_concurrency)
            .field("fork_pull_requests", &self.fork_pull_requests)
            .finish()
    }
}

impl From<UpdateRepositoryRequest> for UpdateRepository {
    fn from(r: UpdateRepositoryRequest) -> Self {
        Self {
            owner: r.owner,
            name: r.name,
            clone_url: r.clone_url,
            default_branch: r.default_branch,
            webhook_secret: r.webhook_secret.map(SecretString::new),
            clear_webhook_secret: r.clear_webhook_secret,
            build_concurrency: r.build_concurrency,
            fork_pull_requests: r.fork_pull_requests,
        }
    }
}

/// `GET /api/repositories/{id}/webhook-url`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WebhookUrlResponse {
    /// The repository.
    pub repository_id: String,
    /// `github` or `gitlab`.
    pub provider: ProviderDto,
    /// Payload URL to paste into the forge.
    pub url: String,
    /// Whether Oore has a secret to verify deliveries with.
    pub secret_configured: bool,
    /// What to do on the forge, step by step.
    pub instructions: Vec<String>,
}

impl WebhookUrlResponse {
    /// From the use case's answer.
    pub fn new(repo: &Repository, setup: WebhookSetup) -> Self {
        Self {
            repository_id: repo.id.to_string(),
            provider: repo.provider.into(),
            url: setup.url,
            secret_configured: setup.secret_configured,
            instructions: setup.instructions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::RepoConcurrency;

    #[test]
    fn request_debug_masks_the_secret_and_url_credentials() {
        let req = CreateRepositoryRequest {
            webhook_secret: Some("hunter2".into()),
            clone_url: Some("https://me:t0ken@host/a.git".into()),
            ..Default::default()
        };
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("t0ken"),
            "{shown}"
        );
        assert!(shown.contains("https://***@host/a.git"), "{shown}");
        let req = UpdateRepositoryRequest {
            webhook_secret: Some("hunter2".into()),
            clone_url: Some("https://t0ken@host/a.git".into()),
            ..Default::default()
        };
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("t0ken"),
            "{shown}"
        );
    }

    #[test]
    fn unknown_request_fields_are_rejected() {
        let err = serde_json::from_str::<CreateRepositoryRequest>(
            r#"{"provider":"github","owner":"a","name":"b","colour":"red"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn build_concurrency_is_optional_on_the_wire() {
        // Requests from clients that predate the setting still parse.
        let create: CreateRepositoryRequest =
            serde_json::from_str(r#"{"provider":"github","owner":"a","name":"b"}"#).unwrap();
        assert_eq!(AddRepository::from(create).build_concurrency, None);
        let update: UpdateRepositoryRequest = serde_json::from_str(r#"{"name":"c"}"#).unwrap();
        assert_eq!(UpdateRepository::from(update).build_concurrency, None);
        let update: UpdateRepositoryRequest =
            serde_json::from_str(r#"{"build_concurrency":"serial"}"#).unwrap();
        assert_eq!(
            UpdateRepository::from(update).build_concurrency.as_deref(),
            Some("serial")
        );
        // Absent fields are not sent, so an older server does not reject them as unknown.
        assert_eq!(
            serde_json::to_string(&UpdateRepositoryRequest::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn repository_dto_carries_build_concurrency() {
        let mut repo = crate::testing::contract::sample_repository(
            1,
            crate::domain::repository::Provider::GitHub,
            "acme",
            "app",
        );
        repo.build_concurrency = RepoConcurrency::Serial;
        let dto = RepositoryDto::from(&repo);
        assert_eq!(dto.build_concurrency, BuildConcurrencyDto::Serial);
        let json = serde_json::to_value(&dto).unwrap();
        assert_eq!(json["build_concurrency"], "serial");

        // A response from a server older than the setting reads as parallel.
        let mut old = json;
        old.as_object_mut().unwrap().remove("build_concurrency");
        let parsed: RepositoryDto = serde_json::from_value(old).unwrap();
        assert_eq!(parsed.build_concurrency, BuildConcurrencyDto::Parallel);
    }

    #[test]
    fn fork_pull_requests_is_shown_and_optional_in_requests() {
        let repo = crate::testing::contract::sample_repository(
            1,
            crate::domain::repository::Provider::GitHub,
            "acme",
            "app",
        );
        let json = serde_json::to_value(RepositoryDto::from(&repo)).unwrap();
        assert_eq!(json["fork_pull_requests"], "approve");
        let mut old = json;
        old.as_object_mut().unwrap().remove("fork_pull_requests");
        let parsed: RepositoryDto = serde_json::from_value(old).unwrap();
        assert_eq!(
            parsed.fork_pull_requests,
            ForkPullRequestsDto::Always,
            "an older server built every pull request"
        );
        let update: UpdateRepositoryRequest =
            serde_json::from_str(r#"{"fork_pull_requests":"never"}"#).unwrap();
        assert_eq!(
            UpdateRepository::from(update).fork_pull_requests.as_deref(),
            Some("never")
        );
    }

    #[test]
    fn a_newer_servers_values_read_as_unknown() {
        let mut json = serde_json::to_value(RepositoryDto::from(
            &crate::testing::contract::sample_repository(
                1,
                crate::domain::repository::Provider::Git,
                "acme",
                "app",
            ),
        ))
        .unwrap();
        json["provider"] = "bitbucket".into();
        json["state"] = "archived".into();
        let parsed: RepositoryDto = serde_json::from_value(json).unwrap();
        assert_eq!(
            (parsed.provider, parsed.state),
            (ProviderDto::Unknown, RepositoryStateDto::Unknown)
        );
    }
}
