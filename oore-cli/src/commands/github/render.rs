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
