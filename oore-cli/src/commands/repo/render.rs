//! How repositories look in human output: the list table, the details block and the
//! webhook setup text.

use oore_core::api::{RepositoryDto, WebhookUrlResponse};

use crate::table::{Table, key_values, sanitize};

pub(super) fn repo_table(repos: &[RepositoryDto]) -> Table {
    let mut table = Table::with_header(["ID", "NAME", "PROVIDER", "STATE", "BRANCH", "SECRET"]);
    for repo in repos {
        table.row([
            repo.id.as_str(),
            repo.full_name.as_str(),
            repo.provider.as_str(),
            repo.state.as_str(),
            repo.default_branch.as_str(),
            if repo.webhook_secret_configured {
                "yes"
            } else {
                "no"
            },
        ]);
    }
    table
}

pub(super) fn details(repo: &RepositoryDto) -> String {
    key_values([
        ("id", repo.id.clone()),
        ("name", repo.full_name.clone()),
        ("provider", repo.provider.to_string()),
        ("state", repo.state.to_string()),
        ("default branch", repo.default_branch.clone()),
        ("clone url", repo.clone_url.clone()),
        (
            "clone credentials",
            if repo.clone_credentials_configured {
                "stored, encrypted (never shown)"
            } else {
                "none"
            }
            .to_owned(),
        ),
        ("build concurrency", repo.build_concurrency.to_string()),
        ("fork pull requests", repo.fork_pull_requests.to_string()),
        (
            "webhook secret",
            if repo.webhook_secret_configured {
                "configured"
            } else {
                "not configured"
            }
            .to_owned(),
        ),
        ("created", repo.created_at.clone()),
        ("updated", repo.updated_at.clone()),
    ])
}

pub(super) fn render_webhook(hook: &WebhookUrlResponse) -> String {
    let mut text = format!(
        "webhook URL for repository {} ({}):\n  {}\n\n",
        hook.repository_id,
        hook.provider,
        sanitize(&hook.url)
    );
    if hook.secret_configured {
        text.push_str("webhook secret: configured; use the same secret on the forge\n");
    } else {
        text.push_str(&format!(
            "webhook secret: not configured; deliveries cannot be verified until you set one with `oore repo update {} --webhook-secret-stdin`\n",
            hook.repository_id
        ));
    }
    if !hook.instructions.is_empty() {
        text.push_str(&format!("\nsteps on {}:\n", hook.provider));
        for (i, step) in hook.instructions.iter().enumerate() {
            text.push_str(&format!("  {}. {}\n", i + 1, sanitize(step)));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use oore_core::api::ProviderDto;

    use super::*;

    /// Built from JSON, as the CLI receives it, so fields the wire type gains later
    /// take their defaults.
    fn repo(id: &str, owner: &str, name: &str, state: &str, secret: bool) -> RepositoryDto {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "provider": "github",
            "owner": owner,
            "name": name,
            "full_name": format!("{owner}/{name}"),
            "clone_url": format!("https://github.com/{owner}/{name}.git"),
            "default_branch": "main",
            "state": state,
            "webhook_secret_configured": secret,
            "created_at": "2026-01-02T03:04:05Z",
            "updated_at": "2026-01-02T03:04:05Z",
        }))
        .expect("a valid repository")
    }

    #[test]
    fn list_table_aligns_unicode_names() {
        let table = repo_table(&[
            repo("01JAAAAAAAAAAAAAAAAAAAAAAA", "acme", "app", "active", true),
            repo(
                "01JBBBBBBBBBBBBBBBBBBBBBBB",
                "東京",
                "アプリ",
                "pending_setup",
                false,
            ),
            repo("01JCCCCCCCCCCCCCCCCCCCCCCC", "café", "🚀", "inactive", true),
        ]);
        insta::assert_snapshot!(table.render(), @r"
        ID                          NAME         PROVIDER  STATE          BRANCH  SECRET
        01JAAAAAAAAAAAAAAAAAAAAAAA  acme/app     github    active         main    yes
        01JBBBBBBBBBBBBBBBBBBBBBBB  東京/アプリ  github    pending_setup  main    no
        01JCCCCCCCCCCCCCCCCCCCCCCC  café/🚀      github    inactive       main    yes
        ");
    }

    #[test]
    fn details_block() {
        insta::assert_snapshot!(details(&repo("01JA", "acme", "app", "active", false)), @r"
        id:                  01JA
        name:                acme/app
        provider:            github
        state:               active
        default branch:      main
        clone url:           https://github.com/acme/app.git
        clone credentials:   none
        build concurrency:   parallel
        fork pull requests:  always
        webhook secret:      not configured
        created:             2026-01-02T03:04:05Z
        updated:             2026-01-02T03:04:05Z
        ");
        let mut with_credentials = repo("01JA", "acme", "app", "active", false);
        with_credentials.clone_credentials_configured = true;
        assert!(
            details(&with_credentials)
                .contains("clone credentials:   stored, encrypted (never shown)\n"),
            "{}",
            details(&with_credentials)
        );
    }

    #[test]
    fn webhook_instructions_are_numbered() {
        let hook = WebhookUrlResponse {
            repository_id: "01JA".into(),
            provider: ProviderDto::GitHub,
            url: "http://ci.example:8080/api/webhooks/github/01JA".into(),
            secret_configured: false,
            instructions: vec!["open Settings → Webhooks".into(), "paste the URL".into()],
        };
        insta::assert_snapshot!(render_webhook(&hook), @r"
        webhook URL for repository 01JA (github):
          http://ci.example:8080/api/webhooks/github/01JA

        webhook secret: not configured; deliveries cannot be verified until you set one with `oore repo update 01JA --webhook-secret-stdin`

        steps on github:
          1. open Settings → Webhooks
          2. paste the URL
        ");
    }
}
