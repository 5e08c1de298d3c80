//! [`CachedTokens`]: [`InstallationTokens`] with a per-installation cache. A token is
//! reused until [`TOKEN_REFRESH_MARGIN`] before it expires; minting holds the
//! installation's async lock, so concurrent callers wait for the one mint and share its
//! token. Tokens live in memory only and are never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use oore_core::github::ports::{GitHubApi, GitHubStore, InstallationTokens, TokenError};
use oore_core::github::{InstallationToken, TOKEN_REFRESH_MARGIN};
use oore_core::ports::{Clock, SecretCipher};
use oore_core::usecases::github::app_auth;

type Slot = Arc<tokio::sync::Mutex<Option<InstallationToken>>>;

/// Installation tokens minted through the API as the stored App, cached per
/// installation.
pub struct CachedTokens {
    store: Arc<dyn GitHubStore>,
    api: Arc<dyn GitHubApi>,
    cipher: Arc<dyn SecretCipher>,
    clock: Arc<dyn Clock>,
    slots: Mutex<HashMap<u64, Slot>>,
}

impl CachedTokens {
    /// Tokens for the App in `store`.
    pub fn new(
        store: Arc<dyn GitHubStore>,
        api: Arc<dyn GitHubApi>,
        cipher: Arc<dyn SecretCipher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            api,
            cipher,
            clock,
            slots: Mutex::default(),
        }
    }

    fn slot(&self, id: u64) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slots.entry(id).or_default())
    }
}

#[async_trait]
impl InstallationTokens for CachedTokens {
    async fn token(&self, installation_id: u64) -> Result<InstallationToken, TokenError> {
        let slot = self.slot(installation_id);
        let mut cached = slot.lock().await;
        let now = self.clock.now();
        if let Some(token) = cached.as_ref()
            && now
                .checked_add(TOKEN_REFRESH_MARGIN)
                .is_ok_and(|t| t < token.expires_at)
        {
            return Ok(token.clone());
        }
        let app = self.store.app().await?.ok_or(TokenError::NotConfigured)?;
        let auth = app_auth(self.cipher.as_ref(), &app)?;
        let token = self
            .api
            .create_installation_token(&auth, installation_id)
            .await?;
        tracing::debug!(installation_id, expires_at = %token.expires_at, "installation token minted");
        *cached = Some(token.clone());
        Ok(token)
    }

    fn forget(&self, installation_id: Option<u64>) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        match installation_id {
            Some(id) => {
                slots.remove(&id);
            }
            None => slots.clear(),
        }
    }
}
