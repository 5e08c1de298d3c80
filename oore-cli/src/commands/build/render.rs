//! How builds look in human output: the list and steps tables, the details block, and the
//! small formatters they share (durations, sizes, times, short ids).

use oore_core::api::{ArtifactDto, BuildDto, StepDto, StepStatusDto};

use crate::table::{Table, key_values};

/// Characters of a ULID shown as its short form: the end, which is random, so builds
/// created in the same second still differ (the start is the creation time).
const SHORT_ID_LEN: usize = 8;

/// The short form of a ULID: its last 8 characters (`oore build show` accepts it).
pub(crate) fn short_id(id: &str) -> &str {
    match id.len().checked_sub(SHORT_ID_LEN) {
        Some(start) if id.is_char_boundary(start) => &id[start..],
        _ => id,
    }
}

/// A commit SHA as usually shown: its first 7 characters.
pub(super) fn short_commit(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// Milliseconds as `5s`, `1m 05s` or `2h 03m 09s`; `-` when unknown.
pub(super) fn duration(ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return "-".to_owned();
    };
    match ms {
        0 => return "0s".to_owned(),
        1..1000 => return "<1s".to_owned(),
        _ => {}
    }
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Bytes as `512 B`, `1.5 KiB`, `20.0 MiB`...
pub(super) fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// An RFC 3339 UTC time without its fraction of a second, date and time apart:
/// `2026-01-02 03:04:05Z`. Anything else is shown as it came.
pub(crate) fn time(ts: &str) -> String {
    let Some(rest) = ts.strip_suffix('Z') else {
        return ts.to_owned();
    };
    let whole = rest.split_once('.').map_or(rest, |(whole, _)| whole);
    match whole.split_once('T') {
        Some((date, clock)) => format!("{date} {clock}Z"),
        None => ts.to_owned(),
    }
}

fn opt_time(ts: Option<&str>) -> String {
    ts.map_or_else(|| "-".to_owned(), time)
}

/// What was built: the branch, else the tag, else the pull request; `-` when unknown.
fn git_ref(build: &BuildDto) -> String {
    if let Some(branch) = &build.branch {
        branch.clone()
    } else if let Some(tag) = &build.tag {
        format!("tag {tag}")
    } else if let Some(pr) = build.pull_request {
        format!("PR {pr}")
    } else {
        "-".to_owned()
    }
}

/// `oore build list`.
pub(super) fn build_table(builds: &[BuildDto]) -> Table {
    let mut table = Table::with_header([
        "#", "ID", "REPO", "STATUS", "TRIGGER", "BRANCH", "COMMIT", "DURATION", "CREATED",
    ]);
    for b in builds {
        table.row([
            format!("#{}", b.number),
            short_id(&b.id).to_owned(),
            short_id(&b.repository_id).to_owned(),
            b.status.to_string(),
            b.trigger.to_string(),
            git_ref(b),
            b.commit_sha.as_deref().map_or("-", short_commit).to_owned(),
            duration(b.duration_ms),
            time(&b.created_at),
        ]);
    }
    table
}

/// `oore build steps` and the end of `oore build show`.
pub(super) fn step_table(steps: &[StepDto]) -> Table {
    let mut table = Table::with_header(["STEP", "NAME", "STATUS", "EXIT", "DURATION", "ERROR"]);
    for s in steps {
        let status = if s.ignore_failure && s.status == StepStatusDto::Failure {
            "failure (ignored)".to_owned()
        } else {
            s.status.to_string()
        };
        table.row([
            s.index.to_string(),
            s.name.clone(),
            status,
            s.exit_code
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
            duration(s.duration_ms),
            s.error_message.clone().unwrap_or_default(),
        ]);
    }
    table
}

/// `oore build show`: the header block, then the steps.
pub(super) fn details(build: &BuildDto) -> String {
    let dash = |v: Option<&String>| v.cloned().unwrap_or_else(|| "-".to_owned());
    let mut pairs = vec![
        ("build", format!("#{}", build.number)),
        ("id", build.id.clone()),
        ("status", build.status.to_string()),
        ("repository", build.repository_id.clone()),
    ];
    match (&build.branch, &build.tag) {
        (_, Some(tag)) => pairs.push(("tag", tag.clone())),
        _ => pairs.push(("branch", dash(build.branch.as_ref()))),
    }
    if let Some(pr) = build.pull_request {
        pairs.push(("pull request", pr.to_string()));
    }
    if let Some(base) = &build.base_branch {
        pairs.push(("base branch", base.clone()));
    }
    pairs.extend([
        (
            "commit",
            build
                .commit_sha
                .clone()
                .unwrap_or_else(|| "- (resolved when the build starts)".to_owned()),
        ),
        ("trigger", build.trigger.to_string()),
        ("workflow", dash(build.workflow.as_ref())),
        (
            "config source",
            build
                .config_source
                .map_or_else(|| "-".to_owned(), |s| s.to_string()),
        ),
        ("created", time(&build.created_at)),
        ("started", opt_time(build.started_at.as_deref())),
        ("finished", opt_time(build.finished_at.as_deref())),
        ("duration", duration(build.duration_ms)),
    ]);
    if let Some(error) = &build.error_message {
        pairs.push(("error", error.clone()));
    }
    if let Some(waiting) = &build.waiting_reason {
        pairs.push(("waiting", waiting.clone()));
    }
    let mut text = key_values(pairs);
    text.push('\n');
    match build.steps.as_deref() {
        Some(steps) if !steps.is_empty() => text.push_str(&step_table(steps).render()),
        _ if build.status.has_ended() => {
            text.push_str("no steps: the build ended before its pipeline was resolved\n")
        }
        _ => text.push_str(
            "no steps yet: they are known once the build starts and reads its pipeline\n",
        ),
    }
    text
}

/// `oore build artifacts`.
pub(super) fn artifact_table(artifacts: &[ArtifactDto]) -> Table {
    let mut table = Table::with_header(["PATH", "SIZE", "SHA256"]);
    for a in artifacts {
        table.row([
            a.path.clone(),
            size(a.size),
            a.sha256.get(..12).unwrap_or(&a.sha256).to_owned(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Built from JSON, as the CLI receives it.
    fn build(n: u64, id: &str, status: &str, extra: serde_json::Value) -> BuildDto {
        let mut value = serde_json::json!({
            "id": id,
            "number": n,
            "repository_id": "01JREPOAAAAAAAAAAAAAREPO01",
            "status": status,
            "trigger": "manual",
            "priority": 1,
            "branch": "main",
            "tag": null,
            "pull_request": null,
            "commit_sha": "0123456789abcdef0123456789abcdef01234567",
            "workflow": "ci",
            "config_source": "repository",
            "webhook_event_id": null,
            "error_message": null,
            "created_at": "2026-01-02T03:04:05.123456Z",
            "started_at": "2026-01-02T03:04:06Z",
            "finished_at": "2026-01-02T03:05:11Z",
            "duration_ms": 65_000,
        });
        for (k, v) in extra.as_object().unwrap() {
            value[k] = v.clone();
        }
        serde_json::from_value(value).expect("a valid build")
    }

    fn step(index: u32, name: &str, status: &str, extra: serde_json::Value) -> StepDto {
        let mut value = serde_json::json!({
            "index": index,
            "name": name,
            "status": status,
            "ignore_failure": false,
            "exit_code": null,
            "error_message": null,
            "started_at": null,
            "finished_at": null,
            "duration_ms": null,
        });
        for (k, v) in extra.as_object().unwrap() {
            value[k] = v.clone();
        }
        serde_json::from_value(value).expect("a valid step")
    }

    #[test]
    fn durations_are_human() {
        assert_eq!(duration(None), "-");
        assert_eq!(duration(Some(0)), "0s");
        assert_eq!(duration(Some(999)), "<1s");
        assert_eq!(duration(Some(1_000)), "1s");
        assert_eq!(duration(Some(59_999)), "59s");
        assert_eq!(duration(Some(60_000)), "1m 00s");
        assert_eq!(duration(Some(65_000)), "1m 05s");
        assert_eq!(duration(Some(3_599_000)), "59m 59s");
        assert_eq!(duration(Some(3_600_000)), "1h 00m 00s");
        assert_eq!(duration(Some(7_389_000)), "2h 03m 09s");
        assert_eq!(duration(Some(90_000_000)), "25h 00m 00s");
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(size(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn times_drop_the_fraction() {
        assert_eq!(time("2026-01-02T03:04:05.123456Z"), "2026-01-02 03:04:05Z");
        assert_eq!(time("2026-01-02T03:04:05Z"), "2026-01-02 03:04:05Z");
        assert_eq!(
            time("2026-01-02T03:04:05+02:00"),
            "2026-01-02T03:04:05+02:00"
        );
        assert_eq!(time("garbage"), "garbage");
    }

    #[test]
    fn short_forms() {
        assert_eq!(short_id("01JBUILDAAAAAAAAAAAA7K3M9Q"), "AA7K3M9Q");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_commit("0123456789abcdef"), "0123456");
        assert_eq!(short_commit("01"), "01");
    }

    #[test]
    fn list_table() {
        let builds = [
            build(
                12,
                "01JBUILDAAAAAAAAAAAA7K3M9Q",
                "running",
                serde_json::json!({
                    "finished_at": null, "duration_ms": 4_200,
                }),
            ),
            build(
                11,
                "01JBUILDAAAAAAAAAAAAXYZ123",
                "failure",
                serde_json::json!({
                    "branch": "feature/東京", "trigger": "push",
                }),
            ),
            build(
                3,
                "01JBUILDAAAAAAAAAAAA000001",
                "pending",
                serde_json::json!({
                    "branch": null, "tag": "v1.0.0", "commit_sha": null, "started_at": null,
                    "finished_at": null, "duration_ms": null,
                }),
            ),
        ];
        insta::assert_snapshot!(build_table(&builds).render(), @r"
        #    ID        REPO      STATUS   TRIGGER  BRANCH        COMMIT   DURATION  CREATED
        #12  AA7K3M9Q  AAREPO01  running  manual   main          0123456  4s        2026-01-02 03:04:05Z
        #11  AAXYZ123  AAREPO01  failure  push     feature/東京  0123456  1m 05s    2026-01-02 03:04:05Z
        #3   AA000001  AAREPO01  pending  manual   tag v1.0.0    -        -         2026-01-02 03:04:05Z
        ");
    }

    #[test]
    fn show_block_with_steps() {
        let mut b = build(
            3,
            "01JBUILDAAAAAAAAAAAA7K3M9Q",
            "failure",
            serde_json::json!({
                "error_message": "step 1 exited with code 3",
            }),
        );
        b.steps = Some(vec![
            step(
                0,
                "Get packages",
                "success",
                serde_json::json!({"exit_code": 0, "duration_ms": 2_000}),
            ),
            step(
                1,
                "Lint",
                "failure",
                serde_json::json!({
                    "exit_code": 1, "duration_ms": 61_000, "ignore_failure": true,
                    "error_message": "step 1 exited with code 1",
                }),
            ),
            step(
                2,
                "Test",
                "failure",
                serde_json::json!({
                    "exit_code": 3, "duration_ms": 500, "error_message": "step 2 exited with code 3",
                }),
            ),
            step(3, "Build\napk", "skipped", serde_json::json!({})),
        ]);
        insta::assert_snapshot!(details(&b), @r"
        build:          #3
        id:             01JBUILDAAAAAAAAAAAA7K3M9Q
        status:         failure
        repository:     01JREPOAAAAAAAAAAAAAREPO01
        branch:         main
        commit:         0123456789abcdef0123456789abcdef01234567
        trigger:        manual
        workflow:       ci
        config source:  repository
        created:        2026-01-02 03:04:05Z
        started:        2026-01-02 03:04:06Z
        finished:       2026-01-02 03:05:11Z
        duration:       1m 05s
        error:          step 1 exited with code 3

        STEP  NAME          STATUS             EXIT  DURATION  ERROR
        0     Get packages  success            0     2s
        1     Lint          failure (ignored)  1     1m 01s    step 1 exited with code 1
        2     Test          failure            3     <1s       step 2 exited with code 3
        3     Build\napk    skipped            -     -
        ");
    }

    #[test]
    fn show_block_of_a_pull_request() {
        let b = build(
            4,
            "01JBUILDAAAAAAAAAAAA7K3M9Q",
            "running",
            serde_json::json!({
                "trigger": "pull_request", "branch": "feature/x", "base_branch": "main",
                "pull_request": 42,
            }),
        );
        let text = details(&b);
        assert!(
            text.contains("branch:         feature/x\npull request:   42\nbase branch:    main\n"),
            "{text}"
        );
    }

    #[test]
    fn show_block_before_the_start() {
        let b = build(
            1,
            "01JBUILDAAAAAAAAAAAA7K3M9Q",
            "pending",
            serde_json::json!({
                "commit_sha": null, "workflow": null, "config_source": null, "started_at": null,
                "finished_at": null, "duration_ms": null,
            }),
        );
        let text = details(&b);
        assert!(
            text.contains("commit:         - (resolved when the build starts)"),
            "{text}"
        );
        assert!(text.contains("started:        -\n"), "{text}");
        assert!(
            text.ends_with(
                "no steps yet: they are known once the build starts and reads its pipeline\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn artifacts_table() {
        let artifacts: Vec<ArtifactDto> = serde_json::from_value(serde_json::json!([
            {"id": "01JART1", "path": "build/app-release.apk", "size": 48_234_496_u64,
             "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
             "created_at": "2026-01-02T03:04:05Z"},
            {"id": "01JART2", "path": "report.txt", "size": 12,
             "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
             "created_at": "2026-01-02T03:04:05Z"},
        ]))
        .unwrap();
        insta::assert_snapshot!(artifact_table(&artifacts).render(), @r"
        PATH                   SIZE      SHA256
        build/app-release.apk  46.0 MiB  9f86d081884c
        report.txt             12 B      e3b0c44298fc
        ");
    }
}
