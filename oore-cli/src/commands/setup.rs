//! `oore setup`: the server's setup checklist, one ✓ or ✗ per item.

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

fn render(status: &SetupStatusResponse) -> String {
    let mut table = Table::plain();
    for item in &status.items {
        let mark = if item.configured { "✓" } else { "✗" };
        table.row([
            format!("{}:", item.label),
            format!("{mark} {}", item.detail),
        ]);
    }
    let open = status.items.iter().filter(|i| !i.configured).count();
    let summary = if status.complete {
        "setup complete".to_owned()
    } else {
        format!(
            "setup incomplete: {open} of {} items not configured yet",
            status.items.len()
        )
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
                item("GitHub App", false, "not configured"),
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
        GitHub App:    ✗ not configured
        Repositories:  ✗ none yet; add one with `oore repo add`

        setup incomplete: 2 of 4 items not configured yet
        ");
    }
}
