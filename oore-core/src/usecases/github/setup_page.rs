//! The local setup page (spec 2.1): checks the state and gives what the page's form
//! posts to GitHub: the manifest and the form's action.

use crate::error::{ErrorClass, UseCaseError};
use crate::github::ports::GitHubServices;
use crate::github::{SetupState, manifest};
use crate::ports::StoreError;
use crate::services::Services;
use crate::usecases::store_class;

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupPage {
    /// Where the form posts (GitHub's "new App" page, with the state).
    pub action: String,
    /// The manifest, as the JSON text of the form's `manifest` field.
    pub manifest: String,
    /// The proposed App name.
    pub app_name: String,
    /// The organisation, if any.
    pub org: Option<String>,
}

/// Why the page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum SetupPageError {
    /// No such state.
    #[error("this setup link is unknown; start again with `oore github setup`")]
    Unknown,
    /// Too late.
    #[error(
        "this setup link expired (links work for 10 minutes); start again with `oore github setup`"
    )]
    Expired,
    /// Its callback ran already.
    #[error(
        "this setup link was used already; start again with `oore github setup` if the App was not created"
    )]
    Used,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for SetupPageError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Unknown => ErrorClass::NotFound,
            Self::Expired | Self::Used => ErrorClass::Conflict,
            Self::Store(e) => store_class(e),
        }
    }
}

/// The page for `state`, if it is known, unused and unexpired.
pub async fn setup_page(
    svc: &Services,
    gh: &GitHubServices,
    state: &str,
) -> Result<SetupPage, SetupPageError> {
    let stored = gh
        .store
        .setup_state(&SetupState::digest_of(state))
        .await?
        .ok_or(SetupPageError::Unknown)?;
    if stored.used_at.is_some() {
        return Err(SetupPageError::Used);
    }
    if stored.is_expired(svc.clock.now()) {
        return Err(SetupPageError::Expired);
    }
    Ok(SetupPage {
        action: gh
            .location
            .manifest_form_action(stored.org.as_deref(), state),
        manifest: manifest(&gh.base_url, &stored.app_name).to_string(),
        app_name: stored.app_name,
        org: stored.org,
    })
}
