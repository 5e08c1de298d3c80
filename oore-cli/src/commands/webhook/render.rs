//! How webhook events look in human output: the list table, the details block with the
//! pretty-printed payload, and the outcome line of `redeliver --wait`.
//!
//! Everything shown comes from a forge, or from whoever posted to the receiver, so it is
//! made harmless first: control characters are escaped by the table (and by JSON in the
//! payload), and so are the invisible characters that reorder text (bidirectional
//! overrides and isolates).

use oore_core::api::{
    BuildDto, PayloadFormatDto, WebhookEventDetailDto, WebhookEventDto, WebhookEventStatusDto,
    WebhookRefusalSourceDto,
};

use crate::commands::build::render::{short_id, time};
use crate::table::{Table, key_values, sanitize};

/// Longest reason shown in the list; `show` prints it whole.
const REASON_WIDTH: usize = 72;

/// A build of an event, with the build itself when it could be read.
pub(super) struct BuildLine {
    /// Its id.
    pub(super) id: String,
    /// `GET /api/builds/:id`, when that worked.
    pub(super) build: Option<BuildDto>,
}

/// `text` with bidirectional controls escaped (`\u{202e}`) and control characters
/// escaped, so it cannot reorder or restyle the terminal.
fn harmless(text: &str) -> String {
    let escaped: String = text
        .chars()
        .map(|c| {
            if matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    sanitize(&escaped)
}

/// At most `max` characters of `text`, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// What came of an event, in a few words: its builds, else why not.
fn result(event: &WebhookEventDto) -> String {
    match event.status {
        WebhookEventStatusDto::Received => "waiting to be processed".to_owned(),
        _ if !event.build_ids.is_empty() => {
            let ids: Vec<&str> = event.build_ids.iter().map(|b| short_id(b)).collect();
            let noun = if ids.len() == 1 { "build" } else { "builds" };
            format!("{noun} {}", ids.join(", "))
        }
        _ => event
            .reason
            .as_deref()
            .map_or_else(|| "-".to_owned(), |r| cut(r, REASON_WIDTH)),
    }
}

/// `oore webhook list`.
pub(super) fn event_table(events: &[WebhookEventDto]) -> Table {
    let mut table = Table::with_header(["ID", "RECEIVED", "PROVIDER", "EVENT", "STATUS", "RESULT"]);
    for e in events {
        table.row([
            short_id(&e.id).to_owned(),
            time(&e.received_at),
            e.provider.to_string(),
            harmless(&e.event_type),
            e.status.to_string(),
            harmless(&result(e)),
        ]);
    }
    table
}

fn build_text(line: &BuildLine) -> String {
    match &line.build {
        Some(b) => {
            let what = match (&b.branch, &b.tag, b.pull_request) {
                (_, _, Some(pr)) => format!("pull request {pr}"),
                (Some(branch), _, _) => format!("branch {branch}"),
                (None, Some(tag), _) => format!("tag {tag}"),
                _ => "default branch".to_owned(),
            };
            let commit = b
                .commit_sha
                .as_deref()
                .map_or("-", |c| c.get(..7).unwrap_or(c));
            harmless(&format!(
                "#{} {} {} ({}, {what}, commit {commit})",
                b.number, b.id, b.status, b.trigger
            ))
        }
        None => line.id.clone(),
    }
}

/// `oore webhook show`: the event, its builds, its headers and its payload.
pub(super) fn details(detail: &WebhookEventDetailDto, builds: &[BuildLine]) -> String {
    let e = &detail.event;
    let dash = |v: Option<&String>| v.map_or_else(|| "-".to_owned(), |s| harmless(s));
    let mut text = key_values([
        ("id", e.id.clone()),
        ("provider", e.provider.to_string()),
        ("event", harmless(&e.event_type)),
        ("delivery", harmless(&e.delivery_id)),
        ("repository", dash(e.repository_id.as_ref())),
        ("status", e.status.to_string()),
        ("reason", dash(e.reason.as_ref())),
        ("source ip", dash(e.source_ip.as_ref())),
        ("received", time(&e.received_at)),
        (
            "processed",
            e.processed_at
                .as_deref()
                .map_or_else(|| "-".to_owned(), time),
        ),
    ]);
    if !builds.is_empty() {
        text.push_str("\nbuilds:\n");
        for line in builds {
            text.push_str(&format!("  {}\n", build_text(line)));
        }
    }
    if let Some(by) = &e.approved_by {
        text.push_str(&format!(
            "\napproved by {} at {}\n",
            harmless(by),
            e.approved_at
                .as_deref()
                .map_or_else(|| "-".to_owned(), time)
        ));
    }
    text.push_str("\nheaders:\n");
    for (name, value) in &detail.headers {
        text.push_str(&format!("  {}: {}\n", harmless(name), harmless(value)));
    }
    if detail.payload_truncated {
        text.push_str(&format!(
            "\npayload ({}, the first {} of {} bytes received):\n",
            detail.payload_format,
            kept_bytes(detail),
            detail.payload_size
        ));
    } else {
        text.push_str(&format!("\npayload ({}):\n", detail.payload_format));
    }
    let payload = match &detail.payload {
        serde_json::Value::String(s) if detail.payload_format == PayloadFormatDto::Text => {
            s.clone()
        }
        value => serde_json::to_string_pretty(value).unwrap_or_default(),
    };
    for line in payload.lines() {
        text.push_str(&harmless(line));
        text.push('\n');
    }
    text
}

/// The bytes of a cut payload that were kept (it is shown as text).
fn kept_bytes(detail: &WebhookEventDetailDto) -> usize {
    match &detail.payload {
        serde_json::Value::String(s) => s.len(),
        other => other.to_string().len(),
    }
}

/// `oore webhook refusals`.
pub(super) fn refusal_table(sources: &[WebhookRefusalSourceDto]) -> Table {
    let mut table = Table::with_header(["SOURCE", "REFUSED", "WHY", "LAST", "LAST PATH"]);
    for s in sources {
        let why: Vec<String> = s
            .reasons
            .iter()
            .map(|r| format!("{} {}", r.reason, r.count))
            .collect();
        table.row([
            harmless(&s.source),
            s.total.to_string(),
            why.join(", "),
            time(&s.last_at),
            harmless(&s.last_path),
        ]);
    }
    table
}

/// `oore webhook redeliver --wait`: how processing ended.
pub(super) fn outcome(event: &WebhookEventDto, builds: &[BuildLine]) -> String {
    let mut text = format!("webhook event {} {}", event.id, event.status);
    match &event.reason {
        Some(reason) => text.push_str(&format!(": {}", harmless(reason))),
        None if builds.is_empty() => {}
        None => text.push(':'),
    }
    text.push('\n');
    for line in builds {
        text.push_str(&format!("  {}\n", build_text(line)));
    }
    text
}

#[cfg(test)]
mod tests {
    use oore_core::api::ProviderDto;

    use super::*;

    fn event(
        id: &str,
        status: WebhookEventStatusDto,
        reason: Option<&str>,
        builds: &[&str],
    ) -> WebhookEventDto {
        WebhookEventDto {
            id: id.to_owned(),
            provider: ProviderDto::GitHub,
            delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958".to_owned(),
            event_type: "push".to_owned(),
            repository_id: Some("01JREPOAAAAAAAAAAAAAAAAAAA".to_owned()),
            status,
            reason: reason.map(str::to_owned),
            source_ip: Some("192.0.2.1".to_owned()),
            received_at: "2026-01-02T03:04:05.123Z".to_owned(),
            processed_at: Some("2026-01-02T03:04:06Z".to_owned()),
            build_ids: builds.iter().map(|b| (*b).to_owned()).collect(),
            approved_by: None,
            approved_at: None,
        }
    }

    #[test]
    fn list_table_shows_builds_or_the_reason() {
        let long = "the payload is for evil/app, but this webhook URL belongs to acme/app; fix the URL on the forge";
        let mut gitlab = event(
            "01JEVENTCCCCCCCCCCC3333333",
            WebhookEventStatusDto::Received,
            None,
            &[],
        );
        gitlab.provider = ProviderDto::GitLab;
        gitlab.event_type = "Push Hook".into();
        let table = event_table(&[
            event(
                "01JEVENTAAAAAAAAAAA1111111",
                WebhookEventStatusDto::Processed,
                None,
                &["01JBUILDAAAAAAAAAAA7K3M9Q2A"],
            ),
            event(
                "01JEVENTBBBBBBBBBBB2222222",
                WebhookEventStatusDto::Ignored,
                Some(long),
                &[],
            ),
            gitlab,
            event(
                "01JEVENTDDDDDDDDDDD4444444",
                WebhookEventStatusDto::Rejected,
                Some("HMAC verification failed: the signature does not match\u{202e}"),
                &[],
            ),
        ]);
        insta::assert_snapshot!(table.render(), @r"
        ID        RECEIVED              PROVIDER  EVENT      STATUS     RESULT
        A1111111  2026-01-02 03:04:05Z  github    push       processed  build 7K3M9Q2A
        B2222222  2026-01-02 03:04:05Z  github    push       ignored    the payload is for evil/app, but this webhook URL belongs to acme/app; f…
        C3333333  2026-01-02 03:04:05Z  gitlab    Push Hook  received   waiting to be processed
        D4444444  2026-01-02 03:04:05Z  github    push       rejected   HMAC verification failed: the signature does not match\u{202e}
        ");
    }

    #[test]
    fn details_show_headers_builds_and_the_pretty_payload() {
        let detail = WebhookEventDetailDto {
            event: event(
                "01JEVENTAAAAAAAAAAA1111111",
                WebhookEventStatusDto::Processed,
                None,
                &["01JBUILD"],
            ),
            headers: vec![
                ("x-github-event".into(), "push".into()),
                ("user-agent".into(), "GitHub-Hookshot/7f5e9a1".into()),
            ],
            payload_format: PayloadFormatDto::Json,
            payload: serde_json::json!({"ref": "refs/heads/main", "note": "a\u{1b}[31m"}),
            payload_size: 44,
            payload_truncated: false,
        };
        let builds = [BuildLine {
            id: "01JBUILD".into(),
            build: None,
        }];
        insta::assert_snapshot!(details(&detail, &builds), @r#"
        id:          01JEVENTAAAAAAAAAAA1111111
        provider:    github
        event:       push
        delivery:    72d3162e-cc78-11e3-81ab-4c9367dc0958
        repository:  01JREPOAAAAAAAAAAAAAAAAAAA
        status:      processed
        reason:      -
        source ip:   192.0.2.1
        received:    2026-01-02 03:04:05Z
        processed:   2026-01-02 03:04:06Z

        builds:
          01JBUILD

        headers:
          x-github-event: push
          user-agent: GitHub-Hookshot/7f5e9a1

        payload (json):
        {
          "note": "a\u001b[31m",
          "ref": "refs/heads/main"
        }
        "#);
    }

    #[test]
    fn details_show_the_approval_and_a_cut_payload() {
        let mut approved = event(
            "01JEVENTAAAAAAAAAAA1111111",
            WebhookEventStatusDto::AwaitingApproval,
            Some("pull request #7 comes from the fork stranger/app"),
            &[],
        );
        approved.approved_by = Some("alice".into());
        approved.approved_at = Some("2026-01-02T03:05:00Z".into());
        let detail = WebhookEventDetailDto {
            event: approved,
            headers: Vec::new(),
            payload_format: PayloadFormatDto::Text,
            payload: serde_json::json!("{\"ref\":\"refs/heads/m"),
            payload_size: 65_536,
            payload_truncated: true,
        };
        let text = details(&detail, &[]);
        assert!(
            text.contains("approved by alice at 2026-01-02 03:05:00Z"),
            "{text}"
        );
        assert!(
            text.contains("payload (text, the first 20 of 65536 bytes received):"),
            "{text}"
        );
    }

    #[test]
    fn refusals_show_each_source() {
        use oore_core::api::{WebhookRefusalCountDto, WebhookRefusalDto};
        let table = refusal_table(&[WebhookRefusalSourceDto {
            source: "2001:db8:1:2::/64".into(),
            total: 1002,
            reasons: vec![
                WebhookRefusalCountDto {
                    reason: WebhookRefusalDto::UnknownRepository,
                    count: 1000,
                },
                WebhookRefusalCountDto {
                    reason: WebhookRefusalDto::Busy,
                    count: 2,
                },
            ],
            first_at: "2026-01-02T03:04:05Z".into(),
            last_at: "2026-01-02T03:05:00Z".into(),
            last_path: "/api/webhooks/github/\u{202e}x".into(),
        }]);
        insta::assert_snapshot!(table.render(), @r"
        SOURCE             REFUSED  WHY                              LAST                  LAST PATH
        2001:db8:1:2::/64  1002     unknown_repository 1000, busy 2  2026-01-02 03:05:00Z  /api/webhooks/github/\u{202e}x
        ");
    }

    #[test]
    fn outcome_names_the_reason_or_the_builds() {
        let ignored = event(
            "01JE",
            WebhookEventStatusDto::Ignored,
            Some("ping: nothing to build"),
            &[],
        );
        assert_eq!(
            outcome(&ignored, &[]),
            "webhook event 01JE ignored: ping: nothing to build\n"
        );
        let built = event("01JE", WebhookEventStatusDto::Processed, None, &["01JB"]);
        let line = BuildLine {
            id: "01JB".into(),
            build: None,
        };
        assert_eq!(
            outcome(&built, &[line]),
            "webhook event 01JE processed:\n  01JB\n"
        );
    }
}
