//! `oore repo ...`: list, add, show, update, activate, deactivate and remove repositories,
//! and print a repository's webhook URL with setup steps. The human-readable layouts are
//! in [`render`].

mod render;

use argh::FromArgs;
use oore_core::api::{
    BuildListResponse, BuildStatusDto, CreateRepositoryRequest, ErrorCode, ProviderDto,
    RepositoryDto, RepositoryListResponse, RepositoryStateDto, UpdateRepositoryRequest,
    WebhookUrlResponse, paths,
};
use serde::Serialize;

use super::{Ctx, read_stdin_secret};
use crate::client::ApiClient;
use crate::config::ServerUrl;
use crate::error::CliError;
use crate::output::Output;
use crate::resolve::Auth;
use crate::table::sanitize;
use render::{details, render_webhook, repo_table};

/// What to try after an unknown or malformed repository id.
const ID_HINT: &str =
    "list repositories with `oore repo list`; name one by id, short id or owner/name";
/// The flag for each API field, for field errors.
const FLAGS: &[(&str, &str)] = &[
    ("provider", "--provider"),
    ("owner", "--owner"),
    ("name", "--repo"),
    ("clone_url", "--clone-url"),
    ("default_branch", "--default-branch"),
    ("webhook_secret", "--webhook-secret"),
    ("build_concurrency", "--build-concurrency"),
    ("state", "--state"),
];
/// What to try after a duplicate from add or update.
const CONFLICT_HINT: &str = "see the repositories that exist with `oore repo list`";

/// manage repositories
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "repo")]
pub(crate) struct RepoCmd {
    #[argh(subcommand)]
    command: RepoSub,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum RepoSub {
    List(ListCmd),
    Add(AddCmd),
    Show(ShowCmd),
    Update(UpdateCmd),
    Activate(ActivateCmd),
    Deactivate(DeactivateCmd),
    Remove(RemoveCmd),
    WebhookUrl(WebhookUrlCmd),
}

/// list repositories
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "list")]
struct ListCmd {
    /// only this provider: github, gitlab or git
    #[argh(option)]
    provider: Option<String>,
    /// only this state: active, inactive, error or pending_setup
    #[argh(option)]
    state: Option<String>,
    /// print long cells whole instead of cutting them to fit the terminal
    #[argh(switch)]
    wide: bool,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// add a repository by hand (then configure its webhook on the forge)
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "add",
    example = "{command_name} --provider github --owner acme --repo app --webhook-secret-stdin < secret.txt",
    note = "The webhook secret can also come from OORE_WEBHOOK_SECRET, which keeps it out of shell history."
)]
struct AddCmd {
    /// github, gitlab or git
    #[argh(option)]
    provider: String,
    /// owner, organisation or group path
    #[argh(option)]
    owner: String,
    /// repository name
    #[argh(option)]
    repo: String,
    /// clone URL (required for git; derived for github and gitlab); a relative path
    /// (./app) is a directory here, when the server runs on this machine
    #[argh(option)]
    clone_url: Option<String>,
    /// default branch (default: what the repository's HEAD names when it is on the
    /// server's machine, else main)
    #[argh(option)]
    default_branch: Option<String>,
    /// parallel (the default: builds run side by side) or serial (one at a time)
    #[argh(option)]
    build_concurrency: Option<String>,
    /// the forge webhook's secret (visible in shell history; prefer --webhook-secret-stdin)
    #[argh(option)]
    webhook_secret: Option<String>,
    /// read the webhook secret from standard input
    #[argh(switch)]
    webhook_secret_stdin: bool,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// show one repository
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "show")]
struct ShowCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    id: String,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// change a repository's settings; only the flags given change
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "update")]
struct UpdateCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    id: String,
    /// new owner
    #[argh(option)]
    owner: Option<String>,
    /// new repository name
    #[argh(option)]
    repo: Option<String>,
    /// new clone URL
    #[argh(option)]
    clone_url: Option<String>,
    /// new default branch
    #[argh(option)]
    default_branch: Option<String>,
    /// parallel or serial
    #[argh(option)]
    build_concurrency: Option<String>,
    /// new webhook secret (visible in shell history; prefer --webhook-secret-stdin)
    #[argh(option)]
    webhook_secret: Option<String>,
    /// read the new webhook secret from standard input
    #[argh(switch)]
    webhook_secret_stdin: bool,
    /// forget the stored webhook secret
    #[argh(switch)]
    clear_webhook_secret: bool,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// resume builds for a repository
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "activate")]
struct ActivateCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    id: String,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// pause builds for a repository without removing it
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "deactivate")]
struct DeactivateCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    id: String,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// remove a repository (asks first; its build history is kept)
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "remove",
    note = "Running builds of the repository run to their end (cancel them with `oore build cancel`); queued ones fail without starting. Without a terminal to ask on, pass --yes."
)]
struct RemoveCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    id: String,
    /// do not ask for confirmation
    #[argh(switch, short = 'y')]
    yes: bool,
    /// print {"id": ..., "removed": true}
    #[argh(switch)]
    json: bool,
}

/// print the URL to paste into the forge's webhook settings, with steps
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "webhook-url")]
struct WebhookUrlCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    id: String,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// What `oore repo remove --json` prints (the API answers 204 without a body).
#[derive(Debug, Serialize)]
struct Removed<'a> {
    id: &'a str,
    removed: bool,
}

/// Run `oore repo ...`.
pub(crate) fn run(cmd: RepoCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    let result = match cmd.command {
        RepoSub::List(cmd) => list(cmd, ctx),
        RepoSub::Add(cmd) => add(cmd, ctx, &mut |out| {
            read_stdin_secret("the webhook secret", out)
        })
        .map_err(|e| e.with_hint(ErrorCode::Conflict, CONFLICT_HINT)),
        RepoSub::Show(cmd) => show(cmd, ctx),
        RepoSub::Update(cmd) => update(cmd, ctx, &mut |out| {
            read_stdin_secret("the webhook secret", out)
        })
        .map_err(|e| e.with_hint(ErrorCode::Conflict, CONFLICT_HINT)),
        RepoSub::Activate(cmd) => set_active(&cmd.id, cmd.json, true, ctx),
        RepoSub::Deactivate(cmd) => set_active(&cmd.id, cmd.json, false, ctx),
        RepoSub::Remove(cmd) => remove(cmd, ctx),
        RepoSub::WebhookUrl(cmd) => webhook_url(cmd, ctx),
    };
    result.map_err(|e| {
        e.with_hint(ErrorCode::NotFound, ID_HINT)
            .with_hint(ErrorCode::InvalidId, ID_HINT)
            .with_flags(FLAGS)
    })
}

fn list(cmd: ListCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    if cmd.wide {
        ctx.out.set_width(None);
    }
    let query: Vec<(&str, &str)> = [("provider", &cmd.provider), ("state", &cmd.state)]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.as_deref()?)))
        .collect();
    let filtered = !query.is_empty();
    let path = paths::with_query(paths::repositories(), query);
    let list: RepositoryListResponse = ctx.client()?.get(&path)?;
    if ctx.out.is_json() {
        return ctx.out.json(&list);
    }
    if list.repositories.is_empty() {
        let message = if !filtered {
            "no repositories yet; add one with `oore repo add --provider github --owner OWNER --repo NAME`"
        } else {
            "no repositories match; run `oore repo list` without filters to see them all"
        };
        return ctx.out.text(message);
    }
    ctx.out.table(&repo_table(&list.repositories))
}

fn add(
    cmd: AddCmd,
    ctx: &mut Ctx<'_>,
    stdin: &mut dyn FnMut(&mut Output) -> Result<String, CliError>,
) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let webhook_secret = secret_input(cmd.webhook_secret, cmd.webhook_secret_stdin, &mut || {
        stdin(ctx.out)
    })?
    .or_else(|| ctx.env.webhook_secret.clone());
    let target = ctx.target(Auth::Required)?;
    let clone_url = cmd
        .clone_url
        .map(|url| local_clone_url(&url, &target.server))
        .transpose()?;
    #[allow(
        clippy::needless_update,
        reason = "fields the wire type gains later stay at their defaults"
    )]
    let request = CreateRepositoryRequest {
        provider: cmd.provider,
        owner: cmd.owner,
        name: cmd.repo,
        clone_url,
        default_branch: cmd.default_branch,
        webhook_secret,
        build_concurrency: cmd.build_concurrency,
        ..Default::default()
    };
    let repo: RepositoryDto =
        ApiClient::new(target).post(&paths::repositories(), Some(&request))?;
    if ctx.out.is_json() {
        return ctx.out.json(&repo);
    }
    let mut text = format!(
        "added repository {} ({})\n\n{}",
        repo.full_name,
        repo.id,
        details(&repo)
    );
    if repo.provider != ProviderDto::Git {
        text.push_str(&format!(
            "\nnext: add the webhook on {}; `oore repo webhook-url {}` prints the URL and the steps\n",
            repo.provider, repo.id
        ));
    }
    ctx.out.text(&text)
}

fn show(cmd: ShowCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let path = paths::repository(repo_id(&cmd.id)?);
    let repo: RepositoryDto = ctx.client()?.get(&path)?;
    if ctx.out.is_json() {
        ctx.out.json(&repo)
    } else {
        ctx.out.text(&details(&repo))
    }
}

fn update(
    cmd: UpdateCmd,
    ctx: &mut Ctx<'_>,
    stdin: &mut dyn FnMut(&mut Output) -> Result<String, CliError>,
) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let path = paths::repository(repo_id(&cmd.id)?);
    let webhook_secret = secret_input(cmd.webhook_secret, cmd.webhook_secret_stdin, &mut || {
        stdin(ctx.out)
    })?;
    if webhook_secret.is_some() && cmd.clear_webhook_secret {
        return Err(CliError::Usage(
            "pass either a new webhook secret or --clear-webhook-secret, not both".to_owned(),
        ));
    }
    let target = ctx.target(Auth::Required)?;
    let clone_url = cmd
        .clone_url
        .map(|url| local_clone_url(&url, &target.server))
        .transpose()?;
    #[allow(
        clippy::needless_update,
        reason = "fields the wire type gains later stay unset, so they do not change"
    )]
    let request = UpdateRepositoryRequest {
        owner: cmd.owner,
        name: cmd.repo,
        clone_url,
        default_branch: cmd.default_branch,
        webhook_secret,
        clear_webhook_secret: cmd.clear_webhook_secret,
        build_concurrency: cmd.build_concurrency,
        ..Default::default()
    };
    if request == UpdateRepositoryRequest::default() {
        return Err(CliError::Usage(
            "nothing to change; pass --owner, --repo, --clone-url, --default-branch, --build-concurrency, --webhook-secret, --webhook-secret-stdin or --clear-webhook-secret".to_owned(),
        ));
    }
    let repo: RepositoryDto = ApiClient::new(target).put(&path, &request)?;
    if ctx.out.is_json() {
        return ctx.out.json(&repo);
    }
    ctx.out.text(&format!(
        "updated repository {}\n\n{}",
        repo.full_name,
        details(&repo)
    ))
}

fn set_active(id: &str, json: bool, active: bool, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(json);
    let id = repo_id(id)?;
    let path = if active {
        paths::repository_activate(id)
    } else {
        paths::repository_deactivate(id)
    };
    let repo: RepositoryDto = ctx.client()?.post::<(), _>(&path, None)?;
    if ctx.out.is_json() {
        return ctx.out.json(&repo);
    }
    let mut text = format!(
        "repository {} ({}) is now {}",
        repo.full_name, repo.id, repo.state
    );
    if repo.state == RepositoryStateDto::PendingSetup {
        text.push_str(&format!(
            ": builds by hand work (`oore build trigger {}`); to receive webhooks, set its secret with `oore repo update {} --webhook-secret-stdin`",
            repo.id, repo.id
        ));
    }
    ctx.out.text(&text)
}

fn remove(cmd: RemoveCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let client = ctx.client()?;
    let repo: RepositoryDto = client.get(&paths::repository(repo_id(&cmd.id)?))?;
    let live: BuildListResponse = client.get(&paths::with_query(
        paths::builds(),
        [
            ("repository", repo.id.as_str()),
            ("status", "pending,running"),
            ("limit", "200"),
        ],
    ))?;
    let running = live
        .builds
        .iter()
        .filter(|b| b.status == BuildStatusDto::Running)
        .count();
    let queued = live.builds.len() - running;
    let consequences = consequences(running, queued);
    if !cmd.yes {
        confirm_removal(&repo, consequences.as_deref(), ctx.out)?;
    }
    client.delete(&paths::repository(&repo.id))?;
    if ctx.out.is_json() {
        return ctx.out.json(&Removed {
            id: &repo.id,
            removed: true,
        });
    }
    let mut text = format!(
        "removed repository {} ({}); its build history is kept",
        sanitize(&repo.full_name),
        repo.id
    );
    if let Some(consequences) = consequences {
        text.push_str(&format!("\n{consequences}"));
    }
    ctx.out.text(&text)
}

/// What removing does to the repository's live builds, when it has any.
fn consequences(running: usize, queued: usize) -> Option<String> {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    if running > 0 {
        parts.push(format!(
            "{} will run to the end (stop {} with `oore build cancel ID`)",
            plural(running, "running build"),
            if running == 1 { "it" } else { "them" }
        ));
    }
    if queued > 0 {
        parts.push(format!(
            "{} will fail without starting",
            plural(queued, "queued build")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Ask on the terminal; without one, refuse (a script must say `--yes`).
fn confirm_removal(
    repo: &RepositoryDto,
    consequences: Option<&str>,
    out: &mut Output,
) -> Result<(), CliError> {
    use std::io::{BufRead as _, IsTerminal as _};
    let what = format!("{} ({})", sanitize(&repo.full_name), repo.id);
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "not removing repository {what}: there is no terminal to confirm on; pass --yes to remove it{}",
            consequences.map(|c| format!(" ({c})")).unwrap_or_default()
        )));
    }
    let mut prompt = format!("remove repository {what}? its build history is kept");
    if let Some(c) = consequences {
        prompt.push_str(&format!("; {c}"));
    }
    out.raw_stderr(&format!("{prompt} [y/N] "));
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|source| CliError::Io {
            what: "read the answer",
            source,
        })?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "not removing repository {what}: not confirmed"
        )))
    }
}

fn webhook_url(cmd: WebhookUrlCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let path = paths::repository_webhook_url(repo_id(&cmd.id)?);
    let client: ApiClient = ctx.client()?;
    let hook: WebhookUrlResponse = client.get(&path)?;
    if ctx.out.is_json() {
        ctx.out.json(&hook)
    } else {
        ctx.out.text(&render_webhook(&hook))
    }
}

/// The repository id as typed, trimmed; an error when it is empty.
fn repo_id(id: &str) -> Result<&str, CliError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(CliError::Usage(
            "the repository id is empty; list ids with `oore repo list`".to_owned(),
        ));
    }
    Ok(id)
}

/// `--clone-url` as the server should see it. A relative path (`./app`, `../x`, `app`)
/// means a directory here: made absolute against the working directory when the server
/// is on this machine (its URL's host is loopback), refused otherwise, since the server
/// could not see it. URLs, absolute paths and `host:path` pass unchanged.
fn local_clone_url(url: &str, server: &ServerUrl) -> Result<String, CliError> {
    let first_colon = url.find(':');
    let first_slash = url.find('/');
    let scp_like = matches!((first_colon, first_slash), (Some(c), Some(s)) if c < s)
        || (first_colon.is_some() && first_slash.is_none());
    if url.contains("://") || url.starts_with('/') || scp_like || url.is_empty() {
        return Ok(url.to_owned());
    }
    if !server.is_loopback() {
        return Err(CliError::Usage(format!(
            "--clone-url {url} is a relative path, but the server ({server}) is on another machine and cannot see this directory; pass the repository's path on the server's machine (absolute, e.g. /srv/git/app) or a URL it can clone"
        )));
    }
    let cwd = std::env::current_dir().map_err(|source| CliError::Io {
        what: "read the working directory",
        source,
    })?;
    let joined = cwd.join(url);
    let absolute = joined.canonicalize().map_err(|e| {
        CliError::Usage(format!(
            "--clone-url {url}: {} is not a directory here ({e}); check the path",
            joined.display()
        ))
    })?;
    absolute.to_str().map(str::to_owned).ok_or_else(|| {
        CliError::Usage(format!(
            "--clone-url {url}: {} is not valid UTF-8; pass a URL instead",
            absolute.display()
        ))
    })
}

/// The secret from `--webhook-secret` or standard input, never both.
fn secret_input(
    flag: Option<String>,
    from_stdin: bool,
    stdin: &mut dyn FnMut() -> Result<String, CliError>,
) -> Result<Option<String>, CliError> {
    match (flag, from_stdin) {
        (Some(_), true) => Err(CliError::Usage(
            "pass either --webhook-secret or --webhook-secret-stdin, not both".to_owned(),
        )),
        (Some(secret), false) => Ok(Some(secret)),
        (None, true) => stdin().map(Some),
        (None, false) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_comes_from_one_place() {
        let mut stdin = || Ok("s3cret".to_owned());
        assert_eq!(
            secret_input(None, true, &mut stdin).unwrap().as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            secret_input(Some("f".into()), false, &mut stdin)
                .unwrap()
                .as_deref(),
            Some("f")
        );
        assert!(secret_input(None, false, &mut stdin).unwrap().is_none());
        assert!(matches!(
            secret_input(Some("f".into()), true, &mut stdin),
            Err(CliError::Usage(_))
        ));
    }

    #[test]
    fn ids_are_trimmed_and_escaped_into_the_path() {
        assert_eq!(
            paths::repository_activate(repo_id(" 01JA ").unwrap()),
            "/api/repositories/01JA/activate"
        );
        assert_eq!(
            paths::repository(repo_id("../setup").unwrap()),
            "/api/repositories/..%2Fsetup"
        );
        assert!(matches!(repo_id(" "), Err(CliError::Usage(_))));
    }
}
