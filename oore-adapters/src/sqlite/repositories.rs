//! The `repositories` table: its row types, their conversion to and from
//! [`Repository`], and [`RepositoryStore`] for [`SqliteStore`].

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use jiff::Timestamp;
use oore_core::domain::repository::{
    BranchName, CloneUrl, ForkPolicy, Provider, RepoName, RepoOwner, Repository, RepositoryState,
};
use oore_core::domain::secret::{EncryptedSecret, StoredSecret};
use oore_core::ids::RepositoryId;
use oore_core::ports::{RepositoryFilter, RepositoryStore, StoreError};
use oore_core::scheduling::RepoConcurrency;

use super::error::store_error;
use super::schema::repositories;
use super::{SqliteStore, millis};

/// A live row as read back.
#[derive(Queryable, Selectable)]
#[diesel(table_name = repositories, check_for_backend(diesel::sqlite::Sqlite))]
struct RepositoryRow {
    id: String,
    provider: String,
    owner: String,
    name: String,
    clone_url: String,
    default_branch: String,
    state: String,
    webhook_secret: Option<Vec<u8>>,
    webhook_token_digest: Option<Vec<u8>>,
    clone_credentials: Option<Vec<u8>>,
    build_concurrency: String,
    fork_pull_requests: String,
    created_at: i64,
    updated_at: i64,
}

/// A row to insert: every column but `deleted_at`.
#[derive(Insertable)]
#[diesel(table_name = repositories)]
struct NewRepositoryRow<'a> {
    id: String,
    created_at: i64,
    #[diesel(embed)]
    fields: RepositoryFields<'a>,
}

/// The columns `update` replaces: everything but `id`, `created_at` and `deleted_at`.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = repositories, treat_none_as_null = true)]
struct RepositoryFields<'a> {
    provider: &'static str,
    owner: &'a str,
    name: &'a str,
    identity_key: String,
    owner_folded: String,
    name_folded: String,
    clone_url: &'a str,
    default_branch: &'a str,
    state: &'static str,
    webhook_secret: Option<&'a [u8]>,
    webhook_token_digest: Option<&'a [u8]>,
    clone_credentials: Option<&'a [u8]>,
    build_concurrency: &'static str,
    fork_pull_requests: &'static str,
    updated_at: i64,
}

impl<'a> From<&'a Repository> for RepositoryFields<'a> {
    fn from(r: &'a Repository) -> Self {
        Self {
            provider: r.provider.as_str(),
            owner: r.owner.as_str(),
            name: r.name.as_str(),
            identity_key: r.identity_key(),
            owner_folded: r.owner.as_str().to_lowercase(),
            name_folded: r.name.as_str().to_lowercase(),
            clone_url: r.clone_url.as_str(),
            default_branch: r.default_branch.as_str(),
            state: r.state.as_str(),
            webhook_secret: match &r.webhook_secret {
                Some(StoredSecret::Sealed(sealed)) => Some(sealed.as_bytes()),
                _ => None,
            },
            webhook_token_digest: match &r.webhook_secret {
                Some(StoredSecret::Digest(digest)) => Some(digest.as_slice()),
                _ => None,
            },
            clone_credentials: r.clone_credentials.as_ref().map(EncryptedSecret::as_bytes),
            build_concurrency: r.build_concurrency.as_str(),
            fork_pull_requests: r.fork_pull_requests.as_str(),
            updated_at: millis(r.updated_at),
        }
    }
}

impl TryFrom<RepositoryRow> for Repository {
    type Error = StoreError;

    fn try_from(row: RepositoryRow) -> Result<Self, StoreError> {
        let id = row.id;
        let bad = |column: &str, why: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("repositories.{column} of row {id}: {why}"))
        };
        let provider: Provider = row.provider.parse().map_err(|e| bad("provider", &e))?;
        let time =
            |column: &str, ms: i64| Timestamp::from_millisecond(ms).map_err(|e| bad(column, &e));
        Ok(Repository {
            id: id.parse::<RepositoryId>().map_err(|e| bad("id", &e))?,
            provider,
            owner: RepoOwner::new(provider, &row.owner).map_err(|e| bad("owner", &e))?,
            name: RepoName::new(&row.name).map_err(|e| bad("name", &e))?,
            clone_url: CloneUrl::new(&row.clone_url).map_err(|e| bad("clone_url", &e))?,
            default_branch: BranchName::new(&row.default_branch)
                .map_err(|e| bad("default_branch", &e))?,
            state: row
                .state
                .parse::<RepositoryState>()
                .map_err(|e| bad("state", &e))?,
            webhook_secret: match (row.webhook_secret, row.webhook_token_digest) {
                (None, None) => None,
                (Some(sealed), None) => {
                    Some(StoredSecret::Sealed(EncryptedSecret::from_bytes(sealed)))
                }
                (None, Some(digest)) => Some(StoredSecret::Digest(
                    <[u8; 32]>::try_from(digest.as_slice())
                        .map_err(|_| bad("webhook_token_digest", &"not 32 bytes"))?,
                )),
                (Some(_), Some(_)) => {
                    return Err(bad(
                        "webhook_token_digest",
                        &"set together with webhook_secret",
                    ));
                }
            },
            clone_credentials: row.clone_credentials.map(EncryptedSecret::from_bytes),
            build_concurrency: row
                .build_concurrency
                .parse::<RepoConcurrency>()
                .map_err(|e| bad("build_concurrency", &e))?,
            fork_pull_requests: row
                .fork_pull_requests
                .parse::<ForkPolicy>()
                .map_err(|e| bad("fork_pull_requests", &e))?,
            created_at: time("created_at", row.created_at)?,
            updated_at: time("updated_at", row.updated_at)?,
        })
    }
}

/// Names what a unique violation was about, from SQLite's "UNIQUE constraint failed:
/// repositories.<column>" message.
fn duplicate(e: DieselError, repository: &Repository) -> StoreError {
    match &e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.message().ends_with("repositories.id") =>
        {
            StoreError::Duplicate(format!("repository id {}", repository.id))
        }
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            StoreError::Duplicate(format!(
                "{} repository {}",
                repository.provider,
                repository.full_name()
            ))
        }
        _ => store_error(e),
    }
}

#[async_trait]
impl RepositoryStore for SqliteStore {
    async fn insert(&self, repository: &Repository) -> Result<(), StoreError> {
        let repository = repository.clone();
        self.write(move |conn| {
            let row = NewRepositoryRow {
                id: repository.id.to_string(),
                created_at: millis(repository.created_at),
                fields: RepositoryFields::from(&repository),
            };
            diesel::insert_into(repositories::table)
                .values(&row)
                .execute(conn)
                .map(drop)
                .map_err(|e| duplicate(e, &repository))
        })
        .await
    }

    async fn get(&self, id: RepositoryId) -> Result<Option<Repository>, StoreError> {
        self.read(move |conn| {
            repositories::table
                .find(id.to_string())
                .filter(repositories::deleted_at.is_null())
                .select(RepositoryRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(Repository::try_from)
                .transpose()
        })
        .await
    }

    async fn list(&self, filter: &RepositoryFilter) -> Result<Vec<Repository>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| {
            let mut query = repositories::table
                .filter(repositories::deleted_at.is_null())
                .select(RepositoryRow::as_select())
                .into_boxed();
            if let Some(provider) = filter.provider {
                query = query.filter(repositories::provider.eq(provider.as_str()));
            }
            if let Some(state) = filter.state {
                query = query.filter(repositories::state.eq(state.as_str()));
            }
            query
                .order_by((
                    repositories::owner_folded,
                    repositories::name_folded,
                    repositories::id,
                ))
                .load(conn)
                .map_err(store_error)?
                .into_iter()
                .map(Repository::try_from)
                .collect()
        })
        .await
    }

    async fn update(&self, repository: &Repository) -> Result<(), StoreError> {
        let repository = repository.clone();
        self.write(move |conn| {
            let changed = diesel::update(
                repositories::table
                    .find(repository.id.to_string())
                    .filter(repositories::deleted_at.is_null()),
            )
            .set(RepositoryFields::from(&repository))
            .execute(conn)
            .map_err(|e| duplicate(e, &repository))?;
            if changed == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn soft_delete(&self, id: RepositoryId, at: Timestamp) -> Result<(), StoreError> {
        self.write(move |conn| {
            let changed = diesel::update(
                repositories::table
                    .find(id.to_string())
                    .filter(repositories::deleted_at.is_null()),
            )
            .set((
                repositories::deleted_at.eq(millis(at)),
                repositories::updated_at.eq(millis(at)),
            ))
            .execute(conn)
            .map_err(store_error)?;
            if changed == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> RepositoryRow {
        RepositoryRow {
            id: "01KAZ0000000000000000000AB".into(),
            provider: "github".into(),
            owner: "acme".into(),
            name: "app".into(),
            clone_url: "https://github.com/acme/app.git".into(),
            default_branch: "main".into(),
            state: "active".into(),
            webhook_secret: None,
            webhook_token_digest: None,
            clone_credentials: None,
            build_concurrency: "serial".into(),
            fork_pull_requests: "approve".into(),
            created_at: 1_767_225_600_000,
            updated_at: 1_767_225_600_001,
        }
    }

    #[test]
    fn a_good_row_converts() {
        let repo = Repository::try_from(row()).unwrap();
        assert_eq!(repo.full_name(), "acme/app");
        assert_eq!(repo.updated_at.as_millisecond(), 1_767_225_600_001);
        assert_eq!(repo.build_concurrency, RepoConcurrency::Serial);
    }

    #[test]
    fn bad_rows_are_corrupt_and_name_the_column() {
        type Spoil = fn(&mut RepositoryRow);
        let cases: [(&str, Spoil); 8] = [
            ("repositories.fork_pull_requests", |r| {
                r.fork_pull_requests = "sometimes".into()
            }),
            ("repositories.webhook_token_digest", |r| {
                r.webhook_token_digest = Some(vec![1; 31])
            }),
            ("repositories.webhook_token_digest", |r| {
                r.webhook_secret = Some(vec![1]);
                r.webhook_token_digest = Some(vec![1; 32]);
            }),
            ("repositories.provider", |r| r.provider = "svn".into()),
            ("repositories.state", |r| r.state = "zombie".into()),
            ("repositories.build_concurrency", |r| {
                r.build_concurrency = "sometimes".into()
            }),
            ("repositories.id", |r| r.id = "nope".into()),
            ("repositories.default_branch", |r| {
                r.default_branch = "a..b".into()
            }),
        ];
        for (column, spoil) in cases {
            let mut r = row();
            spoil(&mut r);
            let Err(StoreError::Corrupt(message)) = Repository::try_from(r) else {
                panic!("{column}: expected Corrupt");
            };
            assert!(message.contains(column), "{message}");
        }
    }
}
