//! [`WebhookEventStore`] for [`SqliteStore`]: the `webhook_events` table (the event
//! queue and audit trail) and `webhook_deliveries` (the replay window).
//!
//! A batch is one `BEGIN IMMEDIATE` transaction on the single writer connection: for
//! each event, the delivery id is looked up (in the batch so far, then in
//! `webhook_deliveries`), and a new one is inserted with its delivery row. The
//! `PRIMARY KEY (provider, delivery_id)` of `webhook_deliveries` is the backstop should
//! a second process write the same file. Headers and payload are the last columns and
//! are read only by `get`.

use std::collections::HashMap;
use std::fmt::Display;

use async_trait::async_trait;
use diesel::dsl::{count_star, exists, select};
use diesel::prelude::*;
use jiff::Timestamp;
use oore_core::domain::repository::Provider;
use oore_core::domain::webhook::{Approval, WebhookEvent, WebhookEventDetail, WebhookEventStatus};
use oore_core::ids::{BuildId, WebhookEventId};
use oore_core::ports::{
    EventFinish, InsertOutcome, NewWebhookEvent, RejectedWebhookEvent, StoreError,
    WebhookEventPage, WebhookEventQuery, WebhookEventStore,
};

use super::error::TxError;
use super::error::store_error;
use super::schema::{webhook_deliveries, webhook_events};
use super::{SqliteStore, millis};

/// A `webhook_events` row without its headers and payload.
#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_events, check_for_backend(diesel::sqlite::Sqlite))]
struct EventRow {
    id: String,
    provider: String,
    delivery_id: String,
    event_type: String,
    repository_id: Option<String>,
    status: String,
    reason: Option<String>,
    source_ip: Option<String>,
    received_at: i64,
    processed_at: Option<i64>,
    build_ids: String,
    approved_by: Option<String>,
    approved_at: Option<i64>,
}

fn corrupt(id: &str, column: &str, why: &dyn Display) -> StoreError {
    StoreError::Corrupt(format!("webhook_events.{column} of row {id}: {why}"))
}

impl TryFrom<EventRow> for WebhookEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let id = row.id.as_str();
        let bad = |column: &str, why: &dyn Display| corrupt(id, column, why);
        let time =
            |column: &str, ms: i64| Timestamp::from_millisecond(ms).map_err(|e| bad(column, &e));
        let build_ids: Vec<String> =
            serde_json::from_str(&row.build_ids).map_err(|e| bad("build_ids", &e))?;
        Ok(WebhookEvent {
            id: id.parse().map_err(|e| bad("id", &e))?,
            provider: row
                .provider
                .parse::<Provider>()
                .map_err(|e| bad("provider", &e))?,
            delivery_id: row.delivery_id,
            event_type: row.event_type,
            repository_id: row
                .repository_id
                .as_deref()
                .map(|r| r.parse().map_err(|e| bad("repository_id", &e)))
                .transpose()?,
            status: row
                .status
                .parse::<WebhookEventStatus>()
                .map_err(|e| bad("status", &e))?,
            reason: row.reason,
            source_ip: row.source_ip,
            received_at: time("received_at", row.received_at)?,
            processed_at: row
                .processed_at
                .map(|ms| time("processed_at", ms))
                .transpose()?,
            build_ids: build_ids
                .iter()
                .map(|b| b.parse::<BuildId>().map_err(|e| bad("build_ids", &e)))
                .collect::<Result<_, _>>()?,
            approval: match (row.approved_by, row.approved_at) {
                (None, None) => None,
                (Some(by), Some(at)) => Some(Approval {
                    by,
                    at: time("approved_at", at)?,
                }),
                _ => {
                    return Err(bad(
                        "approved_at",
                        &"set without approved_by, or the reverse",
                    ));
                }
            },
        })
    }
}

/// A row to insert.
#[derive(Insertable)]
#[diesel(table_name = webhook_events)]
struct NewEventRow<'a> {
    id: String,
    provider: &'static str,
    delivery_id: &'a str,
    event_type: &'a str,
    repository_id: Option<String>,
    status: &'static str,
    reason: Option<&'a str>,
    source_ip: Option<&'a str>,
    received_at: i64,
    build_ids: &'static str,
    payload_size: i64,
    headers: String,
    payload: &'a [u8],
}

impl<'a> NewEventRow<'a> {
    fn new(
        event: &'a NewWebhookEvent,
        status: WebhookEventStatus,
        reason: Option<&'a str>,
        payload_size: u64,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            id: event.id.to_string(),
            provider: event.provider.as_str(),
            delivery_id: &event.delivery_id,
            event_type: &event.event_type,
            repository_id: event.repository_id.map(|r| r.to_string()),
            status: status.as_str(),
            reason,
            source_ip: event.source_ip.as_deref(),
            received_at: millis(event.received_at),
            build_ids: "[]",
            payload_size: i64::try_from(payload_size).unwrap_or(i64::MAX),
            headers: serde_json::to_string(&event.headers)
                .map_err(|e| StoreError::Other(format!("headers could not be written: {e}")))?,
            payload: &event.payload,
        })
    }
}

fn insert_event(
    conn: &mut SqliteConnection,
    event: &NewWebhookEvent,
    status: WebhookEventStatus,
    reason: Option<&str>,
    payload_size: u64,
) -> Result<(), TxError> {
    diesel::insert_into(webhook_events::table)
        .values(NewEventRow::new(event, status, reason, payload_size)?)
        .execute(conn)?;
    Ok(())
}

/// Deletes the oldest rejected events beyond `keep` (by id, through
/// `webhook_events_by_status`): the id `keep` places below the newest is found by
/// walking `keep` index entries, and it and every older rejected event go.
fn trim_rejected(conn: &mut SqliteConnection, keep: u64) -> QueryResult<usize> {
    let rejected = WebhookEventStatus::Rejected.as_str();
    let boundary: Option<String> = webhook_events::table
        .filter(webhook_events::status.eq(rejected))
        .order_by(webhook_events::id.desc())
        .select(webhook_events::id)
        .offset(i64::try_from(keep).unwrap_or(i64::MAX))
        .first(conn)
        .optional()?;
    match boundary {
        None => Ok(0),
        Some(boundary) => diesel::delete(
            webhook_events::table
                .filter(webhook_events::status.eq(rejected))
                .filter(webhook_events::id.le(boundary)),
        )
        .execute(conn),
    }
}

fn insert_batch(
    conn: &mut SqliteConnection,
    events: &[NewWebhookEvent],
) -> Result<Vec<InsertOutcome>, TxError> {
    let mut in_batch: HashMap<(Provider, &str), WebhookEventId> = HashMap::new();
    let mut outcomes = Vec::with_capacity(events.len());
    for event in events {
        let key = (event.provider, event.delivery_id.as_str());
        if let Some(first) = in_batch.get(&key) {
            outcomes.push(InsertOutcome::Duplicate(*first));
            continue;
        }
        let registered: Option<String> = webhook_deliveries::table
            .find((event.provider.as_str(), event.delivery_id.as_str()))
            .select(webhook_deliveries::event_id)
            .first(conn)
            .optional()?;
        if let Some(existing) = registered {
            let id = existing
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("webhook_deliveries.event_id: {e}")))?;
            outcomes.push(InsertOutcome::Duplicate(id));
            continue;
        }
        insert_event(
            conn,
            event,
            WebhookEventStatus::Received,
            None,
            event.payload.len() as u64,
        )?;
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::provider.eq(event.provider.as_str()),
                webhook_deliveries::delivery_id.eq(&event.delivery_id),
                webhook_deliveries::received_at.eq(millis(event.received_at)),
                webhook_deliveries::event_id.eq(event.id.to_string()),
            ))
            .execute(conn)?;
        in_batch.insert(key, event.id);
        outcomes.push(InsertOutcome::Inserted(event.id));
    }
    Ok(outcomes)
}

/// The compare-and-set of `finish`: rows changed (0 when the event is not `received` or
/// does not exist).
fn finish_one(
    conn: &mut SqliteConnection,
    id: WebhookEventId,
    finish: &EventFinish,
) -> Result<usize, StoreError> {
    let build_ids: Vec<String> = finish.build_ids.iter().map(ToString::to_string).collect();
    let build_ids = serde_json::to_string(&build_ids)
        .map_err(|e| StoreError::Other(format!("build ids could not be written: {e}")))?;
    diesel::update(
        webhook_events::table
            .find(id.to_string())
            .filter(webhook_events::status.eq(WebhookEventStatus::Received.as_str())),
    )
    .set((
        webhook_events::status.eq(finish.status.as_str()),
        webhook_events::reason.eq(finish.reason.as_deref()),
        webhook_events::build_ids.eq(build_ids),
        webhook_events::processed_at.eq(Some(millis(finish.at))),
    ))
    .execute(conn)
    .map_err(store_error)
}

fn event_exists(conn: &mut SqliteConnection, id: WebhookEventId) -> Result<bool, StoreError> {
    select(exists(webhook_events::table.find(id.to_string())))
        .get_result(conn)
        .map_err(store_error)
}

/// `Ok(changed)` for one row updated, else `Ok(false)` or `NotFound` when it does not
/// exist.
fn changed_or_missing(
    conn: &mut SqliteConnection,
    id: WebhookEventId,
    changed: usize,
) -> Result<bool, StoreError> {
    if changed == 1 {
        Ok(true)
    } else if event_exists(conn, id)? {
        Ok(false)
    } else {
        Err(StoreError::NotFound)
    }
}

#[async_trait]
impl WebhookEventStore for SqliteStore {
    async fn insert_batch(
        &self,
        events: &[NewWebhookEvent],
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let events = events.to_vec();
        self.write(move |conn| {
            conn.immediate_transaction(|conn| insert_batch(conn, &events))
                .map_err(|e| e.into_store(|| "webhook event".to_owned()))
        })
        .await
    }

    async fn record_rejected(
        &self,
        rejected: &[RejectedWebhookEvent],
        keep_at_most: u64,
    ) -> Result<u64, StoreError> {
        let rejected = rejected.to_vec();
        self.write(move |conn| {
            conn.immediate_transaction(|conn| {
                for r in &rejected {
                    insert_event(
                        conn,
                        &r.event,
                        WebhookEventStatus::Rejected,
                        Some(&r.reason),
                        r.payload_size,
                    )?;
                }
                Ok::<_, TxError>(trim_rejected(conn, keep_at_most)? as u64)
            })
            .map_err(|e| e.into_store(|| "webhook event".to_owned()))
        })
        .await
    }

    async fn prune_rejected(
        &self,
        before: Timestamp,
        keep_at_most: u64,
    ) -> Result<u64, StoreError> {
        self.write(move |conn| {
            conn.immediate_transaction(|conn| {
                let aged = diesel::delete(
                    webhook_events::table
                        .filter(webhook_events::status.eq(WebhookEventStatus::Rejected.as_str()))
                        .filter(webhook_events::received_at.lt(millis(before))),
                )
                .execute(conn)?;
                Ok::<_, diesel::result::Error>((aged + trim_rejected(conn, keep_at_most)?) as u64)
            })
            .map_err(store_error)
        })
        .await
    }

    async fn get_event(
        &self,
        id: WebhookEventId,
    ) -> Result<Option<WebhookEventDetail>, StoreError> {
        self.read(move |conn| {
            let Some((row, payload_size, headers, payload)) = webhook_events::table
                .find(id.to_string())
                .select((
                    EventRow::as_select(),
                    webhook_events::payload_size,
                    webhook_events::headers,
                    webhook_events::payload,
                ))
                .first::<(EventRow, i64, String, Vec<u8>)>(conn)
                .optional()
                .map_err(store_error)?
            else {
                return Ok(None);
            };
            let headers: Vec<(String, String)> =
                serde_json::from_str(&headers).map_err(|e| corrupt(&row.id, "headers", &e))?;
            let payload_size =
                u64::try_from(payload_size).map_err(|e| corrupt(&row.id, "payload_size", &e))?;
            Ok(Some(WebhookEventDetail {
                event: WebhookEvent::try_from(row)?,
                headers,
                payload,
                payload_size,
            }))
        })
        .await
    }

    async fn list_events(&self, query: &WebhookEventQuery) -> Result<WebhookEventPage, StoreError> {
        let q = query.clone();
        self.read(move |conn| {
            let size = q.page_size() as usize;
            let mut sql = webhook_events::table
                .select(EventRow::as_select())
                .order_by(webhook_events::id.desc())
                .limit(size as i64 + 1)
                .into_boxed();
            if let Some(repository) = q.repository_id {
                sql = sql.filter(webhook_events::repository_id.eq(repository.to_string()));
            }
            if let Some(provider) = q.provider {
                sql = sql.filter(webhook_events::provider.eq(provider.as_str()));
            }
            if !q.event_types.is_empty() {
                sql = sql.filter(webhook_events::event_type.eq_any(q.event_types.clone()));
            }
            if let Some(status) = q.status {
                sql = sql.filter(webhook_events::status.eq(status.as_str()));
            }
            if let Some(before) = q.before {
                sql = sql.filter(webhook_events::id.lt(before.to_string()));
            }
            let mut events = sql
                .load::<EventRow>(conn)
                .map_err(store_error)?
                .into_iter()
                .map(WebhookEvent::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            let next = if events.len() > size {
                events.truncate(size);
                events.last().map(|e| e.id)
            } else {
                None
            };
            Ok(WebhookEventPage { events, next })
        })
        .await
    }

    async fn unprocessed(&self, limit: u32) -> Result<Vec<WebhookEvent>, StoreError> {
        self.read(move |conn| {
            webhook_events::table
                .filter(webhook_events::status.eq(WebhookEventStatus::Received.as_str()))
                .order_by(webhook_events::id.asc())
                .limit(i64::from(limit))
                .select(EventRow::as_select())
                .load::<EventRow>(conn)
                .map_err(store_error)?
                .into_iter()
                .map(WebhookEvent::try_from)
                .collect()
        })
        .await
    }

    async fn count_unprocessed(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = webhook_events::table
                .filter(webhook_events::status.eq(WebhookEventStatus::Received.as_str()))
                .select(count_star())
                .first(conn)
                .map_err(store_error)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn finish(&self, id: WebhookEventId, finish: &EventFinish) -> Result<bool, StoreError> {
        let finish = finish.clone();
        self.write(move |conn| {
            let changed = finish_one(conn, id, &finish)?;
            changed_or_missing(conn, id, changed)
        })
        .await
    }

    async fn finish_all(
        &self,
        finishes: &[(WebhookEventId, EventFinish)],
    ) -> Result<Vec<bool>, StoreError> {
        if finishes.is_empty() {
            return Ok(Vec::new());
        }
        let finishes = finishes.to_vec();
        self.write(move |conn| {
            conn.immediate_transaction(|conn| {
                finishes
                    .iter()
                    .map(|(id, finish)| Ok(finish_one(conn, *id, finish)? == 1))
                    .collect::<Result<Vec<bool>, TxError>>()
            })
            .map_err(|e| e.into_store(|| "webhook event".to_owned()))
        })
        .await
    }

    async fn requeue(&self, id: WebhookEventId) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let finished = WebhookEventStatus::ALL
                .iter()
                .filter(|s| s.is_finished())
                .map(|s| s.as_str());
            let changed = diesel::update(
                webhook_events::table
                    .find(id.to_string())
                    .filter(webhook_events::status.eq_any(finished)),
            )
            .set((
                webhook_events::status.eq(WebhookEventStatus::Received.as_str()),
                webhook_events::reason.eq(None::<String>),
                webhook_events::build_ids.eq("[]"),
                webhook_events::processed_at.eq(None::<i64>),
            ))
            .execute(conn)
            .map_err(store_error)?;
            changed_or_missing(conn, id, changed)
        })
        .await
    }

    async fn approve(&self, id: WebhookEventId, approval: &Approval) -> Result<bool, StoreError> {
        let approval = approval.clone();
        self.write(move |conn| {
            let changed =
                diesel::update(webhook_events::table.find(id.to_string()).filter(
                    webhook_events::status.eq(WebhookEventStatus::AwaitingApproval.as_str()),
                ))
                .set((
                    webhook_events::status.eq(WebhookEventStatus::Received.as_str()),
                    webhook_events::reason.eq(None::<String>),
                    webhook_events::processed_at.eq(None::<i64>),
                    webhook_events::approved_by.eq(Some(&approval.by)),
                    webhook_events::approved_at.eq(Some(millis(approval.at))),
                ))
                .execute(conn)
                .map_err(store_error)?;
            changed_or_missing(conn, id, changed)
        })
        .await
    }

    async fn forget_deliveries_before(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let deleted = diesel::delete(
                webhook_deliveries::table
                    .filter(webhook_deliveries::received_at.lt(millis(cutoff))),
            )
            .execute(conn)
            .map_err(store_error)?;
            Ok(deleted as u64)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> EventRow {
        EventRow {
            id: "01KAZ0000000000000000000AB".into(),
            provider: "github".into(),
            delivery_id: "d".into(),
            event_type: "push".into(),
            repository_id: Some("01KAZ0000000000000000000CD".into()),
            status: "processed".into(),
            reason: None,
            source_ip: None,
            received_at: 1_767_225_600_000,
            processed_at: Some(1_767_225_600_001),
            build_ids: r#"["01KAZ0000000000000000000EF"]"#.into(),
            approved_by: Some("alice".into()),
            approved_at: Some(1_767_225_600_002),
        }
    }

    #[test]
    fn a_good_row_converts() {
        let event = WebhookEvent::try_from(row()).unwrap();
        assert_eq!(event.status, WebhookEventStatus::Processed);
        assert_eq!(event.build_ids.len(), 1);
        assert_eq!(event.approval.map(|a| a.by), Some("alice".to_owned()));
    }

    #[test]
    fn bad_rows_are_corrupt_and_name_the_column() {
        type Spoil = fn(&mut EventRow);
        let cases: [(&str, Spoil); 6] = [
            ("webhook_events.approved_at", |r| r.approved_at = None),
            ("webhook_events.status", |r| r.status = "done".into()),
            ("webhook_events.provider", |r| r.provider = "svn".into()),
            ("webhook_events.build_ids", |r| r.build_ids = "[1".into()),
            ("webhook_events.build_ids", |r| {
                r.build_ids = r#"["x"]"#.into()
            }),
            ("webhook_events.repository_id", |r| {
                r.repository_id = Some("nope".into())
            }),
        ];
        for (column, spoil) in cases {
            let mut r = row();
            spoil(&mut r);
            let Err(StoreError::Corrupt(message)) = WebhookEvent::try_from(r) else {
                panic!("{column}: expected Corrupt");
            };
            assert!(message.contains(column), "{message}");
        }
    }
}
