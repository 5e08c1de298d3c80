//! How the GitHub App looks in human output: its status, the installations table and a
//! sync's results.

use oore_core::api::{
    GitHubInstallationDto, GitHubStatusResponse, GitHubSyncOutcomeDto, GitHubSyncResponse,
};

use crate::table::{Table, key_values, sanitize};

pub(super) fn installations_table(installations: &[GitHubInstallationDto]) -> Table {
    let mut table = Table::with_header([
        "ID",
        "ACCOUNT",
        "TYPE",
        "REPOS",
        "SELECTION",
        "STATE",
        "SYNCED",
        "DETAIL",
    ]);
    for i in installations {
        table.row([
            i.id.to_string(),
            i.account.clone(),
            i.account_type.clone(),
            i.repository_count.to_string(),
            i.repository_selection.to_string(),
            i.state.to_string(),
            i.synced_at.clone().unwrap_or_else(|| "never".to_owned()),
            i.detail.clone().unwrap_or_default(),
        ]);
    }
    table
}

pub(super) fn status(status: &GitHubStatusResponse) -> String {
    let mut text = String::new();
    if let Some(warning) = &status.warning {
        text.push_str(&format!("warning: {}\n\n", sanitize(warning)));
    }
    let Some(app) = &status.app else {
        text.push_str("GitHub App: not configured; create one with `oore github setup`\n");
        return text;
    };
    text.push_str(&key_values([
        ("app", format!("{} ({})", app.name, app.slug)),
        ("app id", app.app_id.to_string()),
        ("owner", app.owner.clone()),
        ("page", app.html_url.clone()),
        ("install", status.install_url.clone().unwrap_or_default()),
        (
            "webhook secret",
            if app.webhook_secret_configured {
                "stored"
            } else {
                "none (GitHub gave none)"
            }
            .to_owned(),
        ),
        ("created", app.created_at.clone()),
        ("updated", app.updated_at.clone()),
    ]));
    text.push('\n');
    if status.installations.is_empty() {
        text.push_str(
            "installations: none yet; install the App with the link above, then run `oore github sync`\n",
        );
    } else {
        text.push_str(&installations_table(&status.installations).render());
    }
    text
}

pub(super) fn sync(report: &GitHubSyncResponse) -> String {
    if report.installations.is_empty() {
        return "no installations: install the App on GitHub first (`oore github status` shows the link)\n".to_owned();
    }
    let mut table = Table::with_header([
        "ID",
        "ACCOUNT",
        "RESULT",
        "REPOS",
        "ADDED",
        "UPDATED",
        "DEACTIVATED",
    ]);
    let mut notes = String::new();
    for r in &report.installations {
        table.row([
            r.id.to_string(),
            r.account.clone(),
            r.outcome.to_string(),
            r.total.to_string(),
            r.added.to_string(),
            r.updated.to_string(),
            r.deactivated.to_string(),
        ]);
        if r.outcome != GitHubSyncOutcomeDto::Synced
            && let Some(message) = &r.message
        {
            notes.push_str(&format!(
                "installation {} ({}): {}\n",
                r.id,
                r.account,
                sanitize(message)
            ));
        }
    }
    format!("{}{notes}", table.render())
}

#[cfg(test)]
mod tests {
    use oore_core::api::{
        GitHubAppDto, GitHubInstallationStateDto, GitHubRepositorySelectionDto, GitHubSyncResultDto,
    };

    use super::*;

    fn installation(
        id: u64,
        account: &str,
        state: GitHubInstallationStateDto,
    ) -> GitHubInstallationDto {
        GitHubInstallationDto {
            id,
            account: account.into(),
            account_type: "Organization".into(),
            repository_selection: GitHubRepositorySelectionDto::Selected,
            state,
            detail: (state != GitHubInstallationStateDto::Active)
                .then(|| "suspended on GitHub".to_owned()),
            repository_count: 150,
            permissions: vec!["checks:write".into()],
            synced_at: Some("2026-12-03T20:00:00Z".into()),
        }
    }

    #[test]
    fn status_shows_the_app_and_its_installations() {
        let status = GitHubStatusResponse {
            app: Some(GitHubAppDto {
                app_id: 1001,
                slug: "oore-ci".into(),
                name: "Oore CI".into(),
                owner: "acme".into(),
                client_id: "Iv23li".into(),
                html_url: "https://github.com/apps/oore-ci".into(),
                webhook_secret_configured: true,
                created_at: "2026-12-03T19:00:00Z".into(),
                updated_at: "2026-12-03T19:00:00Z".into(),
            }),
            install_url: Some("https://github.com/apps/oore-ci/installations/new".into()),
            installations: vec![
                installation(7, "acme", GitHubInstallationStateDto::Active),
                installation(8, "beta", GitHubInstallationStateDto::Suspended),
            ],
            warning: None,
        };
        insta::assert_snapshot!(super::status(&status), @r"
        app:             Oore CI (oore-ci)
        app id:          1001
        owner:           acme
        page:            https://github.com/apps/oore-ci
        install:         https://github.com/apps/oore-ci/installations/new
        webhook secret:  stored
        created:         2026-12-03T19:00:00Z
        updated:         2026-12-03T19:00:00Z

        ID  ACCOUNT  TYPE          REPOS  SELECTION  STATE      SYNCED                DETAIL
        7   acme     Organization  150    selected   active     2026-12-03T20:00:00Z
        8   beta     Organization  150    selected   suspended  2026-12-03T20:00:00Z  suspended on GitHub
        ");
    }

    #[test]
    fn an_unconfigured_server_says_how_to_start() {
        let status = GitHubStatusResponse {
            app: None,
            install_url: None,
            installations: Vec::new(),
            warning: Some("OORE_BASE_URL (http://127.0.0.1:8080) is a loopback address".into()),
        };
        insta::assert_snapshot!(super::status(&status), @r"
        warning: OORE_BASE_URL (http://127.0.0.1:8080) is a loopback address

        GitHub App: not configured; create one with `oore github setup`
        ");
    }

    #[test]
    fn sync_results_note_what_was_not_synced() {
        let report = GitHubSyncResponse {
            installations: vec![
                GitHubSyncResultDto {
                    id: 7,
                    account: "acme".into(),
                    outcome: GitHubSyncOutcomeDto::Synced,
                    added: 148,
                    updated: 2,
                    deactivated: 1,
                    total: 150,
                    message: None,
                },
                GitHubSyncResultDto {
                    id: 8,
                    account: "beta".into(),
                    outcome: GitHubSyncOutcomeDto::Revoked,
                    added: 0,
                    updated: 0,
                    deactivated: 3,
                    total: 0,
                    message: Some(
                        "uninstalled on GitHub: its repositories were deactivated".into(),
                    ),
                },
            ],
        };
        insta::assert_snapshot!(sync(&report), @r"
        ID  ACCOUNT  RESULT   REPOS  ADDED  UPDATED  DEACTIVATED
        7   acme     synced   150    148    2        1
        8   beta     revoked  0      0      0        3
        installation 8 (beta): uninstalled on GitHub: its repositories were deactivated
        ");
    }
}
