//! Command handlers, one command group per file, and the context they share: the global
//! flags, the environment read once at start, and the output.

pub(crate) mod build;
pub(crate) mod config;
pub(crate) mod github;
pub(crate) mod health;
pub(crate) mod list_query;
pub(crate) mod pipeline;
pub(crate) mod repo;
pub(crate) mod setup;
pub(crate) mod version;
pub(crate) mod webhook;

use std::ffi::OsString;
use std::io::{BufRead as _, IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command};
use crate::client::ApiClient;
use crate::config::store::{self, Loaded};
use crate::error::CliError;
use crate::output::Output;
use crate::resolve::{self, Auth, Overrides, Target};
use crate::tls::Roots;

/// The environment variables `oore` reads, captured once so handlers stay testable.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    /// `OORE_CONFIG`: the config file's path.
    pub(crate) oore_config: Option<OsString>,
    /// `HOME`.
    pub(crate) home: Option<OsString>,
    /// `OORE_WEBHOOK_SECRET`: the secret for `repo add` when no flag gives one.
    pub(crate) webhook_secret: Option<String>,
    /// `OORE_CA_BUNDLE`: CA certificates to trust for https, over the profile's.
    pub(crate) ca_bundle: Option<OsString>,
}

impl Env {
    /// The process's environment.
    pub(crate) fn from_process() -> Self {
        Self {
            oore_config: std::env::var_os("OORE_CONFIG"),
            home: std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")),
            webhook_secret: std::env::var("OORE_WEBHOOK_SECRET")
                .ok()
                .filter(|s| !s.is_empty()),
            ca_bundle: std::env::var_os("OORE_CA_BUNDLE").filter(|s| !s.is_empty()),
        }
    }
}

/// What every handler gets.
pub(crate) struct Ctx<'a> {
    /// `--profile`, `--server`, `--admin-token`.
    pub(crate) overrides: Overrides,
    /// The global `--json`.
    pub(crate) json: bool,
    /// Environment variables.
    pub(crate) env: Env,
    /// Where output goes.
    pub(crate) out: &'a mut Output,
}

impl Ctx<'_> {
    /// Switch the output to JSON when the global or the command's own `--json` is set.
    pub(crate) fn use_json(&mut self, local: bool) {
        self.out.set_json(self.json || local);
    }

    /// The config file's path.
    pub(crate) fn config_path(&self) -> Result<PathBuf, CliError> {
        store::config_path(self.env.oore_config.clone(), self.env.home.clone())
    }

    /// Read the config file, warning when others can read it.
    pub(crate) fn load_config(&mut self, path: &Path) -> Result<Option<Loaded>, CliError> {
        load_and_warn(path, self.out)
    }

    /// The server and token to use.
    pub(crate) fn target(&mut self, auth: Auth) -> Result<Target, CliError> {
        let path = self.config_path();
        // The path only matters if the file must be read; a missing HOME is reported then.
        let path = match (path, &self.overrides.server) {
            (Ok(path), _) => path,
            (Err(_), Some(_)) if auth == Auth::Optional || self.overrides.admin_token.is_some() => {
                PathBuf::new()
            }
            (Err(e), _) => return Err(e),
        };
        let out = &mut *self.out;
        let mut target = resolve::resolve(&self.overrides, auth, &path, |p| load_and_warn(p, out))?;
        let bundle = self
            .env
            .ca_bundle
            .clone()
            .map(PathBuf::from)
            .or_else(|| target.ca_bundle.clone());
        if let Some(bundle) = bundle {
            target.roots = Roots::from_bundle(&bundle)?;
        }
        if target.token.is_some() && !target.server.is_https() && !target.server.is_loopback() {
            self.out.warn(&format!(
                "the admin token is sent to {} unencrypted (plain http to another machine); use https, e.g. `oore config set --server https://...`",
                target.server
            ));
        }
        Ok(target)
    }

    /// A client for the resolved server, with the admin token.
    pub(crate) fn client(&mut self) -> Result<ApiClient, CliError> {
        Ok(ApiClient::new(self.target(Auth::Required)?))
    }
}

fn load_and_warn(path: &Path, out: &mut Output) -> Result<Option<Loaded>, CliError> {
    let loaded = store::load(path)?;
    if loaded.as_ref().is_some_and(|l| l.readable_by_others) {
        out.warn(&format!(
            "config file {} is readable by other users and holds admin tokens; run `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    Ok(loaded)
}

/// Read a secret from standard input: the first line, without its line ending. On a
/// terminal, say what to type first (the input is not hidden).
pub(crate) fn read_stdin_secret(what: &'static str, out: &mut Output) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        out.raw_stderr(&format!("enter {what} and press Enter: "));
    }
    let mut text = String::new();
    stdin
        .lock()
        .take(64 * 1024)
        .read_line(&mut text)
        .map_err(|source| CliError::Io {
            what: "read standard input",
            source,
        })?;
    first_line(&text).map(str::to_owned).ok_or_else(|| {
        CliError::Usage(format!(
            "standard input is empty; pipe {what} in, e.g. `... < secret.txt`"
        ))
    })
}

/// The first line without its line ending, or `None` when it is empty.
fn first_line(text: &str) -> Option<&str> {
    let line = text.split('\n').next().unwrap_or("");
    let line = line.strip_suffix('\r').unwrap_or(line);
    (!line.is_empty()).then_some(line)
}

/// Run the parsed command line.
pub(crate) fn run(cli: Cli, env: Env, out: &mut Output) -> Result<(), CliError> {
    let admin_token = match (cli.admin_token, cli.token) {
        (Some(a), Some(b)) if a != b => {
            return Err(CliError::Usage(
                "--admin-token and --token disagree; pass only one of them".to_owned(),
            ));
        }
        (a, b) => a.or(b),
    };
    let overrides = Overrides {
        profile: cli.profile,
        server: cli.server,
        admin_token,
    };
    if cli.wide {
        out.set_width(None);
    }
    let mut ctx = Ctx {
        overrides,
        json: cli.json,
        env,
        out,
    };
    match cli.command {
        Command::Config(cmd) => config::run(cmd, &mut ctx),
        Command::Health(cmd) => health::run(cmd, &mut ctx),
        Command::Version(cmd) => version::run(cmd, &mut ctx),
        Command::Setup(cmd) => setup::run(cmd, &mut ctx),
        Command::Repo(cmd) => repo::run(cmd, &mut ctx),
        Command::Build(cmd) => build::run(cmd, &mut ctx),
        Command::Pipeline(cmd) => pipeline::run(cmd, &mut ctx),
        Command::Webhook(cmd) => webhook::run(cmd, &mut ctx),
        Command::GitHub(cmd) => github::run(cmd, &mut ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_secret_is_the_first_line() {
        assert_eq!(first_line("s3cret\n"), Some("s3cret"));
        assert_eq!(first_line("s3cret\r\nmore\n"), Some("s3cret"));
        assert_eq!(first_line("with space "), Some("with space "));
        assert_eq!(first_line("\n"), None);
        assert_eq!(first_line(""), None);
    }
}
