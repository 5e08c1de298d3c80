//! `oore webhook ...`: list the webhook deliveries `oored` received, show one (what
//! arrived, what came of it, its payload), process a stored one again (spec 10.3,
//! 11.1), approve a pull request from a fork, and show the requests refused without
//! being stored. The layouts are in [`render`].

mod render;

use std::time::{Duration, Instant};

use argh::FromArgs;
use oore_core::api::{
    ApproveWebhookRequest, BuildDto, ErrorCode, WebhookEventDetailDto, WebhookEventDto,
    WebhookEventStatusDto, WebhookListResponse, WebhookRefusalsResponse, paths,
};

use super::Ctx;
use super::build::{is_short_id, shell_word};
use crate::client::ApiClient;
use crate::commands::list_query::ListQuery;
use crate::error::CliError;
use crate::table::sanitize;
use render::{BuildLine, details, event_table, outcome, refusal_table};

/// What to try after an unknown or malformed event id.
const ID_HINT: &str = "list events with `oore webhook list`";
/// The flag for each API field, for field errors.
const FLAGS: &[(&str, &str)] = &[
    ("repository", "--repo"),
    ("provider", "--provider"),
    ("status", "--status"),
    ("event", "--event"),
    ("limit", "--limit"),
    ("before", "--before"),
    ("approved_by", "--as"),
];
/// Events searched when a short id is given.
const SHORT_ID_SEARCH: u32 = 200;
/// How often `redeliver --wait` looks at the event, and for how long.
const WAIT_POLL: Duration = Duration::from_millis(250);
const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// inspect webhook deliveries and process them again
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "webhook",
    example = "Why did a push not build?\n  {command_name} list --repo 01JREPO... --limit 10\n  {command_name} show 7K3M9Q2A\n\nDeliveries refused (bad signature or token):\n  {command_name} list --status rejected\n\nRequests refused before anything could be checked (no such repository, no secret):\n  {command_name} refusals\n\nBuild a pull request from a fork once you have read it:\n  {command_name} list --status awaiting_approval\n  {command_name} approve 7K3M9Q2A --wait\n\nProcess a stored delivery again, e.g. after activating the repository:\n  {command_name} redeliver 7K3M9Q2A --wait",
    note = "An event id can be given in full or as the short id `oore webhook list` shows (its last 8 characters), which is looked up among the 200 most recent events. A rejected delivery cannot be processed again: fix the secret with `oore repo update`, then redeliver it from the forge. Approving a pull request from a fork builds the commit of that event only; a new push to it waits for its own approval."
)]
pub(crate) struct WebhookCmd {
    #[argh(subcommand)]
    command: WebhookSub,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum WebhookSub {
    List(ListCmd),
    Show(ShowCmd),
    Redeliver(RedeliverCmd),
    Approve(ApproveCmd),
    Refusals(RefusalsCmd),
}

/// list received webhook events, newest first
#[derive(FromArgs, Debug, Default)]
#[argh(subcommand, name = "list")]
struct ListCmd {
    /// only this repository (id)
    #[argh(option)]
    repo: Option<String>,
    /// only this provider: github or gitlab
    #[argh(option)]
    provider: Option<String>,
    /// only this status: received, processed, ignored, failed, rejected or
    /// awaiting_approval
    #[argh(option)]
    status: Option<String>,
    /// only this kind of event: push, pull_request (or merge_request) and tag_push match
    /// GitHub's and GitLab's names alike; any other name as the forge sends it
    #[argh(option)]
    event: Option<String>,
    /// events per page (the server's default is 50, its maximum 200)
    #[argh(option)]
    limit: Option<u32>,
    /// continue with events older than this cursor (printed at the end of a full page)
    #[argh(option)]
    before: Option<String>,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// show a webhook event: what arrived, what came of it, and its payload
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "show")]
struct ShowCmd {
    /// event id (full or short)
    #[argh(positional)]
    id: String,
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// process a stored webhook event again (its earlier builds are reused, not repeated)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "redeliver")]
struct RedeliverCmd {
    /// event id (full or short)
    #[argh(positional)]
    id: String,
    /// wait until it is processed and print the outcome; exit 1 if it failed
    #[argh(switch)]
    wait: bool,
    /// print the API's JSON (with --wait: the event as processed)
    #[argh(switch)]
    json: bool,
}

/// build a pull request from a fork that awaits approval: exactly the commit of this
/// event, once
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "approve")]
struct ApproveCmd {
    /// event id (full or short)
    #[argh(positional)]
    id: String,
    /// the name recorded as approver (default: $USER, else the server's "admin")
    #[argh(option, long = "as")]
    approver: Option<String>,
    /// wait until it is processed and print the outcome; exit 1 if it failed
    #[argh(switch)]
    wait: bool,
    /// print the API's JSON (with --wait: the event as processed)
    #[argh(switch)]
    json: bool,
}

/// show webhook requests refused without being stored, counted per source address
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "refusals")]
struct RefusalsCmd {
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// Run `oore webhook ...`.
pub(crate) fn run(cmd: WebhookCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    let result = match cmd.command {
        WebhookSub::List(cmd) => list(cmd, ctx),
        WebhookSub::Show(cmd) => show(cmd, ctx),
        WebhookSub::Redeliver(cmd) => redeliver(cmd, ctx),
        WebhookSub::Approve(cmd) => approve(cmd, ctx),
        WebhookSub::Refusals(cmd) => refusals(cmd, ctx),
    };
    result.map_err(|e| {
        e.with_hint(ErrorCode::NotFound, ID_HINT)
            .with_hint(ErrorCode::InvalidId, ID_HINT)
            .with_flags(FLAGS)
    })
}

fn list(cmd: ListCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let query = list_query(&cmd);
    let page: WebhookListResponse = ctx.client()?.get(&query.path(paths::webhooks()))?;
    if ctx.out.is_json() {
        return ctx.out.json(&page);
    }
    if page.events.is_empty() {
        let message = if cmd.before.is_some() {
            "no more webhook events"
        } else if query.is_filtered() {
            "no webhook events match; run `oore webhook list` without filters to see them all"
        } else {
            "no webhook events yet; point the forge's webhook at the URL `oore repo webhook-url REPO_ID` prints"
        };
        return ctx.out.text(message);
    }
    ctx.out.table(&event_table(&page.events))?;
    if let Some(next) = &page.next {
        ctx.out
            .text(&format!("more: {}", next_page_command(&cmd, next)))?;
    }
    Ok(())
}

/// The query string of `oore webhook list`'s filters.
fn list_query(cmd: &ListCmd) -> ListQuery {
    let mut query = ListQuery::default();
    query.put("repository", cmd.repo.as_deref());
    query.put("provider", cmd.provider.as_deref());
    query.put("status", cmd.status.as_deref());
    query.put("event", cmd.event.as_deref());
    query.put("before", cmd.before.as_deref());
    query.limit(cmd.limit);
    query
}

/// The same `oore webhook list` command line, continuing before `cursor`.
fn next_page_command(cmd: &ListCmd, cursor: &str) -> String {
    let mut line = "oore webhook list".to_owned();
    let flags = [
        ("--repo", &cmd.repo),
        ("--provider", &cmd.provider),
        ("--status", &cmd.status),
        ("--event", &cmd.event),
    ];
    for (flag, value) in flags {
        if let Some(value) = value {
            line.push_str(&format!(" {flag} {}", shell_word(value)));
        }
    }
    if let Some(limit) = cmd.limit {
        line.push_str(&format!(" --limit {limit}"));
    }
    line.push_str(&format!(" --before {}", shell_word(cursor)));
    sanitize(&line)
}

fn show(cmd: ShowCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let client = ctx.client()?;
    let id = resolve_event_id(&client, &cmd.id)?;
    let detail: WebhookEventDetailDto = client.get(&paths::webhook(&id))?;
    if ctx.out.is_json() {
        return ctx.out.json(&detail);
    }
    let builds = build_lines(&client, &detail.event.build_ids);
    ctx.out.text(&details(&detail, &builds))
}

/// One line per build of an event, with what the build API says about it (just the id
/// when it cannot be read).
fn build_lines(client: &ApiClient, ids: &[String]) -> Vec<BuildLine> {
    ids.iter()
        .map(|id| BuildLine {
            id: id.clone(),
            build: client.get::<BuildDto>(&paths::build(id)).ok(),
        })
        .collect()
}

fn redeliver(cmd: RedeliverCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let client = ctx.client()?;
    let id = resolve_event_id(&client, &cmd.id)?;
    let queued: WebhookEventDto = client
        .post::<(), _>(&paths::webhook_redeliver(&id), None)
        .map_err(|e| {
            e.with_hint(
                ErrorCode::Conflict,
                &format!("see the event with `oore webhook show {id}`"),
            )
        })?;
    if !cmd.wait {
        if ctx.out.is_json() {
            return ctx.out.json(&queued);
        }
        return ctx.out.text(&format!(
            "webhook event {id} ({}) is queued for processing again; see the outcome with `oore webhook show {id}`",
            sanitize(&queued.event_type)
        ));
    }
    wait_and_report(&client, &id, ctx)
}

fn approve(cmd: ApproveCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let client = ctx.client()?;
    let id = resolve_event_id(&client, &cmd.id)?;
    let request = ApproveWebhookRequest {
        approved_by: cmd.approver.or_else(local_user),
    };
    let approved: WebhookEventDto = client
        .post(&paths::webhook_approve(&id), Some(&request))
        .map_err(|e| {
            e.with_hint(
                ErrorCode::Conflict,
                &format!("see the event with `oore webhook show {id}`"),
            )
        })?;
    if !cmd.wait {
        if ctx.out.is_json() {
            return ctx.out.json(&approved);
        }
        return ctx.out.text(&format!(
            "webhook event {id} approved by {}; it builds next: see the build with `oore webhook show {id}`",
            sanitize(approved.approved_by.as_deref().unwrap_or("admin"))
        ));
    }
    wait_and_report(&client, &id, ctx)
}

/// The login name of whoever runs `oore`, for the approval record.
fn local_user() -> Option<String> {
    ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

fn refusals(cmd: RefusalsCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let counts: WebhookRefusalsResponse = ctx.client()?.get(&paths::webhook_refusals())?;
    if ctx.out.is_json() {
        return ctx.out.json(&counts);
    }
    if counts.sources.is_empty() {
        return ctx.out.text(&format!(
            "no webhook requests refused since the server started ({})",
            sanitize(&counts.since)
        ));
    }
    ctx.out.table(&refusal_table(&counts.sources))?;
    let mut note = format!(
        "counted since the server started ({}); these requests were not stored",
        sanitize(&counts.since)
    );
    if counts.dropped_sources > 0 {
        note.push_str(&format!(
            "; {} more source(s) were dropped from the count",
            counts.dropped_sources
        ));
    }
    ctx.out.text(&note)
}

/// `--wait` of redeliver and approve: polls the event until it is processed, prints
/// the outcome, fails when the event failed.
fn wait_and_report(client: &ApiClient, id: &str, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    let started = Instant::now();
    let event = loop {
        let detail: WebhookEventDetailDto = client.get(&paths::webhook(id))?;
        if detail.event.status != WebhookEventStatusDto::Received {
            break detail.event;
        }
        if started.elapsed() > WAIT_LIMIT {
            return Err(CliError::Usage(format!(
                "webhook event {id} is still waiting to be processed after {} s; the server may be busy: check later with `oore webhook show {id}`",
                WAIT_LIMIT.as_secs()
            )));
        }
        std::thread::sleep(WAIT_POLL);
    };
    if ctx.out.is_json() {
        ctx.out.json(&event)?;
    } else {
        let builds = build_lines(client, &event.build_ids);
        ctx.out.text(&outcome(&event, &builds))?;
    }
    if event.status == WebhookEventStatusDto::Failed {
        return Err(CliError::Usage(format!(
            "webhook event {id} failed: {}",
            sanitize(event.reason.as_deref().unwrap_or("no reason recorded"))
        )));
    }
    Ok(())
}

/// The full id for what the user typed: a full ULID as is, a short id (the end of one,
/// as `oore webhook list` shows it) looked up among the most recent events.
fn resolve_event_id(client: &ApiClient, typed: &str) -> Result<String, CliError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(CliError::Usage(format!("the event id is empty; {ID_HINT}")));
    }
    if !is_short_id(typed) {
        return Ok(typed.to_owned());
    }
    let page: WebhookListResponse = client.get(&paths::with_query(
        paths::webhooks(),
        [("limit", SHORT_ID_SEARCH.to_string().as_str())],
    ))?;
    let wanted = typed.to_ascii_uppercase();
    let found: Vec<&WebhookEventDto> = page
        .events
        .iter()
        .filter(|e| e.id.to_ascii_uppercase().ends_with(&wanted))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(CliError::Usage(format!(
            "no event among the {SHORT_ID_SEARCH} most recent has an id ending in {typed}; pass the full id (`oore webhook list --json` shows them)"
        ))),
        many => Err(CliError::Usage(format!(
            "{typed} is the end of several event ids ({}); pass more characters or the full id",
            many.iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_become_the_query() {
        let cmd = ListCmd {
            repo: Some("01JREPO".into()),
            provider: Some("gitlab".into()),
            status: Some("rejected".into()),
            event: Some("Push Hook".into()),
            limit: Some(10),
            before: Some("01JCURSOR".into()),
            json: false,
        };
        assert_eq!(
            list_query(&cmd).parts(),
            [
                "repository=01JREPO",
                "provider=gitlab",
                "status=rejected",
                "event=Push%20Hook",
                "before=01JCURSOR",
                "limit=10",
            ]
        );
        assert!(list_query(&ListCmd::default()).parts().is_empty());
    }

    #[test]
    fn next_page_repeats_the_filters() {
        let cmd = ListCmd {
            event: Some("Push Hook".into()),
            limit: Some(2),
            before: Some("OLD".into()),
            ..ListCmd::default()
        };
        assert_eq!(
            next_page_command(&cmd, "01JNEXT"),
            "oore webhook list --event 'Push Hook' --limit 2 --before 01JNEXT"
        );
    }

    #[test]
    fn short_ids() {
        assert!(is_short_id("7K3M9Q2A"));
        assert!(!is_short_id("01JD0000000000000000000000"));
    }
}
