//! The process columns of `build_steps` (`process_id`, `process_group`,
//! `process_started`): where each step runs its processes, written when it starts and
//! read by restart recovery.

use diesel::prelude::*;
use oore_core::ids::{BuildId, StepId};
use oore_core::ports::{StepProcess, StoreError};

use super::error::store_error;
use super::schema::build_steps;

/// The process columns of one step, as read back.
#[derive(Queryable, Selectable)]
#[diesel(table_name = build_steps, check_for_backend(diesel::sqlite::Sqlite))]
struct ProcessRow {
    id: String,
    process_id: Option<i64>,
    process_group: Option<i64>,
    process_started: Option<String>,
}

impl ProcessRow {
    /// `None` for a step without a record.
    fn into_process(self) -> Result<Option<StepProcess>, StoreError> {
        let (Some(pid), Some(group), Some(started)) =
            (self.process_id, self.process_group, self.process_started)
        else {
            return Ok(None);
        };
        let number = |column: &str, n: i64| {
            u32::try_from(n).map_err(|_| {
                StoreError::Corrupt(format!(
                    "build_steps.{column} of row {}: {n} is out of range",
                    self.id
                ))
            })
        };
        Ok(Some(StepProcess {
            pid: number("process_id", pid)?,
            process_group: number("process_group", group)?,
            started,
        }))
    }
}

/// Writes the record of step `step` of `build`; false when there is no such step.
pub(super) fn record(
    conn: &mut SqliteConnection,
    build: BuildId,
    step: StepId,
    process: &StepProcess,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        build_steps::table
            .find(step.to_string())
            .filter(build_steps::build_id.eq(build.to_string())),
    )
    .set((
        build_steps::process_id.eq(Some(i64::from(process.pid))),
        build_steps::process_group.eq(Some(i64::from(process.process_group))),
        build_steps::process_started.eq(Some(process.started.as_str())),
    ))
    .execute(conn)
    .map_err(store_error)?;
    Ok(changed == 1)
}

/// The records of `build`'s steps, by step index.
pub(super) fn of_build(
    conn: &mut SqliteConnection,
    build: BuildId,
) -> Result<Vec<StepProcess>, StoreError> {
    let rows: Vec<ProcessRow> = build_steps::table
        .filter(build_steps::build_id.eq(build.to_string()))
        .filter(build_steps::process_id.is_not_null())
        .order_by(build_steps::idx)
        .select(ProcessRow::as_select())
        .load(conn)
        .map_err(store_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.extend(row.into_process()?);
    }
    Ok(out)
}
