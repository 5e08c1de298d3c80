//! Embeds the adapters the way `oored` does: opens a store in a temporary directory,
//! builds `oore_core::services::Services` from the real adapters, adds two
//! repositories through the `add_repository` use case and lists them.
//!
//! Run with `cargo run -p oore-adapters --example embed`.
#![expect(clippy::print_stdout, reason = "an example shows its result on stdout")]

use std::error::Error;

use oore_adapters::crypto::EncryptionKey;
use oore_adapters::lock::DataDirLock;
use oore_adapters::services::sqlite_services;
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::secret::SecretString;
use oore_core::ports::RepositoryFilter;
use oore_core::usecases::repository::{AddRepository, add_repository, list_repositories};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let data_dir = tempfile::tempdir()?;
    let _lock = DataDirLock::acquire(data_dir.path())?;
    let store =
        SqliteStore::open(&data_dir.path().join("oore.db"), SqliteConfig::default()).await?;
    let svc = sqlite_services(store.clone(), &EncryptionKey::generate());

    add_repository(
        &svc,
        AddRepository {
            provider: "github".into(),
            owner: "acme".into(),
            name: "mobile-app".into(),
            webhook_secret: Some(SecretString::new("change-me")),
            ..AddRepository::default()
        },
    )
    .await?;
    add_repository(
        &svc,
        AddRepository {
            provider: "git".into(),
            owner: "local".into(),
            name: "design-system".into(),
            clone_url: Some("/srv/git/design-system.git".into()),
            default_branch: Some("develop".into()),
            ..AddRepository::default()
        },
    )
    .await?;

    println!("database: {}", store.path().display());
    for repo in list_repositories(&svc, &RepositoryFilter::default()).await? {
        println!(
            "{}  {:<7} {:<22} {:<8} {:<14} {}",
            repo.id,
            repo.provider.as_str(),
            repo.full_name(),
            repo.default_branch.as_str(),
            repo.state.as_str(),
            repo.clone_url.redacted()
        );
    }
    Ok(())
}
