//! What to paste into the forge's webhook settings for a manually added repository.

use crate::domain::repository::{Provider, Repository};

/// The webhook URL and how to configure it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSetup {
    /// Payload URL to paste into the forge.
    pub url: String,
    /// Whether a webhook secret is stored (the secret itself is never shown again).
    pub secret_configured: bool,
    /// Step-by-step instructions for the provider.
    pub instructions: Vec<String>,
}

/// Per-repository receiver URL: `{base_url}/api/webhooks/{provider}/{id}`; `None` for
/// plain git repositories, which have no webhooks.
pub fn webhook_setup(base_url: &str, repo: &Repository) -> Option<WebhookSetup> {
    let url = format!(
        "{}/api/webhooks/{}/{}",
        base_url.trim_end_matches('/'),
        repo.provider.as_str(),
        repo.id
    );
    let secret_configured = repo.webhook_secret.is_some();
    let secret_line = if secret_configured {
        "the webhook secret you gave Oore when adding the repository".to_owned()
    } else {
        format!(
            "a new random secret, then store the same value in Oore (`oore repo update {} --webhook-secret-stdin`)",
            repo.id
        )
    };
    let instructions = match repo.provider {
        Provider::GitHub => vec![
            format!(
                "open https://github.com/{}/settings/hooks/new",
                repo.full_name()
            ),
            format!("Payload URL: {url}"),
            "Content type: application/json".to_owned(),
            format!("Secret: {secret_line}"),
            "Events: 'Just the push event' plus 'Pull requests' (or 'Send me everything')"
                .to_owned(),
        ],
        Provider::GitLab => vec![
            format!(
                "open https://gitlab.com/{}/-/hooks (Settings > Webhooks)",
                repo.full_name()
            ),
            format!("URL: {url}"),
            format!("Secret token: {secret_line}"),
            "Trigger: Push events, Tag push events, Merge request events".to_owned(),
        ],
        Provider::Git => return None,
    };
    Some(WebhookSetup {
        url,
        secret_configured,
        instructions,
    })
}
