//! Row types of `builds`, `build_steps` and `artifacts`, and their conversion to and
//! from [`Build`], [`BuildStep`] and [`Artifact`]. A row that does not convert back is
//! [`StoreError::Corrupt`], naming the table, column and row.

use std::fmt::Display;
use std::str::FromStr;

use diesel::prelude::*;
use jiff::Timestamp;
use oore_core::domain::build::{
    Artifact, Build, BuildStatus, BuildStep, Priority, StepStatus, TriggerType,
};
use oore_core::domain::repository::BranchName;
use oore_core::ids::BuildId;
use oore_core::ports::{BuildUpdate, StoreError};
use oore_core::scheduling::{QueuedBuild, RepoConcurrency, RunningBuild};

use super::millis;
use super::schema::{artifacts, build_steps, builds};

/// Reads the columns of one row, turning every failure into `Corrupt` with its place.
struct Cells<'a> {
    table: &'static str,
    id: &'a str,
}

impl Cells<'_> {
    fn bad(&self, column: &str, why: &dyn Display) -> StoreError {
        StoreError::Corrupt(format!("{}.{column} of row {}: {why}", self.table, self.id))
    }

    fn parse<T: FromStr>(&self, column: &str, raw: &str) -> Result<T, StoreError>
    where
        T::Err: Display,
    {
        raw.parse().map_err(|e| self.bad(column, &e))
    }

    fn time(&self, column: &str, ms: i64) -> Result<Timestamp, StoreError> {
        Timestamp::from_millisecond(ms).map_err(|e| self.bad(column, &e))
    }

    fn opt_time(&self, column: &str, ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
        ms.map(|ms| self.time(column, ms)).transpose()
    }

    fn unsigned<T: TryFrom<i64>>(&self, column: &str, n: i64) -> Result<T, StoreError> {
        T::try_from(n).map_err(|_| self.bad(column, &format!("{n} is out of range")))
    }
}

/// A domain number that does not fit a column (never happens for real data).
fn too_large(what: &str, n: impl Display) -> StoreError {
    StoreError::Other(format!("{what} {n} is too large to store"))
}

fn signed(what: &str, n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| too_large(what, n))
}

/// A `builds` row as read back.
#[derive(Queryable, Selectable)]
#[diesel(table_name = builds, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct BuildRow {
    id: String,
    repository_id: String,
    number: i64,
    status: String,
    trigger_type: String,
    priority: i64,
    branch: Option<String>,
    tag: Option<String>,
    pull_request: Option<i64>,
    commit_sha: Option<String>,
    workflow: Option<String>,
    config_source: Option<String>,
    webhook_event_id: Option<String>,
    error_message: Option<String>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    base_branch: Option<String>,
}

impl TryFrom<BuildRow> for Build {
    type Error = StoreError;

    fn try_from(row: BuildRow) -> Result<Self, StoreError> {
        let c = Cells {
            table: "builds",
            id: &row.id,
        };
        let priority = u8::try_from(row.priority)
            .ok()
            .and_then(Priority::from_number)
            .ok_or_else(|| c.bad("priority", &format!("{} is not 1 to 4", row.priority)))?;
        Ok(Build {
            id: c.parse("id", &row.id)?,
            repository_id: c.parse("repository_id", &row.repository_id)?,
            number: c.unsigned("number", row.number)?,
            status: c.parse::<BuildStatus>("status", &row.status)?,
            trigger: c.parse::<TriggerType>("trigger_type", &row.trigger_type)?,
            priority,
            branch: row
                .branch
                .as_deref()
                .map(|b| BranchName::new_for("branch", b).map_err(|e| c.bad("branch", &e)))
                .transpose()?,
            base_branch: row
                .base_branch
                .as_deref()
                .map(|b| {
                    BranchName::new_for("base_branch", b).map_err(|e| c.bad("base_branch", &e))
                })
                .transpose()?,
            pull_request: row
                .pull_request
                .map(|n| c.unsigned("pull_request", n))
                .transpose()?,
            webhook_event_id: row
                .webhook_event_id
                .as_deref()
                .map(|id| c.parse("webhook_event_id", id))
                .transpose()?,
            created_at: c.time("created_at", row.created_at)?,
            started_at: c.opt_time("started_at", row.started_at)?,
            finished_at: c.opt_time("finished_at", row.finished_at)?,
            tag: row.tag,
            commit_sha: row.commit_sha,
            workflow: row.workflow,
            config_source: row.config_source,
            error_message: row.error_message,
        })
    }
}

/// A `builds` row to insert.
#[derive(Insertable)]
#[diesel(table_name = builds)]
pub(super) struct NewBuildRow<'a> {
    id: String,
    repository_id: String,
    number: i64,
    status: &'static str,
    trigger_type: &'static str,
    priority: i64,
    branch: Option<&'a str>,
    tag: Option<&'a str>,
    pull_request: Option<i64>,
    commit_sha: Option<&'a str>,
    workflow: Option<&'a str>,
    config_source: Option<&'a str>,
    webhook_event_id: Option<String>,
    error_message: Option<&'a str>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    base_branch: Option<&'a str>,
}

impl<'a> NewBuildRow<'a> {
    /// `build` as a row with per-repository number `number`.
    pub(super) fn new(build: &'a Build, number: i64) -> Result<Self, StoreError> {
        Ok(Self {
            id: build.id.to_string(),
            repository_id: build.repository_id.to_string(),
            number,
            status: build.status.as_str(),
            trigger_type: build.trigger.as_str(),
            priority: i64::from(build.priority.number()),
            branch: build.branch.as_ref().map(BranchName::as_str),
            tag: build.tag.as_deref(),
            pull_request: build
                .pull_request
                .map(|n| signed("pull request number", n))
                .transpose()?,
            commit_sha: build.commit_sha.as_deref(),
            workflow: build.workflow.as_deref(),
            config_source: build.config_source.as_deref(),
            webhook_event_id: build.webhook_event_id.map(|id| id.to_string()),
            error_message: build.error_message.as_deref(),
            created_at: millis(build.created_at),
            started_at: build.started_at.map(millis),
            finished_at: build.finished_at.map(millis),
            base_branch: build.base_branch.as_ref().map(BranchName::as_str),
        })
    }
}

/// What `transition_build` writes: the new status and the `Some` fields of the update
/// (diesel leaves a column alone when its field is `None`).
#[derive(AsChangeset)]
#[diesel(table_name = builds)]
pub(super) struct BuildChange<'a> {
    status: &'static str,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    error_message: Option<&'a str>,
    commit_sha: Option<&'a str>,
    workflow: Option<&'a str>,
    config_source: Option<&'a str>,
}

impl<'a> BuildChange<'a> {
    pub(super) fn new(to: BuildStatus, update: &'a BuildUpdate) -> Self {
        Self {
            status: to.as_str(),
            started_at: update.started_at.map(millis),
            finished_at: update.finished_at.map(millis),
            error_message: update.error_message.as_deref(),
            commit_sha: update.commit_sha.as_deref(),
            workflow: update.workflow.as_deref(),
            config_source: update.config_source.as_deref(),
        }
    }
}

/// A pending build joined with its repository's concurrency mode.
pub(super) type QueuedRow = (String, String, i64, i64, String);

pub(super) fn queued_build(row: QueuedRow) -> Result<QueuedBuild, StoreError> {
    let (id, repository_id, priority, created_at, concurrency) = row;
    let c = Cells {
        table: "builds",
        id: &id,
    };
    Ok(QueuedBuild {
        id: c.parse("id", &id)?,
        repository_id: c.parse("repository_id", &repository_id)?,
        priority: u8::try_from(priority)
            .ok()
            .and_then(Priority::from_number)
            .ok_or_else(|| c.bad("priority", &format!("{priority} is not 1 to 4")))?,
        queued_at: c.time("created_at", created_at)?,
        concurrency: concurrency.parse::<RepoConcurrency>().map_err(|e| {
            StoreError::Corrupt(format!(
                "repositories.build_concurrency of the repository of build {id}: {e}"
            ))
        })?,
    })
}

pub(super) fn running_build(
    (id, repository_id): (String, String),
) -> Result<RunningBuild, StoreError> {
    let c = Cells {
        table: "builds",
        id: &id,
    };
    Ok(RunningBuild {
        id: c.parse("id", &id)?,
        repository_id: c.parse("repository_id", &repository_id)?,
    })
}

/// A `build_steps` row, read back or to insert.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = build_steps, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct StepRow {
    id: String,
    build_id: String,
    idx: i64,
    name: String,
    status: String,
    ignore_failure: bool,
    exit_code: Option<i32>,
    error_message: Option<String>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl StepRow {
    /// `step` as a row of build `build`.
    pub(super) fn new(build: BuildId, step: &BuildStep) -> Self {
        Self {
            id: step.id.to_string(),
            build_id: build.to_string(),
            idx: i64::from(step.index),
            name: step.name.clone(),
            status: step.status.as_str().to_owned(),
            ignore_failure: step.ignore_failure,
            exit_code: step.exit_code,
            error_message: step.error_message.clone(),
            started_at: step.started_at.map(millis),
            finished_at: step.finished_at.map(millis),
        }
    }
}

impl TryFrom<StepRow> for BuildStep {
    type Error = StoreError;

    fn try_from(row: StepRow) -> Result<Self, StoreError> {
        let c = Cells {
            table: "build_steps",
            id: &row.id,
        };
        Ok(BuildStep {
            id: c.parse("id", &row.id)?,
            build_id: c.parse("build_id", &row.build_id)?,
            index: c.unsigned("idx", row.idx)?,
            status: c.parse::<StepStatus>("status", &row.status)?,
            ignore_failure: row.ignore_failure,
            exit_code: row.exit_code,
            started_at: c.opt_time("started_at", row.started_at)?,
            finished_at: c.opt_time("finished_at", row.finished_at)?,
            name: row.name,
            error_message: row.error_message,
        })
    }
}

/// What `transition_step` writes: every field that changes while a step runs. A `None`
/// clears its column.
#[derive(AsChangeset)]
#[diesel(table_name = build_steps, treat_none_as_null = true)]
pub(super) struct StepChange<'a> {
    status: &'static str,
    exit_code: Option<i32>,
    error_message: Option<&'a str>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl<'a> StepChange<'a> {
    pub(super) fn new(step: &'a BuildStep) -> Self {
        Self {
            status: step.status.as_str(),
            exit_code: step.exit_code,
            error_message: step.error_message.as_deref(),
            started_at: step.started_at.map(millis),
            finished_at: step.finished_at.map(millis),
        }
    }
}

/// An `artifacts` row, read back or to insert.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = artifacts, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct ArtifactRow {
    id: String,
    build_id: String,
    path: String,
    size: i64,
    sha256: String,
    created_at: i64,
}

impl ArtifactRow {
    pub(super) fn new(a: &Artifact) -> Result<Self, StoreError> {
        Ok(Self {
            id: a.id.to_string(),
            build_id: a.build_id.to_string(),
            path: a.path.clone(),
            size: signed("artifact size", a.size)?,
            sha256: a.sha256.clone(),
            created_at: millis(a.created_at),
        })
    }
}

impl TryFrom<ArtifactRow> for Artifact {
    type Error = StoreError;

    fn try_from(row: ArtifactRow) -> Result<Self, StoreError> {
        let c = Cells {
            table: "artifacts",
            id: &row.id,
        };
        Ok(Artifact {
            id: c.parse("id", &row.id)?,
            build_id: c.parse("build_id", &row.build_id)?,
            size: c.unsigned("size", row.size)?,
            created_at: c.time("created_at", row.created_at)?,
            path: row.path,
            sha256: row.sha256,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> BuildRow {
        BuildRow {
            id: "01KAZ0000000000000000000AB".into(),
            repository_id: "01KAZ0000000000000000000CD".into(),
            number: 7,
            status: "running".into(),
            trigger_type: "pull_request".into(),
            priority: 2,
            branch: Some("feature/ü".into()),
            tag: None,
            pull_request: Some(12),
            commit_sha: None,
            workflow: None,
            config_source: None,
            webhook_event_id: None,
            error_message: None,
            created_at: 1_767_225_600_000,
            started_at: Some(1_767_225_600_001),
            finished_at: None,
            base_branch: Some("main".into()),
        }
    }

    #[test]
    fn a_good_row_converts() {
        let build = Build::try_from(row()).unwrap();
        assert_eq!(build.number, 7);
        assert_eq!(build.priority, Priority::REVIEW);
        assert_eq!(build.pull_request, Some(12));
        assert_eq!(build.branch.unwrap().as_str(), "feature/ü");
    }

    #[test]
    fn bad_rows_are_corrupt_and_name_the_column() {
        type Spoil = fn(&mut BuildRow);
        let cases: [(&str, Spoil); 8] = [
            ("builds.status", |r| r.status = "paused".into()),
            ("builds.trigger_type", |r| r.trigger_type = "cron".into()),
            ("builds.priority", |r| r.priority = 9),
            ("builds.number", |r| r.number = -1),
            ("builds.branch", |r| r.branch = Some("a..b".into())),
            ("builds.base_branch", |r| r.base_branch = Some("a b".into())),
            ("builds.repository_id", |r| r.repository_id = "x".into()),
            ("builds.webhook_event_id", |r| {
                r.webhook_event_id = Some("nope".into())
            }),
        ];
        for (column, spoil) in cases {
            let mut r = row();
            spoil(&mut r);
            let Err(StoreError::Corrupt(message)) = Build::try_from(r) else {
                panic!("{column}: expected Corrupt");
            };
            assert!(message.contains(column), "{message}");
            assert!(message.contains("01KAZ0000000000000000000AB"), "{message}");
        }
    }
}
