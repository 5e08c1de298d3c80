//! The CLI config: named profiles (server URL and admin token) and which one is the
//! default, stored as HUML, read and written by the same HUML code as pipelines
//! (`oore_core::pipeline::huml`). Values are validated newtypes, so a loaded config is
//! usable as is; [`store`] reads and writes the file.

pub(crate) mod store;

use std::collections::BTreeMap;
use std::fmt;

use oore_core::pipeline::huml;
use oore_core::pipeline::{Map, Value};
use serde::Deserialize;

/// The name of the profile `config init` creates when `--profile` is not given.
pub(crate) const DEFAULT_PROFILE: &str = "default";

/// The lines written above the data. The version directive pins the HUML dialect.
const HEADER: &str = "%HUML v0.2.0\n# oore CLI configuration, written by `oore config`.\n# It holds admin tokens: keep it private (mode 0600).\n";

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// The profile used when `--profile` is not given.
    pub(crate) default_profile: ProfileName,
    /// Profiles by name.
    #[serde(default)]
    pub(crate) profiles: BTreeMap<ProfileName, Profile>,
}

/// One server the CLI can talk to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    /// Base URL of `oored`.
    pub(crate) server: ServerUrl,
    /// The admin token, if stored.
    #[serde(default)]
    pub(crate) admin_token: Option<AdminToken>,
    /// A PEM file of CA certificates to trust for `https://` instead of the system's
    /// (`OORE_CA_BUNDLE` overrides it).
    #[serde(default)]
    pub(crate) ca_bundle: Option<String>,
}

impl Config {
    /// A config with one profile, which is the default.
    pub(crate) fn new(name: ProfileName, profile: Profile) -> Self {
        Self {
            default_profile: name.clone(),
            profiles: BTreeMap::from([(name, profile)]),
        }
    }

    /// Profile names, sorted.
    pub(crate) fn profile_names(&self) -> Vec<String> {
        self.profiles
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect()
    }

    /// The config as HUML text, ending with a newline.
    pub(crate) fn to_huml(&self) -> String {
        let profiles: Map = self
            .profiles
            .iter()
            .map(|(name, profile)| {
                let mut fields = Map::new();
                fields.insert("server", Value::from(profile.server.to_string()));
                if let Some(token) = &profile.admin_token {
                    fields.insert("admin_token", Value::from(token.expose()));
                }
                if let Some(bundle) = &profile.ca_bundle {
                    fields.insert("ca_bundle", Value::from(bundle.as_str()));
                }
                (name.as_str(), Value::Map(fields))
            })
            .collect();
        let mut root = Map::new();
        root.insert(
            "default_profile",
            Value::from(self.default_profile.as_str()),
        );
        root.insert("profiles", Value::Map(profiles));
        format!("{HEADER}{}", huml::to_string(&Value::Map(root)))
    }

    /// Parse HUML text. The error (`line L:C: what`) never quotes the file's values (it
    /// holds tokens).
    pub(crate) fn from_huml(text: &str) -> Result<Self, String> {
        huml::from_str(text).map_err(|e| format!("line {}:{}: {}", e.line, e.column, e.message))
    }
}

/// A profile name: 1 to 64 ASCII letters, digits, `-` or `_`, starting with a letter or
/// digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct ProfileName(String);

impl ProfileName {
    /// Validate a name.
    pub(crate) fn new(name: &str) -> Result<Self, String> {
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let valid_start = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if name.is_empty() || name.len() > 64 || !valid_chars || !valid_start {
            return Err(format!(
                "invalid profile name '{name}': use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit"
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProfileName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::new(&s)
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The base URL of `oored`: `http://` or `https://`, a host, an optional port and path
/// prefix; no credentials, query or fragment; no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct ServerUrl(String);

impl ServerUrl {
    /// Validate and normalise (trailing slashes removed).
    pub(crate) fn new(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let invalid = |why: &str| {
            Err(format!(
                "invalid server URL '{url}': {why}; use e.g. http://localhost:8080"
            ))
        };
        let Some((scheme, rest)) = url.split_once("://") else {
            return invalid("it must start with http:// or https://");
        };
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return invalid("it must start with http:// or https://");
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("it must not contain spaces");
        }
        if rest.contains(['?', '#']) {
            return invalid("it must not have a query or fragment");
        }
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') {
            return invalid("it must not contain credentials; pass the admin token with --token");
        }
        if authority.is_empty() || authority.starts_with(':') {
            return invalid("it has no host");
        }
        let normalised = format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            rest.trim_end_matches('/')
        );
        Ok(Self(normalised))
    }
}

impl ServerUrl {
    /// The host: a name, an IPv4 address, or an IPv6 address without its brackets.
    pub(crate) fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or(self.0.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        if let Some(v6) = authority.strip_prefix('[') {
            return v6.split(']').next().unwrap_or_default();
        }
        authority.split(':').next().unwrap_or_default()
    }

    /// True for `https://`.
    pub(crate) fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// True when the host is this machine: `localhost` (or a name under `.localhost`),
    /// `127.0.0.0/8` or `::1`.
    pub(crate) fn is_loopback(&self) -> bool {
        let host = self.host().trim_end_matches('.').to_ascii_lowercase();
        host == "localhost"
            || host.ends_with(".localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl TryFrom<String> for ServerUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::new(&s)
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The admin bearer token. It has no `Display`; `Debug` and [`AdminToken::masked`] hide it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct AdminToken(String);

impl AdminToken {
    /// Validate: non-empty, printable ASCII without spaces (it goes into an HTTP header).
    pub(crate) fn new(token: &str) -> Result<Self, String> {
        let token = token.trim();
        if token.is_empty() {
            return Err("the admin token is empty; pass the token `oored init` printed".to_owned());
        }
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(
                "the admin token has spaces or characters other than printable ASCII; check that it was copied whole"
                    .to_owned(),
            );
        }
        Ok(Self(token.to_owned()))
    }

    /// The token itself, for the `Authorization` header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The token for display: first and last four characters of a long token, `****` for
    /// a short one, so it can be recognised without being revealed.
    pub(crate) fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(****)")
    }
}

impl TryFrom<String> for AdminToken {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::new(&s)
    }
}

/// Mask a secret for display. Tokens shorter than 16 characters are hidden entirely:
/// showing eight characters of them would reveal too much.
pub(crate) fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 16 {
        return "****".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(server: &str, token: Option<&str>) -> Profile {
        Profile {
            server: ServerUrl::new(server).unwrap(),
            admin_token: token.map(|t| AdminToken::new(t).unwrap()),
            ca_bundle: None,
        }
    }

    fn sample() -> Config {
        let mut config = Config::new(
            ProfileName::new("default").unwrap(),
            profile("http://localhost:8080", Some("tok_0123456789abcdef")),
        );
        config.profiles.insert(
            ProfileName::new("staging").unwrap(),
            profile("https://staging.oore.local/ci/", Some("x\"y\\z")),
        );
        config.profiles.insert(
            ProfileName::new("9-no-token").unwrap(),
            profile("http://10.0.0.1", None),
        );
        config
    }

    #[test]
    fn writes_readable_huml() {
        insta::assert_snapshot!(sample().to_huml(), @r#"
        %HUML v0.2.0
        # oore CLI configuration, written by `oore config`.
        # It holds admin tokens: keep it private (mode 0600).
        default_profile: "default"
        profiles::
          "9-no-token"::
            server: "http://10.0.0.1"
          default::
            server: "http://localhost:8080"
            admin_token: "tok_0123456789abcdef"
          staging::
            server: "https://staging.oore.local/ci"
            admin_token: "x\"y\\z"
        "#);
    }

    #[test]
    fn round_trips_through_huml() {
        let config = sample();
        let text = config.to_huml();
        assert_eq!(Config::from_huml(&text).unwrap(), config);
        // A second HUML parser agrees it is a valid document.
        huml_rs::parse_huml(&text).unwrap();
    }

    #[test]
    fn reads_hand_written_files() {
        let text = "default_profile: \"prod\"\nprofiles::\n  prod::\n    server: \"http://ci:8080/\" # trailing slash is dropped\n    admin_token: \"abc\"\n";
        let config = Config::from_huml(text).unwrap();
        let prod = &config.profiles[&ProfileName::new("prod").unwrap()];
        assert_eq!(prod.server.to_string(), "http://ci:8080");
        assert_eq!(prod.admin_token.as_ref().unwrap().expose(), "abc");

        let empty = Config::from_huml("default_profile: \"a\"\nprofiles:: {}\n").unwrap();
        assert!(empty.profiles.is_empty());
    }

    #[test]
    fn invalid_files_are_rejected_without_echoing_the_content() {
        let err = Config::from_huml("default_profile: \"a\"\nprofiles::\n  a::\n    server: \"ftp://x\"\n    admin_token: \"s3cret\"\n").unwrap_err();
        assert!(err.contains("must start with http://"), "{err}");

        let err = Config::from_huml("default_profile: \"a\"\ncolour: \"red\"\n").unwrap_err();
        assert!(err.contains("colour"), "{err}");

        let err = Config::from_huml("admin_token: s3cret-unquoted\n").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.starts_with("line 1:"), "{err}");
    }

    #[test]
    fn server_urls_are_validated_and_normalised() {
        assert_eq!(
            ServerUrl::new("HTTP://Host:8080//").unwrap().to_string(),
            "http://Host:8080"
        );
        assert_eq!(
            ServerUrl::new(" http://h/prefix/ ").unwrap().to_string(),
            "http://h/prefix"
        );
        for bad in [
            "localhost:8080",
            "ftp://h",
            "http://",
            "http://:80",
            "http://u:p@h",
            "http://h?x=1",
            "http://h x",
        ] {
            assert!(ServerUrl::new(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn hosts_and_loopback_are_recognised() {
        for (url, host, loopback) in [
            ("http://localhost:8080", "localhost", true),
            ("http://127.0.0.1", "127.0.0.1", true),
            ("http://127.1.2.3:9/prefix", "127.1.2.3", true),
            ("https://[::1]:8443", "::1", true),
            ("http://app.localhost", "app.localhost", true),
            ("https://ci.example.com/oore", "ci.example.com", false),
            ("http://10.0.0.1:8080", "10.0.0.1", false),
            ("http://[2001:db8::1]", "2001:db8::1", false),
        ] {
            let url = ServerUrl::new(url).unwrap();
            assert_eq!(url.host(), host, "{url}");
            assert_eq!(url.is_loopback(), loopback, "{url}");
        }
        assert!(ServerUrl::new("HTTPS://h").unwrap().is_https());
    }

    #[test]
    fn profile_names_are_validated() {
        for good in ["default", "staging-2", "prod_eu", "9"] {
            ProfileName::new(good).unwrap();
        }
        for bad in ["", "-x", "has space", "ünï", &"x".repeat(65)] {
            assert!(ProfileName::new(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn tokens_are_masked() {
        assert_eq!(mask("abcdefghijklmnopqrstuvwxyz"), "abcd…wxyz");
        assert_eq!(mask("0123456789abcdef"), "0123…cdef");
        assert_eq!(mask("0123456789abcde"), "****");
        assert_eq!(mask(""), "****");
        let token = AdminToken::new("supersecretvalue-1234").unwrap();
        assert_eq!(token.masked(), "supe…1234");
        assert_eq!(format!("{token:?}"), "AdminToken(****)");
        assert!(AdminToken::new("  ").is_err());
        assert!(AdminToken::new("a b").is_err());
    }
}
