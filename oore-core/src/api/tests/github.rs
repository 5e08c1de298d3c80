//! Snapshots and schema checks of the GitHub App's wire types.

use serde_json::Value;
use utoipa::ToSchema;

use super::super::openapi;
use super::*;

fn app() -> GitHubAppDto {
    GitHubAppDto {
        app_id: 1001,
        slug: "oore-ci".into(),
        name: "Oore CI".into(),
        owner: "acme".into(),
        client_id: "Iv23liabc".into(),
        html_url: "https://github.com/apps/oore-ci".into(),
        webhook_secret_configured: true,
        created_at: AT.into(),
        updated_at: AT.into(),
    }
}

fn installation() -> GitHubInstallationDto {
    GitHubInstallationDto {
        id: 7,
        account: "acme".into(),
        account_type: "Organization".into(),
        repository_selection: GitHubRepositorySelectionDto::Selected,
        state: GitHubInstallationStateDto::Suspended,
        detail: Some("suspended on GitHub".into()),
        repository_count: 3,
        permissions: vec!["checks:write".into()],
        synced_at: Some(AT.into()),
    }
}

#[test]
fn github_wire_types() {
    check(
        &GitHubSetupRequest {
            org: Some("acme".into()),
            name: Some("Oore CI".into()),
            force: true,
        },
        &GitHubSetupRequest::default(),
    );
    let started = GitHubSetupResponse {
        state: "abc".into(),
        setup_url: "https://ci.example.com/setup/github?state=abc".into(),
        expires_at: AT.into(),
        app_name: "Oore CI".into(),
        warning: Some("OORE_BASE_URL is a loopback address".into()),
    };
    check(
        &started,
        &GitHubSetupResponse {
            warning: None,
            ..started.clone()
        },
    );
    let done = GitHubSetupStatusResponse {
        stage: GitHubSetupStageDto::Completed,
        message: "created".into(),
        expires_at: Some(AT.into()),
        app_slug: Some("oore-ci".into()),
        install_url: Some("https://github.com/apps/oore-ci/installations/new".into()),
    };
    check(
        &done,
        &GitHubSetupStatusResponse {
            stage: GitHubSetupStageDto::Waiting,
            message: "waiting".into(),
            expires_at: None,
            app_slug: None,
            install_url: None,
        },
    );
    let callback = GitHubCallbackRequest {
        url: "https://ci.example.com/setup/github/callback?code=c&state=s".into(),
    };
    check(&callback, &callback);
    let created = GitHubAppCreatedResponse {
        app_id: 1001,
        slug: "oore-ci".into(),
        name: "Oore CI".into(),
        html_url: "https://github.com/apps/oore-ci".into(),
        install_url: "https://github.com/apps/oore-ci/installations/new".into(),
    };
    check(&created, &created);
    check(&app(), &app());
    check(
        &installation(),
        &GitHubInstallationDto {
            detail: None,
            synced_at: None,
            ..installation()
        },
    );
    check(
        &GitHubInstallationListResponse {
            installations: vec![installation()],
        },
        &GitHubInstallationListResponse {
            installations: Vec::new(),
        },
    );
    check(
        &GitHubStatusResponse {
            app: Some(app()),
            install_url: Some("https://github.com/apps/oore-ci/installations/new".into()),
            installations: vec![installation()],
            warning: Some("unreachable".into()),
        },
        &GitHubStatusResponse {
            app: None,
            install_url: None,
            installations: Vec::new(),
            warning: None,
        },
    );
    check(
        &GitHubSyncRequest {
            installation_id: Some(7),
        },
        &GitHubSyncRequest::default(),
    );
    let result = GitHubSyncResultDto {
        id: 7,
        account: "acme".into(),
        outcome: GitHubSyncOutcomeDto::Revoked,
        added: 0,
        updated: 0,
        deactivated: 2,
        total: 0,
        message: Some("uninstalled on GitHub".into()),
    };
    check(
        &result,
        &GitHubSyncResultDto {
            outcome: GitHubSyncOutcomeDto::Synced,
            message: None,
            ..result.clone()
        },
    );
    check(
        &GitHubSyncResponse {
            installations: vec![result],
        },
        &GitHubSyncResponse {
            installations: Vec::new(),
        },
    );
    let key = GitHubPrivateKeyRequest {
        private_key: "-----BEGIN RSA PRIVATE KEY-----".into(),
    };
    check(&key, &key);
    assert!(!format!("{key:?}").contains("BEGIN"));
    let removed = GitHubRemoveResponse {
        deactivated_repositories: 3,
    };
    check(&removed, &removed);
}

#[test]
fn github_enum_schemas_list_their_values() {
    fn values<T: ToSchema>(schemas: &Value) -> Vec<String> {
        serde_json::from_value(schemas[T::name().as_ref()]["enum"].clone()).unwrap()
    }
    fn known<T: Copy + std::fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(ToString::to_string).collect()
    }
    let s = openapi::schemas_json();
    assert_eq!(
        values::<GitHubSetupStageDto>(&s),
        known(GitHubSetupStageDto::KNOWN)
    );
    assert_eq!(
        values::<GitHubInstallationStateDto>(&s),
        known(GitHubInstallationStateDto::KNOWN)
    );
    assert_eq!(
        values::<GitHubRepositorySelectionDto>(&s),
        known(GitHubRepositorySelectionDto::KNOWN)
    );
    assert_eq!(
        values::<GitHubSyncOutcomeDto>(&s),
        known(GitHubSyncOutcomeDto::KNOWN)
    );
    assert_eq!(
        GitHubSetupStageDto::from_wire("later"),
        GitHubSetupStageDto::Unknown
    );
}
