//! The manifest callback (spec 2.1): GitHub sent the browser back with a code; exchange
//! it for the new App's credentials and store them sealed, one row bound to its id.

use crate::domain::secret::SecretString;
use crate::error::{ErrorClass, UseCaseError};
use crate::forge::ForgeError;
use crate::github::ports::{Claim, GitHubServices};
use crate::github::{GitHubApp, SetupOutcome, SetupState, app_secret_binding};
use crate::ports::{CipherError, StoreError};
use crate::services::Services;
use crate::usecases::store_class;

/// The App created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupCompleted {
    /// The App's numeric id.
    pub app_id: u64,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Its page on GitHub.
    pub html_url: String,
    /// Where to install it.
    pub install_url: String,
}

/// Why the callback failed.
#[derive(Debug, thiserror::Error)]
pub enum CompleteSetupError {
    /// No such state: not from this server, or mistyped.
    #[error(
        "this callback's state is unknown to this server; start again with `oore github setup`"
    )]
    UnknownState,
    /// The state's 10 minutes are over.
    #[error("this setup expired (10 minutes); start again with `oore github setup`")]
    ExpiredState,
    /// The callback ran before with this state.
    #[error(
        "this callback was used already; check `oore github status`, and start again with `oore github setup` if no App is configured"
    )]
    UsedState,
    /// The callback carried no code.
    #[error(
        "the callback URL has no code; copy the whole URL GitHub redirected to, or start again with `oore github setup`"
    )]
    MissingCode,
    /// GitHub refused the code.
    #[error(
        "GitHub refused the code: it is unknown, used already, or older than an hour; start again with `oore github setup` (the App GitHub created, if any, can be deleted in its settings)"
    )]
    CodeRefused,
    /// GitHub failed otherwise; when it was unavailable, the same callback may be
    /// retried (reload the page) while the setup lasts.
    #[error("exchanging the code with GitHub failed: {0}; {hint}", hint = retry_hint(.0))]
    Forge(ForgeError),
    /// GitHub's private key cannot be used.
    #[error(
        "GitHub returned a private key Oore cannot use ({0}); start again with `oore github setup`"
    )]
    BadKey(String),
    /// Sealing a secret failed.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn retry_hint(e: &ForgeError) -> &'static str {
    if e.is_transient() {
        "reload the page to try again (the setup lasts 10 minutes), or run `oore github callback` with its URL"
    } else {
        "start again with `oore github setup`"
    }
}

impl UseCaseError for CompleteSetupError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::UnknownState => ErrorClass::NotFound,
            Self::ExpiredState | Self::UsedState => ErrorClass::Conflict,
            Self::MissingCode | Self::CodeRefused | Self::BadKey(_) => ErrorClass::Invalid,
            Self::Forge(e) if e.is_transient() => ErrorClass::Unavailable,
            Self::Forge(_) => ErrorClass::Invalid,
            Self::Cipher(_) => ErrorClass::Internal,
            Self::Store(e) => store_class(e),
        }
    }
}

/// Claims `state` (single use), exchanges `code` and stores the App, replacing any
/// other. A failure after the claim is recorded on the state, so the CLI's poll sees it.
pub async fn complete_setup(
    svc: &Services,
    gh: &GitHubServices,
    state: &str,
    code: Option<&str>,
) -> Result<SetupCompleted, CompleteSetupError> {
    let digest = SetupState::digest_of(state);
    let now = svc.clock.now();
    let claimed = match gh.store.claim_setup_state(&digest, now).await? {
        Claim::Claimed(s) => s,
        Claim::AlreadyUsed(_) => return Err(CompleteSetupError::UsedState),
        Claim::Unknown => return Err(CompleteSetupError::UnknownState),
    };
    let result = exchange(svc, gh, &claimed, code).await;
    if let Err(CompleteSetupError::Forge(e)) = &result
        && e.is_transient()
    {
        // GitHub was unavailable: the code is likely still good, so the same link (a
        // reload of the page) may try again while the state lasts.
        gh.store.release_setup_claim(&digest).await?;
        return result;
    }
    let outcome = match &result {
        Ok(done) => SetupOutcome::Completed {
            slug: done.slug.clone(),
        },
        Err(e) => SetupOutcome::Failed {
            message: e.to_string(),
        },
    };
    gh.store.finish_setup_state(&digest, &outcome).await?;
    result
}

async fn exchange(
    svc: &Services,
    gh: &GitHubServices,
    claimed: &SetupState,
    code: Option<&str>,
) -> Result<SetupCompleted, CompleteSetupError> {
    if claimed.is_expired(svc.clock.now()) {
        return Err(CompleteSetupError::ExpiredState);
    }
    let code = code
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or(CompleteSetupError::MissingCode)?;
    let created = gh.api.convert_manifest(code).await.map_err(|e| match e {
        ForgeError::NotFound { .. } | ForgeError::Unauthorized { .. } => {
            CompleteSetupError::CodeRefused
        }
        other => CompleteSetupError::Forge(other),
    })?;
    gh.api
        .check_private_key(&created.pem)
        .map_err(CompleteSetupError::BadKey)?;
    let row_id = svc.ids.new_ulid();
    let seal = |value: &SecretString, column: &'static str| {
        svc.cipher
            .encrypt(value, &app_secret_binding(row_id, column))
    };
    let now = svc.clock.now();
    let app = GitHubApp {
        row_id,
        app_id: created.app_id,
        slug: created.slug.clone(),
        name: created.name.clone(),
        client_id: created.client_id.clone(),
        html_url: created.html_url.clone(),
        owner_login: created.owner_login.clone(),
        client_secret: seal(&created.client_secret, "client_secret")?,
        webhook_secret: created
            .webhook_secret
            .as_ref()
            .map(|s| seal(s, "webhook_secret"))
            .transpose()?,
        private_key: seal(&created.pem, "private_key")?,
        created_at: now,
        updated_at: now,
    };
    gh.store.replace_app(&app).await?;
    gh.tokens.forget(None);
    Ok(SetupCompleted {
        install_url: gh.location.install_url(&app.slug),
        app_id: app.app_id,
        slug: app.slug,
        name: app.name,
        html_url: app.html_url,
    })
}
