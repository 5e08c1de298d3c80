//! Where a setup stands, for the CLI's poll (spec 2.1).

use jiff::Timestamp;

use crate::error::{ErrorClass, UseCaseError};
use crate::github::ports::GitHubServices;
use crate::github::{SetupOutcome, SetupState};
use crate::ports::StoreError;
use crate::services::Services;
use crate::usecases::store_class;

/// The stage of a setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupProgress {
    /// Waiting for the browser to come back from GitHub.
    Waiting {
        /// When the state expires.
        expires_at: Timestamp,
    },
    /// The callback is exchanging the code now.
    Exchanging,
    /// Done: the App is stored.
    Completed {
        /// The App's slug.
        slug: String,
        /// Where to install it.
        install_url: String,
    },
    /// The callback failed.
    Failed {
        /// What happened and what to do.
        message: String,
    },
    /// Nobody came back in time.
    Expired,
}

/// Why the status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SetupStatusError {
    /// No such state.
    #[error("no setup with this state; start one with `oore github setup`")]
    Unknown,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for SetupStatusError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Unknown => ErrorClass::NotFound,
            Self::Store(e) => store_class(e),
        }
    }
}

/// The stage of the setup started with `state`.
pub async fn setup_status(
    svc: &Services,
    gh: &GitHubServices,
    state: &str,
) -> Result<SetupProgress, SetupStatusError> {
    let stored = gh
        .store
        .setup_state(&SetupState::digest_of(state))
        .await?
        .ok_or(SetupStatusError::Unknown)?;
    Ok(match stored.outcome {
        SetupOutcome::Completed { slug } => SetupProgress::Completed {
            install_url: gh.location.install_url(&slug),
            slug,
        },
        SetupOutcome::Failed { message } => SetupProgress::Failed { message },
        SetupOutcome::Pending if stored.used_at.is_some() => SetupProgress::Exchanging,
        SetupOutcome::Pending if stored.is_expired(svc.clock.now()) => SetupProgress::Expired,
        SetupOutcome::Pending => SetupProgress::Waiting {
            expires_at: stored.expires_at,
        },
    })
}
