//! The adapters wired into `oore_core::services::Services` and driven by real use cases.

use oore_adapters::crypto::EncryptionKey;
use oore_adapters::services::sqlite_services;
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::repository::RepositoryState;
use oore_core::domain::secret::{SecretString, StoredSecret};
use oore_core::ports::RepositoryFilter;
use oore_core::usecases::repository::{
    AddRepository, add_repository, list_repositories, webhook_secret_binding,
};

#[tokio::test]
async fn a_repository_added_with_a_secret_reads_back_and_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("oore.db"), SqliteConfig::default())
        .await
        .unwrap();
    let svc = sqlite_services(store.clone(), &EncryptionKey::generate());
    let added = add_repository(
        &svc,
        AddRepository {
            provider: "github".into(),
            owner: "Acme".into(),
            name: "App".into(),
            webhook_secret: Some(SecretString::new("s3cret")),
            ..AddRepository::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(added.state, RepositoryState::Active);

    let listed = list_repositories(&svc, &RepositoryFilter::default())
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![added.clone()],
        "system clock values round-trip exactly"
    );
    let Some(StoredSecret::Sealed(sealed)) = listed[0].webhook_secret.clone() else {
        panic!("a GitHub secret is stored sealed");
    };
    let opened = svc
        .cipher
        .decrypt(&sealed, &webhook_secret_binding(added.id))
        .unwrap();
    assert_eq!(opened.expose(), "s3cret");
}

/// A GitLab merge request from receipt to build over the real store and cipher: the
/// token is stored as a digest, verified, the event stored once, processed once.
#[tokio::test]
async fn a_gitlab_delivery_is_verified_stored_once_and_builds_once() {
    use oore_core::domain::build::TriggerType;
    use oore_core::domain::repository::Provider;
    use oore_core::domain::webhook::WebhookEventStatus;
    use oore_core::ports::{BuildQuery, InsertOutcome};
    use oore_core::testing::RecordingSignals;
    use oore_core::usecases::webhook::{Admission, ProcessSettings, admit_delivery, process_event};
    use oore_core::webhook::DeliveryRequest;

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("oore.db"), SqliteConfig::default())
        .await
        .unwrap();
    let svc = sqlite_services(store.clone(), &EncryptionKey::generate());
    let repo = add_repository(
        &svc,
        AddRepository {
            provider: "gitlab".into(),
            owner: "gitlabhq".into(),
            name: "gitlab-test".into(),
            default_branch: Some("master".into()),
            webhook_secret: Some(SecretString::new("t0ken")),
            ..AddRepository::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(repo.webhook_secret, Some(StoredSecret::Digest(_))));
    assert_eq!(
        svc.repositories.get(repo.id).await.unwrap(),
        Some(repo.clone()),
        "the digest round-trips"
    );

    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/gitlab/merge_request.default.json"
    ))
    .unwrap();
    let request = |token: &str| DeliveryRequest {
        provider: Provider::GitLab,
        repository_id: repo.id,
        headers: vec![
            ("x-gitlab-event".into(), "Merge Request Hook".into()),
            ("x-gitlab-token".into(), token.into()),
            (
                "idempotency-key".into(),
                "5f0e3a4c-0000-4000-8000-000000000001".into(),
            ),
        ],
        body: body.clone(),
        source_ip: Some("203.0.113.9".into()),
    };

    let Admission::Reject { record, .. } = admit_delivery(&svc, request("wrong"), &repo) else {
        panic!("a wrong token is rejected");
    };
    svc.webhooks
        .record_rejected(std::slice::from_ref(&record), 100)
        .await
        .unwrap();

    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let Admission::Accept(event) = admit_delivery(&svc, request("t0ken"), &repo) else {
            panic!("the right token is accepted");
        };
        assert!(event.headers.iter().all(|(n, _)| n != "x-gitlab-token"));
        outcomes.extend(svc.webhooks.insert_batch(&[event]).await.unwrap());
    }
    let InsertOutcome::Inserted(id) = outcomes[0] else {
        panic!("first is new: {outcomes:?}");
    };
    assert_eq!(
        outcomes[1],
        InsertOutcome::Duplicate(id),
        "a resend is a duplicate"
    );

    let signals = RecordingSignals::default();
    let settings = ProcessSettings::default();
    let first = process_event(&svc, &signals, &settings, id).await.unwrap();
    assert_eq!(
        first.status,
        WebhookEventStatus::Processed,
        "{:?}",
        first.reason
    );
    let second = process_event(&svc, &signals, &settings, id).await.unwrap();
    assert!(second.already_finished);
    let builds = svc
        .builds
        .list_builds(&BuildQuery {
            webhook_event_id: Some(id),
            ..BuildQuery::default()
        })
        .await
        .unwrap()
        .builds;
    assert_eq!(builds.len(), 1);
    assert_eq!(builds[0].trigger, TriggerType::MergeRequest);
    assert_eq!(builds[0].pull_request, Some(1));
    assert_eq!(
        builds[0].base_branch.as_ref().map(|b| b.as_str()),
        Some("master")
    );
    let stored = svc.webhooks.get_event(id).await.unwrap().unwrap();
    assert_eq!(stored.event.build_ids, vec![builds[0].id]);
    assert_eq!(stored.payload, body);
}
