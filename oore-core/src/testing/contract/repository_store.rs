//! The [`RepositoryStore`] contract suite. Run it with
//! [`contract_tests!`](crate::contract_tests)`(repository_store, ...)`; each case gets a
//! fresh, empty store.

use jiff::SignedDuration;

use super::sample_repository;
use crate::domain::repository::{BranchName, CloneUrl, Provider, RepoName, RepositoryState};
use crate::domain::secret::EncryptedSecret;
use crate::ports::{RepositoryFilter, RepositoryStore, StoreError};
use crate::scheduling::RepoConcurrency;

pub async fn insert_then_get_round_trips_every_field(store: &dyn RepositoryStore) {
    let mut repo = sample_repository(1, Provider::GitLab, "group/sub", "app");
    repo.default_branch = BranchName::new("develop").expect("valid");
    repo.state = RepositoryState::PendingSetup;
    repo.webhook_secret = None;
    repo.build_concurrency = RepoConcurrency::Serial;
    repo.updated_at = repo.created_at + SignedDuration::from_millis(1500);
    store.insert(&repo).await.expect("insert");
    assert_eq!(store.get(repo.id).await.expect("get"), Some(repo.clone()));

    let mut with_secret = sample_repository(2, Provider::GitHub, "acme", "web");
    with_secret.clone_credentials = Some(EncryptedSecret::from_bytes(vec![9; 41]));
    store.insert(&with_secret).await.expect("insert");
    assert_eq!(
        store.get(with_secret.id).await.expect("get"),
        Some(with_secret)
    );
}

pub async fn duplicate_identity_is_rejected_case_insensitively(store: &dyn RepositoryStore) {
    let repo = sample_repository(1, Provider::GitHub, "Acme", "App");
    store.insert(&repo).await.expect("insert");
    let same_id = sample_repository(1, Provider::GitHub, "other", "name");
    assert!(
        matches!(store.insert(&same_id).await, Err(StoreError::Duplicate(_))),
        "same id must be a duplicate"
    );
    let same_name = sample_repository(2, Provider::GitHub, "acme", "app");
    assert!(
        matches!(
            store.insert(&same_name).await,
            Err(StoreError::Duplicate(_))
        ),
        "same name must be a duplicate"
    );
    let other_provider = sample_repository(3, Provider::GitLab, "acme", "app");
    store
        .insert(&other_provider)
        .await
        .expect("another provider is another repository");
    assert_eq!(
        store
            .list(&RepositoryFilter::default())
            .await
            .expect("list")
            .len(),
        2,
        "nothing half-written"
    );
}

pub async fn list_filters_and_orders(store: &dyn RepositoryStore) {
    let b = sample_repository(1, Provider::GitHub, "beta", "x");
    let a = sample_repository(2, Provider::GitHub, "Alpha", "y");
    let mut c = sample_repository(3, Provider::GitLab, "alpha", "z");
    c.state = RepositoryState::Inactive;
    for r in [&b, &a, &c] {
        store.insert(r).await.expect("insert");
    }
    let all = store
        .list(&RepositoryFilter::default())
        .await
        .expect("list");
    let ids: Vec<_> = all.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [a.id, c.id, b.id],
        "ordered by owner then name, case-insensitively"
    );

    let github = RepositoryFilter {
        provider: Some(Provider::GitHub),
        ..Default::default()
    };
    assert_eq!(store.list(&github).await.expect("list").len(), 2);
    let inactive = RepositoryFilter {
        state: Some(RepositoryState::Inactive),
        ..Default::default()
    };
    assert_eq!(store.list(&inactive).await.expect("list"), vec![c]);
}

pub async fn update_replaces_fields_and_checks_identity(store: &dyn RepositoryStore) {
    let mut a = sample_repository(1, Provider::GitHub, "acme", "a");
    let b = sample_repository(2, Provider::GitHub, "acme", "b");
    store.insert(&a).await.expect("insert");
    store.insert(&b).await.expect("insert");

    a.state = RepositoryState::Inactive;
    a.clone_url = CloneUrl::new("git@github.com:acme/a.git").expect("valid");
    a.default_branch = BranchName::new("trunk").expect("valid");
    a.webhook_secret = None;
    a.clone_credentials = Some(EncryptedSecret::from_bytes(vec![5; 42]));
    a.build_concurrency = RepoConcurrency::Serial;
    a.updated_at += SignedDuration::from_secs(60);
    store.update(&a).await.expect("update");
    assert_eq!(store.get(a.id).await.expect("get"), Some(a.clone()));
    a.build_concurrency = RepoConcurrency::Parallel;
    a.clone_credentials = None;
    store.update(&a).await.expect("update");
    assert_eq!(
        store.get(a.id).await.expect("get"),
        Some(a.clone()),
        "the concurrency mode can go back to parallel"
    );

    let mut clash = a.clone();
    clash.name = RepoName::new("B").expect("valid");
    assert!(matches!(
        store.update(&clash).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(
        store.get(a.id).await.expect("get"),
        Some(a),
        "a failed update changes nothing"
    );
}

pub async fn soft_delete_hides_and_frees_the_identity(store: &dyn RepositoryStore) {
    let repo = sample_repository(1, Provider::GitHub, "acme", "app");
    store.insert(&repo).await.expect("insert");
    store
        .soft_delete(repo.id, repo.created_at)
        .await
        .expect("delete");
    assert_eq!(store.get(repo.id).await.expect("get"), None);
    assert!(
        store
            .list(&RepositoryFilter::default())
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store.soft_delete(repo.id, repo.created_at).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.update(&repo).await, Err(StoreError::NotFound));

    let again = sample_repository(2, Provider::GitHub, "acme", "app");
    store
        .insert(&again)
        .await
        .expect("a deleted repository's name can be reused");
}

pub async fn unknown_ids_are_not_found(store: &dyn RepositoryStore) {
    let ghost = sample_repository(9, Provider::GitHub, "nobody", "nothing");
    assert_eq!(store.get(ghost.id).await.expect("get"), None);
    assert_eq!(store.update(&ghost).await, Err(StoreError::NotFound));
    assert_eq!(
        store.soft_delete(ghost.id, ghost.created_at).await,
        Err(StoreError::NotFound)
    );
}

pub async fn unicode_names_survive(store: &dyn RepositoryStore) {
    let repo = sample_repository(1, Provider::GitHub, "Zoë", "アプリ-🚀");
    store.insert(&repo).await.expect("insert");
    assert_eq!(store.get(repo.id).await.expect("get"), Some(repo.clone()));
    let folded = sample_repository(2, Provider::GitHub, "ZOË", "アプリ-🚀");
    assert!(
        matches!(store.insert(&folded).await, Err(StoreError::Duplicate(_))),
        "case folding must cover non-ASCII letters"
    );
}
