//! The [`KeyCheckStore`] contract suite. Run it with
//! [`contract_tests!`](crate::contract_tests)`(key_check_store, ...)`; each case gets a
//! fresh, empty database seen as a key check store and as a repository store.

use jiff::Timestamp;

use super::sample_repository;
use crate::domain::repository::Provider;
use crate::domain::secret::{EncryptedSecret, StoredSecret};
use crate::ports::{KeyCheckStore, RepositoryStore};
use crate::usecases::repository::{clone_credentials_binding, webhook_secret_binding};

fn at() -> Timestamp {
    Timestamp::from_second(1_767_225_600).expect("valid time")
}

pub async fn no_check_value_until_one_is_created_and_the_first_one_stays(
    store: &dyn KeyCheckStore,
    _repositories: &dyn RepositoryStore,
) {
    assert_eq!(store.key_check().await.expect("read"), None);
    let first = EncryptedSecret::from_bytes(vec![1; 48]);
    assert!(store.create_key_check(&first, at()).await.expect("create"));
    let second = EncryptedSecret::from_bytes(vec![2; 48]);
    assert!(
        !store.create_key_check(&second, at()).await.expect("create"),
        "a second value is not stored"
    );
    assert_eq!(store.key_check().await.expect("read"), Some(first));
}

pub async fn samples_are_the_sealed_secrets_with_their_bindings(
    store: &dyn KeyCheckStore,
    repositories: &dyn RepositoryStore,
) {
    assert!(store.sealed_samples(8).await.expect("samples").is_empty());

    // GitLab keeps a keyed digest: nothing a key could open.
    let gitlab = sample_repository(1, Provider::GitLab, "group", "digest");
    repositories.insert(&gitlab).await.expect("insert");
    assert!(store.sealed_samples(8).await.expect("samples").is_empty());

    let github = sample_repository(2, Provider::GitHub, "acme", "sealed");
    repositories.insert(&github).await.expect("insert");
    let Some(StoredSecret::Sealed(webhook)) = github.webhook_secret.clone() else {
        panic!("a sample GitHub repository has a sealed secret");
    };
    let mut deleted = sample_repository(3, Provider::Git, "me", "gone");
    deleted.webhook_secret = None;
    let credentials = EncryptedSecret::from_bytes(vec![7; 40]);
    deleted.clone_credentials = Some(credentials.clone());
    repositories.insert(&deleted).await.expect("insert");
    repositories
        .soft_delete(deleted.id, at())
        .await
        .expect("delete");

    let mut samples = store.sealed_samples(8).await.expect("samples");
    samples.sort_by_key(|(binding, _)| (binding.column, binding.row_id.clone()));
    assert_eq!(
        samples,
        [
            (clone_credentials_binding(deleted.id), credentials),
            (webhook_secret_binding(github.id), webhook),
        ],
        "sealed values of live and deleted rows, never digests"
    );
    assert_eq!(store.sealed_samples(1).await.expect("samples").len(), 1);
}
