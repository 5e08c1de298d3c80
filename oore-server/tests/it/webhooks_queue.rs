//! The webhook queue and its worker, and the event API (spec 10.3, 11.1, 15.1-15.3,
//! 22.2): 503 above the queue capacity with the event stored all the same, nothing lost
//! across a crash, redelivery, listing and showing events, the replay window's cleanup,
//! and one push that ends in a successful build.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use oore_core::api::{WebhookEventDto, WebhookListResponse};
use oore_core::domain::webhook::{Approval, WebhookEvent, WebhookEventDetail};
use oore_core::ids::WebhookEventId;
use oore_core::ports::{
    Clock, EventFinish, InsertOutcome, NewWebhookEvent, RejectedWebhookEvent, StoreError,
    WebhookEventPage, WebhookEventQuery, WebhookEventStore,
};
use oore_testkit::TestServer;
use oore_testkit::git::GitFixture;
use oore_testkit::webhooks::{fixture, github_delivery, gitlab_delivery, new_delivery_id};
use serde_json::{Value, json};

use crate::build_support::{DEADLINE, pipeline, step, wait_finished, wait_until};
use crate::support::assert_error;
use crate::webhooks::{
    SECRET, TOKEN, accepted, add_repo, builds_of, event, events, github_repo, push, push_body,
    wait_processed,
};

/// The real store, with a switch that hides the queue from the worker (`unprocessed`
/// finds nothing while paused), so events stay `received`.
struct Pausable {
    inner: Arc<dyn WebhookEventStore>,
    paused: Arc<AtomicBool>,
}

#[async_trait]
impl WebhookEventStore for Pausable {
    async fn insert_batch(
        &self,
        events: &[NewWebhookEvent],
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        self.inner.insert_batch(events).await
    }
    async fn record_rejected(
        &self,
        rejected: &[RejectedWebhookEvent],
        keep_at_most: u64,
    ) -> Result<u64, StoreError> {
        self.inner.record_rejected(rejected, keep_at_most).await
    }
    async fn prune_rejected(
        &self,
        before: Timestamp,
        keep_at_most: u64,
    ) -> Result<u64, StoreError> {
        self.inner.prune_rejected(before, keep_at_most).await
    }
    async fn approve(&self, id: WebhookEventId, approval: &Approval) -> Result<bool, StoreError> {
        self.inner.approve(id, approval).await
    }
    async fn get_event(
        &self,
        id: WebhookEventId,
    ) -> Result<Option<WebhookEventDetail>, StoreError> {
        self.inner.get_event(id).await
    }
    async fn list_events(&self, query: &WebhookEventQuery) -> Result<WebhookEventPage, StoreError> {
        self.inner.list_events(query).await
    }
    async fn unprocessed(&self, limit: u32) -> Result<Vec<WebhookEvent>, StoreError> {
        if self.paused.load(Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        self.inner.unprocessed(limit).await
    }
    async fn count_unprocessed(&self) -> Result<u64, StoreError> {
        self.inner.count_unprocessed().await
    }
    async fn finish(&self, id: WebhookEventId, finish: &EventFinish) -> Result<bool, StoreError> {
        self.inner.finish(id, finish).await
    }
    async fn requeue(&self, id: WebhookEventId) -> Result<bool, StoreError> {
        self.inner.requeue(id).await
    }
    async fn forget_deliveries_before(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.inner.forget_deliveries_before(cutoff).await
    }
}

/// A server whose event worker finds nothing while the returned switch is on.
fn paused_server(capacity: Option<u32>) -> (TestServer, Arc<AtomicBool>) {
    let paused = Arc::new(AtomicBool::new(true));
    let switch = Arc::clone(&paused);
    let mut builder = TestServer::builder().services(move |mut services| {
        services.webhooks = Arc::new(Pausable {
            inner: services.webhooks,
            paused: switch,
        });
        services
    });
    if let Some(capacity) = capacity {
        builder = builder.env("OORE_WEBHOOK_QUEUE_CAPACITY", &capacity.to_string());
    }
    (builder.start(), paused)
}

#[test]
fn above_capacity_deliveries_are_stored_and_answered_503() {
    let (server, paused) = paused_server(Some(2));
    let gh = github_repo(&server);
    let deliveries: Vec<_> = (0..4).map(|_| push(&gh)).collect();
    accepted(&deliveries[0].send(&server.url()), 202);
    accepted(&deliveries[1].send(&server.url()), 202);
    let mut stored_ids = Vec::new();
    for delivery in &deliveries[2..] {
        let response = delivery.send(&server.url());
        let envelope = assert_error(&response, 503, "queue_full");
        assert_eq!(response.header("retry-after"), Some("60"));
        assert!(
            envelope
                .error
                .message
                .starts_with("stored as webhook event "),
            "{}",
            envelope.error.message
        );
        let id = envelope.error.message.split_whitespace().nth(4).unwrap();
        stored_ids.push(id.trim_end_matches(',').to_owned());
    }
    let waiting = events(&server, "status=received").events;
    assert_eq!(waiting.len(), 4, "every delivery is stored: {waiting:#?}");
    for id in &stored_ids {
        assert!(waiting.iter().any(|e| e.id == *id), "{id}");
    }
    // The forge's redelivery of a 503'd delivery finds it stored.
    let again = accepted(&deliveries[2].send(&server.url()), 200);
    assert_eq!(
        (again.duplicate, again.event_id.as_str()),
        (true, stored_ids[0].as_str())
    );

    // Once the worker drains (woken by the next delivery), nothing was lost.
    paused.store(false, Ordering::SeqCst);
    let fifth = push(&gh).send(&server.url());
    assert!(
        fifth.status == 503 || fifth.status == 202,
        "{}",
        fifth.text()
    );
    wait_until("the queue drained", DEADLINE, || {
        events(&server, "status=received")
            .events
            .is_empty()
            .then_some(())
    });
    let processed = events(&server, "status=processed").events;
    assert_eq!(processed.len(), 5);
    assert_eq!(builds_of(&server, &gh.id).len(), 5, "one build per push");
}

#[test]
fn events_left_received_by_a_crash_are_processed_after_the_restart() {
    let (server, _paused) = paused_server(None);
    let gh = github_repo(&server);
    let ids: Vec<String> = (0..3)
        .map(|_| accepted(&push(&gh).send(&server.url()), 202).event_id)
        .collect();
    assert_eq!(events(&server, "status=received").events.len(), 3);
    assert!(builds_of(&server, &gh.id).is_empty());

    // Acknowledged means committed: a SIGKILL loses none of them.
    let server = server.crash().start();
    for id in &ids {
        let detail = wait_processed(&server, id);
        assert_eq!(detail.event.status, "processed", "{:?}", detail.event);
        assert_eq!(detail.event.build_ids.len(), 1);
    }
    let builds = builds_of(&server, &gh.id);
    assert_eq!(builds.len(), 3);
    // Arrival order: the first event made the first build.
    let first = event(&server, &ids[0]).event.build_ids[0].clone();
    let oldest = builds.iter().min_by_key(|b| b.number).unwrap();
    assert_eq!(oldest.id, first);
}

#[test]
fn redelivery_processes_an_event_again_without_building_twice() {
    let server = TestServer::start();
    let gh = github_repo(&server);
    let answer = accepted(&push(&gh).send(&server.url()), 202);
    let first = wait_processed(&server, &answer.event_id);
    assert_eq!(first.event.build_ids.len(), 1);

    let response = server.send(
        "POST",
        &format!("/api/webhooks/{}/redeliver", answer.event_id),
        None,
    );
    assert_eq!(response.status, 202, "{}", response.text());
    let requeued: WebhookEventDto = response.json_as();
    assert_eq!(requeued.status, "received");
    let again = wait_processed(&server, &answer.event_id);
    assert_eq!(again.event.status, "processed");
    assert_eq!(
        again.event.build_ids, first.event.build_ids,
        "its build is reused"
    );
    assert_eq!(builds_of(&server, &gh.id).len(), 1);

    // Fix-then-redeliver: an event ignored while the repository was paused builds once
    // it is active again.
    let deactivate = server.send(
        "POST",
        &format!("/api/repositories/{}/deactivate", gh.id),
        None,
    );
    assert_eq!(deactivate.status, 200, "{}", deactivate.text());
    let paused = accepted(&push(&gh).send(&server.url()), 202);
    let ignored = wait_processed(&server, &paused.event_id);
    assert_eq!(ignored.event.status, "ignored");
    assert!(
        ignored
            .event
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("inactive"),
        "{:?}",
        ignored.event
    );
    let activate = server.send(
        "POST",
        &format!("/api/repositories/{}/activate", gh.id),
        None,
    );
    assert_eq!(activate.status, 200, "{}", activate.text());
    let response = server.send(
        "POST",
        &format!("/api/webhooks/{}/redeliver", paused.event_id),
        None,
    );
    assert_eq!(response.status, 202, "{}", response.text());
    let built = wait_processed(&server, &paused.event_id);
    assert_eq!(
        (built.event.status.as_str(), built.event.build_ids.len()),
        ("processed", 1)
    );

    // Rejected events cannot be redelivered; unknown and malformed ids are 404 and 400.
    let forged = github_delivery(&gh.id, "guess", "push", &new_delivery_id(), b"{}");
    assert_error(&forged.send(&server.url()), 401, "unauthorized");
    let rejected = &events(&server, "status=rejected").events[0];
    let conflict = server.send(
        "POST",
        &format!("/api/webhooks/{}/redeliver", rejected.id),
        None,
    );
    let envelope = assert_error(&conflict, 409, "conflict");
    assert!(
        envelope.error.message.contains("was rejected"),
        "{}",
        envelope.error.message
    );
    assert_error(
        &server.send(
            "POST",
            "/api/webhooks/01JD0000000000000000000000/redeliver",
            None,
        ),
        404,
        "not_found",
    );
    assert_error(
        &server.send("POST", "/api/webhooks/nope/redeliver", None),
        400,
        "invalid_id",
    );
}

#[test]
fn events_are_listed_with_filters_and_pages_and_shown_in_full() {
    let server = TestServer::start();
    let gh = github_repo(&server);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(accepted(&push(&gh).send(&server.url()), 202).event_id);
    }
    let ping = github_delivery(
        &gh.id,
        SECRET,
        "ping",
        &new_delivery_id(),
        br#"{"zen":"hi","hook_id":7}"#,
    );
    ids.push(accepted(&ping.send(&server.url()), 200).event_id);
    let forged = github_delivery(&gh.id, "guess", "push", &new_delivery_id(), b"{}");
    assert_error(&forged.send(&server.url()), 401, "unauthorized");
    for id in &ids {
        wait_processed(&server, id);
    }

    let all = events(&server, "").events;
    assert_eq!(all.len(), 5);
    let mut newest_first = all.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        all.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        newest_first
    );
    let count = |query: &str| events(&server, query).events.len();
    assert_eq!(count("event=ping"), 1);
    assert_eq!(count("event=push&status=processed"), 3);
    assert_eq!(count("status=rejected"), 1);
    assert_eq!(count("provider=github"), 5);
    assert_eq!(count("provider=gitlab"), 0);
    assert_eq!(count(&format!("repository={}", gh.id)), 5);
    assert_eq!(count("status=ignored"), 1, "the ping");

    // Keyset pages: `before` continues where the last page stopped.
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page: WebhookListResponse = events(&server, &query);
        assert!(page.events.len() <= 2);
        seen.extend(page.events.iter().map(|e| e.id.clone()));
        match page.next {
            Some(next) => query = format!("limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);

    let bad = server.get("/api/webhooks?status=done&limit=0&colour=red");
    let envelope = assert_error(&bad, 400, "validation_failed");
    let fields: Vec<String> = envelope
        .error
        .fields
        .unwrap()
        .into_iter()
        .map(|f| f.field)
        .collect();
    assert_eq!(fields, ["status", "limit", "query"]);

    let shown = event(&server, &ids[0]);
    assert_eq!(shown.event.status, "processed");
    assert_eq!(shown.event.build_ids.len(), 1);
    assert_eq!(shown.payload_format, "json");
    assert_eq!(
        shown.payload,
        serde_json::from_slice::<Value>(&push_body(&gh.full_name)).unwrap()
    );
    assert!(
        shown
            .headers
            .contains(&("x-github-event".to_owned(), "push".to_owned())),
        "{:?}",
        shown.headers
    );
    assert!(
        shown
            .headers
            .iter()
            .any(|(n, v)| n == "user-agent" && v.starts_with("GitHub-Hookshot/"))
    );
    assert!(shown.event.received_at.parse::<Timestamp>().is_ok());
    assert!(shown.event.processed_at.is_some());
    assert_error(
        &server.get("/api/webhooks/01JD0000000000000000000000"),
        404,
        "not_found",
    );
    assert_error(&server.get("/api/webhooks/nope"), 400, "invalid_id");
}

/// The system clock moved by a settable offset.
struct ShiftedClock {
    inner: Arc<dyn Clock>,
    offset_secs: Arc<AtomicI64>,
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        let offset = SignedDuration::from_secs(self.offset_secs.load(Ordering::SeqCst));
        self.inner.now().checked_add(offset).expect("a valid time")
    }
}

/// `event=push` finds GitHub's `push` and GitLab's `Push Hook` alike, whichever name the
/// filter uses; other names match exactly.
#[test]
fn an_event_filter_names_both_forges_events() {
    let server = TestServer::start();
    let gh = github_repo(&server);
    let gl = add_repo(&server, "gitlab", "gitlab-org/app", "master", TOKEN);
    let github = accepted(&push(&gh).send(&server.url()), 202).event_id;
    let body = fixture("gitlab", "push.default.json");
    let gitlab = gitlab_delivery(&gl.id, TOKEN, "Push Hook", None, &body);
    let gitlab = accepted(&gitlab.send(&server.url()), 202).event_id;
    let tag = fixture("gitlab", "tag_push.default.json");
    let tag = gitlab_delivery(&gl.id, TOKEN, "Tag Push Hook", None, &tag);
    accepted(&tag.send(&server.url()), 202);

    let ids = |query: &str| {
        let mut ids: Vec<String> = events(&server, query)
            .events
            .into_iter()
            .map(|e| e.id)
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![github.clone(), gitlab.clone()];
    both.sort();
    for query in ["event=push", "event=Push+Hook", "event=push+hook"] {
        assert_eq!(ids(query), both, "{query}");
    }
    assert_eq!(ids("event=push&provider=gitlab"), [gitlab]);
    assert_eq!(ids("event=tag_push").len(), 1);
    assert_eq!(ids("event=pull_request"), Vec::<String>::new());
}

#[test]
fn delivery_ids_are_forgotten_after_the_replay_window_but_events_stay() {
    let offset = Arc::new(AtomicI64::new(0));
    let shift = Arc::clone(&offset);
    let server = TestServer::builder()
        .cleanup_interval(Duration::from_secs(1))
        .services(move |mut services| {
            services.clock = Arc::new(ShiftedClock {
                inner: services.clock,
                offset_secs: shift,
            });
            services
        })
        .start();
    let gh = github_repo(&server);
    let ping = github_delivery(
        &gh.id,
        SECRET,
        "ping",
        &new_delivery_id(),
        br#"{"zen":"hi","hook_id":7}"#,
    );
    let first = accepted(&ping.send(&server.url()), 200);
    assert!(accepted(&ping.send(&server.url()), 200).duplicate);

    // A day and an hour later, the next cleanup pass forgets the id: the same delivery
    // is a new event (the replay window is 24 hours).
    offset.store(25 * 3600, Ordering::SeqCst);
    let second = wait_until("the delivery id forgotten", DEADLINE, || {
        let answer = accepted(&ping.send(&server.url()), 200);
        (!answer.duplicate).then_some(answer)
    });
    assert_ne!(second.event_id, first.event_id);
    let all = events(&server, "event=ping").events;
    assert_eq!(all.len(), 2, "the old event stays as the audit trail");
}

#[test]
fn a_signed_push_builds_the_pushed_commit_end_to_end() {
    let server = TestServer::start();
    let git = GitFixture::new();
    git.write(
        "oore.yaml",
        pipeline(&step("Hello", "echo \"hello from $OORE_BRANCH\""), ""),
    );
    let head = git.commit("add the pipeline");
    let response = server.send(
        "POST",
        "/api/repositories",
        Some(&json!({
            "provider": "github",
            "owner": "acme",
            "name": "e2e",
            "clone_url": git.url(),
            "webhook_secret": SECRET,
        })),
    );
    assert_eq!(response.status, 201, "{}", response.text());
    let repo: oore_core::api::RepositoryDto = response.json_as();

    let mut payload: Value = serde_json::from_slice(&push_body("acme/e2e")).unwrap();
    payload["ref"] = json!("refs/heads/main");
    payload["after"] = json!(head);
    payload["head_commit"]["id"] = json!(head);
    payload["head_commit"]["message"] = json!("add the pipeline");
    let body = serde_json::to_vec(&payload).unwrap();
    let delivery = github_delivery(&repo.id, SECRET, "push", &new_delivery_id(), &body);
    let answer = accepted(&delivery.send(&server.url()), 202);
    let detail = wait_processed(&server, &answer.event_id);
    assert_eq!(detail.event.status, "processed", "{:?}", detail.event);
    let build = wait_finished(&server, &detail.event.build_ids[0]);
    assert_eq!(build.status, "success", "{build:#?}");
    assert_eq!(
        (
            build.trigger.as_str(),
            build.branch.as_deref(),
            build.commit_sha.as_deref()
        ),
        ("push", Some("main"), Some(head.as_str()))
    );
    assert_eq!(
        build.webhook_event_id.as_deref(),
        Some(answer.event_id.as_str())
    );
}
