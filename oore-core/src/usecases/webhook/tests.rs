//! Use-case tests of webhook ingestion over the in-memory stores: admit, store, process,
//! redeliver, and the builds that come out.

use crate::domain::build::{Build, BuildStatus, Priority, TriggerType};
use crate::domain::repository::{Repository, RepositoryState};
use crate::domain::secret::SecretString;
use crate::domain::webhook::WebhookEventStatus;
use crate::error::UseCaseError;
use crate::ids::{BuildId, WebhookEventId};
use crate::pipeline::{Format, PipelinePrecedence};
use crate::ports::{BuildQuery, InsertOutcome};
use crate::services::Services;
use crate::testing::{RecordingSignals, block_on, services};
use crate::usecases::repository::{
    AddRepository, add_repository, remove_repository, set_repository_active,
};
use crate::webhook::{DeliveryRequest, github};

use super::*;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const SECRET: &str = "s3cret";

fn repo(svc: &Services, provider: &str, owner: &str) -> Repository {
    block_on(add_repository(
        svc,
        AddRepository {
            provider: provider.into(),
            owner: owner.into(),
            name: "app".into(),
            webhook_secret: Some(SecretString::new(SECRET)),
            ..AddRepository::default()
        },
    ))
    .unwrap()
}

fn push_body(full_ref: &str, message: &str) -> Vec<u8> {
    serde_json::json!({
        "ref": full_ref,
        "before": "1".repeat(40),
        "after": SHA,
        "created": false,
        "deleted": false,
        "head_commit": {"message": message},
        "commits": [{"message": message}],
        "repository": {"full_name": "acme/app", "clone_url": "https://github.com/acme/app.git"},
        "sender": {"login": "alex"},
    })
    .to_string()
    .into_bytes()
}

/// Admits and stores a signed GitHub delivery; returns the stored event's id.
fn deliver(
    svc: &Services,
    repo: &Repository,
    event: &str,
    delivery: &str,
    body: Vec<u8>,
) -> WebhookEventId {
    let request = DeliveryRequest {
        provider: repo.provider,
        repository_id: repo.id,
        headers: vec![
            ("x-github-event".into(), event.into()),
            ("x-github-delivery".into(), delivery.into()),
            (
                "x-hub-signature-256".into(),
                github::signature_header(SECRET, &body),
            ),
        ],
        body,
        source_ip: None,
    };
    let receiver = block_on(find_receiver(svc, repo.provider, repo.id))
        .unwrap()
        .unwrap();
    let Admission::Accept(event) = admit_delivery(svc, request, &receiver) else {
        panic!("a signed delivery is accepted");
    };
    match block_on(svc.webhooks.insert_batch(&[event])).unwrap()[0] {
        InsertOutcome::Inserted(id) => id,
        InsertOutcome::Duplicate(id) => panic!("{delivery} is new, but duplicates {id}"),
    }
}

fn process(svc: &Services, signals: &RecordingSignals, id: WebhookEventId) -> ProcessOutcome {
    let settings = ProcessSettings {
        precedence: PipelinePrecedence::Database,
    };
    block_on(process_event(svc, signals, &settings, id)).unwrap()
}

fn all_builds(svc: &Services) -> Vec<Build> {
    let query = BuildQuery {
        oldest_first: true,
        ..BuildQuery::default()
    };
    block_on(svc.builds.list_builds(&query)).unwrap().builds
}

fn set_pipeline(svc: &Services, repo: &Repository, yaml: &str) {
    block_on(
        svc.pipelines
            .save(repo.id, yaml, Format::Yaml, svc.clock.now()),
    )
    .unwrap();
}

#[test]
fn a_push_creates_one_pending_build_and_processing_twice_creates_none() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    let signals = RecordingSignals::default();
    let id = deliver(
        &svc,
        &repo,
        "push",
        "d-1",
        push_body("refs/heads/main", "fix"),
    );

    let first = process(&svc, &signals, id);
    assert_eq!(first.status, WebhookEventStatus::Processed);
    assert!(!first.already_finished);
    assert_eq!(first.created, first.build_ids);
    let builds = all_builds(&svc);
    assert_eq!(builds.len(), 1);
    let b = &builds[0];
    assert_eq!(
        (
            b.status,
            b.trigger,
            b.priority,
            b.branch.as_ref().map(|x| x.as_str()),
            b.commit_sha.as_deref(),
            b.webhook_event_id,
            b.workflow.as_deref(),
            b.number,
        ),
        (
            BuildStatus::Pending,
            TriggerType::Push,
            Priority::DEFAULT_BRANCH_PUSH,
            Some("main"),
            Some(SHA),
            Some(id),
            None,
            1,
        )
    );
    assert_eq!(*signals.wakes.lock().unwrap(), 1, "the dispatcher is woken");
    let stored = block_on(svc.webhooks.get_event(id)).unwrap().unwrap().event;
    assert_eq!(stored.status, WebhookEventStatus::Processed);
    assert_eq!(stored.build_ids, vec![b.id]);
    assert_eq!(stored.processed_at, Some(svc.clock.now()));

    let again = process(&svc, &signals, id);
    assert!(again.already_finished);
    assert_eq!(again.build_ids, vec![b.id]);
    assert_eq!(
        all_builds(&svc).len(),
        1,
        "processing twice never builds twice"
    );
    assert_eq!(*signals.wakes.lock().unwrap(), 1);
}

#[test]
fn a_redelivered_event_reuses_its_builds() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    let signals = RecordingSignals::default();
    let id = deliver(
        &svc,
        &repo,
        "push",
        "d-1",
        push_body("refs/heads/feature/x", "x"),
    );
    let first = process(&svc, &signals, id);
    assert_eq!(all_builds(&svc)[0].priority, Priority::OTHER_PUSH);

    let requeued = block_on(redeliver_webhook_event(&svc, id)).unwrap();
    assert_eq!(requeued.status, WebhookEventStatus::Received);
    assert!(requeued.build_ids.is_empty());
    let second = process(&svc, &signals, id);
    assert_eq!(second.status, WebhookEventStatus::Processed);
    assert_eq!(second.build_ids, first.build_ids, "the same build");
    assert!(second.created.is_empty());
    assert_eq!(all_builds(&svc).len(), 1);

    assert!(matches!(
        block_on(redeliver_webhook_event(
            &svc,
            WebhookEventId::from_ulid(ulid::Ulid::from_parts(1, 1))
        )),
        Err(RedeliverError::NotFound(_))
    ));
    block_on(svc.webhooks.requeue(id)).unwrap();
    assert!(matches!(
        block_on(redeliver_webhook_event(&svc, id)),
        Err(RedeliverError::Pending(_))
    ));
}

#[test]
fn builds_created_before_a_crash_are_found_again() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    let signals = RecordingSignals::default();
    let id = deliver(
        &svc,
        &repo,
        "push",
        "d-1",
        push_body("refs/heads/main", "fix"),
    );
    // As if a worker created the build, then died before recording the outcome.
    let mut orphan = crate::testing::contract::sample_build(1, repo.id);
    orphan.id = BuildId::from_ulid(svc.ids.new_ulid());
    orphan.webhook_event_id = Some(id);
    let orphan = block_on(svc.builds.create_build(&orphan)).unwrap();

    let outcome = process(&svc, &signals, id);
    assert_eq!(outcome.build_ids, vec![orphan.id]);
    assert!(outcome.created.is_empty());
    assert_eq!(all_builds(&svc).len(), 1);
}

#[test]
fn events_that_build_nothing_are_ignored_or_failed_with_a_reason() {
    let svc = services();
    let signals = RecordingSignals::default();
    let active = repo(&svc, "github", "acme");
    let ping = deliver(
        &svc,
        &active,
        "ping",
        "p",
        br#"{"zen":"Keep it simple.","hook_id":9}"#.to_vec(),
    );
    let skip = deliver(
        &svc,
        &active,
        "push",
        "s",
        push_body("refs/heads/main", "docs [skip ci]"),
    );
    let issue = deliver(&svc, &active, "issues", "i", b"{}".to_vec());
    let broken = deliver(
        &svc,
        &active,
        "push",
        "b",
        br#"{"ref":"refs/heads/main"}"#.to_vec(),
    );
    let reasons: Vec<(WebhookEventStatus, String)> = [ping, skip, issue, broken]
        .into_iter()
        .map(|id| {
            let o = process(&svc, &signals, id);
            (o.status, o.reason.unwrap_or_default())
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (
                WebhookEventStatus::Ignored,
                "ping: the forge checked the webhook; nothing to build".to_owned()
            ),
            (
                WebhookEventStatus::Ignored,
                "the head commit message contains [skip ci]".to_owned()
            ),
            (
                WebhookEventStatus::Ignored,
                "event `issues` does not start builds".to_owned()
            ),
            (
                WebhookEventStatus::Failed,
                "the push payload is invalid: missing field before".to_owned()
            ),
        ]
    );

    let push = deliver(
        &svc,
        &active,
        "push",
        "inactive",
        push_body("refs/heads/main", "x"),
    );
    block_on(set_repository_active(&svc, active.id, false)).unwrap();
    let o = process(&svc, &signals, push);
    assert_eq!(o.status, WebhookEventStatus::Ignored);
    assert!(o.reason.unwrap().starts_with("repository is inactive"));

    block_on(set_repository_active(&svc, active.id, true)).unwrap();
    let push = deliver(
        &svc,
        &active,
        "push",
        "removed",
        push_body("refs/heads/main", "x"),
    );
    block_on(remove_repository(&svc, active.id)).unwrap();
    let o = process(&svc, &signals, push);
    assert_eq!(o.status, WebhookEventStatus::Ignored);
    assert!(o.reason.unwrap().contains("was removed"));
    assert!(all_builds(&svc).is_empty());
    assert_eq!(*signals.wakes.lock().unwrap(), 0);
}

const TWO_WORKFLOWS: &str = concat!(
    "workflows:\n",
    "  ios:\n    triggering:\n      events: [push]\n      cancel_previous_builds: true\n",
    "    scripts: [echo ios]\n",
    "  android:\n    triggering:\n      events: [push, pull_request]\n",
    "    scripts: [echo android]\n",
);

#[test]
fn a_stored_pipeline_makes_one_build_per_workflow_and_cancels_superseded_ones() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    set_pipeline(&svc, &repo, TWO_WORKFLOWS);
    let signals = RecordingSignals::default();

    let first = process(
        &svc,
        &signals,
        deliver(&svc, &repo, "push", "1", push_body("refs/heads/main", "a")),
    );
    assert_eq!(first.build_ids.len(), 2);
    let workflows: Vec<_> = all_builds(&svc)
        .iter()
        .map(|b| b.workflow.clone())
        .collect();
    assert_eq!(
        workflows,
        [Some("ios".to_owned()), Some("android".to_owned())]
    );
    // The first ios build is running by now, with a live worker.
    let running = first.build_ids[0];
    assert!(
        block_on(svc.builds.transition_build(
            running,
            BuildStatus::Pending,
            BuildStatus::Running,
            &Default::default()
        ))
        .unwrap()
    );
    signals.live.lock().unwrap().push(running);

    let second = process(
        &svc,
        &signals,
        deliver(&svc, &repo, "push", "2", push_body("refs/heads/main", "b")),
    );
    assert_eq!(
        second.cancelled,
        vec![running],
        "the older ios build is superseded"
    );
    assert_eq!(
        *signals.cancelled.lock().unwrap(),
        vec![running],
        "its worker is told"
    );
    let android_first = first.build_ids[1];
    assert_eq!(
        block_on(svc.builds.get_build(android_first))
            .unwrap()
            .unwrap()
            .status,
        BuildStatus::Pending,
        "android does not cancel previous builds"
    );

    let third = process(
        &svc,
        &signals,
        deliver(&svc, &repo, "push", "3", push_body("refs/heads/main", "c")),
    );
    let pending_ios = second.build_ids[0];
    assert!(third.cancelled.contains(&pending_ios));
    let cancelled = block_on(svc.builds.get_build(pending_ios))
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.status, BuildStatus::Cancelled);
    assert_eq!(
        cancelled.error_message.as_deref(),
        Some("cancelled: superseded by build #5 (cancel_previous_builds)")
    );

    let other_branch = process(
        &svc,
        &signals,
        deliver(&svc, &repo, "push", "4", push_body("refs/heads/dev", "d")),
    );
    assert!(
        other_branch.cancelled.is_empty(),
        "other branches are left alone"
    );
}

#[test]
fn a_stored_pipeline_that_selects_nothing_ignores_the_event() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    set_pipeline(
        &svc,
        &repo,
        "workflows:\n  release:\n    triggering:\n      events: [tag]\n    scripts: [echo]\n",
    );
    let o = process(
        &svc,
        &RecordingSignals::default(),
        deliver(&svc, &repo, "push", "1", push_body("refs/heads/main", "a")),
    );
    assert_eq!(o.status, WebhookEventStatus::Ignored);
    assert!(
        o.reason
            .unwrap()
            .starts_with("no workflow in the stored pipeline is triggered by push to main")
    );

    // With repository precedence the stored pipeline may not be the one used: the
    // executor decides after checkout.
    let id = deliver(&svc, &repo, "push", "2", push_body("refs/heads/main", "a"));
    let settings = ProcessSettings {
        precedence: PipelinePrecedence::Repository,
    };
    let o = block_on(process_event(
        &svc,
        &RecordingSignals::default(),
        &settings,
        id,
    ))
    .unwrap();
    assert_eq!(o.status, WebhookEventStatus::Processed);
    assert_eq!(all_builds(&svc)[0].workflow, None);
}

#[test]
fn a_gitlab_merge_request_builds_its_source_branch_against_its_target() {
    let svc = services();
    let repo = repo(&svc, "gitlab", "group");
    let body = serde_json::json!({
        "object_kind": "merge_request",
        "project": {"path_with_namespace": "group/app"},
        "user": {"username": "sam"},
        "object_attributes": {
            "iid": 12, "action": "update", "oldrev": "1".repeat(40),
            "source_project_id": 5, "target_project_id": 5,
            "source_branch": "feature/x", "target_branch": "develop", "title": "X",
            "last_commit": {"id": SHA, "message": "more"}
        }
    })
    .to_string()
    .into_bytes();
    let request = DeliveryRequest {
        provider: repo.provider,
        repository_id: repo.id,
        headers: vec![
            ("x-gitlab-event".into(), "Merge Request Hook".into()),
            ("x-gitlab-token".into(), SECRET.into()),
        ],
        body,
        source_ip: None,
    };
    let Admission::Accept(event) = admit_delivery(&svc, request, &repo) else {
        panic!("accepted");
    };
    block_on(svc.webhooks.insert_batch(std::slice::from_ref(&event))).unwrap();
    let o = process(&svc, &RecordingSignals::default(), event.id);
    assert_eq!(o.status, WebhookEventStatus::Processed);
    let b = &all_builds(&svc)[0];
    assert_eq!(
        (
            b.trigger,
            b.priority,
            b.branch.as_ref().map(|x| x.as_str()),
            b.base_branch.as_ref().map(|x| x.as_str()),
            b.pull_request
        ),
        (
            TriggerType::MergeRequest,
            Priority::REVIEW,
            Some("feature/x"),
            Some("develop"),
            Some(12)
        )
    );
}

#[test]
fn inactive_repositories_still_record_deliveries() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    block_on(set_repository_active(&svc, repo.id, false)).unwrap();
    let current = block_on(svc.repositories.get(repo.id)).unwrap().unwrap();
    assert_eq!(current.state, RepositoryState::Inactive);
    let id = deliver(
        &svc,
        &current,
        "push",
        "1",
        push_body("refs/heads/main", "x"),
    );
    assert_eq!(
        process(&svc, &RecordingSignals::default(), id).status,
        WebhookEventStatus::Ignored
    );
    let page = block_on(list_webhook_events(&svc, &Default::default())).unwrap();
    assert_eq!(page.events.len(), 1);
    let shown = block_on(get_webhook_event(&svc, id)).unwrap();
    assert_eq!(shown.event.id, id);
}

/// A GitHub `pull_request` event `action` of #7 from the fork `stranger/app`, its head at
/// `head`, its author `association`.
fn fork_pr_body(action: &str, head: &str, association: &str) -> Vec<u8> {
    serde_json::json!({
        "action": action,
        "number": 7,
        "pull_request": {
            "number": 7,
            "title": "Improve things",
            "author_association": association,
            "head": {"ref": "feature", "sha": head, "repo": {"full_name": "stranger/app"}},
            "base": {"ref": "main", "sha": "2".repeat(40), "repo": {"full_name": "acme/app"}},
        },
        "repository": {"full_name": "acme/app"},
        "sender": {"login": "stranger"},
    })
    .to_string()
    .into_bytes()
}

#[test]
fn a_fork_pull_request_waits_and_an_approval_builds_its_commit_once() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    let signals = RecordingSignals::default();
    let id = deliver(
        &svc,
        &repo,
        "pull_request",
        "pr-1",
        fork_pr_body("opened", SHA, "CONTRIBUTOR"),
    );
    let held = process(&svc, &signals, id);
    assert_eq!(held.status, WebhookEventStatus::AwaitingApproval);
    let reason = held.reason.unwrap_or_default();
    assert!(
        reason
            .starts_with("pull request #7 comes from the fork stranger/app (author: CONTRIBUTOR)")
            && reason.ends_with(&format!(
                "approve it with `oore webhook approve {id}`, which builds this commit once"
            )),
        "{reason}"
    );
    assert!(all_builds(&svc).is_empty(), "nothing built");

    // A redelivery decides again, and waits again: it never approves.
    block_on(redeliver_webhook_event(&svc, id)).unwrap();
    assert_eq!(
        process(&svc, &signals, id).status,
        WebhookEventStatus::AwaitingApproval
    );
    assert!(all_builds(&svc).is_empty());

    let approved = block_on(approve_webhook_event(&svc, id, Some("alice"))).unwrap();
    assert_eq!(approved.status, WebhookEventStatus::Received);
    assert_eq!(
        approved.approval.as_ref().map(|a| a.by.as_str()),
        Some("alice")
    );
    let built = process(&svc, &signals, id);
    assert_eq!(built.status, WebhookEventStatus::Processed);
    let builds = all_builds(&svc);
    assert_eq!(builds.len(), 1);
    assert_eq!(
        (
            builds[0].commit_sha.as_deref(),
            builds[0].pull_request,
            builds[0].webhook_event_id
        ),
        (Some(SHA), Some(7), Some(id))
    );
    assert!(block_on(build_from_fork(&svc, &builds[0])).unwrap());

    // Approving again is refused and builds nothing; so is processing it again.
    let again = block_on(approve_webhook_event(&svc, id, Some("bob"))).unwrap_err();
    assert!(
        matches!(&again, ApproveError::AlreadyApproved { by, .. } if by == "alice"),
        "{again}"
    );
    assert_eq!(again.class(), crate::error::ErrorClass::Conflict);
    block_on(redeliver_webhook_event(&svc, id)).unwrap();
    let reprocessed = process(&svc, &signals, id);
    assert_eq!(
        (reprocessed.status, reprocessed.created.len()),
        (WebhookEventStatus::Processed, 0),
        "the approval stays with the event; its build is found, not repeated"
    );
    assert_eq!(all_builds(&svc).len(), 1);

    // A new push to the pull request is a new event: it waits for its own approval.
    let newer = "fedcba9876543210fedcba9876543210fedcba98";
    let sync = deliver(
        &svc,
        &repo,
        "pull_request",
        "pr-2",
        fork_pr_body("synchronize", newer, "CONTRIBUTOR"),
    );
    assert_eq!(
        process(&svc, &signals, sync).status,
        WebhookEventStatus::AwaitingApproval
    );
    assert_eq!(all_builds(&svc).len(), 1);
}

#[test]
fn two_approvals_at_once_build_once() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    let signals = RecordingSignals::default();
    let id = deliver(
        &svc,
        &repo,
        "pull_request",
        "pr-1",
        fork_pr_body("opened", SHA, "NONE"),
    );
    process(&svc, &signals, id);
    let both = block_on(crate::testing::join_all([
        approve_webhook_event(&svc, id, Some("alice")),
        approve_webhook_event(&svc, id, Some("bob")),
    ]));
    assert_eq!(both.iter().filter(|r| r.is_ok()).count(), 1, "{both:?}");
    assert!(
        both.iter()
            .any(|r| matches!(r, Err(ApproveError::AlreadyApproved { .. })))
    );
    process(&svc, &signals, id);
    process(&svc, &signals, id);
    assert_eq!(all_builds(&svc).len(), 1);
}

#[test]
fn approvals_need_an_event_that_waits() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    let push = deliver(&svc, &repo, "push", "p", push_body("refs/heads/main", "x"));
    let err = block_on(approve_webhook_event(&svc, push, None)).unwrap_err();
    assert!(
        matches!(
            err,
            ApproveError::NotAwaiting {
                status: WebhookEventStatus::Received,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("not awaiting approval"), "{err}");
    let missing = WebhookEventId::from_ulid(ulid::Ulid::from_parts(1, 1));
    assert!(matches!(
        block_on(approve_webhook_event(&svc, missing, None)),
        Err(ApproveError::NotFound(_))
    ));
    let bad = block_on(approve_webhook_event(&svc, push, Some(""))).unwrap_err();
    assert_eq!(bad.class(), crate::error::ErrorClass::Invalid);
    process(&svc, &RecordingSignals::default(), push);
    let build = &all_builds(&svc)[0];
    assert!(!block_on(build_from_fork(&svc, build)).unwrap(), "a push");
}

#[test]
fn trusted_authors_and_other_policies_need_no_approval() {
    let svc = services();
    let repo = repo(&svc, "github", "acme");
    let signals = RecordingSignals::default();
    let member = deliver(
        &svc,
        &repo,
        "pull_request",
        "m",
        fork_pr_body("opened", SHA, "MEMBER"),
    );
    assert_eq!(
        process(&svc, &signals, member).status,
        WebhookEventStatus::Processed
    );
    let never = crate::usecases::repository::UpdateRepository {
        fork_pull_requests: Some("never".into()),
        ..Default::default()
    };
    block_on(crate::usecases::repository::update_repository(
        &svc, repo.id, never,
    ))
    .unwrap();
    let stranger = deliver(
        &svc,
        &repo,
        "pull_request",
        "s",
        fork_pr_body("opened", SHA, "NONE"),
    );
    let ignored = process(&svc, &signals, stranger);
    assert_eq!(ignored.status, WebhookEventStatus::Ignored);
    assert!(
        ignored
            .reason
            .unwrap_or_default()
            .contains("never builds forks"),
    );
    assert_eq!(all_builds(&svc).len(), 1, "only the member's");
}
