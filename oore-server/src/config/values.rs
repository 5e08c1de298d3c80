//! Parsers for single setting values, and the [`Reader`] that applies them while
//! collecting every error. A parser returns `Err(why)` where `why` continues the
//! sentence "NAME='value' ..." and ends with the fix.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use oore_adapters::crypto::EncryptionKey;
use oore_core::domain::secret::SecretString;

use super::vars::lookup;
use super::{Cidr, ConfigError, LogFormat, MIN_ADMIN_TOKEN_LEN, PipelinePrecedence};

pub(super) const MISSING_ENCRYPTION_KEY: &str = "ENCRYPTION_KEY is not set: oored needs a 64-character hex key to encrypt stored secrets. \
     run `sudo oored init` to write /etc/oore/oore.env with a fresh key and admin token, \
     or generate a key with `openssl rand -hex 32` and set ENCRYPTION_KEY in the env file. \
     keep the key safe: secrets stored with it cannot be read with another";

pub(super) const MISSING_ADMIN_TOKEN: &str = "OORE_ADMIN_TOKEN is not set: clients authenticate with it (`Authorization: Bearer ...`). \
     run `sudo oored init` to generate one, or set OORE_ADMIN_TOKEN to a random string of at least 16 characters \
     (for example from `openssl rand -hex 32`)";

/// Reads variables from the map (falling back to the table's default) and collects
/// the errors of every parser.
pub(super) struct Reader<'a> {
    vars: &'a BTreeMap<String, String>,
    errors: Vec<ConfigError>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(vars: &'a BTreeMap<String, String>) -> Self {
        Self {
            vars,
            errors: Vec::new(),
        }
    }

    /// The user's value (empty counts as unset), else the default.
    fn value(&self, name: &'static str) -> Option<(&'a str, bool)> {
        match self
            .vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            Some(v) => Some((v, true)),
            None => lookup(name).and_then(|v| v.default).map(|d| (d, false)),
        }
    }

    /// Parses `name`; `None` if it is unset without default, or invalid (recorded).
    pub(super) fn get<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let (raw, from_user) = self.value(name)?;
        match parse(raw) {
            Ok(v) => Some(v),
            Err(why) => {
                let secret = lookup(name).is_some_and(|v| v.secret);
                let message = match (secret, from_user) {
                    // A parser may return a whole sentence that names the variable.
                    _ if why.starts_with(name) => why,
                    (true, _) => format!("{name} {why}"),
                    (false, true) => format!("{name}='{raw}' {why}"),
                    (false, false) => {
                        format!("{name}: built-in default '{raw}' {why} (this is a bug)")
                    }
                };
                self.errors.push(ConfigError { var: name, message });
                None
            }
        }
    }

    /// Like [`Reader::get`] for a variable without default that must be set.
    pub(super) fn required<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
        missing: &str,
    ) -> Option<T> {
        if self.value(name).is_none() {
            self.error(name, missing.to_owned());
            return None;
        }
        self.get(name, parse)
    }

    pub(super) fn error(&mut self, var: &'static str, message: String) {
        self.errors.push(ConfigError { var, message });
    }

    pub(super) fn finish(self) -> Vec<ConfigError> {
        self.errors
    }
}

pub(super) fn int<T>(v: &str, range: RangeInclusive<T>) -> Result<T, String>
where
    T: FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let (lo, hi) = (*range.start(), *range.end());
    match v.replace('_', "").parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        Ok(_) => Err(format!("is out of range: use a number from {lo} to {hi}")),
        Err(_) => Err(format!(
            "is not a whole number: use a number from {lo} to {hi}"
        )),
    }
}

pub(super) fn secs(v: &str, range: RangeInclusive<u64>) -> Result<Duration, String> {
    int(v, range).map(Duration::from_secs)
}

pub(super) fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("is not a boolean: use true or false".to_owned()),
    }
}

pub(super) fn socket_addr(v: &str) -> Result<SocketAddr, String> {
    v.parse().map_err(|_| {
        "is not an address and port: use IP:PORT, e.g. 0.0.0.0:8080 or 127.0.0.1:8080".to_owned()
    })
}

/// `http(s)://host[:port][/path]`, returned without trailing slash.
pub(super) fn http_url(v: &str) -> Result<String, String> {
    let fix = "use the URL people and forges reach this server at, e.g. https://ci.example.com or http://localhost:8080";
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(|| format!("is not an http(s) URL: {fix}"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty()
        || rest.contains(['?', '#'])
        || v.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "is not a valid base URL (host required; no spaces, query or fragment): {fix}"
        ));
    }
    Ok(v.trim_end_matches('/').to_owned())
}

/// `scheme://host[:port]`: a browser origin, no path.
pub(super) fn origin(v: &str) -> Result<String, String> {
    let url = http_url(v).map_err(|_| {
        "is not a browser origin: use scheme://host[:port], e.g. http://localhost:3000".to_owned()
    })?;
    let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.contains('/') {
        return Err(
            "has a path, but an origin is only scheme://host[:port], e.g. https://ci.example.com"
                .to_owned(),
        );
    }
    Ok(url)
}

pub(super) fn path(v: &str) -> Result<PathBuf, String> {
    if v.contains('\0') {
        return Err("contains a NUL byte: use a plain file-system path".to_owned());
    }
    Ok(PathBuf::from(v))
}

/// A SQLite file path; `sqlite://PATH` and `sqlite:PATH` are accepted too.
pub(super) fn database_path(v: &str) -> Result<PathBuf, String> {
    let p = v
        .strip_prefix("sqlite://")
        .or_else(|| v.strip_prefix("sqlite:"))
        .unwrap_or(v);
    if p.contains("://") {
        return Err("is not a SQLite database path: oored stores its data in SQLite; use a file path such as /var/lib/oore/oore.db".to_owned());
    }
    if p.is_empty() || p.starts_with(":memory:") || p.ends_with('/') {
        return Err(
            "is not a database file: use a file path such as /var/lib/oore/oore.db".to_owned(),
        );
    }
    path(p)
}

pub(super) fn encryption_key(v: &str) -> Result<EncryptionKey, String> {
    // KeyError's message names the variable and the fix already.
    EncryptionKey::from_hex(v).map_err(|e| e.to_string())
}

pub(super) fn admin_token(v: &str) -> Result<SecretString, String> {
    if v.chars().count() < MIN_ADMIN_TOKEN_LEN {
        return Err(format!(
            "is shorter than {MIN_ADMIN_TOKEN_LEN} characters: use a longer random token, e.g. from `openssl rand -hex 32`"
        ));
    }
    if !v.chars().all(|c| c.is_ascii_graphic()) {
        return Err("contains spaces or non-ASCII characters, which HTTP headers cannot carry: use letters, digits and punctuation only".to_owned());
    }
    Ok(SecretString::new(v))
}

pub(super) fn cidr_list(v: &str) -> Result<Vec<Cidr>, String> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.parse::<Cidr>() {
            Ok(c) => out.push(c),
            Err(why) => bad.push(why),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(format!("has invalid ranges: {}", bad.join("; ")))
    }
}

/// Lowercase letters, digits, `-` and `_`.
pub(super) fn slug(v: &str) -> Result<String, String> {
    if v.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        Ok(v.to_owned())
    } else {
        Err(
            "is not a scenario name: use lowercase letters, digits, - and _ (default: default)"
                .to_owned(),
        )
    }
}

pub(super) fn precedence(v: &str) -> Result<PipelinePrecedence, String> {
    v.parse()
        .map_err(|_| "is not a precedence: use database or repository".to_owned())
}

pub(super) fn log_format(v: &str) -> Result<LogFormat, String> {
    match v.to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("is not a log format: use text or json".to_owned()),
    }
}

pub(super) fn log_filter(v: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(v)
        .map(|_| v.to_owned())
        .map_err(|e| format!("is not a log filter ({e}): use a level such as info or debug, or e.g. info,oore_server=debug"))
}
