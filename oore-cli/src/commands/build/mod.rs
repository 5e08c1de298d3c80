//! `oore build ...`: trigger a build (and wait for it), list, show and cancel builds, print
//! their steps and logs, and list or download their artifacts. The layouts are in
//! [`render`], log reading and escaping in [`logs`], downloads in [`artifacts`].

mod artifacts;
mod download;
mod fetch;
mod logs;
pub(crate) mod render;
mod stream;

use std::path::PathBuf;
use std::time::Duration;

use argh::FromArgs;
use oore_core::api::{
    ArtifactListResponse, BuildDto, BuildListResponse, BuildStatusDto, ErrorCode, StepListResponse,
    StepStatusDto, TriggerBuildRequest, paths,
};

use super::Ctx;
use crate::client::ApiClient;
use crate::commands::list_query::ListQuery;
use crate::error::CliError;
use crate::resolve::Auth;
use crate::table::sanitize;
use render::{build_table, details, duration, short_commit, step_table};

/// What to try after an unknown or malformed build id.
const ID_HINT: &str = "list builds with `oore build list`";
/// What to try after an unknown or malformed repository id.
const REPO_HINT: &str =
    "list repositories with `oore repo list`; name one by id, short id or owner/name";
/// The flag for each API field, for field errors.
const FLAGS: &[(&str, &str)] = &[
    ("branch", "--branch"),
    ("commit", "--commit"),
    ("workflow", "--workflow"),
    ("repository", "--repo"),
    ("status", "--status"),
    ("trigger", "--trigger"),
    ("from", "--since"),
    ("until", "--until"),
    ("limit", "--limit"),
    ("after", "--after"),
    ("order", "--oldest-first"),
    ("step", "--step"),
    ("stream", "--stderr"),
];
/// How often `trigger --wait` looks at the build.
const WAIT_POLL: Duration = Duration::from_secs(1);

/// trigger, inspect and cancel builds; read their logs; download their artifacts
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "build",
    example = "Build the default branch and wait for the result:\n  {command_name} trigger acme/app --wait\n\nWatch a build's output, then fetch what it produced:\n  {command_name} logs 7K3M9Q2A --follow\n  {command_name} artifacts 7K3M9Q2A --download --output ./releases\n\nFailed builds of one repository this week:\n  {command_name} list --repo acme/app --status failure --since 2026-01-05T00:00:00Z",
    note = "A build is named by its id, the short id `oore build list` shows (the id's last 8 characters, or any unique end of it) or REPOSITORY#NUMBER (me/app#42). A repository is named by its id, its short id or owner/name (case-insensitive)."
)]
pub(crate) struct BuildCmd {
    #[argh(subcommand)]
    command: BuildSub,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum BuildSub {
    Trigger(TriggerCmd),
    List(ListCmd),
    Show(ShowCmd),
    Steps(StepsCmd),
    Cancel(CancelCmd),
    Logs(LogsCmd),
    Artifacts(ArtifactsCmd),
}

/// queue a manual build of a repository
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "trigger")]
struct TriggerCmd {
    /// repository: id, short id or owner/name
    #[argh(positional)]
    repo_id: String,
    /// branch to build (the repository's default branch when omitted)
    #[argh(option)]
    branch: Option<String>,
    /// exact commit SHA, 7 to 40 hex characters (the branch head when omitted)
    #[argh(option)]
    commit: Option<String>,
    /// workflow to run (the only or first one when omitted)
    #[argh(option)]
    workflow: Option<String>,
    /// follow the build until it ends; exit 1 unless it succeeds
    #[argh(switch)]
    wait: bool,
    /// print the API's JSON (with --wait: the build as it ended)
    #[argh(switch)]
    json: bool,
}

/// list builds, newest first
#[derive(FromArgs, Debug, Default)]
#[argh(subcommand, name = "list")]
struct ListCmd {
    /// only this repository (id, short id or owner/name)
    #[argh(option)]
    repo: Option<String>,
    /// only these statuses, comma-separated: pending, running, success, failure, cancelled
    #[argh(option)]
    status: Option<String>,
    /// only this branch
    #[argh(option)]
    branch: Option<String>,
    /// only this trigger: push, pull_request, merge_request or manual
    #[argh(option)]
    trigger: Option<String>,
    /// only commits starting with this (4 to 40 hex characters)
    #[argh(option)]
    commit: Option<String>,
    /// only builds created at or after this RFC 3339 time, e.g. 2026-01-05T00:00:00Z
    #[argh(option)]
    since: Option<String>,
    /// only builds created before this RFC 3339 time
    #[argh(option)]
    until: Option<String>,
    /// builds per page (the server's default is 50, its maximum 200)
    #[argh(option)]
    limit: Option<u32>,
    /// continue after this cursor (printed at the end of a full page)
    #[argh(option)]
    after: Option<String>,
    /// oldest first
    #[argh(switch)]
    oldest_first: bool,
    /// print long cells (branches, errors) whole instead of cutting them to fit
    #[argh(switch)]
    wide: bool,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// show a build: its details and steps
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "show")]
struct ShowCmd {
    /// build: id, short id or owner/name#NUMBER
    #[argh(positional)]
    id: String,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// show a build's steps
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "steps")]
struct StepsCmd {
    /// build: id, short id or owner/name#NUMBER
    #[argh(positional)]
    id: String,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// cancel a pending or running build
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "cancel")]
struct CancelCmd {
    /// build: id, short id or owner/name#NUMBER
    #[argh(positional)]
    id: String,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// print a build's logs: every step's stdout, or one step's
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "logs",
    note = "Control characters and invalid UTF-8 are shown escaped (\\x1b, \\xff) so a build's output cannot drive the terminal; a carriage return starts a new line. --raw writes the bytes exactly as the build wrote them."
)]
struct LogsCmd {
    /// build: id, short id or owner/name#NUMBER
    #[argh(positional)]
    id: String,
    /// only this step (0-based, as in `oore build steps`)
    #[argh(option)]
    step: Option<u32>,
    /// standard error instead of standard output
    #[argh(switch)]
    stderr: bool,
    /// print the system log (clone, setup, artifacts) first
    #[argh(switch)]
    system: bool,
    /// keep printing until the build ends
    #[argh(switch, short = 'f')]
    follow: bool,
    /// write the exact bytes, control characters included
    #[argh(switch)]
    raw: bool,
    /// print the chunks as JSON lines (step, stream, offset, next_offset, data, data_base64)
    #[argh(switch)]
    json: bool,
}

/// list a build's artifacts, or download them
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "artifacts",
    note = "Downloads keep the artifacts' relative paths, are checked against their SHA-256, and resume where an interrupted run stopped (the partial file is <name>.part). An artifact whose file is gone from the server is reported and skipped, and the command exits 1 after the others. --zip saves the server's build-N-artifacts.zip, checked against its length, and resumes the same way."
)]
struct ArtifactsCmd {
    /// build: id, short id or owner/name#NUMBER
    #[argh(positional)]
    id: String,
    /// download every artifact (going on past files gone from the server, then failing)
    #[argh(switch)]
    download: bool,
    /// download them all as one zip (resumable too)
    #[argh(switch)]
    zip: bool,
    /// directory to download into (default: the current directory)
    #[argh(option, arg_name = "dir")]
    output: Option<PathBuf>,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// Run `oore build ...`.
pub(crate) fn run(cmd: BuildCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    let result = match cmd.command {
        BuildSub::Trigger(cmd) => trigger(cmd, ctx).map_err(|e| {
            e.with_hint(ErrorCode::NotFound, REPO_HINT)
                .with_hint(ErrorCode::InvalidId, REPO_HINT)
        }),
        BuildSub::List(cmd) => list(cmd, ctx),
        BuildSub::Show(cmd) => show(cmd, ctx),
        BuildSub::Steps(cmd) => steps(cmd, ctx),
        BuildSub::Cancel(cmd) => cancel(cmd, ctx),
        BuildSub::Logs(cmd) => logs(cmd, ctx),
        BuildSub::Artifacts(cmd) => artifacts(cmd, ctx),
    };
    result.map_err(|e| {
        e.with_hint(ErrorCode::NotFound, ID_HINT)
            .with_hint(ErrorCode::InvalidId, ID_HINT)
            .with_flags(FLAGS)
    })
}

fn trigger(cmd: TriggerCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let repo = cmd.repo_id.trim();
    if repo.is_empty() {
        return Err(CliError::Usage(format!(
            "the repository id is empty; {REPO_HINT}"
        )));
    }
    let request = TriggerBuildRequest {
        branch: cmd.branch,
        commit: cmd.commit,
        workflow: cmd.workflow,
    };
    let client = ctx.client()?;
    let build: BuildDto = client.post(&paths::repository_trigger(repo), Some(&request))?;
    if !ctx.out.is_json() {
        ctx.out.text(&format!(
            "build #{} {} queued ({})",
            build.number,
            build.id,
            what_is_built(&build)
        ))?;
    }
    if !cmd.wait {
        if ctx.out.is_json() {
            return ctx.out.json(&build);
        }
        return ctx.out.text(&format!(
            "follow it with `oore build logs {} --follow`, or see it with `oore build show {}`",
            build.id, build.id
        ));
    }
    let build = wait(&client, build, ctx)?;
    if ctx.out.is_json() {
        ctx.out.json(&build)?;
    } else {
        report_end(&build, ctx)?;
    }
    if build.status == BuildStatusDto::Success {
        Ok(())
    } else {
        let mut message = format!(
            "build #{} {} ended {}",
            build.number, build.id, build.status
        );
        if let Some(error) = &build.error_message {
            message.push_str(&format!(": {}", sanitize(error)));
        }
        Err(CliError::Usage(message))
    }
}

/// `branch main, commit 0123456` as far as it is known.
fn what_is_built(build: &BuildDto) -> String {
    let reference = match (&build.branch, &build.tag, build.pull_request) {
        (Some(branch), _, _) => format!("branch {branch}"),
        (None, Some(tag), _) => format!("tag {tag}"),
        (None, None, Some(pr)) => format!("pull request {pr}"),
        (None, None, None) => "default branch".to_owned(),
    };
    let commit = build.commit_sha.as_deref().map_or_else(
        || "latest commit".to_owned(),
        |c| format!("commit {}", short_commit(c)),
    );
    sanitize(&format!("{reference}, {commit}"))
}

/// Poll the build until it ends, printing each status it passes through.
fn wait(client: &ApiClient, mut build: BuildDto, ctx: &mut Ctx<'_>) -> Result<BuildDto, CliError> {
    let mut seen = build.status;
    while !build.status.has_ended() {
        std::thread::sleep(WAIT_POLL);
        build = fetch_build(client, &build.id)?;
        if build.status != seen && !build.status.has_ended() && !ctx.out.is_json() {
            ctx.out.text(&format!(
                "build #{} {} ({})",
                build.number,
                build.status,
                what_is_built(&build)
            ))?;
        }
        seen = build.status;
    }
    Ok(build)
}

/// The end of `trigger --wait`: the status, and what failed.
fn report_end(build: &BuildDto, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    let took = duration(build.duration_ms);
    let mut text = match build.status {
        BuildStatusDto::Success => format!("build #{} succeeded in {took}\n", build.number),
        status => format!("build #{} {status} after {took}\n", build.number),
    };
    let steps = build.steps.as_deref().unwrap_or_default();
    for step in steps.iter().filter(|s| {
        matches!(s.status, StepStatusDto::Failure | StepStatusDto::Cancelled) && !s.ignore_failure
    }) {
        let mut line = format!("  step {} {}: {}", step.index, step.name, step.status);
        if let Some(code) = step.exit_code {
            line.push_str(&format!(", exit code {code}"));
        }
        if let Some(error) = &step.error_message {
            line.push_str(&format!(" ({error})"));
        }
        text.push_str(&sanitize(&line));
        text.push('\n');
        text.push_str(&format!(
            "  its output: `oore build logs {} --step {}` (add --stderr for standard error)\n",
            build.id, step.index
        ));
    }
    ctx.out.text(&text)
}

fn list(cmd: ListCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    if cmd.wide {
        ctx.out.set_width(None);
    }
    let query = list_query(&cmd);
    let page: BuildListResponse = ctx.client()?.get(&query.path(paths::builds()))?;
    if ctx.out.is_json() {
        return ctx.out.json(&page);
    }
    if page.builds.is_empty() {
        let message = if cmd.after.is_some() {
            "no more builds"
        } else if query.is_filtered() {
            "no builds match; run `oore build list` without filters to see them all"
        } else {
            "no builds yet; start one with `oore build trigger REPO_ID`"
        };
        return ctx.out.text(message);
    }
    ctx.out.table(&build_table(&page.builds))?;
    if let Some(next) = &page.next {
        ctx.out
            .text(&format!("more: {}", next_page_command(&cmd, next)))?;
    }
    Ok(())
}

/// The query string parts of `oore build list`'s filters.
fn list_query(cmd: &ListCmd) -> ListQuery {
    let mut query = ListQuery::default();
    let status = cmd.status.as_ref().map(|s| s.replace(' ', ""));
    query.put("repository", cmd.repo.as_deref());
    query.put("status", status.as_deref());
    query.put("branch", cmd.branch.as_deref());
    query.put("trigger", cmd.trigger.as_deref());
    query.put("commit", cmd.commit.as_deref());
    query.put("from", cmd.since.as_deref());
    query.put("until", cmd.until.as_deref());
    query.put("after", cmd.after.as_deref());
    if cmd.oldest_first {
        query.put("order", Some("asc"));
    }
    query.limit(cmd.limit);
    query
}

/// The same `oore build list` command line, continuing after `cursor`.
fn next_page_command(cmd: &ListCmd, cursor: &str) -> String {
    let mut line = "oore build list".to_owned();
    let flags = [
        ("--repo", &cmd.repo),
        ("--status", &cmd.status),
        ("--branch", &cmd.branch),
        ("--trigger", &cmd.trigger),
        ("--commit", &cmd.commit),
        ("--since", &cmd.since),
        ("--until", &cmd.until),
    ];
    for (flag, value) in flags {
        if let Some(value) = value {
            line.push_str(&format!(" {flag} {}", shell_word(value)));
        }
    }
    if let Some(limit) = cmd.limit {
        line.push_str(&format!(" --limit {limit}"));
    }
    if cmd.oldest_first {
        line.push_str(" --oldest-first");
    }
    line.push_str(&format!(" --after {}", shell_word(cursor)));
    sanitize(&line)
}

/// `value` as one shell word: as is when it is plain, else single-quoted.
pub(crate) fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.,:/+@%=".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

fn show(cmd: ShowCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let client = ctx.client()?;
    let id = resolve_build_id(&client, &cmd.id)?;
    let build = fetch_build(&client, &id)?;
    if ctx.out.is_json() {
        ctx.out.json(&build)
    } else {
        ctx.out.text(&details(&build))
    }
}

fn steps(cmd: StepsCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let client = ctx.client()?;
    let id = resolve_build_id(&client, &cmd.id)?;
    let list: StepListResponse = client.get(&paths::build_steps(&id))?;
    if ctx.out.is_json() {
        return ctx.out.json(&list);
    }
    if list.steps.is_empty() {
        return ctx.out.text(&format!(
            "build {id} has no steps yet; they are known once it starts and reads its pipeline"
        ));
    }
    ctx.out.table(&step_table(&list.steps))
}

fn cancel(cmd: CancelCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let client = ctx.client()?;
    let id = resolve_build_id(&client, &cmd.id)?;
    let build: BuildDto = client
        .post::<(), _>(&paths::build_cancel(&id), None)
        .map_err(|e| {
            e.with_hint(
                ErrorCode::Conflict,
                &format!("see how it ended with `oore build show {id}`"),
            )
        })?;
    if ctx.out.is_json() {
        return ctx.out.json(&build);
    }
    if build.status.has_ended() {
        ctx.out.text(&format!(
            "build #{} {} {}",
            build.number, build.id, build.status
        ))
    } else {
        ctx.out.text(&format!(
            "build #{} {}: cancel requested; its running step is being stopped (check with `oore build show {}`)",
            build.number, build.id, build.id
        ))
    }
}

fn logs(cmd: LogsCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    if cmd.raw && ctx.out.is_json() {
        return Err(CliError::Usage(
            "pass either --raw or --json, not both (the JSON has the exact bytes in data_base64)"
                .to_owned(),
        ));
    }
    let client = ctx.client()?;
    let id = resolve_build_id(&client, &cmd.id)?;
    let request = logs::LogRequest {
        id,
        step: cmd.step,
        stderr: cmd.stderr,
        system: cmd.system,
        follow: cmd.follow,
        raw: cmd.raw,
        json: ctx.out.is_json(),
    };
    logs::run(&request, &client, ctx.out)
}

fn artifacts(cmd: ArtifactsCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    if cmd.output.is_some() && !cmd.download && !cmd.zip {
        return Err(CliError::Usage(
            "--output only applies with --download or --zip".to_owned(),
        ));
    }
    if cmd.download && cmd.zip {
        return Err(CliError::Usage(
            "pass either --download (each file) or --zip (one archive), not both".to_owned(),
        ));
    }
    let target = ctx.target(Auth::Required)?;
    let client = ApiClient::new(target.clone());
    let id = resolve_build_id(&client, &cmd.id)?;
    let list: ArtifactListResponse = client.get(&paths::build_artifacts(&id))?;
    let request = fetch::ArtifactsRequest {
        id,
        download: cmd.download,
        zip: cmd.zip,
        output: cmd.output,
    };
    fetch::run(request, &list, target, ctx.out)
}

/// One build with its steps.
pub(super) fn fetch_build(client: &ApiClient, id: &str) -> Result<BuildDto, CliError> {
    client.get(&paths::build(id))
}

/// The full id of the build the user named: its id, a short id (the end of one, as
/// `oore build list` shows it) or `owner/name#NUMBER`. The server resolves the reference
/// (one request), so every later request of the command uses the full id.
fn resolve_build_id(client: &ApiClient, typed: &str) -> Result<String, CliError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(CliError::Usage(format!("the build id is empty; {ID_HINT}")));
    }
    if typed.len() == 26 && !typed.contains(['/', '#']) {
        // A full id, or something the server will explain.
        return Ok(typed.to_owned());
    }
    Ok(fetch_build(client, typed)?.id)
}

/// A short id: 4 to 25 characters of the ULID alphabet (a full ULID has 26).
pub(crate) fn is_short_id(typed: &str) -> bool {
    (4..26).contains(&typed.len())
        && typed.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                && !matches!(b.to_ascii_uppercase(), b'I' | b'L' | b'O' | b'U')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_recognised() {
        assert!(is_short_id("7K3M9Q2A"));
        assert!(is_short_id("7k3m"));
        assert!(!is_short_id("01JBUILDAAAAAAAAAAAA7K3M9Q"), "a full ULID");
        assert!(!is_short_id("abc"), "too short to be useful");
        assert!(!is_short_id("7K3M-9Q"));
        assert!(
            !is_short_id("HELLO"),
            "L and O are not in the ULID alphabet"
        );
    }

    #[test]
    fn list_filters_become_the_query() {
        let cmd = ListCmd {
            repo: Some("01JREPO".into()),
            status: Some("failure, cancelled".into()),
            branch: Some("feature/x y".into()),
            since: Some("2026-01-05T00:00:00+01:00".into()),
            oldest_first: true,
            limit: Some(10),
            after: Some("01JCURSOR".into()),
            ..ListCmd::default()
        };
        assert_eq!(
            list_query(&cmd).parts(),
            [
                "repository=01JREPO",
                "status=failure%2Ccancelled",
                "branch=feature%2Fx%20y",
                "from=2026-01-05T00%3A00%3A00%2B01%3A00",
                "after=01JCURSOR",
                "order=asc",
                "limit=10",
            ]
        );
        assert!(list_query(&ListCmd::default()).parts().is_empty());
    }

    #[test]
    fn next_page_repeats_the_filters() {
        let cmd = ListCmd {
            status: Some("failure".into()),
            branch: Some("it's".into()),
            limit: Some(2),
            after: Some("OLD".into()),
            ..ListCmd::default()
        };
        assert_eq!(
            next_page_command(&cmd, "01JNEXT"),
            r"oore build list --status failure --branch 'it'\''s' --limit 2 --after 01JNEXT"
        );
    }
}
