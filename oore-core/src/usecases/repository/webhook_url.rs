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
    // The forge's own host (GitHub Enterprise, a self-managed GitLab) from the clone URL.
    let origin = |default: &str| {
        repo.clone_url
            .web_origin()
            .unwrap_or_else(|| default.to_owned())
    };
    let instructions = match repo.provider {
        Provider::GitHub => vec![
            format!(
                "open {}/{}/settings/hooks/new",
                origin("https://github.com"),
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
                "open {}/{}/-/hooks (Settings > Webhooks)",
                origin("https://gitlab.com"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::CloneUrl;
    use crate::testing::contract::sample_repository;

    fn first_step(provider: Provider, clone_url: &str) -> String {
        let mut repo = sample_repository(1, provider, "group", "app");
        repo.clone_url = CloneUrl::new(clone_url).unwrap();
        webhook_setup("http://ci.example:8080/", &repo)
            .unwrap()
            .instructions[0]
            .clone()
    }

    #[test]
    fn instructions_point_at_the_forge_the_repository_is_on() {
        assert_eq!(
            first_step(Provider::GitHub, "https://github.com/group/app.git"),
            "open https://github.com/group/app/settings/hooks/new"
        );
        assert_eq!(
            first_step(Provider::GitHub, "git@ghe.corp.example:group/app.git"),
            "open https://ghe.corp.example/group/app/settings/hooks/new"
        );
        assert_eq!(
            first_step(
                Provider::GitLab,
                "ssh://git@gitlab.corp.example:2222/group/app.git"
            ),
            "open https://gitlab.corp.example/group/app/-/hooks (Settings > Webhooks)"
        );
        assert_eq!(
            first_step(Provider::GitLab, "/srv/mirror/app.git"),
            "open https://gitlab.com/group/app/-/hooks (Settings > Webhooks)",
            "no host in the clone URL: the public forge"
        );
    }

    #[test]
    fn the_url_names_provider_and_repository() {
        let repo = sample_repository(1, Provider::GitLab, "group", "app");
        let setup = webhook_setup("http://ci.example:8080/", &repo).unwrap();
        assert_eq!(
            setup.url,
            format!("http://ci.example:8080/api/webhooks/gitlab/{}", repo.id)
        );
        let git = sample_repository(2, Provider::Git, "group", "app");
        assert_eq!(webhook_setup("http://ci.example", &git), None);
    }
}
