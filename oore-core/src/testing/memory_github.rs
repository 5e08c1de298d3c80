//! In-memory fakes of the GitHub App's ports: [`MemoryGitHubStore`] (over a
//! [`MemoryRepositoryStore`], like one database), [`ScriptedGitHubApi`] (answers set
//! by the test, every call recorded) and [`DirectTokens`] (mints through the API each
//! time, no cache).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use ulid::Ulid;

use super::MemoryRepositoryStore;
use crate::domain::repository::{
    BranchName, CloneUrl, ForkPolicy, Provider, RepoName, RepoOwner, Repository, RepositoryState,
};
use crate::domain::secret::{EncryptedSecret, SecretString};
use crate::forge::ForgeError;
use crate::github::ports::{
    Claim, GitHubApi, GitHubStore, InstallationTokens, SyncCounts, SyncedRepository, TokenError,
};
use crate::github::{
    AppAuth, AppInfo, GitHubApp, Installation, InstallationState, InstallationToken,
    NewAppCredentials, RemoteInstallation, RemoteRepository, SetupOutcome, SetupState,
};
use crate::ids::RepositoryId;
use crate::ports::{RepositoryFilter, RepositoryStore, SecretCipher, StoreError};
use crate::scheduling::RepoConcurrency;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Default)]
struct Rows {
    states: Vec<SetupState>,
    app: Option<GitHubApp>,
    installations: BTreeMap<u64, Installation>,
    /// github repository id -> (installation id, repository id, covered)
    links: BTreeMap<u64, (u64, RepositoryId, bool)>,
    /// repository id -> github id
    github_ids: BTreeMap<RepositoryId, u64>,
}

/// [`GitHubStore`] in memory, sharing repositories with a [`MemoryRepositoryStore`].
#[derive(Clone)]
pub struct MemoryGitHubStore {
    repositories: MemoryRepositoryStore,
    rows: Arc<Mutex<Rows>>,
}

impl MemoryGitHubStore {
    /// A store whose synced repositories live in `repositories`.
    pub fn new(repositories: MemoryRepositoryStore) -> Self {
        Self {
            repositories,
            rows: Arc::default(),
        }
    }
}

async fn deactivate(repos: &MemoryRepositoryStore, id: RepositoryId, at: Timestamp) -> bool {
    match repos.get(id).await {
        Ok(Some(mut repo)) if repo.state == RepositoryState::Active => {
            repo.state = RepositoryState::Inactive;
            repo.updated_at = at;
            repos.update(&repo).await.is_ok()
        }
        _ => false,
    }
}

#[async_trait]
impl GitHubStore for MemoryGitHubStore {
    async fn insert_setup_state(&self, state: &SetupState) -> Result<(), StoreError> {
        let mut rows = lock(&self.rows);
        if rows.states.iter().any(|s| s.digest == state.digest) {
            return Err(StoreError::Duplicate("setup state".into()));
        }
        rows.states.push(state.clone());
        Ok(())
    }

    async fn setup_state(&self, digest: &[u8; 32]) -> Result<Option<SetupState>, StoreError> {
        Ok(lock(&self.rows)
            .states
            .iter()
            .find(|s| &s.digest == digest)
            .cloned())
    }

    async fn claim_setup_state(
        &self,
        digest: &[u8; 32],
        at: Timestamp,
    ) -> Result<Claim, StoreError> {
        let mut rows = lock(&self.rows);
        let Some(state) = rows.states.iter_mut().find(|s| &s.digest == digest) else {
            return Ok(Claim::Unknown);
        };
        if state.used_at.is_some() {
            return Ok(Claim::AlreadyUsed(state.clone()));
        }
        let before = state.clone();
        state.used_at = Some(at);
        Ok(Claim::Claimed(before))
    }

    async fn release_setup_claim(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        let mut rows = lock(&self.rows);
        let state = rows
            .states
            .iter_mut()
            .find(|s| &s.digest == digest)
            .ok_or(StoreError::NotFound)?;
        if state.outcome == SetupOutcome::Pending {
            state.used_at = None;
        }
        Ok(())
    }

    async fn finish_setup_state(
        &self,
        digest: &[u8; 32],
        outcome: &SetupOutcome,
    ) -> Result<(), StoreError> {
        let mut rows = lock(&self.rows);
        let state = rows
            .states
            .iter_mut()
            .find(|s| &s.digest == digest)
            .ok_or(StoreError::NotFound)?;
        state.outcome = outcome.clone();
        Ok(())
    }

    async fn app(&self) -> Result<Option<GitHubApp>, StoreError> {
        Ok(lock(&self.rows).app.clone())
    }

    async fn replace_app(&self, app: &GitHubApp) -> Result<(), StoreError> {
        if lock(&self.rows).app.is_some() {
            self.remove_app(app.created_at).await?;
        }
        lock(&self.rows).app = Some(app.clone());
        Ok(())
    }

    async fn update_private_key(
        &self,
        row_id: Ulid,
        key: &EncryptedSecret,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut rows = lock(&self.rows);
        let app = rows
            .app
            .as_mut()
            .filter(|a| a.row_id == row_id)
            .ok_or(StoreError::NotFound)?;
        app.private_key = key.clone();
        app.updated_at = at;
        Ok(())
    }

    async fn remove_app(&self, at: Timestamp) -> Result<u32, StoreError> {
        let covered: Vec<RepositoryId> = {
            let mut rows = lock(&self.rows);
            if rows.app.take().is_none() {
                return Err(StoreError::NotFound);
            }
            rows.installations.clear();
            let covered = rows
                .links
                .values()
                .filter(|(_, _, c)| *c)
                .map(|(_, r, _)| *r)
                .collect();
            rows.links.clear();
            covered
        };
        let mut n = 0;
        for id in covered {
            n += u32::from(deactivate(&self.repositories, id, at).await);
        }
        Ok(n)
    }

    async fn upsert_installation(
        &self,
        installation: &RemoteInstallation,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut rows = lock(&self.rows);
        let entry = rows
            .installations
            .entry(installation.id)
            .or_insert_with(|| Installation {
                id: installation.id,
                account_login: String::new(),
                account_type: String::new(),
                repository_selection: installation.repository_selection,
                permissions: Vec::new(),
                state: InstallationState::Active,
                detail: None,
                repository_count: 0,
                synced_at: None,
                created_at: at,
                updated_at: at,
            });
        entry.account_login = installation.account_login.clone();
        entry.account_type = installation.account_type.clone();
        entry.repository_selection = installation.repository_selection;
        entry.permissions = installation.permissions.clone();
        entry.permissions.sort();
        entry.updated_at = at;
        Ok(())
    }

    async fn set_installation_state(
        &self,
        id: u64,
        state: InstallationState,
        detail: Option<&str>,
        synced: bool,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut rows = lock(&self.rows);
        let i = rows
            .installations
            .get_mut(&id)
            .ok_or(StoreError::NotFound)?;
        i.state = state;
        i.detail = detail.map(str::to_owned);
        i.updated_at = at;
        if synced {
            i.synced_at = Some(at);
        }
        Ok(())
    }

    async fn installations(&self) -> Result<Vec<Installation>, StoreError> {
        let rows = lock(&self.rows);
        let mut out: Vec<Installation> = rows
            .installations
            .values()
            .map(|i| {
                let mut i = i.clone();
                i.repository_count = u32::try_from(
                    rows.links
                        .values()
                        .filter(|(inst, _, covered)| *inst == i.id && *covered)
                        .count(),
                )
                .unwrap_or(u32::MAX);
                i
            })
            .collect();
        out.sort_by_key(|i| (i.account_login.to_lowercase(), i.id));
        Ok(out)
    }

    async fn apply_repository_sync(
        &self,
        installation_id: u64,
        repos: &[SyncedRepository],
        at: Timestamp,
    ) -> Result<SyncCounts, StoreError> {
        if !lock(&self.rows)
            .installations
            .contains_key(&installation_id)
        {
            return Err(StoreError::NotFound);
        }
        let mut counts = SyncCounts::default();
        let live = self.repositories.list(&RepositoryFilter::default()).await?;
        for synced in repos {
            let remote = &synced.remote;
            let (by_id, link) = {
                let rows = lock(&self.rows);
                let by_id = live
                    .iter()
                    .find(|r| rows.github_ids.get(&r.id) == Some(&remote.github_id))
                    .cloned();
                (by_id, rows.links.get(&remote.github_id).copied())
            };
            let owner = RepoOwner::new(Provider::GitHub, &remote.owner)
                .map_err(|e| StoreError::Other(e.to_string()))?;
            let name = RepoName::new(&remote.name).map_err(|e| StoreError::Other(e.to_string()))?;
            let clone_url =
                CloneUrl::new(&remote.clone_url).map_err(|e| StoreError::Other(e.to_string()))?;
            let branch = remote
                .default_branch
                .as_deref()
                .map(BranchName::new)
                .transpose()
                .map_err(|e| StoreError::Other(e.to_string()))?;
            let identity = crate::domain::repository::identity_key(Provider::GitHub, &owner, &name);
            let id = if let Some(mut repo) = by_id {
                let before = repo.clone();
                repo.owner = owner;
                repo.name = name;
                repo.clone_url = clone_url;
                if let Some(b) = branch {
                    repo.default_branch = b;
                }
                if repo.state == RepositoryState::Inactive && link.is_some_and(|l| !l.2) {
                    repo.state = RepositoryState::Active;
                }
                if repo != before {
                    repo.updated_at = at;
                    self.repositories.update(&repo).await?;
                    counts.updated += 1;
                }
                repo.id
            } else if let Some(repo) = live.iter().find(|r| {
                r.identity_key() == identity && !lock(&self.rows).github_ids.contains_key(&r.id)
            }) {
                // GitHub's spelling and clone URL win; branch, state and secret stay.
                let mut repo = repo.clone();
                repo.owner = owner;
                repo.name = name;
                repo.clone_url = clone_url;
                repo.updated_at = at;
                self.repositories.update(&repo).await?;
                counts.updated += 1;
                repo.id
            } else {
                let repo = Repository {
                    id: synced.new_id,
                    provider: Provider::GitHub,
                    owner,
                    name,
                    clone_url,
                    default_branch: branch.unwrap_or_else(BranchName::main),
                    state: RepositoryState::Active,
                    webhook_secret: None,
                    build_concurrency: RepoConcurrency::Parallel,
                    fork_pull_requests: ForkPolicy::default(),
                    clone_credentials: None,
                    created_at: at,
                    updated_at: at,
                };
                self.repositories.insert(&repo).await?;
                counts.added += 1;
                repo.id
            };
            let mut rows = lock(&self.rows);
            rows.github_ids.insert(id, remote.github_id);
            rows.links
                .insert(remote.github_id, (installation_id, id, true));
            counts.total += 1;
        }
        let gone: Vec<(u64, RepositoryId)> = lock(&self.rows)
            .links
            .iter()
            .filter(|(gid, (inst, _, covered))| {
                *inst == installation_id
                    && *covered
                    && !repos.iter().any(|r| r.remote.github_id == **gid)
            })
            .map(|(gid, (_, rid, _))| (*gid, *rid))
            .collect();
        for (gid, rid) in gone {
            if let Some(link) = lock(&self.rows).links.get_mut(&gid) {
                link.2 = false;
            }
            if deactivate(&self.repositories, rid, at).await {
                counts.deactivated += 1;
            }
        }
        Ok(counts)
    }

    async fn release_installation_repositories(
        &self,
        installation_id: u64,
        at: Timestamp,
    ) -> Result<u32, StoreError> {
        let released: Vec<RepositoryId> = {
            let mut rows = lock(&self.rows);
            rows.links
                .values_mut()
                .filter(|(inst, _, covered)| *inst == installation_id && *covered)
                .map(|link| {
                    link.2 = false;
                    link.1
                })
                .collect()
        };
        let mut n = 0;
        for id in released {
            n += u32::from(deactivate(&self.repositories, id, at).await);
        }
        Ok(n)
    }

    async fn repository_link(&self, id: RepositoryId) -> Result<Option<(u64, u64)>, StoreError> {
        if self.repositories.get(id).await?.is_none() {
            return Ok(None);
        }
        let rows = lock(&self.rows);
        Ok(rows.links.iter().find_map(|(gid, (inst, rid, covered))| {
            (*rid == id && *covered).then_some((*gid, *inst))
        }))
    }
}

/// What [`ScriptedGitHubApi`] answers; every field may be changed between calls.
#[derive(Debug, Clone, Default)]
pub struct GitHubScript {
    /// The answer to `convert_manifest` (any code), once.
    pub conversion: Option<Result<NewAppCredentials, ForgeError>>,
    /// The App `GET /app` returns, or its error.
    pub app: Option<Result<AppInfo, ForgeError>>,
    /// The installations, or the listing's error.
    pub installations: Option<Result<Vec<RemoteInstallation>, ForgeError>>,
    /// Per installation: its repositories, or the error minting its token gives.
    pub repositories: BTreeMap<u64, Result<Vec<RemoteRepository>, ForgeError>>,
}

/// A [`GitHubApi`] answering from a [`GitHubScript`]; tokens are `token-<installation>`.
/// Keys are valid when they contain `PRIVATE KEY`.
#[derive(Default)]
pub struct ScriptedGitHubApi {
    /// The answers.
    pub script: Mutex<GitHubScript>,
    /// Every call, e.g. `app`, `token 7`, `repositories token-7`.
    pub calls: Mutex<Vec<String>>,
}

impl ScriptedGitHubApi {
    fn record(&self, call: String) {
        lock(&self.calls).push(call);
    }

    /// Changes the script.
    pub fn set(&self, change: impl FnOnce(&mut GitHubScript)) {
        change(&mut lock(&self.script));
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }
}

fn missing(what: &str) -> ForgeError {
    ForgeError::Other {
        message: format!("the script has no {what}"),
    }
}

#[async_trait]
impl GitHubApi for ScriptedGitHubApi {
    async fn convert_manifest(&self, code: &str) -> Result<NewAppCredentials, ForgeError> {
        self.record(format!("convert {code}"));
        lock(&self.script).conversion.take().unwrap_or_else(|| {
            Err(ForgeError::NotFound {
                message: "Not Found".into(),
            })
        })
    }

    async fn app(&self, auth: &AppAuth) -> Result<AppInfo, ForgeError> {
        self.record(format!("app {}", auth.client_id));
        lock(&self.script)
            .app
            .clone()
            .unwrap_or_else(|| Err(missing("app")))
    }

    async fn installations(&self, _auth: &AppAuth) -> Result<Vec<RemoteInstallation>, ForgeError> {
        self.record("installations".into());
        lock(&self.script)
            .installations
            .clone()
            .unwrap_or_else(|| Ok(Vec::new()))
    }

    async fn create_installation_token(
        &self,
        _auth: &AppAuth,
        installation_id: u64,
    ) -> Result<InstallationToken, ForgeError> {
        self.record(format!("token {installation_id}"));
        match lock(&self.script).repositories.get(&installation_id) {
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(_)) => Ok(InstallationToken {
                token: SecretString::new(format!("token-{installation_id}")),
                expires_at: Timestamp::from_second(1_767_229_200).unwrap_or(Timestamp::UNIX_EPOCH),
            }),
            None => Err(ForgeError::NotFound {
                message: "Not Found".into(),
            }),
        }
    }

    async fn installation_repositories(
        &self,
        token: &SecretString,
    ) -> Result<Vec<RemoteRepository>, ForgeError> {
        self.record(format!("repositories {}", token.expose()));
        let id: u64 = token
            .expose()
            .trim_start_matches("token-")
            .parse()
            .map_err(|_| ForgeError::Unauthorized {
                message: "Bad credentials".into(),
            })?;
        lock(&self.script)
            .repositories
            .get(&id)
            .cloned()
            .unwrap_or_else(|| Err(missing("repositories")))
    }

    fn check_private_key(&self, pem: &SecretString) -> Result<(), String> {
        if pem.expose().contains("PRIVATE KEY") {
            Ok(())
        } else {
            Err("no PEM private key found".into())
        }
    }
}

/// [`InstallationTokens`] that mints through the API on every call (no cache): enough
/// for the use cases' tests.
pub struct DirectTokens {
    store: Arc<dyn GitHubStore>,
    api: Arc<dyn GitHubApi>,
    cipher: Arc<dyn SecretCipher>,
    /// Installations forgotten, in order (`None` for all).
    pub forgotten: Mutex<Vec<Option<u64>>>,
}

impl DirectTokens {
    /// Tokens for the App in `store`, minted through `api`.
    pub fn new(
        store: Arc<dyn GitHubStore>,
        api: Arc<dyn GitHubApi>,
        cipher: Arc<dyn SecretCipher>,
    ) -> Self {
        Self {
            store,
            api,
            cipher,
            forgotten: Mutex::default(),
        }
    }
}

#[async_trait]
impl InstallationTokens for DirectTokens {
    async fn token(&self, installation_id: u64) -> Result<InstallationToken, TokenError> {
        let app = self.store.app().await?.ok_or(TokenError::NotConfigured)?;
        let auth = crate::usecases::github::app_auth(self.cipher.as_ref(), &app)?;
        Ok(self
            .api
            .create_installation_token(&auth, installation_id)
            .await?)
    }

    fn forget(&self, installation_id: Option<u64>) {
        lock(&self.forgotten).push(installation_id);
    }
}

/// A valid stored App for tests, its key sealed with `cipher` for `row_id`.
pub fn sample_app(cipher: &dyn SecretCipher, row_id: Ulid, app_id: u64) -> GitHubApp {
    use crate::github::app_secret_binding;
    let at = Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH);
    let seal = |value: &str, column| {
        cipher
            .encrypt(
                &SecretString::new(value),
                &app_secret_binding(row_id, column),
            )
            .expect("seal a sample secret")
    };
    GitHubApp {
        row_id,
        app_id,
        slug: format!("oore-ci-{app_id}"),
        name: format!("Oore CI {app_id}"),
        client_id: format!("Iv1.{app_id}"),
        html_url: format!("https://github.com/apps/oore-ci-{app_id}"),
        owner_login: "acme".into(),
        client_secret: seal("client-secret", "client_secret"),
        webhook_secret: Some(seal("webhook-secret", "webhook_secret")),
        private_key: seal(
            "-----BEGIN RSA PRIVATE KEY-----\nsample\n-----END RSA PRIVATE KEY-----\n",
            "private_key",
        ),
        created_at: at,
        updated_at: at + SignedDuration::from_secs(1),
    }
}
