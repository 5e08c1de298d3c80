//! Row types of the GitHub App's tables and their conversions to and from the domain
//! (`github_setup_states`, `github_apps`, `github_installations`); private to the
//! sqlite module like every row type.

use diesel::prelude::*;
use jiff::Timestamp;
use oore_core::domain::secret::EncryptedSecret;
use oore_core::github::{
    GitHubApp, Installation, InstallationState, RepositorySelection, SetupOutcome, SetupState,
};
use oore_core::ports::StoreError;

use super::millis;
use super::schema::{github_apps, github_installations, github_setup_states};

pub(super) fn time(table: &str, column: &str, ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| StoreError::Corrupt(format!("{table}.{column}: {e}")))
}

pub(super) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(super) fn id_i64(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id).map_err(|_| StoreError::Other(format!("GitHub id {id} is out of range")))
}

pub(super) fn id_u64(id: i64) -> Result<u64, StoreError> {
    u64::try_from(id).map_err(|_| corrupt(format!("negative GitHub id {id}")))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = github_setup_states, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct StateRow {
    state_digest: Vec<u8>,
    org: Option<String>,
    app_name: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    outcome: Option<String>,
    detail: Option<String>,
}

impl TryFrom<StateRow> for SetupState {
    type Error = StoreError;

    fn try_from(row: StateRow) -> Result<Self, StoreError> {
        let t = |c, ms| time("github_setup_states", c, ms);
        Ok(SetupState {
            digest: row
                .state_digest
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("github_setup_states.state_digest: not 32 bytes"))?,
            org: row.org,
            app_name: row.app_name,
            created_at: t("created_at", row.created_at)?,
            expires_at: t("expires_at", row.expires_at)?,
            used_at: row.used_at.map(|ms| t("used_at", ms)).transpose()?,
            outcome: match (row.outcome.as_deref(), row.detail) {
                (None, _) => SetupOutcome::Pending,
                (Some("completed"), Some(slug)) => SetupOutcome::Completed { slug },
                (Some("failed"), Some(message)) => SetupOutcome::Failed { message },
                (other, _) => {
                    return Err(corrupt(format!(
                        "github_setup_states.outcome: {other:?} without detail"
                    )));
                }
            },
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = github_apps, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct AppRow {
    id: String,
    app_id: i64,
    slug: String,
    name: String,
    client_id: String,
    html_url: String,
    owner_login: String,
    client_secret: Vec<u8>,
    webhook_secret: Option<Vec<u8>>,
    private_key: Vec<u8>,
    created_at: i64,
    updated_at: i64,
}

impl AppRow {
    pub(super) fn new(app: &GitHubApp) -> Result<Self, StoreError> {
        Ok(Self {
            id: app.row_id.to_string(),
            app_id: id_i64(app.app_id)?,
            slug: app.slug.clone(),
            name: app.name.clone(),
            client_id: app.client_id.clone(),
            html_url: app.html_url.clone(),
            owner_login: app.owner_login.clone(),
            client_secret: app.client_secret.as_bytes().to_vec(),
            webhook_secret: app.webhook_secret.as_ref().map(|s| s.as_bytes().to_vec()),
            private_key: app.private_key.as_bytes().to_vec(),
            created_at: millis(app.created_at),
            updated_at: millis(app.updated_at),
        })
    }
}

impl TryFrom<AppRow> for GitHubApp {
    type Error = StoreError;

    fn try_from(row: AppRow) -> Result<Self, StoreError> {
        let t = |c, ms| time("github_apps", c, ms);
        Ok(GitHubApp {
            row_id: ulid::Ulid::from_string(&row.id)
                .map_err(|e| corrupt(format!("github_apps.id: {e}")))?,
            app_id: id_u64(row.app_id)?,
            slug: row.slug,
            name: row.name,
            client_id: row.client_id,
            html_url: row.html_url,
            owner_login: row.owner_login,
            client_secret: EncryptedSecret::from_bytes(row.client_secret),
            webhook_secret: row.webhook_secret.map(EncryptedSecret::from_bytes),
            private_key: EncryptedSecret::from_bytes(row.private_key),
            created_at: t("created_at", row.created_at)?,
            updated_at: t("updated_at", row.updated_at)?,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = github_installations, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct InstallationRow {
    pub(super) id: i64,
    account_login: String,
    account_type: String,
    repository_selection: String,
    permissions: String,
    state: String,
    detail: Option<String>,
    synced_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

pub(super) fn installation(
    row: InstallationRow,
    repository_count: i64,
) -> Result<Installation, StoreError> {
    let t = |c, ms| time("github_installations", c, ms);
    Ok(Installation {
        id: id_u64(row.id)?,
        account_login: row.account_login,
        account_type: row.account_type,
        repository_selection: row
            .repository_selection
            .parse::<RepositorySelection>()
            .map_err(corrupt)?,
        permissions: row
            .permissions
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        state: row.state.parse::<InstallationState>().map_err(corrupt)?,
        detail: row.detail,
        repository_count: u32::try_from(repository_count).unwrap_or(u32::MAX),
        synced_at: row.synced_at.map(|ms| t("synced_at", ms)).transpose()?,
        created_at: t("created_at", row.created_at)?,
        updated_at: t("updated_at", row.updated_at)?,
    })
}
