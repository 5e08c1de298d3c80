//! Private key rotation (spec 12.1): a new key replaces the stored one only after GitHub
//! accepted a JWT signed with it as this App.

use crate::domain::secret::SecretString;
use crate::error::{ErrorClass, UseCaseError};
use crate::forge::ForgeError;
use crate::github::ports::GitHubServices;
use crate::github::{AppAuth, AppInfo, app_secret_binding};
use crate::ports::{CipherError, StoreError};
use crate::services::Services;
use crate::usecases::store_class;

/// Why the key was not replaced.
#[derive(Debug, thiserror::Error)]
pub enum RotateKeyError {
    /// No App to rotate the key of.
    #[error("no GitHub App is configured; run `oore github setup` first")]
    NotConfigured,
    /// Not a usable RSA key.
    #[error(
        "the file is not a usable GitHub App private key: {0}; download a new one from the App's settings on GitHub (a .pem file)"
    )]
    InvalidKey(String),
    /// GitHub refused a JWT signed with it.
    #[error(
        "GitHub refused the new key for App {app_id} ({message}); check that it was generated for this App, in the App's settings on GitHub; the stored key was kept"
    )]
    Refused {
        /// The App.
        app_id: u64,
        /// What GitHub said.
        message: String,
    },
    /// The key belongs to another App.
    #[error(
        "the new key belongs to GitHub App {found}, not to the configured App {expected}; the stored key was kept"
    )]
    OtherApp {
        /// The configured App.
        expected: u64,
        /// The App the key signs for.
        found: u64,
    },
    /// GitHub could not be asked.
    #[error("could not check the new key with GitHub: {0}; the stored key was kept, retry later")]
    Forge(ForgeError),
    /// Sealing failed.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for RotateKeyError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::NotConfigured => ErrorClass::NotFound,
            Self::InvalidKey(_) | Self::Refused { .. } | Self::OtherApp { .. } => {
                ErrorClass::Invalid
            }
            Self::Forge(_) => ErrorClass::Unavailable,
            Self::Cipher(_) => ErrorClass::Internal,
            Self::Store(e) => store_class(e),
        }
    }
}

/// Checks `pem` with `GET /app` as the configured App, then seals and stores it in place
/// of the old key and drops cached installation tokens.
pub async fn rotate_private_key(
    svc: &Services,
    gh: &GitHubServices,
    pem: SecretString,
) -> Result<AppInfo, RotateKeyError> {
    let app = gh.store.app().await?.ok_or(RotateKeyError::NotConfigured)?;
    gh.api
        .check_private_key(&pem)
        .map_err(RotateKeyError::InvalidKey)?;
    let auth = AppAuth {
        app_id: app.app_id,
        client_id: app.client_id.clone(),
        private_key: pem.clone(),
    };
    let info = gh.api.app(&auth).await.map_err(|e| match e {
        ForgeError::Unauthorized { message } | ForgeError::Forbidden { message } => {
            RotateKeyError::Refused {
                app_id: app.app_id,
                message,
            }
        }
        other => RotateKeyError::Forge(other),
    })?;
    if info.app_id != app.app_id {
        return Err(RotateKeyError::OtherApp {
            expected: app.app_id,
            found: info.app_id,
        });
    }
    let sealed = svc
        .cipher
        .encrypt(&pem, &app_secret_binding(app.row_id, "private_key"))?;
    gh.store
        .update_private_key(app.row_id, &sealed, svc.clock.now())
        .await?;
    gh.tokens.forget(None);
    Ok(info)
}
