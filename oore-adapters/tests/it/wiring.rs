//! The adapters wired into `oore_core::services::Services` and driven by real use cases.

use std::sync::Arc;

use oore_adapters::crypto::{EncryptionKey, XChaChaCipher};
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_adapters::system::{SystemClock, UlidGenerator};
use oore_core::domain::repository::RepositoryState;
use oore_core::domain::secret::SecretString;
use oore_core::ports::RepositoryFilter;
use oore_core::services::Services;
use oore_core::usecases::repository::{
    AddRepository, add_repository, list_repositories, webhook_secret_binding,
};

#[tokio::test]
async fn a_repository_added_with_a_secret_reads_back_and_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("oore.db"), SqliteConfig::default())
        .await
        .unwrap();
    let svc = Services {
        repositories: Arc::new(store.clone()),
        builds: Arc::new(store.clone()),
        pipelines: Arc::new(store.clone()),
        store_health: Arc::new(store.clone()),
        cipher: Arc::new(XChaChaCipher::new(&EncryptionKey::generate())),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UlidGenerator::new()),
    };
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
