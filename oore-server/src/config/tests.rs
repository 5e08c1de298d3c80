//! Table-driven tests of [`Config::from_vars`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::*;

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN: &str = "s3cret-admin-token-0123";

fn no_files(_: &Path) -> Result<(), String> {
    Err("does not exist".to_owned())
}

fn any_file(_: &Path) -> Result<(), String> {
    Ok(())
}

fn vars(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::from([
        ("ENCRYPTION_KEY".to_owned(), KEY.to_owned()),
        ("OORE_ADMIN_TOKEN".to_owned(), TOKEN.to_owned()),
    ]);
    for (k, v) in extra {
        m.insert((*k).to_owned(), (*v).to_owned());
    }
    m
}

fn parse(extra: &[(&str, &str)]) -> Result<(Config, Vec<String>), ConfigErrors> {
    Config::from_vars(&vars(extra), &no_files)
}

fn errors(extra: &[(&str, &str)]) -> Vec<ConfigError> {
    match parse(extra) {
        Ok(_) => panic!("expected errors for {extra:?}"),
        Err(e) => e.0,
    }
}

#[test]
fn defaults_match_the_spec() {
    let (c, warnings) = parse(&[]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.base_url, "http://localhost:8080");
    assert_eq!(c.bind_address.to_string(), "0.0.0.0:8080");
    assert_eq!(c.database_path, Path::new("/var/lib/oore/oore.db"));
    assert_eq!(c.data_dir(), Path::new("/var/lib/oore"));
    assert_eq!(c.database_max_connections, 10);
    assert_eq!(c.admin_token.expose(), TOKEN);
    assert_eq!(c.dashboard_origin, "http://localhost:3000");
    assert_eq!(c.workspaces_dir, Path::new("/var/lib/oore/workspaces"));
    assert_eq!(c.logs_dir, Path::new("/var/lib/oore/logs"));
    assert_eq!(c.max_concurrent_builds, 2);
    assert_eq!(c.max_build_duration, Duration::from_secs(3600));
    assert_eq!(c.max_step_duration, Duration::from_secs(1800));
    assert_eq!(c.max_log_size_bytes, 52_428_800);
    assert_eq!(c.min_free_bytes, 256 << 20);
    assert_eq!(c.workspace_retention, Duration::from_secs(24 * 3600));
    assert!(c.gitlab_allowed_cidrs.is_empty());
    assert!(!c.allow_broad_cidrs);
    assert_eq!(c.gitlab_ca_bundle, None);
    assert!(!c.demo_mode);
    assert_eq!(c.demo_scenario, "default");
    assert_eq!(c.pipeline_precedence, PipelinePrecedence::Database);
    assert_eq!(c.cancel_grace, Duration::from_secs(10));
    assert_eq!(c.shutdown_grace, Duration::from_secs(30));
    assert_eq!(c.log_retention, None);
    assert_eq!(c.cleanup_interval, Duration::from_secs(300));
    assert_eq!(c.max_webhook_bytes, 10 * 1024 * 1024);
    assert_eq!(c.webhook_queue_capacity, 1000);
    assert_eq!(c.webhook_rate_limit, None);
    assert_eq!(c.webhook_inflight_bytes, 64 * 1024 * 1024);
    assert_eq!(c.rejected_retention, Duration::from_secs(168 * 3600));
    assert_eq!(c.rejected_max_rows, 10_000);
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.log_filter, "info");
}

#[test]
fn every_variable_is_read() {
    let (c, warnings) = Config::from_vars(
        &vars(&[
            ("OORE_BASE_URL", "https://ci.example.com/"),
            ("OORE_BIND_ADDRESS", "127.0.0.1:9090"),
            ("DATABASE_URL", "sqlite:///srv/oore/data.db"),
            ("DATABASE_MAX_CONNECTIONS", "4"),
            ("OORE_DASHBOARD_ORIGIN", "https://dash.example.com"),
            ("OORE_WORKSPACES_DIR", "/srv/ws"),
            ("OORE_LOGS_DIR", "/srv/logs"),
            ("OORE_MAX_CONCURRENT_BUILDS", "4"),
            ("OORE_MAX_BUILD_DURATION_SECS", "7200"),
            ("OORE_MAX_STEP_DURATION_SECS", "600"),
            ("OORE_MAX_LOG_SIZE_BYTES", "1_048_576"),
            ("OORE_MIN_FREE_BYTES", "0"),
            ("OORE_WORKSPACE_RETENTION_HOURS", "0"),
            ("OORE_GITLAB_ALLOWED_CIDRS", "10.0.0.0/8, 192.168.1.0/24"),
            ("OORE_ALLOW_BROAD_CIDRS", "TRUE"),
            ("OORE_GITLAB_CA_BUNDLE", "/etc/oore/ca.pem"),
            ("OORE_DEMO_MODE", "yes"),
            ("OORE_DEMO_SCENARIO", "busy_team"),
            ("OORE_PIPELINE_PRECEDENCE", "repository"),
            ("OORE_CANCEL_GRACE_SECS", "0"),
            ("OORE_BUILD_USER", "oore-build"),
            ("OORE_STEP_ENV_PASSTHROUGH", "ANDROID_HOME,JAVA_HOME"),
            ("OORE_ARTIFACT_ROOTS", "/tmp/xcodebuild_logs:/srv/reports"),
            ("OORE_SHUTDOWN_GRACE_SECS", "5"),
            ("OORE_LOG_RETENTION_DAYS", "14"),
            ("OORE_CLEANUP_INTERVAL_SECS", "60"),
            ("OORE_MAX_WEBHOOK_BYTES", "2048"),
            ("OORE_WEBHOOK_QUEUE_CAPACITY", "10"),
            ("OORE_WEBHOOK_RATE_LIMIT", "120"),
            ("OORE_WEBHOOK_INFLIGHT_BYTES", "4096"),
            ("OORE_REJECTED_RETENTION_HOURS", "2"),
            ("OORE_REJECTED_MAX_ROWS", "0"),
            ("OORE_LOG_FORMAT", "json"),
            ("RUST_LOG", "warn,oore_server=debug"),
        ]),
        &any_file,
    )
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.base_url, "https://ci.example.com");
    assert_eq!(c.bind_address.to_string(), "127.0.0.1:9090");
    assert_eq!(c.database_path, Path::new("/srv/oore/data.db"));
    assert_eq!(c.database_max_connections, 4);
    assert_eq!(c.dashboard_origin, "https://dash.example.com");
    assert_eq!(
        (c.workspaces_dir.to_str(), c.logs_dir.to_str()),
        (Some("/srv/ws"), Some("/srv/logs"))
    );
    assert_eq!(c.max_concurrent_builds, 4);
    assert_eq!(c.max_build_duration, Duration::from_secs(7200));
    assert_eq!(c.max_step_duration, Duration::from_secs(600));
    assert_eq!(c.max_log_size_bytes, 1_048_576);
    assert_eq!(c.min_free_bytes, 0);
    assert_eq!(c.workspace_retention, Duration::ZERO);
    let cidrs: Vec<String> = c
        .gitlab_allowed_cidrs
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(cidrs, ["10.0.0.0/8", "192.168.1.0/24"]);
    assert!(c.allow_broad_cidrs);
    assert_eq!(
        c.gitlab_ca_bundle.as_deref(),
        Some(Path::new("/etc/oore/ca.pem"))
    );
    assert!(c.demo_mode);
    assert_eq!(c.demo_scenario, "busy_team");
    assert_eq!(c.pipeline_precedence, PipelinePrecedence::Repository);
    assert_eq!(c.cancel_grace, Duration::ZERO);
    assert_eq!(c.build_user.as_deref(), Some("oore-build"));
    assert_eq!(c.step_env_passthrough, ["ANDROID_HOME", "JAVA_HOME"]);
    assert_eq!(
        c.artifact_roots,
        [Path::new("/tmp/xcodebuild_logs"), Path::new("/srv/reports")]
    );
    assert_eq!(c.shutdown_grace, Duration::from_secs(5));
    assert_eq!(c.log_retention, Some(Duration::from_secs(14 * 86_400)));
    assert_eq!(c.cleanup_interval, Duration::from_secs(60));
    assert_eq!(c.max_webhook_bytes, 2048);
    assert_eq!(c.webhook_queue_capacity, 10);
    assert_eq!(c.webhook_rate_limit, Some(120));
    let (unlimited, _) = parse(&[("OORE_WEBHOOK_RATE_LIMIT", "0")]).unwrap();
    assert_eq!(unlimited.webhook_rate_limit, None, "0 means no limit");
    assert_eq!(c.webhook_inflight_bytes, 4096);
    assert_eq!(c.rejected_retention, Duration::from_secs(7200));
    assert_eq!(c.rejected_max_rows, 0);
    let small = errors(&[("OORE_WEBHOOK_INFLIGHT_BYTES", "1048576")]);
    assert_eq!(small.len(), 1, "{small:?}");
    assert_eq!(small[0].var, "OORE_WEBHOOK_INFLIGHT_BYTES");
    assert!(
        small[0]
            .message
            .contains("is smaller than OORE_MAX_WEBHOOK_BYTES (10485760)"),
        "{}",
        small[0].message
    );
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(c.log_filter, "warn,oore_server=debug");
}

#[test]
fn database_url_forms() {
    let cases = [
        ("/var/lib/oore/oore.db", "/var/lib/oore/oore.db"),
        ("sqlite:///var/lib/oore/oore.db", "/var/lib/oore/oore.db"),
        ("sqlite:/tmp/x.db", "/tmp/x.db"),
        ("sqlite://data/oore.db", "data/oore.db"),
        ("oore.db", "oore.db"),
    ];
    for (input, expected) in cases {
        let (c, _) = parse(&[("DATABASE_URL", input)]).unwrap();
        assert_eq!(c.database_path, Path::new(expected), "{input}");
    }
    let (c, _) = parse(&[("DATABASE_URL", "oore.db")]).unwrap();
    assert_eq!(c.data_dir(), Path::new("."));
}

/// One bad value per row: the variable that must be named and words the message must
/// contain.
#[test]
fn each_bad_value_is_reported_with_its_variable_and_fix() {
    let cases: &[(&str, &str, &str)] = &[
        ("OORE_BASE_URL", "ci.example.com", "is not an http(s) URL"),
        ("OORE_BASE_URL", "http://", "host required"),
        (
            "OORE_BASE_URL",
            "http://x/?a=1",
            "no spaces, query or fragment",
        ),
        ("OORE_BIND_ADDRESS", "8080", "use IP:PORT"),
        ("OORE_BIND_ADDRESS", "localhost:8080", "use IP:PORT"),
        (
            "DATABASE_URL",
            "postgres://db/oore",
            "oored stores its data in SQLite",
        ),
        ("DATABASE_URL", "sqlite::memory:", "is not a database file"),
        ("DATABASE_URL", "/var/lib/oore/", "is not a database file"),
        ("DATABASE_MAX_CONNECTIONS", "0", "use a number from 1 to 64"),
        ("DATABASE_MAX_CONNECTIONS", "ten", "is not a whole number"),
        (
            "OORE_DASHBOARD_ORIGIN",
            "localhost:3000",
            "is not a browser origin",
        ),
        ("OORE_DASHBOARD_ORIGIN", "https://x.com/app", "has a path"),
        (
            "OORE_MAX_CONCURRENT_BUILDS",
            "0",
            "is out of range: use a number from 1 to 64",
        ),
        ("OORE_MAX_CONCURRENT_BUILDS", "-1", "is not a whole number"),
        (
            "OORE_MAX_BUILD_DURATION_SECS",
            "1h",
            "is not a whole number",
        ),
        ("OORE_MAX_STEP_DURATION_SECS", "0", "is out of range"),
        ("OORE_MAX_LOG_SIZE_BYTES", "50MB", "is not a whole number"),
        ("OORE_MIN_FREE_BYTES", "256MiB", "is not a whole number"),
        (
            "OORE_WORKSPACE_RETENTION_HOURS",
            "forever",
            "is not a whole number",
        ),
        (
            "OORE_GITLAB_ALLOWED_CIDRS",
            "10.0.0.0/33,nope",
            "use /0 to /32",
        ),
        (
            "OORE_GITLAB_ALLOWED_CIDRS",
            "10.0.0.0/8",
            "OORE_ALLOW_BROAD_CIDRS=true",
        ),
        (
            "OORE_GITLAB_ALLOWED_CIDRS",
            "0.0.0.0/0",
            "very large part of the internet",
        ),
        ("OORE_ALLOW_BROAD_CIDRS", "maybe", "use true or false"),
        (
            "OORE_GITLAB_CA_BUNDLE",
            "/nope/ca.pem",
            "does not exist: point it at a PEM file",
        ),
        ("OORE_DEMO_MODE", "2", "use true or false"),
        ("OORE_DEMO_SCENARIO", "Big Team", "is not a scenario name"),
        (
            "OORE_PIPELINE_PRECEDENCE",
            "default",
            "use database or repository",
        ),
        ("OORE_CANCEL_GRACE_SECS", "3601", "from 0 to 3600"),
        ("OORE_SHUTDOWN_GRACE_SECS", "soon", "is not a whole number"),
        ("OORE_LOG_RETENTION_DAYS", "0", "from 1 to 36500"),
        ("OORE_MAX_WEBHOOK_BYTES", "10", "from 1024 to"),
        ("OORE_WEBHOOK_QUEUE_CAPACITY", "0", "from 1 to 1000000"),
        ("OORE_WEBHOOK_RATE_LIMIT", "lots", "from 0 to 1000000"),
        ("OORE_LOG_FORMAT", "xml", "use text or json"),
        ("RUST_LOG", "oore_server=loud", "is not a log filter"),
    ];
    for (var, value, expected) in cases {
        let errs = errors(&[(var, value)]);
        assert_eq!(errs.len(), 1, "{var}={value}: {errs:?}");
        let e = &errs[0];
        assert_eq!(e.var, *var, "{e}");
        assert!(e.message.starts_with(var), "{e}");
        assert!(
            e.message.contains(&format!("'{value}'")),
            "value not shown: {e}"
        );
        assert!(e.message.contains(expected), "{var}={value}: {e}");
    }
}

#[test]
fn broad_ranges_are_accepted_when_allowed() {
    let (c, _) = parse(&[
        ("OORE_GITLAB_ALLOWED_CIDRS", "10.0.0.0/8"),
        ("OORE_ALLOW_BROAD_CIDRS", "true"),
    ])
    .unwrap();
    assert_eq!(c.gitlab_allowed_cidrs.len(), 1);
    // A narrow range needs no permission.
    parse(&[("OORE_GITLAB_ALLOWED_CIDRS", "10.20.0.0/16")]).unwrap();
}

#[test]
fn empty_values_count_as_unset() {
    let (c, _) = parse(&[
        ("OORE_BIND_ADDRESS", ""),
        ("OORE_GITLAB_CA_BUNDLE", "  "),
        ("OORE_LOG_RETENTION_DAYS", ""),
    ])
    .unwrap();
    assert_eq!(c.bind_address.to_string(), "0.0.0.0:8080");
    assert_eq!(c.gitlab_ca_bundle, None);
    let errs = Config::from_vars(
        &BTreeMap::from([("ENCRYPTION_KEY".to_owned(), String::new())]),
        &no_files,
    )
    .unwrap_err();
    assert!(
        errs.0[0].message.starts_with("ENCRYPTION_KEY is not set"),
        "{errs}"
    );
}

#[test]
fn missing_secrets_explain_the_setup() {
    let errs = Config::from_vars(&BTreeMap::new(), &no_files)
        .unwrap_err()
        .0;
    let vars: Vec<&str> = errs.iter().map(|e| e.var).collect();
    assert_eq!(vars, ["ENCRYPTION_KEY", "OORE_ADMIN_TOKEN"]);
    assert!(errs[0].message.contains("oored init"), "{}", errs[0]);
    assert!(
        errs[0].message.contains("openssl rand -hex 32"),
        "{}",
        errs[0]
    );
    assert!(errs[1].message.contains("oored init"), "{}", errs[1]);
}

#[test]
fn secret_values_never_appear_in_messages() {
    let bad_key = "zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let errs = Config::from_vars(
        &BTreeMap::from([
            ("ENCRYPTION_KEY".to_owned(), bad_key.to_owned()),
            ("OORE_ADMIN_TOKEN".to_owned(), "short-tok".to_owned()),
        ]),
        &no_files,
    )
    .unwrap_err();
    let text = errs.to_string();
    assert!(
        text.contains("ENCRYPTION_KEY must be hexadecimal"),
        "{text}"
    );
    assert!(
        text.contains("OORE_ADMIN_TOKEN is shorter than 16 characters"),
        "{text}"
    );
    assert!(
        !text.contains(bad_key) && !text.contains("short-tok"),
        "{text}"
    );
}

#[test]
fn malformed_keys_are_rejected() {
    for key in [
        "abc",
        &KEY[..63],
        &format!("{KEY}00"),
        &KEY.replace('a', "g"),
    ] {
        let errs = errors(&[("ENCRYPTION_KEY", key)]);
        assert_eq!(errs[0].var, "ENCRYPTION_KEY", "{key}");
    }
}

#[test]
fn admin_tokens_must_be_long_and_header_safe() {
    assert_eq!(
        errors(&[("OORE_ADMIN_TOKEN", "123456789012345")])[0].var,
        "OORE_ADMIN_TOKEN"
    );
    let errs = errors(&[("OORE_ADMIN_TOKEN", "has spaces in the middle")]);
    assert!(
        errs[0].message.contains("HTTP headers cannot carry"),
        "{}",
        errs[0]
    );
    parse(&[("OORE_ADMIN_TOKEN", "1234567890123456")]).unwrap();
}

#[test]
fn all_errors_are_reported_together() {
    let errs = Config::from_vars(
        &BTreeMap::from([
            ("OORE_BIND_ADDRESS".to_owned(), "nope".to_owned()),
            ("OORE_MAX_CONCURRENT_BUILDS".to_owned(), "0".to_owned()),
            ("OORE_LOG_FORMAT".to_owned(), "xml".to_owned()),
        ]),
        &no_files,
    )
    .unwrap_err();
    let vars: Vec<&str> = errs.0.iter().map(|e| e.var).collect();
    assert_eq!(
        vars,
        [
            "OORE_BIND_ADDRESS",
            "ENCRYPTION_KEY",
            "OORE_ADMIN_TOKEN",
            "OORE_MAX_CONCURRENT_BUILDS",
            "OORE_LOG_FORMAT"
        ]
    );
    assert!(
        errs.to_string()
            .starts_with("invalid configuration (5 problems):\n  - OORE_BIND_ADDRESS='nope'"),
        "{errs}"
    );
}

#[test]
fn warnings_for_unknown_names_and_odd_limits() {
    let (_, warnings) = parse(&[
        ("OORE_MAX_BUILDS", "3"),
        ("OORE_MAX_STEP_DURATION_SECS", "7200"),
        ("OORE_MAX_BUILD_DURATION_SECS", "3600"),
    ])
    .unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("unknown setting OORE_MAX_BUILDS is ignored; did you mean")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("build limit applies first")),
        "{warnings:?}"
    );
}

#[test]
fn every_default_parses() {
    // Defaults go through the same parsers as user values; a typo in the table would
    // surface as a "(this is a bug)" error here.
    let (_, warnings) = parse(&[]).unwrap();
    assert!(warnings.is_empty());
    for v in VARS {
        assert!(
            !(v.secret && v.default.is_some()),
            "{} is secret but has a default",
            v.name
        );
    }
}

#[test]
fn isolation_settings_are_checked() {
    let (c, _) = parse(&[]).unwrap();
    assert_eq!(
        (c.build_user, c.step_env_passthrough, c.artifact_roots),
        (None, vec![], vec![])
    );
    let cases = [
        ("OORE_BUILD_USER", "bad name", "is not a user name"),
        (
            "OORE_STEP_ENV_PASSTHROUGH",
            "ANDROID_HOME,ENCRYPTION_KEY",
            "names ENCRYPTION_KEY, a server setting",
        ),
        (
            "OORE_STEP_ENV_PASSTHROUGH",
            "OORE_ADMIN_TOKEN",
            "names OORE_ADMIN_TOKEN, a server setting",
        ),
        ("OORE_ARTIFACT_ROOTS", "tmp/x", "not an absolute directory"),
        (
            "OORE_ARTIFACT_ROOTS",
            "/var/lib",
            "which holds /var/lib/oore",
        ),
    ];
    for (name, value, expected) in cases {
        let errors = errors(&[(name, value)]);
        assert_eq!(errors.len(), 1, "{name}={value}: {errors:?}");
        assert_eq!(errors[0].var, name);
        assert!(
            errors[0].message.contains(expected),
            "{}",
            errors[0].message
        );
    }
}

#[test]
fn debug_hides_secrets() {
    let (c, _) = parse(&[]).unwrap();
    let text = format!("{c:?}");
    assert!(!text.contains(KEY) && !text.contains(TOKEN), "{text}");
}

#[test]
fn github_settings_default_to_github_com_and_are_validated() {
    let (c, _) = parse(&[]).unwrap();
    assert_eq!(c.github_url, "https://github.com");
    assert_eq!(c.github_api_url, "https://api.github.com");
    assert_eq!(c.github_ca_bundle, None);
    assert_eq!(c.github_sync_interval, Duration::from_secs(3600));
    let (c, _) = parse(&[
        ("OORE_GITHUB_URL", "https://ghe.example.com/"),
        ("OORE_GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
        ("OORE_GITHUB_SYNC_INTERVAL_SECS", "600"),
    ])
    .unwrap();
    assert_eq!(c.github_url, "https://ghe.example.com");
    assert_eq!(c.github_api_url, "https://ghe.example.com/api/v3");
    assert_eq!(c.github_sync_interval, Duration::from_secs(600));
    let vars: Vec<&str> = errors(&[
        ("OORE_GITHUB_URL", "github.com"),
        ("OORE_GITHUB_API_URL", "ftp://x"),
        ("OORE_GITHUB_SYNC_INTERVAL_SECS", "5"),
    ])
    .iter()
    .map(|e| e.var)
    .collect();
    assert_eq!(
        vars,
        [
            "OORE_GITHUB_URL",
            "OORE_GITHUB_API_URL",
            "OORE_GITHUB_SYNC_INTERVAL_SECS"
        ]
    );
}
