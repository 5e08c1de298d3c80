//! The adapters wired into `oore_core::services::Services` and driven by real use cases.

use oore_adapters::crypto::EncryptionKey;
use oore_adapters::services::sqlite_services;
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::repository::RepositoryState;
use oore_core::domain::secret::SecretString;
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
    let sealed = listed[0].webhook_secret.clone().unwrap();
    let opened = svc
        .cipher
        .decrypt(&sealed, &webhook_secret_binding(added.id))
        .unwrap();
    assert_eq!(opened.expose(), "s3cret");
}
