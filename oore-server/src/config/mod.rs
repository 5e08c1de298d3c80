//! `oored run` settings: every variable of the spec's Environment Variable Reference,
//! parsed and validated at startup into one [`Config`].
//!
//! [`Config::from_vars`] is a pure function over a name-to-value map (the env file
//! merged with the process environment by [`merge_sources`]); the only outside fact it
//! needs, whether a configured file is usable, comes through a callback. It reports
//! every problem at once, each naming the variable, the bad value (never for secrets)
//! and the fix.

mod cidr;
mod env_file;
mod isolation;
mod values;
mod vars;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oore_adapters::crypto::EncryptionKey;
use oore_core::domain::secret::SecretString;

pub use cidr::Cidr;
pub use env_file::{EnvFile, EnvFileError, EnvFileLineError, parse_env_file, read_env_file};
pub use vars::merge_sources;

pub(crate) use env_file::quote_value;
pub(crate) use isolation::user_name as check_user_name;
pub(crate) use vars::VARS;

use values::Reader;

/// Shortest accepted `OORE_ADMIN_TOKEN`.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

pub use oore_core::pipeline::PipelinePrecedence;

/// Server log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Every setting of `oored run`, validated.
pub struct Config {
    /// Public URL, without trailing slash (`OORE_BASE_URL`).
    pub base_url: String,
    /// Listen address (`OORE_BIND_ADDRESS`).
    pub bind_address: SocketAddr,
    /// SQLite file (`DATABASE_URL`); its directory is the data directory that is locked.
    pub database_path: PathBuf,
    /// Read connections (`DATABASE_MAX_CONNECTIONS`).
    pub database_max_connections: u32,
    /// Key for secrets at rest (`ENCRYPTION_KEY`).
    pub encryption_key: EncryptionKey,
    /// API bearer token (`OORE_ADMIN_TOKEN`).
    pub admin_token: SecretString,
    /// Browser origin allowed by CORS (`OORE_DASHBOARD_ORIGIN`).
    pub dashboard_origin: String,
    /// `OORE_WORKSPACES_DIR`.
    pub workspaces_dir: PathBuf,
    /// `OORE_LOGS_DIR`.
    pub logs_dir: PathBuf,
    /// `OORE_MAX_CONCURRENT_BUILDS`.
    pub max_concurrent_builds: u32,
    /// `OORE_MAX_BUILD_DURATION_SECS`.
    pub max_build_duration: Duration,
    /// `OORE_MAX_STEP_DURATION_SECS`.
    pub max_step_duration: Duration,
    /// `OORE_MAX_LOG_SIZE_BYTES`.
    pub max_log_size_bytes: u64,
    /// `OORE_MIN_FREE_BYTES`: no build starts while the data directory's filesystem has
    /// less free space; 0 turns the check off.
    pub min_free_bytes: u64,
    /// `OORE_WORKSPACE_RETENTION_HOURS`.
    pub workspace_retention: Duration,
    /// `OORE_GITLAB_ALLOWED_CIDRS`; empty means any source address.
    pub gitlab_allowed_cidrs: Vec<Cidr>,
    /// `OORE_ALLOW_BROAD_CIDRS`.
    pub allow_broad_cidrs: bool,
    /// `OORE_GITLAB_CA_BUNDLE`.
    pub gitlab_ca_bundle: Option<PathBuf>,
    /// `OORE_GITHUB_URL`, without trailing slash.
    pub github_url: String,
    /// `OORE_GITHUB_API_URL`, without trailing slash.
    pub github_api_url: String,
    /// `OORE_GITHUB_CA_BUNDLE`.
    pub github_ca_bundle: Option<PathBuf>,
    /// `OORE_GITHUB_SYNC_INTERVAL_SECS`.
    pub github_sync_interval: Duration,
    /// `OORE_DEMO_MODE`.
    pub demo_mode: bool,
    /// `OORE_DEMO_SCENARIO`.
    pub demo_scenario: String,
    /// `OORE_PIPELINE_PRECEDENCE`.
    pub pipeline_precedence: PipelinePrecedence,
    /// `OORE_CANCEL_GRACE_SECS`.
    pub cancel_grace: Duration,
    /// `OORE_BUILD_USER`: the account build steps run as (checked at startup).
    pub build_user: Option<String>,
    /// `OORE_STEP_ENV_PASSTHROUGH`: variables of `oored`'s environment steps get too.
    pub step_env_passthrough: Vec<String>,
    /// `OORE_ARTIFACT_ROOTS`: where absolute artifact patterns may collect.
    pub artifact_roots: Vec<PathBuf>,
    /// `OORE_SHUTDOWN_GRACE_SECS`.
    pub shutdown_grace: Duration,
    /// `OORE_LOG_RETENTION_DAYS`; `None` keeps build logs.
    pub log_retention: Option<Duration>,
    /// `OORE_CLEANUP_INTERVAL_SECS`: how often the cleanup task runs.
    pub cleanup_interval: Duration,
    /// `OORE_MAX_WEBHOOK_BYTES`.
    pub max_webhook_bytes: u64,
    /// `OORE_WEBHOOK_QUEUE_CAPACITY`.
    pub webhook_queue_capacity: usize,
    /// `OORE_WEBHOOK_RATE_LIMIT`: webhook requests per minute from one source address;
    /// `None` (unset or 0) for no limit.
    pub webhook_rate_limit: Option<u32>,
    /// `OORE_WEBHOOK_INFLIGHT_BYTES`: webhook body bytes read at once, beyond which
    /// receivers answer 503.
    pub webhook_inflight_bytes: u64,
    /// `OORE_REJECTED_RETENTION_HOURS`: how long rejected webhook attempts are kept.
    pub rejected_retention: Duration,
    /// `OORE_REJECTED_MAX_ROWS`: how many rejected webhook attempts are kept at most.
    pub rejected_max_rows: u64,
    /// `OORE_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `RUST_LOG` directives.
    pub log_filter: String,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("bind_address", &self.bind_address)
            .field("database_path", &self.database_path)
            .field("encryption_key", &"***")
            .field("admin_token", &self.admin_token)
            .field("max_concurrent_builds", &self.max_concurrent_builds)
            .finish_non_exhaustive()
    }
}

/// One invalid setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// Names the variable and says what to do; never contains a secret value.
    pub message: String,
}

/// Every invalid setting found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "invalid configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Checks that a configured file exists and can be read; `Err` says why not.
pub fn check_readable_file(path: &Path) -> Result<(), String> {
    match std::fs::File::open(path).and_then(|f| f.metadata()) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err("is not a regular file".to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("does not exist".to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err("cannot be read: permission denied".to_owned())
        }
        Err(e) => Err(format!("cannot be read: {e}")),
    }
}

impl Config {
    /// Parses and validates every setting in `vars`, reporting all problems at once.
    /// `check_file` decides whether a configured file (the CA bundle) is usable; pass
    /// [`check_readable_file`]. On success also returns warnings (unknown names,
    /// suspicious combinations) to log.
    pub fn from_vars(
        vars: &BTreeMap<String, String>,
        check_file: &dyn Fn(&Path) -> Result<(), String>,
    ) -> Result<(Config, Vec<String>), ConfigErrors> {
        let mut r = Reader::new(vars);
        let mut warnings: Vec<String> = vars
            .keys()
            .filter_map(|k| vars::unknown_var_warning(k))
            .collect();

        let base_url = r.get("OORE_BASE_URL", values::http_url);
        let bind_address = r.get("OORE_BIND_ADDRESS", values::socket_addr);
        let database_path = r.get("DATABASE_URL", values::database_path);
        let database_max_connections =
            r.get("DATABASE_MAX_CONNECTIONS", |v| values::int(v, 1..=64));
        let encryption_key = r.required(
            "ENCRYPTION_KEY",
            values::encryption_key,
            values::MISSING_ENCRYPTION_KEY,
        );
        let admin_token = r.required(
            "OORE_ADMIN_TOKEN",
            values::admin_token,
            values::MISSING_ADMIN_TOKEN,
        );
        let dashboard_origin = r.get("OORE_DASHBOARD_ORIGIN", values::origin);
        let workspaces_dir = r.get("OORE_WORKSPACES_DIR", values::path);
        let logs_dir = r.get("OORE_LOGS_DIR", values::path);
        let max_concurrent_builds = r.get("OORE_MAX_CONCURRENT_BUILDS", |v| values::int(v, 1..=64));
        let max_build_duration = r.get("OORE_MAX_BUILD_DURATION_SECS", |v| {
            values::secs(v, 1..=7 * 86_400)
        });
        let max_step_duration = r.get("OORE_MAX_STEP_DURATION_SECS", |v| {
            values::secs(v, 1..=7 * 86_400)
        });
        let max_log_size_bytes = r.get("OORE_MAX_LOG_SIZE_BYTES", |v| {
            values::int(v, 1024..=1 << 40)
        });
        let min_free_bytes = r.get("OORE_MIN_FREE_BYTES", |v| values::int(v, 0..=1 << 50));
        let workspace_retention = r.get("OORE_WORKSPACE_RETENTION_HOURS", |v| {
            values::int(v, 0..=87_600).map(|h| Duration::from_secs(h * 3600))
        });
        let gitlab_allowed_cidrs = r
            .get("OORE_GITLAB_ALLOWED_CIDRS", values::cidr_list)
            .unwrap_or_default();
        let allow_broad_cidrs = r.get("OORE_ALLOW_BROAD_CIDRS", values::boolean);
        let gitlab_ca_bundle = r.get("OORE_GITLAB_CA_BUNDLE", |v| {
            let path = PathBuf::from(v);
            check_file(&path).map(|()| path).map_err(|why| {
                format!("{why}: point it at a PEM file of CA certificates, or unset it")
            })
        });
        let github_url = r.get("OORE_GITHUB_URL", values::http_url);
        let github_api_url = r.get("OORE_GITHUB_API_URL", values::http_url);
        let github_ca_bundle = r.get("OORE_GITHUB_CA_BUNDLE", |v| {
            let path = PathBuf::from(v);
            check_file(&path).map(|()| path).map_err(|why| {
                format!("{why}: point it at a PEM file of CA certificates, or unset it")
            })
        });
        let github_sync_interval = r.get("OORE_GITHUB_SYNC_INTERVAL_SECS", |v| {
            values::secs(v, 60..=7 * 86_400)
        });
        let demo_mode = r.get("OORE_DEMO_MODE", values::boolean);
        let demo_scenario = r.get("OORE_DEMO_SCENARIO", values::slug);
        let pipeline_precedence = r.get("OORE_PIPELINE_PRECEDENCE", values::precedence);
        let cancel_grace = r.get("OORE_CANCEL_GRACE_SECS", |v| values::secs(v, 0..=3600));
        let build_user = r.get("OORE_BUILD_USER", isolation::user_name);
        let step_env_passthrough = r
            .get("OORE_STEP_ENV_PASSTHROUGH", isolation::passthrough)
            .unwrap_or_default();
        let artifact_roots = r
            .get("OORE_ARTIFACT_ROOTS", isolation::artifact_roots)
            .unwrap_or_default();
        let shutdown_grace = r.get("OORE_SHUTDOWN_GRACE_SECS", |v| values::secs(v, 0..=3600));
        let log_retention = r.get("OORE_LOG_RETENTION_DAYS", |v| {
            values::int(v, 1..=36_500).map(|d| Duration::from_secs(d * 86_400))
        });
        let cleanup_interval = r.get("OORE_CLEANUP_INTERVAL_SECS", |v| {
            values::secs(v, 1..=86_400)
        });
        let max_webhook_bytes = r.get("OORE_MAX_WEBHOOK_BYTES", |v| {
            values::int(v, 1024..=100 << 20)
        });
        let webhook_queue_capacity = r.get("OORE_WEBHOOK_QUEUE_CAPACITY", |v| {
            values::int(v, 1..=1_000_000)
        });
        let webhook_rate_limit = r
            .get("OORE_WEBHOOK_RATE_LIMIT", |v| values::int(v, 0..=1_000_000))
            .filter(|n: &u32| *n > 0);
        let webhook_inflight_bytes = r.get("OORE_WEBHOOK_INFLIGHT_BYTES", |v| {
            values::int(v, 1024..=1 << 40)
        });
        let rejected_retention = r.get("OORE_REJECTED_RETENTION_HOURS", |v| {
            values::int(v, 1..=87_600).map(|h: u64| Duration::from_secs(h * 3600))
        });
        let rejected_max_rows = r.get("OORE_REJECTED_MAX_ROWS", |v| {
            values::int(v, 0..=100_000_000)
        });
        let log_format = r.get("OORE_LOG_FORMAT", values::log_format);
        let log_filter = r.get("RUST_LOG", values::log_filter);

        if allow_broad_cidrs == Some(false) {
            for broad in gitlab_allowed_cidrs.iter().filter(|c| c.is_broad()) {
                r.error(
                    "OORE_GITLAB_ALLOWED_CIDRS",
                    format!(
                        "OORE_GITLAB_ALLOWED_CIDRS='{}' contains {broad}, which allows a very large part of the internet: \
                         list narrower ranges, or set OORE_ALLOW_BROAD_CIDRS=true if you mean it",
                        vars.get("OORE_GITLAB_ALLOWED_CIDRS").map_or("", |v| v.trim())
                    ),
                );
            }
        }
        let private_dirs = [
            database_path.as_deref().and_then(Path::parent),
            logs_dir.as_deref(),
        ];
        // One error is enough: the logs directory is usually inside the data directory.
        if let Some((root, private)) = private_dirs
            .into_iter()
            .flatten()
            .find_map(|p| Some((isolation::root_holding(&artifact_roots, p)?, p)))
        {
            r.error(
                "OORE_ARTIFACT_ROOTS",
                format!(
                    "OORE_ARTIFACT_ROOTS lists {}, which holds {}: artifact patterns could collect the database or other builds' logs; list only directories that hold build output",
                    root.display(),
                    private.display()
                ),
            );
        }
        if let (Some(inflight), Some(body)) = (webhook_inflight_bytes, max_webhook_bytes)
            && inflight < body
        {
            r.error(
                "OORE_WEBHOOK_INFLIGHT_BYTES",
                format!(
                    "OORE_WEBHOOK_INFLIGHT_BYTES ({inflight}) is smaller than OORE_MAX_WEBHOOK_BYTES ({body}), so the largest delivery could never be read: \
                     raise OORE_WEBHOOK_INFLIGHT_BYTES to at least {body}, or lower OORE_MAX_WEBHOOK_BYTES"
                ),
            );
        }
        if let (Some(step), Some(build)) = (max_step_duration, max_build_duration)
            && step > build
        {
            warnings.push(format!(
                "OORE_MAX_STEP_DURATION_SECS ({}) is longer than OORE_MAX_BUILD_DURATION_SECS ({}), so the build limit applies first",
                step.as_secs(),
                build.as_secs()
            ));
        }

        let errors = r.finish();
        let config = (|| {
            Some(Config {
                base_url: base_url?,
                bind_address: bind_address?,
                database_path: database_path?,
                database_max_connections: database_max_connections?,
                encryption_key: encryption_key?,
                admin_token: admin_token?,
                dashboard_origin: dashboard_origin?,
                workspaces_dir: workspaces_dir?,
                logs_dir: logs_dir?,
                max_concurrent_builds: max_concurrent_builds?,
                max_build_duration: max_build_duration?,
                max_step_duration: max_step_duration?,
                max_log_size_bytes: max_log_size_bytes?,
                min_free_bytes: min_free_bytes?,
                workspace_retention: workspace_retention?,
                gitlab_allowed_cidrs,
                allow_broad_cidrs: allow_broad_cidrs?,
                gitlab_ca_bundle,
                github_url: github_url?,
                github_api_url: github_api_url?,
                github_ca_bundle,
                github_sync_interval: github_sync_interval?,
                demo_mode: demo_mode?,
                demo_scenario: demo_scenario?,
                pipeline_precedence: pipeline_precedence?,
                cancel_grace: cancel_grace?,
                build_user,
                step_env_passthrough,
                artifact_roots,
                shutdown_grace: shutdown_grace?,
                log_retention,
                cleanup_interval: cleanup_interval?,
                max_webhook_bytes: max_webhook_bytes?,
                webhook_queue_capacity: webhook_queue_capacity?,
                webhook_rate_limit,
                webhook_inflight_bytes: webhook_inflight_bytes?,
                rejected_retention: rejected_retention?,
                rejected_max_rows: rejected_max_rows?,
                log_format: log_format?,
                log_filter: log_filter?,
            })
        })();
        match config {
            Some(config) if errors.is_empty() => Ok((config, warnings)),
            _ => Err(ConfigErrors(errors)),
        }
    }

    /// The data directory: the database file's directory, which holds the lock.
    pub fn data_dir(&self) -> &Path {
        self.database_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}

#[cfg(test)]
mod tests;
