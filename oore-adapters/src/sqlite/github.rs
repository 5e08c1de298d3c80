//! The GitHub App's tables (`github_setup_states`, `github_apps`,
//! `github_installations`, `github_installation_repositories`, and
//! `repositories.github_id`): [`GitHubStore`] for [`SqliteStore`]. Every write that
//! touches several rows is one `BEGIN IMMEDIATE` transaction on the writer.

use async_trait::async_trait;
use diesel::prelude::*;
use jiff::Timestamp;
use oore_core::domain::repository::{Provider, RepoName, RepoOwner, RepositoryState, identity_key};
use oore_core::domain::secret::EncryptedSecret;
use oore_core::github::ports::{Claim, GitHubStore, SyncCounts, SyncedRepository};
use oore_core::github::{
    GitHubApp, Installation, InstallationState, RemoteInstallation, SetupOutcome, SetupState,
};
use oore_core::ids::RepositoryId;
use oore_core::ports::StoreError;
use oore_core::scheduling::RepoConcurrency;

use super::error::{TxError, store_error};
use super::github_rows::{AppRow, InstallationRow, StateRow, id_i64, id_u64, installation};
use super::schema::{
    github_apps, github_installation_repositories as links, github_installations,
    github_setup_states, repositories,
};
use super::{SqliteStore, millis};

/// Sets a live repository `inactive` if it is `active`; true if it changed.
fn deactivate(conn: &mut SqliteConnection, id: &str, at: i64) -> QueryResult<bool> {
    let n = diesel::update(
        repositories::table
            .find(id)
            .filter(repositories::deleted_at.is_null())
            .filter(repositories::state.eq(RepositoryState::Active.as_str())),
    )
    .set((
        repositories::state.eq(RepositoryState::Inactive.as_str()),
        repositories::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Stops counting the covered repositories of `installation` (all when `None`) and
/// deactivates them; returns how many were deactivated.
fn release(conn: &mut SqliteConnection, installation: Option<i64>, at: i64) -> QueryResult<u32> {
    let mut query = links::table
        .filter(links::covered.eq(true))
        .select(links::repository_id)
        .into_boxed();
    if let Some(id) = installation {
        query = query.filter(links::installation_id.eq(id));
    }
    let covered: Vec<String> = query.load(conn)?;
    let mut n = 0;
    for id in &covered {
        n += u32::from(deactivate(conn, id, at)?);
    }
    match installation {
        Some(id) => diesel::update(links::table.filter(links::installation_id.eq(id)))
            .set((links::covered.eq(false), links::updated_at.eq(at)))
            .execute(conn)?,
        None => diesel::update(links::table)
            .set((links::covered.eq(false), links::updated_at.eq(at)))
            .execute(conn)?,
    };
    Ok(n)
}

/// Removes the App, the installations and the links, deactivating covered repositories.
fn remove_everything(conn: &mut SqliteConnection, at: i64) -> QueryResult<u32> {
    let n = release(conn, None, at)?;
    diesel::delete(links::table).execute(conn)?;
    diesel::delete(github_installations::table).execute(conn)?;
    diesel::delete(github_apps::table).execute(conn)?;
    Ok(n)
}

/// One repository of a sync; returns (added, updated).
fn sync_one(
    conn: &mut SqliteConnection,
    installation_id: i64,
    synced: &SyncedRepository,
    at: i64,
) -> Result<(bool, bool), TxError> {
    let remote = &synced.remote;
    let github_id = id_i64(remote.github_id)?;
    let owner = RepoOwner::new(Provider::GitHub, &remote.owner)
        .map_err(|e| StoreError::Other(e.to_string()))?;
    let name = RepoName::new(&remote.name).map_err(|e| StoreError::Other(e.to_string()))?;
    let key = identity_key(Provider::GitHub, &owner, &name);
    let link: Option<bool> = links::table
        .find(github_id)
        .select(links::covered)
        .first(conn)
        .optional()?;
    let by_github_id: Option<(String, String, String, String, String, String)> =
        repositories::table
            .filter(repositories::github_id.eq(github_id))
            .filter(repositories::deleted_at.is_null())
            .select((
                repositories::id,
                repositories::owner,
                repositories::name,
                repositories::clone_url,
                repositories::default_branch,
                repositories::state,
            ))
            .first(conn)
            .optional()?;
    let (repository_id, added, updated) = if let Some((id, o, n, url, branch, state)) = by_github_id
    {
        let new_branch = remote.default_branch.clone().unwrap_or(branch.clone());
        let reactivate = state == RepositoryState::Inactive.as_str() && link == Some(false);
        let changed = o != remote.owner
            || n != remote.name
            || url != remote.clone_url
            || branch != new_branch
            || reactivate;
        if changed {
            diesel::update(repositories::table.find(&id))
                .set((
                    repositories::owner.eq(&remote.owner),
                    repositories::name.eq(&remote.name),
                    repositories::identity_key.eq(&key),
                    repositories::owner_folded.eq(remote.owner.to_lowercase()),
                    repositories::name_folded.eq(remote.name.to_lowercase()),
                    repositories::clone_url.eq(&remote.clone_url),
                    repositories::default_branch.eq(&new_branch),
                    repositories::updated_at.eq(at),
                ))
                .execute(conn)?;
            if reactivate {
                diesel::update(repositories::table.find(&id))
                    .set(repositories::state.eq(RepositoryState::Active.as_str()))
                    .execute(conn)?;
            }
        }
        (id, false, changed)
    } else if let Some(id) = repositories::table
        .filter(repositories::identity_key.eq(&key))
        .filter(repositories::deleted_at.is_null())
        .filter(repositories::github_id.is_null())
        .select(repositories::id)
        .first::<String>(conn)
        .optional()?
    {
        // Added by hand before the App covered it: adopted, one repository not two.
        // GitHub's spelling and clone URL win (the App clones over HTTPS with its
        // installation tokens); branch, state and secret stay.
        diesel::update(repositories::table.find(&id))
            .set((
                repositories::github_id.eq(github_id),
                repositories::clone_url.eq(&remote.clone_url),
                repositories::owner.eq(&remote.owner),
                repositories::name.eq(&remote.name),
                repositories::owner_folded.eq(remote.owner.to_lowercase()),
                repositories::name_folded.eq(remote.name.to_lowercase()),
                repositories::updated_at.eq(at),
            ))
            .execute(conn)?;
        (id, false, true)
    } else {
        let id = synced.new_id.to_string();
        let branch = remote.default_branch.as_deref().unwrap_or("main");
        diesel::insert_into(repositories::table)
            .values((
                repositories::id.eq(&id),
                repositories::provider.eq(Provider::GitHub.as_str()),
                repositories::owner.eq(&remote.owner),
                repositories::name.eq(&remote.name),
                repositories::identity_key.eq(&key),
                repositories::owner_folded.eq(remote.owner.to_lowercase()),
                repositories::name_folded.eq(remote.name.to_lowercase()),
                repositories::clone_url.eq(&remote.clone_url),
                repositories::default_branch.eq(branch),
                repositories::state.eq(RepositoryState::Active.as_str()),
                repositories::build_concurrency.eq(RepoConcurrency::Parallel.as_str()),
                repositories::github_id.eq(github_id),
                repositories::created_at.eq(at),
                repositories::updated_at.eq(at),
            ))
            .execute(conn)?;
        (id, true, false)
    };
    diesel::replace_into(links::table)
        .values((
            links::github_id.eq(github_id),
            links::installation_id.eq(installation_id),
            links::repository_id.eq(&repository_id),
            links::covered.eq(true),
            links::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok((added, updated))
}

#[async_trait]
impl GitHubStore for SqliteStore {
    async fn insert_setup_state(&self, state: &SetupState) -> Result<(), StoreError> {
        let state = state.clone();
        self.write(move |conn| {
            diesel::insert_into(github_setup_states::table)
                .values((
                    github_setup_states::state_digest.eq(state.digest.to_vec()),
                    github_setup_states::org.eq(&state.org),
                    github_setup_states::app_name.eq(&state.app_name),
                    github_setup_states::created_at.eq(millis(state.created_at)),
                    github_setup_states::expires_at.eq(millis(state.expires_at)),
                ))
                .execute(conn)
                .map(drop)
                .map_err(store_error)
        })
        .await
    }

    async fn setup_state(&self, digest: &[u8; 32]) -> Result<Option<SetupState>, StoreError> {
        let digest = digest.to_vec();
        self.read(move |conn| {
            github_setup_states::table
                .find(digest)
                .select(StateRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(SetupState::try_from)
                .transpose()
        })
        .await
    }

    async fn claim_setup_state(
        &self,
        digest: &[u8; 32],
        at: Timestamp,
    ) -> Result<Claim, StoreError> {
        let digest = digest.to_vec();
        self.write(move |conn| {
            conn.immediate_transaction(|conn| {
                let Some(row) = github_setup_states::table
                    .find(&digest)
                    .select(StateRow::as_select())
                    .first(conn)
                    .optional()?
                else {
                    return Ok(Claim::Unknown);
                };
                let state = SetupState::try_from(row)?;
                if state.used_at.is_some() {
                    return Ok(Claim::AlreadyUsed(state));
                }
                diesel::update(github_setup_states::table.find(&digest))
                    .set(github_setup_states::used_at.eq(millis(at)))
                    .execute(conn)?;
                Ok::<_, TxError>(Claim::Claimed(state))
            })
            .map_err(|e| e.into_store(|| "setup state".to_owned()))
        })
        .await
    }

    async fn release_setup_claim(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        let digest = digest.to_vec();
        self.write(move |conn| {
            let known: i64 = github_setup_states::table
                .find(&digest)
                .count()
                .get_result(conn)
                .map_err(store_error)?;
            if known == 0 {
                return Err(StoreError::NotFound);
            }
            diesel::update(
                github_setup_states::table
                    .find(&digest)
                    .filter(github_setup_states::outcome.is_null()),
            )
            .set(github_setup_states::used_at.eq(None::<i64>))
            .execute(conn)
            .map(drop)
            .map_err(store_error)
        })
        .await
    }

    async fn finish_setup_state(
        &self,
        digest: &[u8; 32],
        outcome: &SetupOutcome,
    ) -> Result<(), StoreError> {
        let digest = digest.to_vec();
        let (outcome, detail) = match outcome {
            SetupOutcome::Pending => (None, None),
            SetupOutcome::Completed { slug } => (Some("completed"), Some(slug.clone())),
            SetupOutcome::Failed { message } => (Some("failed"), Some(message.clone())),
        };
        self.write(move |conn| {
            let n = diesel::update(github_setup_states::table.find(digest))
                .set((
                    github_setup_states::outcome.eq(outcome),
                    github_setup_states::detail.eq(detail),
                ))
                .execute(conn)
                .map_err(store_error)?;
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn app(&self) -> Result<Option<GitHubApp>, StoreError> {
        self.read(|conn| {
            github_apps::table
                .select(AppRow::as_select())
                .order_by(github_apps::created_at.desc())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(GitHubApp::try_from)
                .transpose()
        })
        .await
    }

    async fn replace_app(&self, app: &GitHubApp) -> Result<(), StoreError> {
        let row = AppRow::new(app)?;
        let at = millis(app.created_at);
        self.write(move |conn| {
            conn.immediate_transaction(|conn| {
                remove_everything(conn, at)?;
                diesel::insert_into(github_apps::table)
                    .values(&row)
                    .execute(conn)?;
                Ok::<_, TxError>(())
            })
            .map_err(|e| e.into_store(|| "GitHub App".to_owned()))
        })
        .await
    }

    async fn update_private_key(
        &self,
        row_id: ulid::Ulid,
        key: &EncryptedSecret,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let key = key.as_bytes().to_vec();
        self.write(move |conn| {
            let n = diesel::update(github_apps::table.find(row_id.to_string()))
                .set((
                    github_apps::private_key.eq(key),
                    github_apps::updated_at.eq(millis(at)),
                ))
                .execute(conn)
                .map_err(store_error)?;
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn remove_app(&self, at: Timestamp) -> Result<u32, StoreError> {
        self.write(move |conn| {
            conn.immediate_transaction(|conn| {
                let apps: i64 = github_apps::table.count().get_result(conn)?;
                if apps == 0 {
                    return Err(TxError::Store(StoreError::NotFound));
                }
                Ok(remove_everything(conn, millis(at))?)
            })
            .map_err(|e| e.into_store(|| "GitHub App".to_owned()))
        })
        .await
    }

    async fn upsert_installation(
        &self,
        installation: &RemoteInstallation,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let i = installation.clone();
        let id = id_i64(i.id)?;
        let mut permissions = i.permissions.clone();
        permissions.sort();
        let permissions = permissions.join(",");
        self.write(move |conn| {
            diesel::insert_into(github_installations::table)
                .values((
                    github_installations::id.eq(id),
                    github_installations::account_login.eq(&i.account_login),
                    github_installations::account_type.eq(&i.account_type),
                    github_installations::repository_selection.eq(i.repository_selection.as_str()),
                    github_installations::permissions.eq(&permissions),
                    github_installations::state.eq(InstallationState::Active.as_str()),
                    github_installations::created_at.eq(millis(at)),
                    github_installations::updated_at.eq(millis(at)),
                ))
                .on_conflict(github_installations::id)
                .do_update()
                .set((
                    github_installations::account_login.eq(&i.account_login),
                    github_installations::account_type.eq(&i.account_type),
                    github_installations::repository_selection.eq(i.repository_selection.as_str()),
                    github_installations::permissions.eq(&permissions),
                    github_installations::updated_at.eq(millis(at)),
                ))
                .execute(conn)
                .map(drop)
                .map_err(store_error)
        })
        .await
    }

    async fn set_installation_state(
        &self,
        id: u64,
        state: InstallationState,
        detail: Option<&str>,
        synced: bool,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let id = id_i64(id)?;
        let detail = detail.map(str::to_owned);
        self.write(move |conn| {
            let target = github_installations::table.find(id);
            let n = if synced {
                diesel::update(target)
                    .set((
                        github_installations::state.eq(state.as_str()),
                        github_installations::detail.eq(detail),
                        github_installations::updated_at.eq(millis(at)),
                        github_installations::synced_at.eq(millis(at)),
                    ))
                    .execute(conn)
            } else {
                diesel::update(target)
                    .set((
                        github_installations::state.eq(state.as_str()),
                        github_installations::detail.eq(detail),
                        github_installations::updated_at.eq(millis(at)),
                    ))
                    .execute(conn)
            }
            .map_err(store_error)?;
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn installations(&self) -> Result<Vec<Installation>, StoreError> {
        self.read(|conn| {
            let rows: Vec<InstallationRow> = github_installations::table
                .select(InstallationRow::as_select())
                .load(conn)
                .map_err(store_error)?;
            let counts: Vec<(i64, i64)> = links::table
                .filter(links::covered.eq(true))
                .group_by(links::installation_id)
                .select((links::installation_id, diesel::dsl::count_star()))
                .load(conn)
                .map_err(store_error)?;
            let mut out = rows
                .into_iter()
                .map(|row| {
                    let n = counts
                        .iter()
                        .find(|(id, _)| *id == row.id)
                        .map_or(0, |(_, n)| *n);
                    installation(row, n)
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.sort_by_key(|i| (i.account_login.to_lowercase(), i.id));
            Ok(out)
        })
        .await
    }

    async fn apply_repository_sync(
        &self,
        installation_id: u64,
        repos: &[SyncedRepository],
        at: Timestamp,
    ) -> Result<SyncCounts, StoreError> {
        let installation_id = id_i64(installation_id)?;
        let repos = repos.to_vec();
        let at = millis(at);
        self.write(move |conn| {
            conn.immediate_transaction(|conn| {
                let known: i64 = github_installations::table
                    .filter(github_installations::id.eq(installation_id))
                    .count()
                    .get_result(conn)?;
                if known == 0 {
                    return Err(TxError::Store(StoreError::NotFound));
                }
                let mut counts = SyncCounts::default();
                let mut seen = Vec::with_capacity(repos.len());
                for synced in &repos {
                    let (added, updated) = sync_one(conn, installation_id, synced, at)?;
                    counts.added += u32::from(added);
                    counts.updated += u32::from(updated);
                    counts.total += 1;
                    seen.push(id_i64(synced.remote.github_id)?);
                }
                let gone: Vec<(i64, String)> = links::table
                    .filter(links::installation_id.eq(installation_id))
                    .filter(links::covered.eq(true))
                    .filter(links::github_id.ne_all(&seen))
                    .select((links::github_id, links::repository_id))
                    .load(conn)?;
                for (github_id, repository_id) in gone {
                    diesel::update(links::table.find(github_id))
                        .set((links::covered.eq(false), links::updated_at.eq(at)))
                        .execute(conn)?;
                    counts.deactivated += u32::from(deactivate(conn, &repository_id, at)?);
                }
                Ok::<_, TxError>(counts)
            })
            .map_err(|e| e.into_store(|| "synced repository".to_owned()))
        })
        .await
    }

    async fn release_installation_repositories(
        &self,
        installation_id: u64,
        at: Timestamp,
    ) -> Result<u32, StoreError> {
        let installation_id = id_i64(installation_id)?;
        self.write(move |conn| {
            conn.immediate_transaction(|conn| release(conn, Some(installation_id), millis(at)))
                .map_err(store_error)
        })
        .await
    }

    async fn repository_link(&self, id: RepositoryId) -> Result<Option<(u64, u64)>, StoreError> {
        self.read(move |conn| {
            let row: Option<(i64, i64)> = links::table
                .inner_join(repositories::table)
                .filter(links::repository_id.eq(id.to_string()))
                .filter(links::covered.eq(true))
                .filter(repositories::deleted_at.is_null())
                .select((links::github_id, links::installation_id))
                .first(conn)
                .optional()
                .map_err(store_error)?;
            row.map(|(g, i)| Ok((id_u64(g)?, id_u64(i)?))).transpose()
        })
        .await
    }
}
