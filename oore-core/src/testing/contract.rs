//! Contract suites: every implementation of a port runs the same checks.
//!
//! Call each `*_contract` function from the implementation's tests with a factory that
//! returns a fresh, empty instance. They assert (panic) on violations, like any test.

use jiff::{SignedDuration, Timestamp};

use crate::domain::repository::{
    BranchName, CloneUrl, Provider, RepoName, RepoOwner, Repository, RepositoryState,
};
use crate::domain::secret::{EncryptedSecret, SecretBinding, SecretString, StoredSecret};
use crate::ids::RepositoryId;
use crate::ports::{RepositoryFilter, RepositoryStore, SecretCipher, StoreError};
use crate::scheduling::RepoConcurrency;

pub use super::contract_builds::{build_store_contract, sample_build};
pub use super::contract_pipelines::pipeline_store_contract;
pub use super::contract_webhooks::{sample_webhook_event, webhook_store_contract};

/// A valid repository for tests; `n` makes the id and name unique.
pub fn sample_repository(n: u128, provider: Provider, owner: &str, name: &str) -> Repository {
    let at = Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH);
    let owner = RepoOwner::new(provider, owner).expect("valid sample owner");
    let name = RepoName::new(name).expect("valid sample name");
    let clone_url = CloneUrl::default_for(provider, &owner, &name)
        .unwrap_or_else(|| CloneUrl::new("/srv/git/sample.git").expect("valid url"));
    Repository {
        id: RepositoryId::from_ulid(ulid::Ulid::from_parts(1_767_225_600_000, n)),
        provider,
        owner,
        name,
        clone_url,
        default_branch: BranchName::main(),
        state: RepositoryState::Active,
        webhook_secret: Some(match provider {
            Provider::GitLab => StoredSecret::Digest([n as u8; 32]),
            _ => StoredSecret::Sealed(EncryptedSecret::from_bytes(vec![1, 2, 3, n as u8])),
        }),
        build_concurrency: RepoConcurrency::Parallel,
        created_at: at,
        updated_at: at,
    }
}

/// Runs every [`RepositoryStore`] contract check against stores made by `fresh`.
pub async fn repository_store_contract<S, F>(fresh: F)
where
    S: RepositoryStore,
    F: Fn() -> S,
{
    insert_then_get_round_trips_every_field(&fresh()).await;
    duplicate_identity_is_rejected_case_insensitively(&fresh()).await;
    list_filters_and_orders(&fresh()).await;
    update_replaces_fields_and_checks_identity(&fresh()).await;
    soft_delete_hides_and_frees_the_identity(&fresh()).await;
    unknown_ids_are_not_found(&fresh()).await;
    unicode_names_survive(&fresh()).await;
}

async fn insert_then_get_round_trips_every_field(store: &dyn RepositoryStore) {
    let mut repo = sample_repository(1, Provider::GitLab, "group/sub", "app");
    repo.default_branch = BranchName::new("develop").expect("valid");
    repo.state = RepositoryState::PendingSetup;
    repo.webhook_secret = None;
    repo.build_concurrency = RepoConcurrency::Serial;
    repo.updated_at = repo.created_at + SignedDuration::from_millis(1500);
    store.insert(&repo).await.expect("insert");
    assert_eq!(store.get(repo.id).await.expect("get"), Some(repo.clone()));

    let with_secret = sample_repository(2, Provider::GitHub, "acme", "web");
    store.insert(&with_secret).await.expect("insert");
    assert_eq!(
        store.get(with_secret.id).await.expect("get"),
        Some(with_secret)
    );
}

async fn duplicate_identity_is_rejected_case_insensitively(store: &dyn RepositoryStore) {
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

async fn list_filters_and_orders(store: &dyn RepositoryStore) {
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

async fn update_replaces_fields_and_checks_identity(store: &dyn RepositoryStore) {
    let mut a = sample_repository(1, Provider::GitHub, "acme", "a");
    let b = sample_repository(2, Provider::GitHub, "acme", "b");
    store.insert(&a).await.expect("insert");
    store.insert(&b).await.expect("insert");

    a.state = RepositoryState::Inactive;
    a.clone_url = CloneUrl::new("git@github.com:acme/a.git").expect("valid");
    a.default_branch = BranchName::new("trunk").expect("valid");
    a.webhook_secret = None;
    a.build_concurrency = RepoConcurrency::Serial;
    a.updated_at += SignedDuration::from_secs(60);
    store.update(&a).await.expect("update");
    assert_eq!(store.get(a.id).await.expect("get"), Some(a.clone()));
    a.build_concurrency = RepoConcurrency::Parallel;
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

async fn soft_delete_hides_and_frees_the_identity(store: &dyn RepositoryStore) {
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

async fn unknown_ids_are_not_found(store: &dyn RepositoryStore) {
    let ghost = sample_repository(9, Provider::GitHub, "nobody", "nothing");
    assert_eq!(store.get(ghost.id).await.expect("get"), None);
    assert_eq!(store.update(&ghost).await, Err(StoreError::NotFound));
    assert_eq!(
        store.soft_delete(ghost.id, ghost.created_at).await,
        Err(StoreError::NotFound)
    );
}

async fn unicode_names_survive(store: &dyn RepositoryStore) {
    let repo = sample_repository(1, Provider::GitHub, "Zoë", "アプリ-🚀");
    store.insert(&repo).await.expect("insert");
    assert_eq!(store.get(repo.id).await.expect("get"), Some(repo.clone()));
    let folded = sample_repository(2, Provider::GitHub, "ZOË", "アプリ-🚀");
    assert!(
        matches!(store.insert(&folded).await, Err(StoreError::Duplicate(_))),
        "case folding must cover non-ASCII letters"
    );
}

/// Runs every [`SecretCipher`] contract check against `cipher`.
pub fn secret_cipher_contract(cipher: &dyn SecretCipher) {
    let binding = SecretBinding::new(
        "repositories",
        "webhook_secret",
        "01J0000000000000000000000A",
    );
    let secret = SecretString::new("p@ss wörd ✓");
    let sealed = cipher.encrypt(&secret, &binding).expect("encrypt");
    assert_eq!(cipher.decrypt(&sealed, &binding).expect("decrypt"), secret);

    let other_row = SecretBinding::new(
        "repositories",
        "webhook_secret",
        "01J0000000000000000000000B",
    );
    assert!(
        cipher.decrypt(&sealed, &other_row).is_err(),
        "a value moved to another row must not decrypt"
    );
    let other_column = SecretBinding::new("repositories", "other", "01J0000000000000000000000A");
    assert!(
        cipher.decrypt(&sealed, &other_column).is_err(),
        "a value moved to another column must not decrypt"
    );

    let mut tampered = sealed.as_bytes().to_vec();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    assert!(
        cipher
            .decrypt(&EncryptedSecret::from_bytes(tampered), &binding)
            .is_err()
    );
    assert!(
        cipher
            .decrypt(&EncryptedSecret::from_bytes(Vec::new()), &binding)
            .is_err()
    );

    let empty = SecretString::new("");
    let sealed_empty = cipher.encrypt(&empty, &binding).expect("encrypt");
    assert_eq!(
        cipher.decrypt(&sealed_empty, &binding).expect("decrypt"),
        empty
    );

    let digest = cipher.keyed_digest(&secret, &binding);
    assert_eq!(
        digest,
        cipher.keyed_digest(&secret, &binding),
        "a digest is deterministic"
    );
    assert_ne!(
        digest,
        cipher.keyed_digest(&SecretString::new("p@ss wörd ✗"), &binding)
    );
    assert_ne!(
        digest,
        cipher.keyed_digest(&secret, &other_row),
        "a digest is bound to its row"
    );
    assert_ne!(digest, cipher.keyed_digest(&secret, &other_column));
    assert_ne!(cipher.keyed_digest(&empty, &binding), [0u8; 32]);
    use sha2::Digest as _;
    assert_ne!(
        digest.as_slice(),
        sha2::Sha256::digest(secret.expose().as_bytes()).as_slice(),
        "a digest is keyed, not a plain hash"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{
        FakeCipher, MemoryBuildStore, MemoryRepositoryStore, MemoryWebhookEventStore, block_on,
    };

    #[test]
    fn memory_store_keeps_the_contract() {
        block_on(repository_store_contract(MemoryRepositoryStore::default));
    }

    #[test]
    fn memory_build_store_keeps_the_contract() {
        block_on(build_store_contract(|| {
            let repositories = MemoryRepositoryStore::default();
            (MemoryBuildStore::new(repositories.clone()), repositories)
        }));
    }

    #[test]
    fn memory_webhook_store_keeps_the_contract() {
        block_on(webhook_store_contract(|| {
            let repositories = MemoryRepositoryStore::default();
            (
                MemoryWebhookEventStore::new(repositories.clone()),
                repositories,
            )
        }));
    }

    #[test]
    fn fake_cipher_keeps_the_contract() {
        secret_cipher_contract(&FakeCipher);
    }
}
