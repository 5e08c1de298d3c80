//! Which server and token a command uses. Precedence, highest first: `--server` /
//! `--admin-token` flags; then the profile named by `--profile`; then the config's default
//! profile. The config file itself is `OORE_CONFIG` or `~/.oore/config.huml`, and it is
//! not read at all when the flags already say everything the command needs.

use std::path::{Path, PathBuf};

use crate::config::store::Loaded;
use crate::config::{AdminToken, Config, ProfileName, ServerUrl};
use crate::error::CliError;
use crate::tls::Roots;

/// The global flags that choose the server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    /// `--profile`.
    pub(crate) profile: Option<ProfileName>,
    /// `--server`.
    pub(crate) server: Option<ServerUrl>,
    /// `--admin-token` / `--token`.
    pub(crate) admin_token: Option<AdminToken>,
}

/// Where a setting came from, for `config show` and error hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A command-line flag.
    Flag,
    /// The named profile in the config file.
    Profile(ProfileName),
}

/// The server a command talks to.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Base URL.
    pub(crate) server: ServerUrl,
    /// Where [`Target::server`] came from.
    pub(crate) server_source: Source,
    /// The admin token, when one is known.
    pub(crate) token: Option<AdminToken>,
    /// Where [`Target::token`] came from.
    pub(crate) token_source: Option<Source>,
    /// The profile consulted, if the config file was read.
    pub(crate) profile: Option<ProfileName>,
    /// The config's default profile, if the config file was read.
    pub(crate) default_profile: Option<ProfileName>,
    /// The profile's `ca_bundle`, if it has one.
    pub(crate) ca_bundle: Option<PathBuf>,
    /// The certificates `https://` servers are checked against (set by the caller from
    /// `OORE_CA_BUNDLE` or [`Target::ca_bundle`]).
    pub(crate) roots: Roots,
}

/// Does the command need an admin token (everything but health and version does)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// The request must carry the admin token.
    Required,
    /// Send the token if one is known; it is not required.
    Optional,
}

/// Resolve the target. `load` reads the config file and is only called when the flags
/// leave something open.
pub(crate) fn resolve(
    overrides: &Overrides,
    auth: Auth,
    path: &Path,
    load: impl FnOnce(&Path) -> Result<Option<Loaded>, CliError>,
) -> Result<Target, CliError> {
    if let Some(server) = &overrides.server
        && (overrides.admin_token.is_some() || auth == Auth::Optional)
    {
        return Ok(Target {
            server: server.clone(),
            server_source: Source::Flag,
            token: overrides.admin_token.clone(),
            token_source: overrides.admin_token.as_ref().map(|_| Source::Flag),
            profile: None,
            default_profile: None,
            ca_bundle: None,
            roots: Roots::System,
        });
    }
    let Some(loaded) = load(path)? else {
        return Err(CliError::NoConfigFile {
            path: path.to_owned(),
        });
    };
    from_config(overrides, auth, path, &loaded.config)
}

fn from_config(
    overrides: &Overrides,
    auth: Auth,
    path: &Path,
    config: &Config,
) -> Result<Target, CliError> {
    let name = overrides
        .profile
        .clone()
        .unwrap_or_else(|| config.default_profile.clone());
    let profile = config
        .profiles
        .get(&name)
        .ok_or_else(|| CliError::ProfileNotFound {
            name: name.to_string(),
            path: PathBuf::from(path),
            known: config.profile_names(),
        })?;
    let (server, server_source) = match &overrides.server {
        Some(server) => (server.clone(), Source::Flag),
        None => (profile.server.clone(), Source::Profile(name.clone())),
    };
    let (token, token_source) = match (&overrides.admin_token, &profile.admin_token) {
        (Some(token), _) => (Some(token.clone()), Some(Source::Flag)),
        (None, Some(token)) => (Some(token.clone()), Some(Source::Profile(name.clone()))),
        (None, None) => (None, None),
    };
    if token.is_none() && auth == Auth::Required {
        return Err(CliError::MissingToken {
            profile: name.to_string(),
        });
    }
    Ok(Target {
        server,
        server_source,
        token,
        token_source,
        profile: Some(name),
        default_profile: Some(config.default_profile.clone()),
        ca_bundle: profile.ca_bundle.as_ref().map(PathBuf::from),
        roots: Roots::System,
    })
}

impl Target {
    /// How to replace a rejected token, for the 401 message.
    pub(crate) fn token_fix(&self) -> String {
        match (&self.token_source, &self.default_profile) {
            (Some(Source::Profile(name)), Some(default)) if name != default => {
                format!("update it with `oore config set --profile {name} --token TOKEN`")
            }
            (Some(Source::Profile(_)), _) => {
                "update it with `oore config set --token TOKEN`".to_owned()
            }
            (Some(Source::Flag), _) => "check the value passed with --admin-token".to_owned(),
            (None, _) => {
                "pass one with --admin-token, or store one with `oore config set --token TOKEN`"
                    .to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    fn name(n: &str) -> ProfileName {
        ProfileName::new(n).unwrap()
    }

    fn config() -> Config {
        let mut config = Config::new(
            name("default"),
            Profile {
                server: ServerUrl::new("http://default:1").unwrap(),
                admin_token: Some(AdminToken::new("default-token").unwrap()),
                ca_bundle: None,
            },
        );
        config.profiles.insert(
            name("staging"),
            Profile {
                server: ServerUrl::new("http://staging:2").unwrap(),
                admin_token: Some(AdminToken::new("staging-token").unwrap()),
                ca_bundle: None,
            },
        );
        config.profiles.insert(
            name("tokenless"),
            Profile {
                server: ServerUrl::new("http://tokenless:3").unwrap(),
                admin_token: None,
                ca_bundle: None,
            },
        );
        config
    }

    fn present(path: &Path) -> Result<Option<Loaded>, CliError> {
        assert_eq!(path, Path::new("/cfg.huml"));
        Ok(Some(Loaded {
            config: config(),
            readable_by_others: false,
        }))
    }

    fn absent(_: &Path) -> Result<Option<Loaded>, CliError> {
        Ok(None)
    }

    fn never(_: &Path) -> Result<Option<Loaded>, CliError> {
        panic!("the config file must not be read when the flags say everything")
    }

    fn overrides(profile: Option<&str>, server: Option<&str>, token: Option<&str>) -> Overrides {
        Overrides {
            profile: profile.map(name),
            server: server.map(|s| ServerUrl::new(s).unwrap()),
            admin_token: token.map(|t| AdminToken::new(t).unwrap()),
        }
    }

    fn resolve_with(
        o: Overrides,
        auth: Auth,
        load: fn(&Path) -> Result<Option<Loaded>, CliError>,
    ) -> Result<Target, CliError> {
        resolve(&o, auth, Path::new("/cfg.huml"), load)
    }

    #[test]
    fn default_profile_is_used_without_flags() {
        let t = resolve_with(overrides(None, None, None), Auth::Required, present).unwrap();
        assert_eq!(t.server.to_string(), "http://default:1");
        assert_eq!(t.token.unwrap().expose(), "default-token");
        assert_eq!(t.server_source, Source::Profile(name("default")));
    }

    #[test]
    fn profile_flag_beats_the_default_profile() {
        let t = resolve_with(
            overrides(Some("staging"), None, None),
            Auth::Required,
            present,
        )
        .unwrap();
        assert_eq!(t.server.to_string(), "http://staging:2");
        assert_eq!(t.token.as_ref().unwrap().expose(), "staging-token");
        assert_eq!(
            t.token_fix(),
            "update it with `oore config set --profile staging --token TOKEN`"
        );
    }

    #[test]
    fn flags_beat_the_profile() {
        let t = resolve_with(
            overrides(Some("staging"), Some("http://flag:9"), None),
            Auth::Required,
            present,
        )
        .unwrap();
        assert_eq!(t.server.to_string(), "http://flag:9");
        assert_eq!(t.server_source, Source::Flag);
        assert_eq!(t.token.as_ref().unwrap().expose(), "staging-token");

        let t = resolve_with(
            overrides(None, None, Some("flag-token")),
            Auth::Required,
            present,
        )
        .unwrap();
        assert_eq!(t.server.to_string(), "http://default:1");
        assert_eq!(t.token.as_ref().unwrap().expose(), "flag-token");
        assert_eq!(t.token_source, Some(Source::Flag));
    }

    #[test]
    fn server_and_token_flags_need_no_config_file() {
        let t = resolve_with(
            overrides(None, Some("http://flag:9"), Some("tok")),
            Auth::Required,
            never,
        )
        .unwrap();
        assert_eq!(t.server.to_string(), "http://flag:9");
        let t = resolve_with(
            overrides(None, Some("http://flag:9"), None),
            Auth::Optional,
            never,
        )
        .unwrap();
        assert!(t.token.is_none());
    }

    #[test]
    fn missing_config_file_is_reported_with_its_path() {
        let err = resolve_with(overrides(None, None, None), Auth::Optional, absent).unwrap_err();
        assert!(
            matches!(err, CliError::NoConfigFile { ref path } if path == Path::new("/cfg.huml"))
        );
        // A server flag alone is not enough when a token is required.
        let err = resolve_with(
            overrides(None, Some("http://flag:9"), None),
            Auth::Required,
            absent,
        )
        .unwrap_err();
        assert!(matches!(err, CliError::NoConfigFile { .. }));
    }

    #[test]
    fn unknown_profile_lists_the_known_ones() {
        let err =
            resolve_with(overrides(Some("prod"), None, None), Auth::Required, present).unwrap_err();
        let CliError::ProfileNotFound { name, known, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(name, "prod");
        assert_eq!(known, ["default", "staging", "tokenless"]);
    }

    #[test]
    fn tokenless_profile_needs_a_token_only_for_authenticated_commands() {
        let err = resolve_with(
            overrides(Some("tokenless"), None, None),
            Auth::Required,
            present,
        )
        .unwrap_err();
        assert!(matches!(err, CliError::MissingToken { .. }));
        let t = resolve_with(
            overrides(Some("tokenless"), None, None),
            Auth::Optional,
            present,
        )
        .unwrap();
        assert!(t.token.is_none());
    }
}
