//! [`BuildStore`] for [`SqliteStore`]: the `builds`, `build_steps` and `artifacts`
//! tables (rows in [`super::build_rows`]).
//!
//! Per-repository numbers are assigned by the single writer connection inside the
//! inserting transaction (`BEGIN IMMEDIATE`, so even a second process writing the same
//! file cannot interleave): `MAX(number) + 1` over the repository's rows, read through
//! the `UNIQUE (repository_id, number)` index, then the insert.
//!
//! Listing is keyset pagination on `id`: the page's ids come from the per-filter
//! `(column, id)` index alone, then only those rows are read (see [`page_statement`];
//! `benches/build_list.rs` measures it over a million builds).

use async_trait::async_trait;
use diesel::dsl::{exists, max, select};
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use oore_core::domain::build::{Artifact, Build, BuildStatus, BuildStep, StepStatus};
use oore_core::ids::{ArtifactId, BuildId, RepositoryId, StepId};
use oore_core::ports::{BuildPage, BuildQuery, BuildStore, BuildUpdate, StepProcess, StoreError};
use oore_core::scheduling::{QueuedBuild, RunningBuild};

use super::SqliteStore;
use super::build_rows::{
    ArtifactRow, BuildChange, BuildRow, NewBuildRow, QueuedRow, StepChange, StepRow, queued_build,
    running_build,
};
use super::error::TxError;
use super::error::store_error;
use super::schema::{artifacts, build_steps, builds, repositories};

/// The largest code point: every string starting with `p` sorts in `[p, p + MAX_CHAR)`
/// under SQLite's byte-wise (BINARY) collation, so a prefix search is an index range.
const MAX_CHAR: char = char::MAX;

fn build_exists(conn: &mut SqliteConnection, id: BuildId) -> QueryResult<bool> {
    select(exists(builds::table.find(id.to_string()))).get_result(conn)
}

/// The filters, keyset and order of `q`, over every column (not yet limited).
fn filtered(q: &BuildQuery) -> builds::BoxedQuery<'static, Sqlite> {
    let mut query = builds::table.into_boxed();
    if let Some(repository) = q.repository_id {
        query = query.filter(builds::repository_id.eq(repository.to_string()));
    }
    if !q.statuses.is_empty() {
        query = query.filter(builds::status.eq_any(q.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(branch) = &q.branch {
        query = query.filter(builds::branch.eq(branch.as_str().to_owned()));
    }
    if let Some(trigger) = q.trigger {
        query = query.filter(builds::trigger_type.eq(trigger.as_str()));
    }
    if let Some(from) = q.created_from {
        query = query.filter(builds::created_at.ge(from.as_millisecond()));
    }
    if let Some(until) = q.created_until {
        query = query.filter(builds::created_at.lt(until.as_millisecond()));
    }
    if let Some(event) = q.webhook_event_id {
        query = query.filter(builds::webhook_event_id.eq(event.to_string()));
    }
    if let Some(prefix) = &q.commit_prefix {
        query = query
            .filter(builds::commit_sha.ge(prefix.clone()))
            .filter(builds::commit_sha.lt(format!("{prefix}{MAX_CHAR}")));
    }
    query = match (q.after, q.oldest_first) {
        (Some(after), true) => query.filter(builds::id.gt(after.to_string())),
        (Some(after), false) => query.filter(builds::id.lt(after.to_string())),
        (None, _) => query,
    };
    if q.oldest_first {
        query.order_by(builds::id.asc())
    } else {
        query.order_by(builds::id.desc())
    }
}

/// The statement for one page of `q`, `limit` rows at most. A late row lookup: the
/// subquery picks the page's ids reading indexes only (every list index ends in `id`),
/// then whole rows are fetched by primary key for just those ids. Filters whose index
/// yields rows in id order cost the same either way; a date range or commit prefix,
/// whose matching ids must be sorted, sorts ids instead of whole rows.
fn page_statement(
    q: &BuildQuery,
    limit: i64,
) -> diesel::dsl::Select<builds::BoxedQuery<'static, Sqlite>, diesel::dsl::AsSelect<BuildRow, Sqlite>>
{
    let ids = filtered(q).select(builds::id).limit(limit);
    let rows = builds::table.filter(builds::id.eq_any(ids)).into_boxed();
    let rows = if q.oldest_first {
        rows.order_by(builds::id.asc())
    } else {
        rows.order_by(builds::id.desc())
    };
    rows.select(BuildRow::as_select())
}

/// One page: `page_size + 1` rows are read to learn whether a next page exists.
fn list(conn: &mut SqliteConnection, q: &BuildQuery) -> Result<BuildPage, StoreError> {
    let size = q.page_size() as usize;
    let rows = page_statement(q, size as i64 + 1)
        .load(conn)
        .map_err(store_error)?;
    let mut builds = rows
        .into_iter()
        .map(Build::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if builds.len() > size {
        builds.truncate(size);
        builds.last().map(|b| b.id)
    } else {
        None
    };
    Ok(BuildPage { builds, next })
}

#[async_trait]
impl BuildStore for SqliteStore {
    async fn create_build(&self, build: &Build) -> Result<Build, StoreError> {
        let build = build.clone();
        self.write(move |conn| {
            super::tx::immediate(conn, |conn| {
                let last: Option<i64> = builds::table
                    .filter(builds::repository_id.eq(build.repository_id.to_string()))
                    .select(max(builds::number))
                    .get_result(conn)?;
                let number = last.unwrap_or(0) + 1;
                diesel::insert_into(builds::table)
                    .values(NewBuildRow::new(&build, number)?)
                    .execute(conn)?;
                Ok::<_, TxError>(Build {
                    number: number as u64,
                    ..build.clone()
                })
            })
            .map_err(|e| e.into_store(|| format!("build {}", build.id)))
        })
        .await
    }

    async fn get_build(&self, id: BuildId) -> Result<Option<Build>, StoreError> {
        self.read(move |conn| {
            builds::table
                .find(id.to_string())
                .select(BuildRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(Build::try_from)
                .transpose()
        })
        .await
    }

    async fn list_builds(&self, query: &BuildQuery) -> Result<BuildPage, StoreError> {
        let query = query.clone();
        self.read(move |conn| list(conn, &query)).await
    }

    async fn queued_builds(&self) -> Result<Vec<QueuedBuild>, StoreError> {
        self.read(|conn| {
            builds::table
                .inner_join(repositories::table)
                .filter(builds::status.eq(BuildStatus::Pending.as_str()))
                .order_by((builds::priority, builds::created_at, builds::id))
                .select((
                    builds::id,
                    builds::repository_id,
                    builds::priority,
                    builds::created_at,
                    repositories::build_concurrency,
                ))
                .load::<QueuedRow>(conn)
                .map_err(store_error)?
                .into_iter()
                .map(queued_build)
                .collect()
        })
        .await
    }

    async fn running_builds(&self) -> Result<Vec<RunningBuild>, StoreError> {
        self.read(|conn| {
            builds::table
                .filter(builds::status.eq(BuildStatus::Running.as_str()))
                .order_by(builds::id)
                .select((builds::id, builds::repository_id))
                .load::<(String, String)>(conn)
                .map_err(store_error)?
                .into_iter()
                .map(running_build)
                .collect()
        })
        .await
    }

    async fn transition_build(
        &self,
        id: BuildId,
        from: BuildStatus,
        to: BuildStatus,
        update: &BuildUpdate,
    ) -> Result<bool, StoreError> {
        let update = update.clone();
        self.write(move |conn| {
            let changed = diesel::update(
                builds::table
                    .find(id.to_string())
                    .filter(builds::status.eq(from.as_str())),
            )
            .set(BuildChange::new(to, &update))
            .execute(conn)
            .map_err(store_error)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn put_steps(&self, build: BuildId, steps: &[BuildStep]) -> Result<(), StoreError> {
        let rows: Vec<StepRow> = steps.iter().map(|s| StepRow::new(build, s)).collect();
        self.write(move |conn| {
            super::tx::immediate(conn, |conn| {
                if !build_exists(conn, build)? {
                    return Err(TxError::Store(StoreError::NotFound));
                }
                diesel::delete(
                    build_steps::table.filter(build_steps::build_id.eq(build.to_string())),
                )
                .execute(conn)?;
                // Row by row: diesel runs a multi-row insert of rows with optional
                // fields in a savepoint of its own, and when SQLite rolls the whole
                // transaction back by itself (a full disk) that savepoint's failed
                // rollback ("no such savepoint") would replace the cause (`tx.rs`).
                for row in &rows {
                    diesel::insert_into(build_steps::table)
                        .values(row)
                        .execute(conn)?;
                }
                Ok(())
            })
            .map_err(|e| e.into_store(|| format!("a step of build {build}")))
        })
        .await
    }

    async fn transition_step(
        &self,
        step: &BuildStep,
        from: StepStatus,
    ) -> Result<bool, StoreError> {
        let step = step.clone();
        self.write(move |conn| {
            let changed = diesel::update(
                build_steps::table
                    .find(step.id.to_string())
                    .filter(build_steps::build_id.eq(step.build_id.to_string()))
                    .filter(build_steps::status.eq(from.as_str())),
            )
            .set(StepChange::new(&step))
            .execute(conn)
            .map_err(store_error)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn list_steps(&self, build: BuildId) -> Result<Vec<BuildStep>, StoreError> {
        self.read(move |conn| {
            build_steps::table
                .filter(build_steps::build_id.eq(build.to_string()))
                .order_by(build_steps::idx)
                .select(StepRow::as_select())
                .load(conn)
                .map_err(store_error)?
                .into_iter()
                .map(BuildStep::try_from)
                .collect()
        })
        .await
    }

    async fn record_step_process(
        &self,
        build: BuildId,
        step: StepId,
        process: &StepProcess,
    ) -> Result<bool, StoreError> {
        let process = process.clone();
        self.write(move |conn| super::step_processes::record(conn, build, step, &process))
            .await
    }

    async fn step_processes(&self, build: BuildId) -> Result<Vec<StepProcess>, StoreError> {
        self.read(move |conn| super::step_processes::of_build(conn, build))
            .await
    }

    async fn add_artifacts(&self, artifacts: &[Artifact]) -> Result<(), StoreError> {
        let rows = artifacts
            .iter()
            .map(ArtifactRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(());
        }
        self.write(move |conn| {
            super::tx::immediate(conn, |conn| {
                // Row by row, as in `put_steps`.
                for row in &rows {
                    diesel::insert_into(artifacts::table)
                        .values(row)
                        .execute(conn)
                        .map_err(TxError::from)?;
                }
                Ok::<_, TxError>(())
            })
            .map_err(|e| e.into_store(|| "an artifact path or id".to_owned()))
        })
        .await
    }

    async fn list_artifacts(&self, build: BuildId) -> Result<Vec<Artifact>, StoreError> {
        self.read(move |conn| {
            artifacts::table
                .filter(artifacts::build_id.eq(build.to_string()))
                .order_by(artifacts::path)
                .select(ArtifactRow::as_select())
                .load(conn)
                .map_err(store_error)?
                .into_iter()
                .map(Artifact::try_from)
                .collect()
        })
        .await
    }

    async fn get_artifact(
        &self,
        build: BuildId,
        id: ArtifactId,
    ) -> Result<Option<Artifact>, StoreError> {
        self.read(move |conn| {
            artifacts::table
                .find(id.to_string())
                .filter(artifacts::build_id.eq(build.to_string()))
                .select(ArtifactRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(Artifact::try_from)
                .transpose()
        })
        .await
    }

    async fn get_build_by_number(
        &self,
        repository: RepositoryId,
        number: u64,
    ) -> Result<Option<Build>, StoreError> {
        let Ok(number) = i64::try_from(number) else {
            return Ok(None);
        };
        self.read(move |conn| {
            // `UNIQUE (repository_id, number)` makes this one index lookup.
            builds::table
                .filter(builds::repository_id.eq(repository.to_string()))
                .filter(builds::number.eq(number))
                .select(BuildRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(Build::try_from)
                .transpose()
        })
        .await
    }

    async fn find_builds_by_id_suffix(
        &self,
        suffix: &str,
        limit: u32,
    ) -> Result<Vec<Build>, StoreError> {
        // Ids are stored as uppercase ULID text; the suffix is checked by the caller to be
        // ULID characters only, so it holds no LIKE wildcard. No index serves a suffix:
        // this walks the primary key (a few ms per 100 000 builds), only for short ids.
        let pattern = format!("%{}", suffix.to_ascii_uppercase());
        self.read(move |conn| {
            builds::table
                .filter(builds::id.like(pattern))
                .order_by(builds::id.desc())
                .limit(i64::from(limit))
                .select(BuildRow::as_select())
                .load(conn)
                .map_err(store_error)?
                .into_iter()
                .map(Build::try_from)
                .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use diesel::query_builder::{QueryBuilder, QueryFragment};
    use diesel::sql_types::Text;
    use diesel::sqlite::SqliteQueryBuilder;
    use diesel_migrations::MigrationHarness;
    use jiff::Timestamp;
    use oore_core::domain::build::TriggerType;
    use oore_core::domain::repository::BranchName;
    use oore_core::ids::RepositoryId;

    use super::*;

    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// SQLite's plan for listing with `q`, one line per step. Without `ANALYZE`
    /// statistics the planner decides from the schema and the query alone, so an empty
    /// database shows the plan a million rows would get.
    fn plan(conn: &mut SqliteConnection, q: &BuildQuery) -> String {
        let query = page_statement(q, 51);
        let mut sql = SqliteQueryBuilder::new();
        QueryFragment::<Sqlite>::to_sql(&query, &mut sql, &Sqlite).unwrap();
        diesel::sql_query(format!("EXPLAIN QUERY PLAN {}", sql.finish()))
            .load::<PlanLine>(conn)
            .unwrap()
            .into_iter()
            .map(|l| l.detail)
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn every_single_filter_pages_through_an_index_in_id_order() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.run_pending_migrations(super::super::open::MIGRATIONS)
            .unwrap();
        let repo = RepositoryId::from_ulid(ulid::Ulid::from_parts(1, 1));
        let after = Some(BuildId::from_ulid(ulid::Ulid::from_parts(1, 2)));
        let t = Timestamp::UNIX_EPOCH;
        let q = |f: fn(&mut BuildQuery)| {
            let mut q = BuildQuery {
                after,
                ..BuildQuery::default()
            };
            f(&mut q);
            q
        };
        // (what, query, index used, whether sorting the matching rows is expected)
        let cases: Vec<(&str, BuildQuery, &str, bool)> = vec![
            ("no filter", q(|_| {}), "sqlite_autoindex_builds_1", false),
            (
                "repository",
                BuildQuery {
                    repository_id: Some(repo),
                    ..q(|_| {})
                },
                "builds_by_repository (repository_id=? AND id<?)",
                false,
            ),
            (
                "repository and status",
                BuildQuery {
                    repository_id: Some(repo),
                    statuses: vec![BuildStatus::Failure],
                    ..q(|_| {})
                },
                "builds_by_repository_status (repository_id=? AND status=? AND id<?)",
                false,
            ),
            (
                "status",
                q(|q| q.statuses = vec![BuildStatus::Running]),
                "builds_by_status (status=? AND id<?)",
                false,
            ),
            (
                "branch",
                q(|q| q.branch = Some(BranchName::main())),
                "builds_by_branch (branch=? AND id<?)",
                false,
            ),
            (
                "trigger",
                q(|q| q.trigger = Some(TriggerType::Manual)),
                "builds_by_trigger (trigger_type=? AND id<?)",
                false,
            ),
            (
                "oldest first",
                q(|q| {
                    q.oldest_first = true;
                    q.trigger = Some(TriggerType::Push);
                }),
                "builds_by_trigger (trigger_type=? AND id>?)",
                false,
            ),
            (
                // One range per status, each cut at the limit by SQLite, then merged.
                "several statuses",
                q(|q| q.statuses = vec![BuildStatus::Pending, BuildStatus::Running]),
                "builds_by_status (status=? AND id<?)",
                true,
            ),
            (
                "commit prefix",
                q(|q| q.commit_prefix = Some("abcd".into())),
                "builds_by_commit (commit_sha>? AND commit_sha<?)",
                true,
            ),
            (
                "created range",
                BuildQuery {
                    created_from: Some(t),
                    created_until: Some(t),
                    ..q(|_| {})
                },
                "builds_by_created (created_at>? AND created_at<?)",
                true,
            ),
        ];
        for (what, query, index, sorts) in cases {
            let plan = plan(&mut conn, &query);
            assert!(
                plan.contains(&format!("COVERING INDEX {index}")),
                "{what}: the page's ids come from the index alone: {plan}"
            );
            assert!(
                !plan.contains("SCAN builds") || index.starts_with("sqlite_autoindex"),
                "{what}: {plan}"
            );
            assert_eq!(plan.contains("TEMP B-TREE"), sorts, "{what}: {plan}");
        }
    }
}
