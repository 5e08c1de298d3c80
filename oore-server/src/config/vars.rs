//! The table of every setting `oored` reads, with its default and a one-line help. It
//! is the single source for the defaults (parsed by the same functions as user
//! values), the "did you mean" warning for unknown names, the `oored init` template,
//! and the merge of the env file with the process environment.

use std::collections::BTreeMap;

/// One setting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Var {
    /// Environment variable name.
    pub(crate) name: &'static str,
    /// Default value in the same text form a user would write; `None` when required or
    /// optional without default.
    pub(crate) default: Option<&'static str>,
    /// Holds a secret: its value never appears in a message.
    pub(crate) secret: bool,
    /// Shown in the `oored init` template.
    pub(crate) help: &'static str,
}

const fn var(name: &'static str, default: Option<&'static str>, help: &'static str) -> Var {
    Var {
        name,
        default,
        secret: false,
        help,
    }
}

/// Every setting, in the order of the spec's Environment Variable Reference.
pub(crate) const VARS: &[Var] = &[
    var(
        "OORE_BASE_URL",
        Some("http://localhost:8080"),
        "public URL of this server, used in webhook and callback URLs",
    ),
    var(
        "OORE_BIND_ADDRESS",
        Some("0.0.0.0:8080"),
        "address and port to listen on",
    ),
    var(
        "DATABASE_URL",
        Some("/var/lib/oore/oore.db"),
        "SQLite database file (a path; sqlite://PATH works too)",
    ),
    var(
        "DATABASE_MAX_CONNECTIONS",
        Some("10"),
        "database read connections",
    ),
    Var {
        name: "ENCRYPTION_KEY",
        default: None,
        secret: true,
        help: "64 hex characters; encrypts stored secrets",
    },
    Var {
        name: "OORE_ADMIN_TOKEN",
        default: None,
        secret: true,
        help: "bearer token for the API, the CLI and the web UI",
    },
    var(
        "OORE_DASHBOARD_ORIGIN",
        Some("http://localhost:3000"),
        "browser origin allowed to call the API (CORS)",
    ),
    var(
        "OORE_WORKSPACES_DIR",
        Some("/var/lib/oore/workspaces"),
        "build workspaces",
    ),
    var("OORE_LOGS_DIR", Some("/var/lib/oore/logs"), "build logs"),
    var(
        "OORE_MAX_CONCURRENT_BUILDS",
        Some("2"),
        "builds running at once",
    ),
    var(
        "OORE_MAX_BUILD_DURATION_SECS",
        Some("3600"),
        "a build is stopped after this many seconds",
    ),
    var(
        "OORE_MAX_STEP_DURATION_SECS",
        Some("1800"),
        "a step is stopped after this many seconds",
    ),
    var(
        "OORE_MAX_LOG_SIZE_BYTES",
        Some("52428800"),
        "largest log file per step",
    ),
    var(
        "OORE_MIN_FREE_BYTES",
        Some("268435456"),
        "new builds wait while the data directory's filesystem has less free space (0: no check)",
    ),
    var(
        "OORE_WORKSPACE_RETENTION_HOURS",
        Some("24"),
        "workspaces are deleted this many hours after their build",
    ),
    var(
        "OORE_GITLAB_ALLOWED_CIDRS",
        None,
        "comma-separated IP ranges GitLab webhooks may come from",
    ),
    var(
        "OORE_ALLOW_BROAD_CIDRS",
        Some("false"),
        "allow ranges of /8 (IPv6: /32) or broader above",
    ),
    var(
        "OORE_GITLAB_CA_BUNDLE",
        None,
        "PEM file of extra CA certificates for self-hosted GitLab",
    ),
    var(
        "OORE_GITHUB_URL",
        Some("https://github.com"),
        "GitHub's web address (GitHub Enterprise Server: https://HOST)",
    ),
    var(
        "OORE_GITHUB_API_URL",
        Some("https://api.github.com"),
        "GitHub's REST API (GitHub Enterprise Server: https://HOST/api/v3)",
    ),
    var(
        "OORE_GITHUB_CA_BUNDLE",
        None,
        "PEM file of extra CA certificates for GitHub Enterprise Server",
    ),
    var(
        "OORE_GITHUB_SYNC_INTERVAL_SECS",
        Some("3600"),
        "how often the GitHub App's installations and repositories are synced",
    ),
    var(
        "OORE_DEMO_MODE",
        Some("false"),
        "serve demo data instead of real builds",
    ),
    var(
        "OORE_DEMO_SCENARIO",
        Some("default"),
        "which demo data set to serve",
    ),
    var(
        "OORE_PIPELINE_PRECEDENCE",
        Some("database"),
        "which pipeline wins when both exist: database or repository",
    ),
    var(
        "OORE_CANCEL_GRACE_SECS",
        Some("10"),
        "seconds between TERM and KILL when a build is cancelled",
    ),
    var(
        "OORE_BUILD_USER",
        None,
        "account build steps run as; required when oored runs as root (root itself only if set to root)",
    ),
    var(
        "OORE_STEP_ENV_PASSTHROUGH",
        None,
        "comma-separated variables of oored's environment that steps get too, e.g. ANDROID_HOME,JAVA_HOME",
    ),
    var(
        "OORE_ARTIFACT_ROOTS",
        None,
        "colon-separated directories outside the workspace that absolute artifact patterns may collect from",
    ),
    var(
        "OORE_SHUTDOWN_GRACE_SECS",
        Some("30"),
        "seconds running builds and in-flight requests get to finish on shutdown",
    ),
    var(
        "OORE_LOG_RETENTION_DAYS",
        None,
        "delete build logs older than this many days (unset: keep)",
    ),
    var(
        "OORE_CLEANUP_INTERVAL_SECS",
        Some("300"),
        "how often old workspaces and logs are deleted and stuck builds failed",
    ),
    var(
        "OORE_MAX_WEBHOOK_BYTES",
        Some("10485760"),
        "largest accepted webhook body",
    ),
    var(
        "OORE_WEBHOOK_QUEUE_CAPACITY",
        Some("1000"),
        "webhooks waiting for processing before 503 is returned",
    ),
    var(
        "OORE_WEBHOOK_RATE_LIMIT",
        None,
        "webhook requests per minute from one source address, then 429 (unset or 0: no limit)",
    ),
    var(
        "OORE_WEBHOOK_INFLIGHT_BYTES",
        Some("67108864"),
        "webhook body bytes read at once, then 503 (at least OORE_MAX_WEBHOOK_BYTES)",
    ),
    var(
        "OORE_REJECTED_RETENTION_HOURS",
        Some("168"),
        "rejected webhook attempts are deleted after this many hours",
    ),
    var(
        "OORE_REJECTED_MAX_ROWS",
        Some("10000"),
        "rejected webhook attempts kept at most, oldest deleted first (0: keep none)",
    ),
    var(
        "OORE_LOG_FORMAT",
        Some("text"),
        "server log format: text or json",
    ),
    var(
        "RUST_LOG",
        Some("info"),
        "log filter, e.g. info or oore_server=debug",
    ),
];

/// Names that start with `OORE_` but belong to another program (the CLI), so they are
/// neither read nor warned about.
const OTHER_PROGRAMS: &[&str] = &["OORE_CONFIG"];

/// The table entry for `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static Var> {
    VARS.iter().find(|v| v.name == name)
}

/// Merges the env file's entries with the process environment; the environment wins.
/// From the environment only known names and `OORE_*` names are taken (so `PATH` and
/// friends stay out); every entry of the file is kept, so typos in it are reported.
pub fn merge_sources(
    file: impl IntoIterator<Item = (String, String)>,
    environment: impl IntoIterator<Item = (String, String)>,
) -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = file.into_iter().collect();
    for (name, value) in environment {
        if lookup(&name).is_some()
            || (name.starts_with("OORE_") && !OTHER_PROGRAMS.contains(&name.as_str()))
        {
            vars.insert(name, value);
        }
    }
    vars
}

/// A warning for a name `oored` does not know, naming the closest one it does; `None`
/// for known names and for other programs' names.
pub(crate) fn unknown_var_warning(name: &str) -> Option<String> {
    if lookup(name).is_some() || OTHER_PROGRAMS.contains(&name) {
        return None;
    }
    let closest = VARS
        .iter()
        .min_by_key(|v| (word_distance(name, v.name), edit_distance(name, v.name)))
        .map_or("OORE_BASE_URL", |v| v.name);
    Some(format!(
        "unknown setting {name} is ignored; did you mean {closest}?"
    ))
}

/// Distance between two `_`-separated names, word by word: each word of `typo` costs
/// its edit distance to the nearest word of `known`, and each word `known` has beyond
/// `typo`'s count costs one. Unlike plain edit distance this does not favour short
/// names (`OORE_MAX_BUILDZ` is near `OORE_MAX_CONCURRENT_BUILDS`, not `OORE_BASE_URL`).
fn word_distance(typo: &str, known: &str) -> usize {
    let known_words: Vec<&str> = known.split('_').collect();
    let typo_words: Vec<&str> = typo.split('_').collect();
    let per_word: usize = typo_words
        .iter()
        .map(|t| {
            known_words
                .iter()
                .map(|k| edit_distance(t, k))
                .min()
                .unwrap_or(t.len())
        })
        .sum();
    2 * per_word + known_words.len().saturating_sub(typo_words.len())
}

/// Levenshtein distance over bytes, ignoring ASCII case (names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(!ca.eq_ignore_ascii_case(cb));
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn environment_wins_over_the_file() {
        let merged = merge_sources(
            pairs(&[("OORE_BASE_URL", "http://file")]),
            pairs(&[("OORE_BASE_URL", "http://env")]),
        );
        assert_eq!(merged["OORE_BASE_URL"], "http://env");
    }

    #[test]
    fn only_relevant_environment_variables_are_taken() {
        let merged = merge_sources(
            pairs(&[("TYPO_IN_FILE", "x")]),
            pairs(&[
                ("PATH", "/bin"),
                ("DATABASE_URL", "/db"),
                ("OORE_NEW", "1"),
                ("OORE_CONFIG", "/c"),
            ]),
        );
        let names: Vec<&str> = merged.keys().map(String::as_str).collect();
        assert_eq!(names, ["DATABASE_URL", "OORE_NEW", "TYPO_IN_FILE"]);
    }

    #[test]
    fn unknown_names_get_the_closest_known_one() {
        let cases = [
            ("OORE_MAX_CONCURENT_BUILDS", "OORE_MAX_CONCURRENT_BUILDS"),
            ("OORE_BIND_ADDR", "OORE_BIND_ADDRESS"),
            ("ENCRYPTION_KY", "ENCRYPTION_KEY"),
            ("OORE_ADMIN_TOKN", "OORE_ADMIN_TOKEN"),
            ("DATABASE_URI", "DATABASE_URL"),
            ("OORE_MAX_BUILDZ", "OORE_MAX_CONCURRENT_BUILDS"),
            ("OORE_BUILD_TIMEOUT_SECS", "OORE_MAX_BUILD_DURATION_SECS"),
            ("oore_log_format", "OORE_LOG_FORMAT"),
            ("OORE_GITLAB_CIDRS", "OORE_GITLAB_ALLOWED_CIDRS"),
        ];
        for (typo, expected) in cases {
            let warning = unknown_var_warning(typo).unwrap();
            assert!(
                warning.contains(&format!("did you mean {expected}?")),
                "{typo}: {warning}"
            );
            assert!(
                warning.starts_with(&format!("unknown setting {typo} ")),
                "{warning}"
            );
        }
        assert_eq!(unknown_var_warning("OORE_BASE_URL"), None);
        assert_eq!(unknown_var_warning("OORE_CONFIG"), None);
    }

    #[test]
    fn names_are_unique() {
        for (i, v) in VARS.iter().enumerate() {
            assert!(
                VARS[i + 1..].iter().all(|w| w.name != v.name),
                "{} twice",
                v.name
            );
        }
    }
}
