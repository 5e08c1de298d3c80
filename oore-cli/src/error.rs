//! Every way `oore` can fail, the message it prints and the exit code it returns. This is
//! the one place that turns the server's error envelope and transport errors into text.

use std::fmt::Write as _;
use std::path::PathBuf;

use oore_core::api::{ErrorCode, ErrorEnvelope};

/// The process exit codes, documented in `oore --help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitCode {
    /// The server rejected the request, the command line is wrong, or anything else.
    Failure = 1,
    /// The config file is missing or invalid, or the profile does not exist.
    Config = 2,
    /// The server could not be reached.
    Unreachable = 3,
    /// The server rejected the admin token.
    Auth = 4,
}

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line is wrong in a way argh cannot check.
    #[error("{0}")]
    Usage(String),

    /// No config file, and the flags do not say where the server is.
    #[error("no config file at {}; run `oore config init --server URL --token TOKEN`", path.display())]
    NoConfigFile { path: PathBuf },

    /// `--profile` (or the default profile) names a profile the file does not have.
    #[error(
        "profile '{name}' not found in {}; known profiles: {}; create it with `oore config set --profile {name} --server URL --token TOKEN`",
        path.display(),
        known_list(known)
    )]
    ProfileNotFound {
        name: String,
        path: PathBuf,
        known: Vec<String>,
    },

    /// `config init` without `--force` over an existing file.
    #[error("config file {} already exists; change it with `oore config set`, or replace it with `oore config init --force ...`", path.display())]
    ConfigExists { path: PathBuf },

    /// The config file could not be read.
    #[error("cannot read config file {}: {source}; check its permissions", path.display())]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The config file could not be written.
    #[error("cannot write config file {}: {source}; check that its directory is writable", path.display())]
    ConfigWrite {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The config file is not valid HUML or not a valid oore config.
    #[error("config file {} is invalid: {reason}; fix it, or recreate it with `oore config init --force --server URL --token TOKEN`", path.display())]
    ConfigInvalid { path: PathBuf, reason: String },

    /// Neither `OORE_CONFIG` nor `HOME` is set.
    #[error(
        "cannot find the home directory to locate the config file; set HOME, or set OORE_CONFIG to the config file's path"
    )]
    NoHome,

    /// The profile has a server but no token, and `--admin-token` was not given.
    #[error(
        "profile '{profile}' has no admin token; set one with `oore config set --profile {profile} --token TOKEN`, or pass --admin-token"
    )]
    MissingToken { profile: String },

    /// Connecting or talking to the server failed below HTTP.
    #[error(
        "cannot connect to {url}: {reason}; is oored running? check the URL with `oore config show`, then retry"
    )]
    Unreachable { url: String, reason: String },

    /// The CA bundle (`OORE_CA_BUNDLE` or the profile's `ca_bundle`) cannot be used.
    #[error(
        "cannot use the CA bundle {}: {reason}; fix OORE_CA_BUNDLE, or the profile's with `oore config set --ca-bundle FILE` (`--no-ca-bundle` to trust the system's certificates)",
        path.display()
    )]
    CaBundle { path: PathBuf, reason: String },

    /// The server answered with something that is not oored's JSON.
    #[error(
        "unexpected response from {url} (HTTP {status}): {reason}; check that the URL points at oored with `oore config show`"
    )]
    BadResponse {
        url: String,
        status: u16,
        reason: String,
        /// The `X-Request-Id` header, when the answer came from oored after all.
        request_id: Option<String>,
    },

    /// `oore health` got an answer, and the server says it is not healthy.
    #[error("{server} is {status}: {detail}; check the oored log")]
    Unhealthy {
        server: String,
        status: String,
        detail: String,
    },

    /// The server answered with an error envelope.
    #[error("{}", .0.headline())]
    Api(Box<ApiError>),

    /// Reading standard input or writing output failed.
    #[error("cannot {what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

/// An error the server reported in its JSON envelope, with what the CLI knows about the
/// request that failed.
#[derive(Debug)]
pub(crate) struct ApiError {
    /// HTTP status.
    pub(crate) status: u16,
    /// The server URL, for messages.
    pub(crate) server: String,
    /// The envelope as the server sent it.
    pub(crate) envelope: ErrorEnvelope,
    /// How to fix a rejected token, e.g. "update it with `oore config set --token TOKEN`".
    pub(crate) token_fix: String,
    /// What to try next, per error code, set by the command that made the request.
    pub(crate) hints: Vec<(ErrorCode, String)>,
    /// The command-line flag for each API field name, so a field error names the flag
    /// the user typed (`name` is `--repo`).
    pub(crate) flags: &'static [(&'static str, &'static str)],
}

impl ApiError {
    /// The first line of the message.
    fn headline(&self) -> String {
        match self.status {
            401 => format!(
                "invalid or expired admin token for {}; {}",
                self.server, self.token_fix
            ),
            403 => format!(
                "the admin token for {} is not allowed to do this ({}); {}",
                self.server, self.envelope.error.message, self.token_fix
            ),
            _ => self.envelope.error.message.clone(),
        }
    }
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Self::NoConfigFile { .. }
            | Self::ProfileNotFound { .. }
            | Self::ConfigExists { .. }
            | Self::ConfigRead { .. }
            | Self::ConfigWrite { .. }
            | Self::ConfigInvalid { .. }
            | Self::NoHome
            | Self::MissingToken { .. }
            | Self::CaBundle { .. } => ExitCode::Config,
            Self::Unreachable { .. } => ExitCode::Unreachable,
            Self::Api(api) if matches!(api.status, 401 | 403) => ExitCode::Auth,
            Self::Usage(_)
            | Self::BadResponse { .. }
            | Self::Unhealthy { .. }
            | Self::Api(_)
            | Self::Io { .. } => ExitCode::Failure,
        }
    }

    /// The full text for standard error: `error: ...`, then per-field errors, a hint and
    /// the request id where there are any. Ends with a newline.
    pub(crate) fn render(&self) -> String {
        let mut out = format!("error: {self}\n");
        if let Self::BadResponse {
            request_id: Some(id),
            ..
        } = self
        {
            let _ = writeln!(out, "request id: {id}");
        }
        if let Self::Api(api) = self {
            let body = &api.envelope.error;
            for field in body.fields.iter().flatten() {
                match api.flags.iter().find(|(name, _)| *name == field.field) {
                    Some((_, flag)) => {
                        let _ = writeln!(out, "  {} ({flag}): {}", field.field, field.message);
                    }
                    None => {
                        let _ = writeln!(out, "  {}: {}", field.field, field.message);
                    }
                }
            }
            for (_, hint) in api.hints.iter().filter(|(code, _)| *code == body.code) {
                // The server's message may already say it (e.g. "run `oore repo list`").
                if !hint_is_redundant(hint, &body.message) {
                    let _ = writeln!(out, "hint: {hint}");
                }
            }
            let request_id = &api.envelope.request_id;
            if api.status >= 500 {
                let _ = writeln!(
                    out,
                    "request id: {request_id} (the oored log has the details under this id)"
                );
            } else {
                let _ = writeln!(out, "request id: {request_id}");
            }
        }
        out
    }

    /// The server's error code, when this is a server error.
    pub(crate) fn api_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api(api) => Some(api.envelope.error.code),
            _ => None,
        }
    }

    /// Name the flag behind each API field in field errors.
    pub(crate) fn with_flags(mut self, flags: &'static [(&'static str, &'static str)]) -> Self {
        if let Self::Api(api) = &mut self {
            api.flags = flags;
        }
        self
    }

    /// Attach what to try next when this is a server error with the given error code
    /// (`NotFound`, `InvalidId`, `Conflict`...).
    pub(crate) fn with_hint(mut self, code: ErrorCode, hint: &str) -> Self {
        if let Self::Api(api) = &mut self {
            api.hints.push((code, hint.to_owned()));
        }
        self
    }
}

/// True when the hint's first backquoted command already appears in `message`.
fn hint_is_redundant(hint: &str, message: &str) -> bool {
    let command = hint.split('`').nth(1).filter(|c| !c.is_empty());
    command.is_some_and(|c| message.contains(c))
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use oore_core::api::{ErrorBody, FieldErrorDto};

    use super::*;

    fn api(
        status: u16,
        code: ErrorCode,
        message: &str,
        fields: Option<Vec<FieldErrorDto>>,
    ) -> CliError {
        CliError::Api(Box::new(ApiError {
            status,
            server: "http://127.0.0.1:8080".into(),
            envelope: ErrorEnvelope {
                error: ErrorBody {
                    code,
                    message: message.into(),
                    fields,
                },
                request_id: "01JREQ".into(),
            },
            token_fix: "update it with `oore config set --token TOKEN`".into(),
            hints: Vec::new(),
            flags: &[],
        }))
    }

    #[test]
    fn config_errors_say_what_to_run() {
        let e = CliError::NoConfigFile {
            path: "/home/a/.oore/config.huml".into(),
        };
        assert_eq!(e.exit_code(), ExitCode::Config);
        insta::assert_snapshot!(e.render(), @"error: no config file at /home/a/.oore/config.huml; run `oore config init --server URL --token TOKEN`");

        let e = CliError::ProfileNotFound {
            name: "x".into(),
            path: "/c.huml".into(),
            known: vec!["a".into(), "b".into()],
        };
        assert_eq!(e.exit_code(), ExitCode::Config);
        insta::assert_snapshot!(e.render(), @"error: profile 'x' not found in /c.huml; known profiles: a, b; create it with `oore config set --profile x --server URL --token TOKEN`");

        let e = CliError::ProfileNotFound {
            name: "x".into(),
            path: "/c.huml".into(),
            known: vec![],
        };
        assert!(e.render().contains("known profiles: none;"));
    }

    #[test]
    fn unauthorized_names_the_server_and_the_fix() {
        let e = api(
            401,
            ErrorCode::Unauthorized,
            "missing or invalid admin token",
            None,
        );
        assert_eq!(e.exit_code(), ExitCode::Auth);
        insta::assert_snapshot!(e.render(), @r"
        error: invalid or expired admin token for http://127.0.0.1:8080; update it with `oore config set --token TOKEN`
        request id: 01JREQ
        ");
    }

    #[test]
    fn validation_errors_list_each_field() {
        let e = api(
            400,
            ErrorCode::ValidationFailed,
            "the request has invalid fields; fix them and retry",
            Some(vec![
                FieldErrorDto {
                    field: "owner".into(),
                    message: "must not be empty".into(),
                },
                FieldErrorDto {
                    field: "provider".into(),
                    message: "must be github, gitlab or git".into(),
                },
            ]),
        );
        assert_eq!(e.exit_code(), ExitCode::Failure);
        let e = e.with_flags(&[("owner", "--owner")]);
        insta::assert_snapshot!(e.render(), @r"
        error: the request has invalid fields; fix them and retry
          owner (--owner): must not be empty
          provider: must be github, gitlab or git
        request id: 01JREQ
        ");
    }

    #[test]
    fn not_found_carries_the_hint() {
        let e = api(404, ErrorCode::NotFound, "repository 01X not found", None)
            .with_hint(
                ErrorCode::NotFound,
                "list repository ids with `oore repo list`",
            )
            .with_hint(ErrorCode::Conflict, "not shown for a 404");
        insta::assert_snapshot!(e.render(), @r"
        error: repository 01X not found
        hint: list repository ids with `oore repo list`
        request id: 01JREQ
        ");
    }

    #[test]
    fn hints_the_server_already_gave_are_not_repeated() {
        let e = api(
            404,
            ErrorCode::NotFound,
            "repository 01X not found; run `oore repo list` to see them",
            None,
        )
        .with_hint(
            ErrorCode::NotFound,
            "list repository ids with `oore repo list`",
        );
        insta::assert_snapshot!(e.render(), @r"
        error: repository 01X not found; run `oore repo list` to see them
        request id: 01JREQ
        ");
    }

    #[test]
    fn server_errors_point_at_the_log() {
        let e = api(
            500,
            ErrorCode::InternalError,
            "internal error; retry, and report it if it persists",
            None,
        );
        assert_eq!(e.exit_code(), ExitCode::Failure);
        insta::assert_snapshot!(e.render(), @r"
        error: internal error; retry, and report it if it persists
        request id: 01JREQ (the oored log has the details under this id)
        ");
    }

    #[test]
    fn unexpected_bodies_keep_the_request_id_when_there_is_one() {
        let e = CliError::BadResponse {
            url: "http://h:1/api/health".into(),
            status: 502,
            reason: "the body is not an oored error (<html>)".into(),
            request_id: Some("01JREQ".into()),
        };
        assert_eq!(e.exit_code(), ExitCode::Failure);
        insta::assert_snapshot!(e.render(), @r"
        error: unexpected response from http://h:1/api/health (HTTP 502): the body is not an oored error (<html>); check that the URL points at oored with `oore config show`
        request id: 01JREQ
        ");
    }

    #[test]
    fn unreachable_suggests_a_retry() {
        let e = CliError::Unreachable {
            url: "http://127.0.0.1:9".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(e.exit_code(), ExitCode::Unreachable);
        insta::assert_snapshot!(e.render(), @"error: cannot connect to http://127.0.0.1:9: connection refused; is oored running? check the URL with `oore config show`, then retry");
    }
}
