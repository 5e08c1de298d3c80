//! Start the manifest flow (spec 2.1): a single-use state and the local page that posts
//! the manifest to GitHub.

use jiff::Timestamp;

use crate::domain::validation::{FieldError, FieldErrors};
use crate::error::{ErrorClass, UseCaseError};
use crate::github::ports::GitHubServices;
use crate::github::{
    SETUP_STATE_TTL, SetupOutcome, SetupState, base_url_warning, check_app_name, check_org,
    default_app_name,
};
use crate::ports::StoreError;
use crate::services::Services;
use crate::usecases::store_class;

/// Input of [`start_setup`].
#[derive(Debug, Clone, Default)]
pub struct StartSetup {
    /// Create the App for this organisation instead of the user's account.
    pub org: Option<String>,
    /// The App's name; defaults to `Oore CI (host)`.
    pub name: Option<String>,
    /// Replace an App that is configured already.
    pub force: bool,
    /// A fresh unguessable value (from the server's random source).
    pub state: String,
}

/// A started setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupStarted {
    /// The state, to poll the setup's status with.
    pub state: String,
    /// The local page to open in a browser.
    pub page_url: String,
    /// When the state stops working.
    pub expires_at: Timestamp,
    /// The App name the manifest proposes.
    pub app_name: String,
    /// Set when GitHub cannot reach `OORE_BASE_URL`.
    pub warning: Option<String>,
}

/// Why a setup could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartSetupError {
    /// An App is configured and `force` was not given.
    #[error(
        "a GitHub App ({slug}) is configured already; see it with `oore github status`, or replace it with `oore github setup --force`"
    )]
    AlreadyConfigured {
        /// The configured App.
        slug: String,
    },
    /// A bad name or organisation.
    #[error("invalid setup request: {0}")]
    Invalid(FieldErrors),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for StartSetupError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::AlreadyConfigured { .. } => ErrorClass::Conflict,
            Self::Invalid(_) => ErrorClass::Invalid,
            Self::Store(e) => store_class(e),
        }
    }

    fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Self::Invalid(f) => Some(f),
            _ => None,
        }
    }
}

/// Validates the input, refuses to replace a configured App without `force`, and stores
/// the state (only its digest) for [`SETUP_STATE_TTL`].
pub async fn start_setup(
    svc: &Services,
    gh: &GitHubServices,
    input: StartSetup,
) -> Result<SetupStarted, StartSetupError> {
    let mut errors = FieldErrors::new();
    let org = input
        .org
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    if let Some(org) = org {
        errors.check(check_org(org).map_err(|m| FieldError::new("org", m)));
    }
    let app_name = match input.name.as_deref() {
        Some(name) => {
            errors.check(check_app_name(name).map_err(|m| FieldError::new("name", m)));
            name.to_owned()
        }
        None => default_app_name(&gh.base_url),
    };
    errors.into_result().map_err(StartSetupError::Invalid)?;
    if !input.force
        && let Some(app) = gh.store.app().await?
    {
        return Err(StartSetupError::AlreadyConfigured { slug: app.slug });
    }
    let now = svc.clock.now();
    let expires_at = now.checked_add(SETUP_STATE_TTL).unwrap_or(now);
    gh.store
        .insert_setup_state(&SetupState {
            digest: SetupState::digest_of(&input.state),
            org: org.map(str::to_owned),
            app_name: app_name.clone(),
            created_at: now,
            expires_at,
            used_at: None,
            outcome: SetupOutcome::Pending,
        })
        .await?;
    Ok(SetupStarted {
        page_url: format!(
            "{}/setup/github?state={}",
            gh.base_url,
            crate::api::paths::query_component(&input.state)
        ),
        state: input.state,
        expires_at,
        app_name,
        warning: base_url_warning(&gh.base_url),
    })
}
