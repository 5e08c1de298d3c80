//! What is configured (spec 2.1 "Already configured", `oore github status`): the App,
//! its installations, and whether GitHub can reach this server.

use crate::error::{ErrorClass, UseCaseError};
use crate::github::ports::GitHubServices;
use crate::github::{GitHubApp, Installation, base_url_warning};
use crate::ports::StoreError;
use crate::services::Services;
use crate::usecases::store_class;

/// The App's state as stored.
#[derive(Debug, Clone)]
pub struct GitHubStatus {
    /// The App, if configured.
    pub app: Option<GitHubApp>,
    /// Its installations.
    pub installations: Vec<Installation>,
    /// Where to install it.
    pub install_url: Option<String>,
    /// Set when GitHub cannot reach `OORE_BASE_URL`.
    pub warning: Option<String>,
}

/// Why the status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitHubStatusError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for GitHubStatusError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Store(e) => store_class(e),
        }
    }
}

/// The App and its installations, from the database (no call to GitHub).
pub async fn github_status(
    _svc: &Services,
    gh: &GitHubServices,
) -> Result<GitHubStatus, GitHubStatusError> {
    let app = gh.store.app().await?;
    let installations = if app.is_some() {
        gh.store.installations().await?
    } else {
        Vec::new()
    };
    Ok(GitHubStatus {
        install_url: app.as_ref().map(|a| gh.location.install_url(&a.slug)),
        app,
        installations,
        warning: base_url_warning(&gh.base_url),
    })
}
