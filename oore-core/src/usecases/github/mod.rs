//! The GitHub App (spec Journey 2, 21, 12.1): setup through the manifest flow, status,
//! installation sync, removal and private key rotation. Each use case takes the core's
//! [`Services`](crate::services::Services) and the App's
//! [`GitHubServices`](crate::github::ports::GitHubServices).

mod clone_token;
mod complete_setup;
mod remove;
mod rotate_key;
mod setup_page;
mod setup_status;
mod start_setup;
mod status;
mod sync;

pub use clone_token::clone_token;
pub use complete_setup::{CompleteSetupError, SetupCompleted, complete_setup};
pub use remove::{RemoveAppError, remove_app};
pub use rotate_key::{RotateKeyError, rotate_private_key};
pub use setup_page::{SetupPage, SetupPageError, setup_page};
pub use setup_status::{SetupProgress, SetupStatusError, setup_status};
pub use start_setup::{SetupStarted, StartSetup, StartSetupError, start_setup};
pub use status::{GitHubStatus, GitHubStatusError, github_status};
pub use sync::{InstallationOutcome, InstallationSync, SyncError, SyncReport, sync_installations};

use crate::github::{AppAuth, GitHubApp, app_secret_binding};
use crate::ports::{CipherError, SecretCipher};

/// The App's credentials, its key decrypted for the call that needs it.
pub fn app_auth(cipher: &dyn SecretCipher, app: &GitHubApp) -> Result<AppAuth, CipherError> {
    let private_key = cipher.decrypt(
        &app.private_key,
        &app_secret_binding(app.row_id, "private_key"),
    )?;
    Ok(AppAuth {
        app_id: app.app_id,
        client_id: app.client_id.clone(),
        private_key,
    })
}

#[cfg(test)]
mod tests;
