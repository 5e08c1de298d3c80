//! `oore config ...`: create the config file, add and change profiles, switch the default
//! profile, and show what the CLI would use. Tokens are never printed, only masked.

use argh::FromArgs;
use serde::Serialize;

use super::{Ctx, read_stdin_secret};
use crate::config::store;
use crate::config::{AdminToken, Config, DEFAULT_PROFILE, Profile, ProfileName, ServerUrl};
use crate::error::CliError;
use crate::output::Output;
use crate::resolve::{Auth, Source, Target};
use crate::table::{Table, key_values};
use crate::tls::Roots;

/// manage CLI profiles: which servers to talk to, with which admin tokens
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "config")]
pub(crate) struct ConfigCmd {
    #[argh(subcommand)]
    command: ConfigSub,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum ConfigSub {
    Init(InitCmd),
    Set(SetCmd),
    Show(ShowCmd),
    Profiles(ProfilesCmd),
    Path(PathCmd),
}

/// create the config file with one profile, which becomes the default
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "init",
    example = "{command_name} --server http://localhost:8080 --token TOKEN\n{command_name} --server http://localhost:8080 --token-stdin < token.txt"
)]
struct InitCmd {
    /// server URL, e.g. http://localhost:8080
    #[argh(option, arg_name = "url", from_str_fn(ServerUrl::new))]
    server: ServerUrl,
    /// admin token that `oored init` printed
    #[argh(option, from_str_fn(AdminToken::new))]
    token: Option<AdminToken>,
    /// read the admin token from standard input (keeps it out of shell history)
    #[argh(switch)]
    token_stdin: bool,
    /// profile name (default: "default")
    #[argh(option, arg_name = "name", from_str_fn(ProfileName::new))]
    profile: Option<ProfileName>,
    /// replace an existing config file
    #[argh(switch)]
    force: bool,
    /// print JSON: {"path", "profile", "server", "replaced"}
    #[argh(switch)]
    json: bool,
}

/// create or change a profile, or switch the default profile
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "set",
    example = "{command_name} --profile staging --server https://staging.example --token TOKEN\n{command_name} --token NEW_TOKEN\n{command_name} --ca-bundle /etc/oore/ca.pem\n{command_name} --default staging"
)]
struct SetCmd {
    /// profile to create or change (default: the default profile)
    #[argh(option, arg_name = "name", from_str_fn(ProfileName::new))]
    profile: Option<ProfileName>,
    /// server URL
    #[argh(option, arg_name = "url", from_str_fn(ServerUrl::new))]
    server: Option<ServerUrl>,
    /// admin token
    #[argh(option, from_str_fn(AdminToken::new))]
    token: Option<AdminToken>,
    /// read the admin token from standard input
    #[argh(switch)]
    token_stdin: bool,
    /// make this profile the default
    #[argh(option, arg_name = "name", from_str_fn(ProfileName::new))]
    default: Option<ProfileName>,
    /// trust the CA certificates of this PEM file for https instead of the system's
    #[argh(option, arg_name = "file")]
    ca_bundle: Option<String>,
    /// trust the system's certificates again (forget the profile's CA bundle)
    #[argh(switch)]
    no_ca_bundle: bool,
    /// print JSON: {"path", "profile", "created", "default_profile"}
    #[argh(switch)]
    json: bool,
}

/// show the config file, profile, server and (masked) token a command would use
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "show")]
struct ShowCmd {
    /// print JSON
    #[argh(switch)]
    json: bool,
}

/// list the profiles; the default one is marked with *
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "profiles")]
struct ProfilesCmd {
    /// print JSON
    #[argh(switch)]
    json: bool,
}

/// print the config file's path (OORE_CONFIG, or ~/.oore/config.huml)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "path")]
struct PathCmd {
    /// print JSON: {"path", "exists"}
    #[argh(switch)]
    json: bool,
}

/// Run `oore config ...`.
pub(crate) fn run(cmd: ConfigCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    match cmd.command {
        ConfigSub::Init(cmd) => init(cmd, ctx),
        ConfigSub::Set(cmd) => set(cmd, ctx),
        ConfigSub::Show(cmd) => show(cmd, ctx),
        ConfigSub::Profiles(cmd) => profiles(cmd, ctx),
        ConfigSub::Path(cmd) => path(cmd, ctx),
    }
}

/// `--token` or `--token-stdin`, not both.
fn token_input(
    flag: Option<AdminToken>,
    from_stdin: bool,
    out: &mut Output,
) -> Result<Option<AdminToken>, CliError> {
    match (flag, from_stdin) {
        (Some(_), true) => Err(CliError::Usage(
            "pass either --token or --token-stdin, not both".to_owned(),
        )),
        (Some(token), false) => Ok(Some(token)),
        (None, true) => {
            let text = read_stdin_secret("the admin token", out)?;
            AdminToken::new(&text).map(Some).map_err(CliError::Usage)
        }
        (None, false) => Ok(None),
    }
}

#[derive(Debug, Serialize)]
struct InitReport {
    path: String,
    profile: String,
    server: String,
    replaced: bool,
}

fn init(cmd: InitCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let token = token_input(cmd.token, cmd.token_stdin, ctx.out)?.ok_or_else(|| {
        CliError::Usage(
            "pass the admin token with --token TOKEN or --token-stdin; `oored init` printed it"
                .to_owned(),
        )
    })?;
    let path = ctx.config_path()?;
    let exists = path.symlink_metadata().is_ok();
    if exists && !cmd.force {
        return Err(CliError::ConfigExists { path });
    }
    let name = cmd
        .profile
        .or_else(|| ctx.overrides.profile.clone())
        .unwrap_or_else(default_profile_name);
    let config = Config::new(
        name.clone(),
        Profile {
            server: cmd.server.clone(),
            admin_token: Some(token),
            ca_bundle: None,
        },
    );
    store::save(&path, &config)?;

    if ctx.out.is_json() {
        return ctx.out.json(&InitReport {
            path: path.display().to_string(),
            profile: name.to_string(),
            server: cmd.server.to_string(),
            replaced: exists,
        });
    }
    let verb = if exists { "replaced" } else { "created" };
    ctx.out.text(&format!(
        "{verb} {} with profile '{name}' (server {}), the default\nnext: check the connection with `oore health`",
        path.display(),
        cmd.server
    ))
}

#[derive(Debug, Serialize)]
struct SetReport {
    path: String,
    profile: Option<String>,
    created: bool,
    default_profile: String,
}

fn set(cmd: SetCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let token = token_input(cmd.token, cmd.token_stdin, ctx.out)?;
    let ca_bundle = match (cmd.ca_bundle, cmd.no_ca_bundle) {
        (Some(_), true) => {
            return Err(CliError::Usage(
                "pass either --ca-bundle FILE or --no-ca-bundle, not both".to_owned(),
            ));
        }
        (Some(file), false) => Some(Some(checked_bundle(&file)?)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    if cmd.server.is_none() && token.is_none() && cmd.default.is_none() && ca_bundle.is_none() {
        return Err(CliError::Usage(
            "nothing to change; pass --server, --token, --token-stdin, --ca-bundle, --no-ca-bundle or --default".to_owned(),
        ));
    }
    let path = ctx.config_path()?;
    let mut config = ctx.load_config(&path)?.map(|l| l.config);
    let mut messages = Vec::new();

    let mut touched = None;
    let mut created = false;
    if cmd.server.is_some() || token.is_some() || ca_bundle.is_some() {
        let name = cmd
            .profile
            .or_else(|| ctx.overrides.profile.clone())
            .or_else(|| config.as_ref().map(|c| c.default_profile.clone()))
            .unwrap_or_else(default_profile_name);
        let existing = config.as_mut().and_then(|c| c.profiles.get_mut(&name));
        match (existing, cmd.server) {
            (Some(profile), server) => {
                let mut changed = Vec::new();
                if let Some(server) = server {
                    profile.server = server;
                    changed.push("server");
                }
                if let Some(token) = token {
                    profile.admin_token = Some(token);
                    changed.push("admin token");
                }
                if let Some(bundle) = ca_bundle {
                    profile.ca_bundle = bundle;
                    changed.push("CA bundle");
                }
                messages.push(format!("updated profile '{name}': {}", changed.join(", ")));
            }
            (None, Some(server)) => {
                let profile = Profile {
                    server: server.clone(),
                    admin_token: token,
                    ca_bundle: ca_bundle.flatten(),
                };
                match &mut config {
                    Some(config) => {
                        config.profiles.insert(name.clone(), profile);
                    }
                    None => config = Some(Config::new(name.clone(), profile)),
                }
                created = true;
                messages.push(format!("created profile '{name}' (server {server})"));
            }
            (None, None) => {
                return Err(CliError::ProfileNotFound {
                    name: name.to_string(),
                    path,
                    known: config.map(|c| c.profile_names()).unwrap_or_default(),
                });
            }
        }
        touched = Some(name);
    }

    let Some(mut config) = config else {
        return Err(CliError::NoConfigFile { path });
    };
    if let Some(default) = cmd.default {
        if !config.profiles.contains_key(&default) {
            return Err(CliError::ProfileNotFound {
                name: default.to_string(),
                path,
                known: config.profile_names(),
            });
        }
        messages.push(format!("default profile is now '{default}'"));
        config.default_profile = default;
    }
    store::save(&path, &config)?;

    if ctx.out.is_json() {
        return ctx.out.json(&SetReport {
            path: path.display().to_string(),
            profile: touched.map(|n| n.to_string()),
            created,
            default_profile: config.default_profile.to_string(),
        });
    }
    messages.push(format!("saved {}", path.display()));
    ctx.out.text(&messages.join("\n"))
}

/// `--ca-bundle FILE` as stored: absolute, and checked to hold certificates now rather
/// than at the next command.
fn checked_bundle(file: &str) -> Result<String, CliError> {
    let path = std::path::Path::new(file);
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map_err(|source| CliError::Io {
                what: "read the working directory",
                source,
            })?
            .join(path)
    };
    Roots::from_bundle(&absolute)?;
    absolute.to_str().map(str::to_owned).ok_or_else(|| {
        CliError::Usage(format!(
            "the CA bundle path {} is not valid UTF-8; move the file",
            absolute.display()
        ))
    })
}

#[derive(Debug, Serialize)]
struct ShowReport {
    config_path: String,
    config_exists: bool,
    profile: Option<String>,
    default_profile: Option<String>,
    server: String,
    server_source: String,
    admin_token: Option<String>,
    admin_token_source: Option<String>,
    /// The CA bundle https uses, when not the system's certificates.
    ca_bundle: Option<String>,
}

fn show(cmd: ShowCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let path = ctx.config_path()?;
    let target = ctx.target(Auth::Optional)?;
    let report = show_report(&path, path.exists(), &target);
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    let profile = match (&report.profile, ctx.overrides.profile.is_some()) {
        (Some(name), true) => format!("{name} (from --profile)"),
        (Some(name), false) => format!("{name} (the default profile)"),
        (None, _) => "none (--server and --admin-token given)".to_owned(),
    };
    let file = if report.config_exists {
        report.config_path.clone()
    } else {
        format!("{} (does not exist)", report.config_path)
    };
    let token = match &report.admin_token {
        Some(masked) => format!("{masked} ({})", describe(target.token_source.as_ref())),
        None => "not set".to_owned(),
    };
    ctx.out.text(&key_values([
        ("config file", file),
        ("profile", profile),
        (
            "server",
            format!(
                "{} ({})",
                report.server,
                describe(Some(&target.server_source))
            ),
        ),
        ("admin token", token),
        (
            "https trusts",
            report.ca_bundle.as_ref().map_or_else(
                || "the system's certificates".to_owned(),
                |path| format!("the CA bundle {path}"),
            ),
        ),
    ]))
}

fn show_report(path: &std::path::Path, exists: bool, target: &Target) -> ShowReport {
    ShowReport {
        config_path: path.display().to_string(),
        config_exists: exists,
        profile: target.profile.as_ref().map(ToString::to_string),
        default_profile: target.default_profile.as_ref().map(ToString::to_string),
        server: target.server.to_string(),
        server_source: source_key(&target.server_source),
        admin_token: target.token.as_ref().map(AdminToken::masked),
        admin_token_source: target.token_source.as_ref().map(source_key),
        ca_bundle: target.roots.bundle_path().map(|p| p.display().to_string()),
    }
}

fn source_key(source: &Source) -> String {
    match source {
        Source::Flag => "flag".to_owned(),
        Source::Profile(_) => "profile".to_owned(),
    }
}

fn describe(source: Option<&Source>) -> String {
    match source {
        Some(Source::Flag) => "from the command line".to_owned(),
        Some(Source::Profile(name)) => format!("from profile '{name}'"),
        None => "not set".to_owned(),
    }
}

#[derive(Debug, Serialize)]
struct ProfilesReport {
    config_path: String,
    default_profile: String,
    profiles: Vec<ProfileRow>,
}

#[derive(Debug, Serialize)]
struct ProfileRow {
    name: String,
    server: String,
    admin_token: Option<String>,
    default: bool,
}

fn profiles(cmd: ProfilesCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let path = ctx.config_path()?;
    let Some(loaded) = ctx.load_config(&path)? else {
        return Err(CliError::NoConfigFile { path });
    };
    let report = profiles_report(&path, &loaded.config);
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    ctx.out.table(&profiles_table(&report))?;
    if !report.profiles.iter().any(|p| p.default) {
        ctx.out.warn(&format!(
            "the default profile '{}' does not exist; pick one with `oore config set --default NAME`",
            report.default_profile
        ));
    }
    Ok(())
}

fn profiles_report(path: &std::path::Path, config: &Config) -> ProfilesReport {
    ProfilesReport {
        config_path: path.display().to_string(),
        default_profile: config.default_profile.to_string(),
        profiles: config
            .profiles
            .iter()
            .map(|(name, profile)| ProfileRow {
                name: name.to_string(),
                server: profile.server.to_string(),
                admin_token: profile.admin_token.as_ref().map(AdminToken::masked),
                default: *name == config.default_profile,
            })
            .collect(),
    }
}

fn profiles_table(report: &ProfilesReport) -> Table {
    let mut table = Table::with_header(["DEFAULT", "PROFILE", "SERVER", "ADMIN TOKEN"]);
    for p in &report.profiles {
        table.row([
            if p.default { "*" } else { "" }.to_owned(),
            p.name.clone(),
            p.server.clone(),
            p.admin_token
                .clone()
                .unwrap_or_else(|| "not set".to_owned()),
        ]);
    }
    table
}

#[derive(Debug, Serialize)]
struct PathReport {
    path: String,
    exists: bool,
}

fn path(cmd: PathCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let path = ctx.config_path()?;
    if ctx.out.is_json() {
        ctx.out.json(&PathReport {
            path: path.display().to_string(),
            exists: path.exists(),
        })
    } else {
        ctx.out.text(&path.display().to_string())
    }
}

fn default_profile_name() -> ProfileName {
    ProfileName::new(DEFAULT_PROFILE).expect("the built-in profile name is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_table_marks_the_default_and_masks_tokens() {
        let mut config = Config::new(
            ProfileName::new("default").unwrap(),
            Profile {
                server: ServerUrl::new("http://localhost:8080").unwrap(),
                admin_token: Some(AdminToken::new("oore_adm_0123456789abcdef").unwrap()),
                ca_bundle: None,
            },
        );
        config.profiles.insert(
            ProfileName::new("staging").unwrap(),
            Profile {
                server: ServerUrl::new("https://staging.oore.local").unwrap(),
                admin_token: Some(AdminToken::new("xyz").unwrap()),
                ca_bundle: None,
            },
        );
        config.profiles.insert(
            ProfileName::new("bare").unwrap(),
            Profile {
                server: ServerUrl::new("http://10.0.0.9").unwrap(),
                admin_token: None,
                ca_bundle: None,
            },
        );
        let report = profiles_report(std::path::Path::new("/c.huml"), &config);
        insta::assert_snapshot!(profiles_table(&report).render(), @r"
        DEFAULT  PROFILE  SERVER                      ADMIN TOKEN
                 bare     http://10.0.0.9             not set
        *        default  http://localhost:8080       oore…cdef
                 staging  https://staging.oore.local  ****
        ");
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("0123456789"), "{json}");
    }
}
