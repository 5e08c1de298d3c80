//! `oore setup`: the server's setup checklist, one ✓, ✗ or – (optional) per item.

use argh::FromArgs;
use oore_core::api::{SetupStatusResponse, paths};

use super::Ctx;
use crate::error::CliError;
use crate::table::Table;

/// show what is configured on the server and what is left to do
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "setup")]
pub(crate) struct SetupCmd {
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// Run `oore setup`.
pub(crate) fn run(cmd: SetupCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let status: SetupStatusResponse = ctx.client()?.get(&paths::setup_status())?;
    if ctx.out.is_json() {
        ctx.out.json(&status)
    } else {
        ctx.out.text(&render(&status))
    }
}

/// One line per item: ✓ done, ✗ required and not done, – optional and not set up (an
/// optional item never makes setup incomplete). The summary is the server's `complete`,
/// with the required items still open.
fn render(status: &SetupStatusResponse) -> String {
    let mut table = Table::plain();
    for item in &status.items {
        let mark = match (item.configured, item.key.is_optional()) {
            (true, _) => "✓",
            (false, true) => "–",
            (false, false) => "✗",
        };
        table.row([
            format!("{}:", item.label),
            format!("{mark} {}", item.detail),
        ]);
    }
    let open: Vec<&str> = status
        .items
        .iter()
        .filter(|i| !i.configured && !i.key.is_optional())
        .map(|i| i.label.as_str())
        .collect();
    let summary = match (status.complete, open.as_slice()) {
        (true, _) | (false, []) => {
            "setup complete: every required item is done (items marked – are optional)".to_owned()
        }
        (false, open) => format!(
            "setup incomplete: {} required item{} left: {}",
            open.len(),
            if open.len() == 1 { "" } else { "s" },
            open.join(", ")
        ),
    };
    format!("{}\n{summary}\n", table.render())
}

#[cfg(test)]
mod tests {
    use oore_core::api::{SetupItemDto, SetupItemKeyDto};

    use super::*;

    fn item(label: &str, configured: bool, detail: &str) -> SetupItemDto {
        SetupItemDto {
            key: SetupItemKeyDto::from_wire(&label.to_lowercase()),
            label: label.into(),
            configured,
            detail: detail.into(),
        }
    }

    #[test]
    fn renders_a_checklist() {
        let status = SetupStatusResponse {
            items: vec![
                item("Encryption", true, "key configured"),
                item("Admin Token", true, "set"),
                SetupItemDto {
                    key: SetupItemKeyDto::GitHub,
                    ..item("GitHub App", false, "not configured (optional)")
                },
                item(
                    "Repositories",
                    false,
                    "none yet; add one with `oore repo add`",
                ),
            ],
            complete: false,
        };
        insta::assert_snapshot!(render(&status), @r"
        Encryption:    ✓ key configured
        Admin Token:   ✓ set
        GitHub App:    – not configured (optional)
        Repositories:  ✗ none yet; add one with `oore repo add`

        setup incomplete: 1 required item left: Repositories
        ");
    }
}
