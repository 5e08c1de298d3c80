//! The [`WebhookEventStore`] contract suite. Run it with
//! [`contract_tests!`](crate::contract_tests)`(webhook_store, ...)`.
//!
//! Events refer to repositories, so each case takes a webhook store and a repository store
//! over the same empty data (for SQLite: the same `SqliteStore` twice).

use jiff::{SignedDuration, Timestamp};
use ulid::Ulid;

use super::sample_repository;
pub use super::webhook_list::list_filters_and_pages;
use crate::domain::repository::{Provider, Repository};
use crate::domain::webhook::{Approval, WebhookEvent, WebhookEventDetail, WebhookEventStatus};
use crate::ids::{BuildId, RepositoryId, WebhookEventId};
use crate::ports::{
    EventFinish, InsertOutcome, NewWebhookEvent, RejectedWebhookEvent, RepositoryStore, StoreError,
    WebhookEventStore,
};
use crate::testing::join_all;

const EPOCH_MS: i64 = 1_767_225_600_000;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_millisecond(EPOCH_MS + seconds * 1000).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn event_id(n: u128) -> WebhookEventId {
    WebhookEventId::from_ulid(Ulid::from_parts(EPOCH_MS as u64, n))
}

/// A GitHub `push` delivery `d-<n>` for `repository`, received `n` seconds after the test
/// epoch; `n` makes the id unique and orders ids like arrival.
pub fn sample_webhook_event(n: u128, repository: Option<RepositoryId>) -> NewWebhookEvent {
    NewWebhookEvent {
        id: event_id(n),
        provider: Provider::GitHub,
        delivery_id: format!("d-{n}"),
        event_type: "push".to_owned(),
        repository_id: repository,
        headers: vec![
            ("x-github-event".to_owned(), "push".to_owned()),
            ("x-github-delivery".to_owned(), format!("d-{n}")),
        ],
        payload: format!(r#"{{"n":{n}}}"#).into_bytes(),
        source_ip: Some("192.0.2.7".to_owned()),
        received_at: at(n as i64),
    }
}

/// `event` refused for `reason`, its body of `size` bytes kept whole.
pub fn sample_rejected(event: NewWebhookEvent, reason: &str) -> RejectedWebhookEvent {
    RejectedWebhookEvent {
        payload_size: event.payload.len() as u64,
        event,
        reason: reason.to_owned(),
    }
}

pub(super) async fn add_repo(
    repos: &dyn RepositoryStore,
    n: u128,
    provider: Provider,
) -> Repository {
    let repo = sample_repository(n, provider, "acme", &format!("app-{n}"));
    repos.insert(&repo).await.expect("insert repository");
    repo
}

pub(super) async fn insert(
    store: &dyn WebhookEventStore,
    events: &[NewWebhookEvent],
) -> Vec<InsertOutcome> {
    store.insert_batch(events).await.expect("insert batch")
}

pub(super) async fn get(store: &dyn WebhookEventStore, id: WebhookEventId) -> WebhookEventDetail {
    store
        .get_event(id)
        .await
        .expect("get")
        .unwrap_or_else(|| panic!("event {id} is stored"))
}

pub(super) fn finished(
    status: WebhookEventStatus,
    reason: Option<&str>,
    builds: &[BuildId],
    at_s: i64,
) -> EventFinish {
    EventFinish {
        status,
        reason: reason.map(str::to_owned),
        build_ids: builds.to_vec(),
        at: at(at_s),
    }
}

pub async fn every_field_round_trips(store: &dyn WebhookEventStore, repos: &dyn RepositoryStore) {
    let repo = add_repo(repos, 1, Provider::GitLab).await;
    let mut full = sample_webhook_event(1, Some(repo.id));
    full.provider = Provider::GitLab;
    full.event_type = "Merge Request Hook".to_owned();
    full.delivery_id = "9a0c3d5e-1111-2222-3333-444455556666".to_owned();
    full.headers = vec![
        ("x-gitlab-event".to_owned(), "Merge Request Hook".to_owned()),
        ("x-custom".to_owned(), "zoë ✓ \"quoted\"".to_owned()),
        ("x-custom".to_owned(), "a second value".to_owned()),
    ];
    full.payload = vec![0xff, 0x00, b'{', 0xfe, b'}'];
    full.source_ip = Some("2001:db8::1".to_owned());
    full.received_at = at(1) + SignedDuration::from_millis(234);
    assert_eq!(
        insert(store, std::slice::from_ref(&full)).await,
        [InsertOutcome::Inserted(full.id)]
    );
    let stored = get(store, full.id).await;
    assert_eq!(
        stored,
        WebhookEventDetail {
            event: WebhookEvent {
                id: full.id,
                provider: Provider::GitLab,
                delivery_id: full.delivery_id.clone(),
                event_type: full.event_type.clone(),
                repository_id: Some(repo.id),
                status: WebhookEventStatus::Received,
                reason: None,
                source_ip: full.source_ip.clone(),
                received_at: full.received_at,
                processed_at: None,
                build_ids: vec![],
                approval: None,
            },
            headers: full.headers.clone(),
            payload: full.payload.clone(),
            payload_size: 5,
        }
    );

    let mut bare = sample_webhook_event(2, None);
    bare.headers.clear();
    bare.payload.clear();
    bare.source_ip = None;
    insert(store, std::slice::from_ref(&bare)).await;
    let stored = get(store, bare.id).await;
    assert_eq!(
        (
            stored.event.repository_id,
            stored.event.source_ip,
            stored.headers,
            stored.payload
        ),
        (None, None, vec![], vec![])
    );

    let builds = [
        BuildId::from_ulid(Ulid::from_parts(9, 1)),
        BuildId::from_ulid(Ulid::from_parts(9, 2)),
    ];
    let done = finished(WebhookEventStatus::Processed, None, &builds, 3);
    assert_eq!(store.finish(full.id, &done).await, Ok(true));
    let stored = get(store, full.id).await.event;
    assert_eq!(
        (
            stored.status,
            stored.reason,
            stored.build_ids,
            stored.processed_at
        ),
        (
            WebhookEventStatus::Processed,
            None,
            builds.to_vec(),
            Some(at(3))
        )
    );
    assert_eq!(
        store.get_event(event_id(99)).await,
        Ok(None),
        "unknown ids are None"
    );
}

pub async fn duplicates_inside_and_across_batches(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let a = sample_webhook_event(1, Some(repo));
    let b = sample_webhook_event(2, Some(repo));
    let mut c = sample_webhook_event(3, Some(repo));
    c.delivery_id = a.delivery_id.clone();
    assert_eq!(
        insert(store, &[a.clone(), b.clone(), c.clone()]).await,
        [
            InsertOutcome::Inserted(a.id),
            InsertOutcome::Inserted(b.id),
            InsertOutcome::Duplicate(a.id)
        ],
        "a duplicate later in the same batch points at the first"
    );
    assert_eq!(
        store.get_event(c.id).await,
        Ok(None),
        "a duplicate is not stored"
    );

    let mut d = sample_webhook_event(4, Some(repo));
    d.delivery_id = b.delivery_id.clone();
    let e = sample_webhook_event(5, Some(repo));
    let mut other_provider = sample_webhook_event(6, Some(repo));
    other_provider.provider = Provider::GitLab;
    other_provider.delivery_id = a.delivery_id.clone();
    assert_eq!(
        insert(store, &[d.clone(), e.clone(), other_provider.clone()]).await,
        [
            InsertOutcome::Duplicate(b.id),
            InsertOutcome::Inserted(e.id),
            InsertOutcome::Inserted(other_provider.id)
        ],
        "delivery ids are unique per provider, across batches"
    );
    assert_eq!(store.count_unprocessed().await, Ok(4));
    assert_eq!(insert(store, &[]).await, [], "an empty batch is fine");
    assert_eq!(
        store.insert_batch(std::slice::from_ref(&a)).await,
        Ok(vec![InsertOutcome::Duplicate(a.id)]),
        "the very same event again is a duplicate, not an error"
    );
}

pub async fn concurrent_deliveries_of_one_id_insert_once(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let attempts: Vec<NewWebhookEvent> = (1..=20u128)
        .map(|n| {
            let mut e = sample_webhook_event(n, Some(repo));
            e.delivery_id = "72d3162e-cc78-11e3-81ab-4c9367dc0958".to_owned();
            e
        })
        .collect();
    let outcomes = join_all(
        attempts
            .iter()
            .map(|e| store.insert_batch(std::slice::from_ref(e))),
    )
    .await;
    let outcomes: Vec<InsertOutcome> = outcomes
        .into_iter()
        .map(|o| o.expect("insert").into_iter().next().expect("one outcome"))
        .collect();
    let inserted: Vec<WebhookEventId> = outcomes
        .iter()
        .filter(|o| !o.is_duplicate())
        .map(|o| o.event_id())
        .collect();
    assert_eq!(inserted.len(), 1, "exactly one insert: {outcomes:?}");
    assert!(
        outcomes.iter().all(|o| o.event_id() == inserted[0]),
        "every duplicate names the stored event"
    );
    assert_eq!(store.count_unprocessed().await, Ok(1));
}

pub async fn rejected_attempts_are_not_deliveries(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let forged = sample_webhook_event(1, Some(repo));
    let mut cut = sample_rejected(
        forged.clone(),
        "HMAC verification failed: the signature does not match",
    );
    cut.payload_size = 65_536;
    let unknown_repo = sample_webhook_event(2, None);
    assert_eq!(
        store
            .record_rejected(&[cut, sample_rejected(unknown_repo, "no repository")], 100)
            .await,
        Ok(0),
        "both recorded, nothing trimmed"
    );
    let detail = get(store, forged.id).await;
    assert_eq!(
        (detail.payload, detail.payload_size),
        (forged.payload.clone(), 65_536),
        "the kept part of the body and the size received"
    );
    let stored = detail.event;
    assert_eq!(stored.status, WebhookEventStatus::Rejected);
    assert_eq!(
        stored.reason.as_deref(),
        Some("HMAC verification failed: the signature does not match")
    );
    assert_eq!(
        store.count_unprocessed().await,
        Ok(0),
        "rejected is not queued"
    );
    assert!(store.unprocessed(10).await.expect("unprocessed").is_empty());

    let mut genuine = sample_webhook_event(3, Some(repo));
    genuine.delivery_id = forged.delivery_id.clone();
    assert_eq!(
        insert(store, std::slice::from_ref(&genuine)).await,
        [InsertOutcome::Inserted(genuine.id)],
        "a rejected attempt does not make the real delivery a duplicate"
    );
    let done = finished(WebhookEventStatus::Processed, None, &[], 4);
    assert_eq!(
        store.finish(forged.id, &done).await,
        Ok(false),
        "rejected is final"
    );
    assert_eq!(
        store.requeue(forged.id).await,
        Ok(false),
        "rejected cannot be redelivered"
    );
    assert_eq!(
        get(store, forged.id).await.event.status,
        WebhookEventStatus::Rejected
    );
}

pub async fn unprocessed_in_arrival_order(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let e = |n| sample_webhook_event(n, Some(repo));
    insert(store, &[e(3), e(5)]).await;
    insert(store, &[e(1)]).await;
    insert(store, &[e(4), e(2)]).await;
    let ids = |events: Vec<WebhookEvent>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.unprocessed(10).await.expect("unprocessed")),
        [1, 2, 3, 4, 5].map(event_id),
        "oldest first, by id"
    );
    assert_eq!(
        ids(store.unprocessed(2).await.expect("unprocessed")),
        [1, 2].map(event_id)
    );
    let done = finished(WebhookEventStatus::Ignored, Some("ping"), &[], 9);
    assert_eq!(store.finish(event_id(1), &done).await, Ok(true));
    assert_eq!(
        ids(store.unprocessed(2).await.expect("unprocessed")),
        [2, 3].map(event_id)
    );
    assert_eq!(store.count_unprocessed().await, Ok(4));
    assert!(store.unprocessed(0).await.expect("unprocessed").is_empty());
}

pub async fn finish_is_compare_and_set(store: &dyn WebhookEventStore, repos: &dyn RepositoryStore) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let ev = sample_webhook_event(1, Some(repo));
    insert(store, std::slice::from_ref(&ev)).await;
    let failed = finished(
        WebhookEventStatus::Failed,
        Some("the push payload is invalid"),
        &[],
        2,
    );
    let processed = finished(
        WebhookEventStatus::Processed,
        None,
        &[BuildId::from_ulid(Ulid::from_parts(9, 1))],
        3,
    );
    let both = join_all([
        store.finish(ev.id, &failed),
        store.finish(ev.id, &processed),
    ])
    .await;
    let wins = both.iter().filter(|r| **r == Ok(true)).count();
    assert_eq!(wins, 1, "exactly one of two finishes wins: {both:?}");
    assert!(both.iter().all(Result::is_ok));
    let stored = get(store, ev.id).await.event;
    let winner = if both[0] == Ok(true) {
        &failed
    } else {
        &processed
    };
    assert_eq!(
        (
            stored.status,
            stored.reason.clone(),
            stored.build_ids.clone(),
            stored.processed_at
        ),
        (
            winner.status,
            winner.reason.clone(),
            winner.build_ids.clone(),
            Some(winner.at)
        ),
        "the winner's fields are written, the loser's are not"
    );
    assert_eq!(store.finish(ev.id, &failed).await, Ok(false));
    assert_eq!(
        store.finish(event_id(42), &failed).await,
        Err(StoreError::NotFound)
    );
}

pub async fn finish_all_moves_each_received_event(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let events: Vec<_> = (1..=3)
        .map(|n| sample_webhook_event(n, Some(repo)))
        .collect();
    insert(store, &events).await;
    let ignored = finished(WebhookEventStatus::Ignored, Some("tags only"), &[], 5);
    let processed = finished(
        WebhookEventStatus::Processed,
        None,
        &[BuildId::from_ulid(Ulid::from_parts(9, 2))],
        6,
    );
    assert_eq!(store.finish(events[1].id, &ignored).await, Ok(true));
    assert_eq!(store.finish_all(&[]).await, Ok(Vec::new()));
    let results = store
        .finish_all(&[
            (events[0].id, processed.clone()),
            (events[1].id, processed.clone()),
            (event_id(42), processed.clone()),
            (events[2].id, ignored.clone()),
        ])
        .await;
    assert_eq!(
        results,
        Ok(vec![true, false, false, true]),
        "received events move; a finished or missing one does not"
    );
    let statuses: Vec<_> = [&events[0], &events[1], &events[2]]
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mut found = Vec::new();
    for id in statuses {
        let e = get(store, id).await.event;
        found.push((e.status, e.build_ids, e.processed_at));
    }
    assert_eq!(
        found,
        vec![
            (
                WebhookEventStatus::Processed,
                processed.build_ids.clone(),
                Some(processed.at)
            ),
            (WebhookEventStatus::Ignored, Vec::new(), Some(ignored.at)),
            (WebhookEventStatus::Ignored, Vec::new(), Some(ignored.at)),
        ]
    );
    assert_eq!(store.count_unprocessed().await, Ok(0));
}

pub async fn requeue_reopens_finished_events_only(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let ev = sample_webhook_event(1, Some(repo));
    insert(store, std::slice::from_ref(&ev)).await;
    assert_eq!(
        store.requeue(ev.id).await,
        Ok(false),
        "received is not finished"
    );
    for status in [
        WebhookEventStatus::Processed,
        WebhookEventStatus::Ignored,
        WebhookEventStatus::Failed,
        WebhookEventStatus::AwaitingApproval,
    ] {
        let done = finished(
            status,
            Some("why"),
            &[BuildId::from_ulid(Ulid::from_parts(9, 1))],
            2,
        );
        assert_eq!(store.finish(ev.id, &done).await, Ok(true));
        assert_eq!(
            store.requeue(ev.id).await,
            Ok(true),
            "{status} can be redelivered"
        );
        let stored = get(store, ev.id).await.event;
        assert_eq!(
            (
                stored.status,
                stored.reason,
                stored.build_ids,
                stored.processed_at
            ),
            (WebhookEventStatus::Received, None, vec![], None),
            "requeue clears the outcome of {status}"
        );
        assert_eq!(store.unprocessed(5).await.expect("unprocessed").len(), 1);
    }
    assert_eq!(store.requeue(event_id(42)).await, Err(StoreError::NotFound));
}

pub async fn forgetting_deliveries_keeps_events(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let e = |n| sample_webhook_event(n, Some(repo));
    insert(store, &[e(10), e(20), e(30)]).await;
    assert_eq!(
        store.forget_deliveries_before(at(10)).await,
        Ok(0),
        "the cutoff is exclusive"
    );
    assert_eq!(store.forget_deliveries_before(at(25)).await, Ok(2));
    assert_eq!(store.forget_deliveries_before(at(25)).await, Ok(0));
    for n in [10, 20, 30] {
        assert!(
            store.get_event(event_id(n)).await.expect("get").is_some(),
            "event {n} stays"
        );
    }
    let mut again = e(40);
    again.delivery_id = e(10).delivery_id;
    let mut still = e(41);
    still.delivery_id = e(30).delivery_id;
    assert_eq!(
        insert(store, &[again.clone(), still]).await,
        [
            InsertOutcome::Inserted(again.id),
            InsertOutcome::Duplicate(event_id(30))
        ],
        "a forgotten delivery id is new again; a remembered one is still a duplicate"
    );
}

pub async fn a_bad_event_fails_the_whole_batch(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let good = sample_webhook_event(1, Some(repo));
    let ghost = RepositoryId::from_ulid(Ulid::from_parts(1, 999));
    let bad = sample_webhook_event(2, Some(ghost));
    assert_eq!(
        store.insert_batch(&[good.clone(), bad.clone()]).await,
        Err(StoreError::NotFound),
        "an unknown repository fails the batch"
    );
    assert_eq!(
        store.get_event(good.id).await,
        Ok(None),
        "nothing of the batch is stored"
    );
    assert_eq!(
        store
            .record_rejected(
                &[
                    sample_rejected(sample_webhook_event(4, Some(repo)), "x"),
                    sample_rejected(bad.clone(), "x")
                ],
                100
            )
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.get_event(event_id(4)).await,
        Ok(None),
        "nothing of the rejected batch is stored"
    );
    assert_eq!(
        insert(store, std::slice::from_ref(&good)).await,
        [InsertOutcome::Inserted(good.id)],
        "nor was its delivery id registered"
    );
    let mut reused_id = sample_webhook_event(3, Some(repo));
    reused_id.id = good.id;
    assert!(
        matches!(
            store.insert_batch(std::slice::from_ref(&reused_id)).await,
            Err(StoreError::Duplicate(_))
        ),
        "an event id is used once"
    );
    assert_eq!(store.count_unprocessed().await, Ok(1));
}

pub async fn rejected_events_are_bounded_oldest_first(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let accepted = sample_webhook_event(1, Some(repo));
    insert(store, std::slice::from_ref(&accepted)).await;
    let refused = |n| sample_rejected(sample_webhook_event(n, Some(repo)), "refused");
    assert_eq!(
        store.record_rejected(&[refused(2), refused(3)], 3).await,
        Ok(0)
    );
    assert_eq!(
        store
            .record_rejected(&[refused(5), refused(4), refused(6)], 3)
            .await,
        Ok(2),
        "two over the bound"
    );
    let mut left = Vec::new();
    for n in 1..=6 {
        if store.get_event(event_id(n)).await.expect("get").is_some() {
            left.push(n);
        }
    }
    assert_eq!(
        left,
        [1, 4, 5, 6],
        "the oldest rejected ones go; other statuses stay"
    );
    assert_eq!(store.record_rejected(&[], 0).await, Ok(3), "keep none");
    assert!(store.get_event(accepted.id).await.expect("get").is_some());
}

pub async fn pruning_rejected_events_by_age_and_count(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let refused = |n| sample_rejected(sample_webhook_event(n, Some(repo)), "refused");
    let old_accepted = sample_webhook_event(1, Some(repo));
    insert(store, std::slice::from_ref(&old_accepted)).await;
    store
        .record_rejected(&[refused(2), refused(10), refused(11), refused(12)], 100)
        .await
        .expect("record");
    assert_eq!(
        store.prune_rejected(at(10), 100).await,
        Ok(1),
        "received before the cutoff (exclusive)"
    );
    assert_eq!(store.prune_rejected(at(0), 2).await, Ok(1), "then by count");
    let mut left = Vec::new();
    for n in [1, 2, 10, 11, 12] {
        if store.get_event(event_id(n)).await.expect("get").is_some() {
            left.push(n);
        }
    }
    assert_eq!(left, [1, 11, 12], "accepted events are never pruned");
    assert_eq!(store.prune_rejected(at(100), 100).await, Ok(2));
}

pub async fn approval_is_compare_and_set(
    store: &dyn WebhookEventStore,
    repos: &dyn RepositoryStore,
) {
    let repo = add_repo(repos, 1, Provider::GitHub).await.id;
    let ev = sample_webhook_event(1, Some(repo));
    insert(store, std::slice::from_ref(&ev)).await;
    let alice = Approval {
        by: "alice".to_owned(),
        at: at(5),
    };
    let bob = Approval {
        by: "bob".to_owned(),
        at: at(5),
    };
    assert_eq!(
        store.approve(ev.id, &alice).await,
        Ok(false),
        "a received event is not awaiting approval"
    );
    let held = finished(WebhookEventStatus::AwaitingApproval, Some("a fork"), &[], 2);
    assert_eq!(store.finish(ev.id, &held).await, Ok(true));
    assert_eq!(
        get(store, ev.id).await.event.status,
        WebhookEventStatus::AwaitingApproval
    );
    let both = join_all([store.approve(ev.id, &alice), store.approve(ev.id, &bob)]).await;
    assert_eq!(
        both.iter().filter(|r| **r == Ok(true)).count(),
        1,
        "exactly one of two approvals wins: {both:?}"
    );
    let winner = if both[0] == Ok(true) { &alice } else { &bob };
    let stored = get(store, ev.id).await.event;
    assert_eq!(
        (
            stored.status,
            stored.reason,
            stored.processed_at,
            stored.approval.as_ref()
        ),
        (WebhookEventStatus::Received, None, None, Some(winner)),
        "received again, with the winner's approval"
    );
    assert_eq!(store.count_unprocessed().await, Ok(1));
    let build = BuildId::from_ulid(Ulid::from_parts(9, 1));
    let done = finished(WebhookEventStatus::Processed, None, &[build], 6);
    assert_eq!(store.finish(ev.id, &done).await, Ok(true));
    assert_eq!(store.approve(ev.id, &alice).await, Ok(false));
    assert_eq!(store.requeue(ev.id).await, Ok(true));
    assert_eq!(
        get(store, ev.id).await.event.approval.as_ref(),
        Some(winner),
        "a redelivery keeps the approval"
    );
    assert_eq!(
        store.approve(event_id(42), &alice).await,
        Err(StoreError::NotFound)
    );
}
