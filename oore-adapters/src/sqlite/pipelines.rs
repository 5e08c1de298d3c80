//! The `pipeline_versions` and `pipeline_configs` tables: [`PipelineStore`] for
//! [`SqliteStore`]. A save inserts version `MAX + 1` and points `pipeline_configs` at it in
//! one transaction on the writer connection, so numbers never repeat.

use async_trait::async_trait;
use diesel::prelude::*;
use jiff::Timestamp;
use oore_core::ids::RepositoryId;
use oore_core::pipeline::Format;
use oore_core::ports::{PipelineHistoryEntry, PipelineStore, PipelineVersion, StoreError};

use super::error::store_error;
use super::schema::{pipeline_configs, pipeline_versions};
use super::{SqliteStore, millis};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = pipeline_versions, check_for_backend(diesel::sqlite::Sqlite))]
struct VersionRow {
    repository_id: String,
    version: i64,
    content: String,
    format: String,
    created_at: i64,
}

impl TryFrom<VersionRow> for PipelineVersion {
    type Error = StoreError;

    fn try_from(row: VersionRow) -> Result<Self, StoreError> {
        let at = format!(
            "pipeline_versions row {}/{}",
            row.repository_id, row.version
        );
        let bad = |column: &str, why: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("{at}: {column}: {why}"))
        };
        Ok(PipelineVersion {
            repository_id: row
                .repository_id
                .parse()
                .map_err(|e| bad("repository_id", &e))?,
            version: u32::try_from(row.version).map_err(|e| bad("version", &e))?,
            content: row.content,
            format: row
                .format
                .parse::<Format>()
                .map_err(|e| bad("format", &e))?,
            created_at: Timestamp::from_millisecond(row.created_at)
                .map_err(|e| bad("created_at", &e))?,
        })
    }
}

fn current_version(conn: &mut SqliteConnection, repo: &str) -> Result<Option<i64>, StoreError> {
    pipeline_configs::table
        .find(repo)
        .select(pipeline_configs::current_version)
        .first::<Option<i64>>(conn)
        .optional()
        .map(Option::flatten)
        .map_err(store_error)
}

#[async_trait]
impl PipelineStore for SqliteStore {
    async fn current(
        &self,
        repository: RepositoryId,
    ) -> Result<Option<PipelineVersion>, StoreError> {
        let repo = repository.to_string();
        self.read(move |conn| {
            let Some(version) = current_version(conn, &repo)? else {
                return Ok(None);
            };
            pipeline_versions::table
                .find((&repo, version))
                .select(VersionRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(PipelineVersion::try_from)
                .transpose()
        })
        .await
    }

    async fn save(
        &self,
        repository: RepositoryId,
        content: &str,
        format: Format,
        at: Timestamp,
    ) -> Result<PipelineVersion, StoreError> {
        let repo = repository.to_string();
        let content = content.to_owned();
        self.write(move |conn| {
            super::tx::immediate(conn, |conn| {
                let max: Option<i64> = pipeline_versions::table
                    .filter(pipeline_versions::repository_id.eq(&repo))
                    .select(diesel::dsl::max(pipeline_versions::version))
                    .first(conn)?;
                let row = VersionRow {
                    repository_id: repo.clone(),
                    version: max.unwrap_or(0) + 1,
                    content,
                    format: format.as_str().to_owned(),
                    created_at: millis(at),
                };
                diesel::insert_into(pipeline_versions::table)
                    .values(&row)
                    .execute(conn)?;
                diesel::insert_into(pipeline_configs::table)
                    .values((
                        pipeline_configs::repository_id.eq(&repo),
                        pipeline_configs::current_version.eq(Some(row.version)),
                        pipeline_configs::updated_at.eq(millis(at)),
                    ))
                    .on_conflict(pipeline_configs::repository_id)
                    .do_update()
                    .set((
                        pipeline_configs::current_version.eq(Some(row.version)),
                        pipeline_configs::updated_at.eq(millis(at)),
                    ))
                    .execute(conn)?;
                Ok::<_, diesel::result::Error>(row)
            })
            .map_err(store_error)
            .and_then(PipelineVersion::try_from)
        })
        .await
    }

    async fn clear(&self, repository: RepositoryId, at: Timestamp) -> Result<(), StoreError> {
        let repo = repository.to_string();
        self.write(move |conn| {
            let changed = diesel::update(
                pipeline_configs::table
                    .filter(pipeline_configs::repository_id.eq(&repo))
                    .filter(pipeline_configs::current_version.is_not_null()),
            )
            .set((
                pipeline_configs::current_version.eq(None::<i64>),
                pipeline_configs::updated_at.eq(millis(at)),
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

    async fn history(
        &self,
        repository: RepositoryId,
    ) -> Result<Vec<PipelineHistoryEntry>, StoreError> {
        let repo = repository.to_string();
        self.read(move |conn| {
            let current = current_version(conn, &repo)?;
            let rows: Vec<VersionRow> = pipeline_versions::table
                .filter(pipeline_versions::repository_id.eq(&repo))
                .order(pipeline_versions::version.desc())
                .select(VersionRow::as_select())
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter()
                .map(|row| {
                    let is_current = Some(row.version) == current;
                    Ok(PipelineHistoryEntry {
                        version: row.try_into()?,
                        current: is_current,
                    })
                })
                .collect()
        })
        .await
    }

    async fn version(
        &self,
        repository: RepositoryId,
        version: u32,
    ) -> Result<Option<PipelineVersion>, StoreError> {
        let repo = repository.to_string();
        self.read(move |conn| {
            pipeline_versions::table
                .find((&repo, i64::from(version)))
                .select(VersionRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(PipelineVersion::try_from)
                .transpose()
        })
        .await
    }
}
