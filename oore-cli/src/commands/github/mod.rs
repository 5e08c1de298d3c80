//! `oore github ...`: the GitHub App (spec Journey 2, 21, 12.1): `setup` (the manifest
//! flow, polled until the App is stored), `callback` (finish it from a pasted URL),
//! `status`, `installations`, `sync`, `remove` and `key` (private key rotation). The
//! human-readable layouts are in [`render`].

mod render;
mod setup;

use std::io::{BufRead as _, IsTerminal as _, Read as _};
use std::path::PathBuf;

use argh::FromArgs;
use oore_core::api::{
    ErrorCode, GitHubAppCreatedResponse, GitHubAppDto, GitHubCallbackRequest,
    GitHubInstallationListResponse, GitHubPrivateKeyRequest, GitHubRemoveResponse,
    GitHubStatusResponse, GitHubSyncRequest, GitHubSyncResponse, paths,
};

use super::Ctx;
use crate::error::CliError;

pub(crate) use setup::SetupCmd;

/// manage the GitHub App: create it, see its installations, sync its repositories
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "github")]
pub(crate) struct GitHubCmd {
    #[argh(subcommand)]
    command: GitHubSub,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum GitHubSub {
    Setup(SetupCmd),
    Callback(CallbackCmd),
    Status(StatusCmd),
    Installations(InstallationsCmd),
    Sync(SyncCmd),
    Remove(RemoveCmd),
    Key(KeyCmd),
}

/// finish a setup on a machine whose browser could not reach the server
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "callback",
    example = "{command_name} 'https://ci.example.com/setup/github/callback?code=...&state=...'"
)]
struct CallbackCmd {
    /// the whole URL the browser was sent to after "Create GitHub App"
    #[argh(positional)]
    url: String,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// show the GitHub App and its installations
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "status")]
struct StatusCmd {
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// list the GitHub App's installations
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "installations")]
struct InstallationsCmd {
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// sync installations and their repositories from GitHub (a full refresh)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "sync")]
struct SyncCmd {
    /// only this installation id
    #[argh(option)]
    installation: Option<u64>,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// forget the GitHub App (its repositories stay, deactivated)
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "remove",
    note = "The App itself stays on GitHub: delete it in its settings there."
)]
struct RemoveCmd {
    /// do not ask for confirmation
    #[argh(switch)]
    yes: bool,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// replace the GitHub App's private key (checked with GitHub first)
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "key",
    example = "{command_name} --file ~/Downloads/oore-ci.2026-12-03.private-key.pem",
    note = "Generate the key in the App's settings on GitHub. Once it is stored, delete the old key there."
)]
struct KeyCmd {
    /// the .pem file GitHub downloaded
    #[argh(option)]
    file: PathBuf,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// Run `oore github ...`.
pub(crate) fn run(cmd: GitHubCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    match cmd.command {
        GitHubSub::Setup(c) => setup::run(c, ctx),
        GitHubSub::Callback(c) => callback(c, ctx),
        GitHubSub::Status(c) => status(c, ctx),
        GitHubSub::Installations(c) => installations(c, ctx),
        GitHubSub::Sync(c) => sync(c, ctx),
        GitHubSub::Remove(c) => remove(c, ctx),
        GitHubSub::Key(c) => key(c, ctx),
    }
}

const RETRY_HINT: &str = "start again with `oore github setup`";

fn callback(cmd: CallbackCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let created: GitHubAppCreatedResponse = ctx
        .client()?
        .post(
            &paths::github_setup_callback(),
            Some(&GitHubCallbackRequest { url: cmd.url }),
        )
        .map_err(|e| {
            e.with_flags(&[("url", "URL")])
                .with_hint(ErrorCode::NotFound, RETRY_HINT)
                .with_hint(ErrorCode::Conflict, RETRY_HINT)
        })?;
    if ctx.out.is_json() {
        ctx.out.json(&created)
    } else {
        ctx.out.text(&setup::created_text(
            &created.name,
            &created.slug,
            &created.install_url,
        ))
    }
}

fn status(cmd: StatusCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let status: GitHubStatusResponse = ctx.client()?.get(&paths::github_status())?;
    if ctx.out.is_json() {
        ctx.out.json(&status)
    } else {
        ctx.out.text(&render::status(&status))
    }
}

fn installations(cmd: InstallationsCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let list: GitHubInstallationListResponse = ctx.client()?.get(&paths::github_installations())?;
    if ctx.out.is_json() {
        ctx.out.json(&list)
    } else if list.installations.is_empty() {
        ctx.out.text(
            "no installations yet: install the App (`oore github status` shows the link), then run `oore github sync`",
        )
    } else {
        ctx.out
            .table(&render::installations_table(&list.installations))
    }
}

fn sync(cmd: SyncCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let report: GitHubSyncResponse = ctx
        .client()?
        .post(
            &paths::github_sync(),
            Some(&GitHubSyncRequest {
                installation_id: cmd.installation,
            }),
        )
        .map_err(|e| {
            e.with_hint(
                ErrorCode::NotFound,
                "see the App and its installations with `oore github status`",
            )
        })?;
    if ctx.out.is_json() {
        ctx.out.json(&report)
    } else {
        ctx.out.text(&render::sync(&report))
    }
}

fn confirm(question: &str, ctx: &mut Ctx<'_>) -> Result<bool, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage(
            "refusing to remove the GitHub App without confirmation: pass --yes".to_owned(),
        ));
    }
    ctx.out.raw_stderr(&format!("{question} [y/N] "));
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|source| CliError::Io {
            what: "read the confirmation",
            source,
        })?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}

fn remove(cmd: RemoveCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let client = ctx.client()?;
    if !cmd.yes
        && !confirm(
            "remove the GitHub App from this server? Its repositories stay, deactivated",
            ctx,
        )?
    {
        return ctx.out.text("nothing removed");
    }
    let removed: GitHubRemoveResponse = client
        .send(crate::client::Method::Delete, &paths::github_app(), None)
        .and_then(|r| client.decode(r))
        .map_err(|e| {
            e.with_hint(
                ErrorCode::NotFound,
                "nothing to remove; `oore github status` shows what is configured",
            )
        })?;
    if ctx.out.is_json() {
        ctx.out.json(&removed)
    } else {
        ctx.out.text(&format!(
            "GitHub App removed from this server; {} repositor{} deactivated. The App itself still exists on GitHub: delete it in its settings there.",
            removed.deactivated_repositories,
            if removed.deactivated_repositories == 1 { "y" } else { "ies" }
        ))
    }
}

/// Largest key file read.
const MAX_KEY_BYTES: u64 = 64 * 1024;

fn key(cmd: KeyCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let mut pem = String::new();
    std::fs::File::open(&cmd.file)
        .and_then(|f| f.take(MAX_KEY_BYTES).read_to_string(&mut pem))
        .map_err(|e| {
            CliError::Usage(format!(
                "cannot read {}: {e}; pass the .pem file GitHub downloaded with --file",
                cmd.file.display()
            ))
        })?;
    let app: GitHubAppDto = ctx
        .client()?
        .put(
            &paths::github_app_private_key(),
            &GitHubPrivateKeyRequest { private_key: pem },
        )
        .map_err(|e| {
            e.with_flags(&[("private_key", "--file")]).with_hint(
                ErrorCode::NotFound,
                "create the App first with `oore github setup`",
            )
        })?;
    if ctx.out.is_json() {
        ctx.out.json(&app)
    } else {
        ctx.out.text(&format!(
            "private key of GitHub App {} ({}) replaced; GitHub accepted it. Delete the old key in the App's settings on GitHub: {}",
            app.name, app.slug, app.html_url
        ))
    }
}
