//! The GitHub App's production wiring: [`GitHubClient`] over outbound HTTPS (with
//! `OORE_GITHUB_CA_BUNDLE`), the SQLite store, and [`CachedTokens`], bundled as
//! [`GitHubServices`] with `OORE_GITHUB_URL`, `OORE_GITHUB_API_URL` and `OORE_BASE_URL`.

use std::sync::Arc;

use oore_adapters::github::{CachedTokens, GitHubClient, GitHubClientSettings};
use oore_adapters::http_client::{HttpsClient, HttpsConfig, HttpsSetupError};
use oore_adapters::sqlite::SqliteStore;
use oore_core::github::GitHubLocation;
use oore_core::github::ports::{GitHubApi, GitHubServices, GitHubStore};
use oore_core::services::Services;

use crate::config::Config;

/// The App's ports over `store`, with the settings of `config`.
pub(crate) fn github_services(
    config: &Config,
    services: &Services,
    store: Arc<dyn GitHubStore>,
) -> Result<GitHubServices, HttpsSetupError> {
    let http = HttpsClient::new(&HttpsConfig::new(config.github_ca_bundle.clone()))?;
    let api: Arc<dyn GitHubApi> = Arc::new(GitHubClient::new(
        http,
        GitHubClientSettings::new(&config.github_api_url),
        Arc::clone(&services.clock),
    ));
    let tokens = Arc::new(CachedTokens::new(
        Arc::clone(&store),
        Arc::clone(&api),
        Arc::clone(&services.cipher),
        Arc::clone(&services.clock),
    ));
    Ok(GitHubServices {
        store,
        api,
        tokens,
        location: GitHubLocation {
            web_url: config.github_url.clone(),
            api_url: config.github_api_url.clone(),
        },
        base_url: config.base_url.clone(),
    })
}

/// The GitHub store of the production database.
pub(crate) fn sqlite_github_store(store: SqliteStore) -> Arc<dyn GitHubStore> {
    Arc::new(store)
}
