//! The command line: global flags and the top-level commands. Each command group's own
//! flags live beside its handler in `commands/`.

use argh::FromArgs;

use crate::commands::build::BuildCmd;
use crate::commands::config::ConfigCmd;
use crate::commands::github::GitHubCmd;
use crate::commands::health::HealthCmd;
use crate::commands::pipeline::PipelineCmd;
use crate::commands::repo::RepoCmd;
use crate::commands::setup::SetupCmd;
use crate::commands::version::VersionCmd;
use crate::commands::webhook::WebhookCmd;
use crate::config::{AdminToken, ProfileName, ServerUrl};

/// oore: the command-line client for the Oore CI/CD server
#[derive(FromArgs, Debug)]
#[argh(
    example = "Connect to a server and check it:\n  {command_name} config init --server http://localhost:8080 --token TOKEN\n  {command_name} health\n\nAdd a repository and get its webhook URL:\n  {command_name} repo add --provider github --owner acme --repo app --webhook-secret-stdin\n  {command_name} repo webhook-url ID\n\nUse another profile, or no config file at all:\n  {command_name} --profile staging repo list\n  {command_name} --server http://ci:8080 --admin-token TOKEN repo list --json",
    note = "Profiles live in ~/.oore/config.huml (HUML); set OORE_CONFIG to use another file. Settings are taken from --server/--admin-token first, then the profile named by --profile, then the default profile. --json prints the API's JSON and works before or after the command name.",
    error_code(1, "the server rejected the request, or the command line is wrong"),
    error_code(
        2,
        "config problem: no config file, unknown profile, invalid config, missing token"
    ),
    error_code(3, "the server could not be reached"),
    error_code(4, "the server rejected the admin token (HTTP 401)")
)]
pub(crate) struct Cli {
    /// use this config profile instead of the default one
    #[argh(option, arg_name = "name", from_str_fn(ProfileName::new))]
    pub(crate) profile: Option<ProfileName>,

    /// server URL, e.g. http://localhost:8080; overrides the profile's and works without a
    /// config file
    #[argh(option, arg_name = "url", from_str_fn(ServerUrl::new))]
    pub(crate) server: Option<ServerUrl>,

    /// admin token; overrides the profile's
    #[argh(option, arg_name = "token", from_str_fn(AdminToken::new))]
    pub(crate) admin_token: Option<AdminToken>,

    /// same as --admin-token
    #[argh(option, arg_name = "token", from_str_fn(AdminToken::new))]
    pub(crate) token: Option<AdminToken>,

    /// print results as JSON
    #[argh(switch)]
    pub(crate) json: bool,

    /// print table cells whole instead of cutting long ones to fit the terminal
    #[argh(switch)]
    pub(crate) wide: bool,

    #[argh(subcommand)]
    pub(crate) command: Command,
}

/// The top-level commands.
#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub(crate) enum Command {
    Config(ConfigCmd),
    Health(HealthCmd),
    Version(VersionCmd),
    Setup(SetupCmd),
    Repo(RepoCmd),
    Build(BuildCmd),
    Pipeline(PipelineCmd),
    Webhook(WebhookCmd),
    GitHub(GitHubCmd),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, argh::EarlyExit> {
        Cli::from_args(&["oore"], args)
    }

    #[test]
    fn global_flags_come_before_the_command() {
        let cli = parse(&[
            "--profile",
            "staging",
            "--server",
            "http://h:1/",
            "--json",
            "health",
        ])
        .unwrap();
        assert_eq!(cli.profile.unwrap().as_str(), "staging");
        assert_eq!(cli.server.unwrap().to_string(), "http://h:1");
        assert!(cli.json);
    }

    #[test]
    fn invalid_flag_values_are_usage_errors() {
        let err = parse(&["--server", "localhost:8080", "health"]).unwrap_err();
        assert!(err.status.is_err());
        assert!(
            err.output.contains("must start with http://"),
            "{}",
            err.output
        );
    }

    #[test]
    fn help_documents_the_exit_codes() {
        let help = parse(&["--help"]).unwrap_err();
        assert!(help.status.is_ok());
        for code in ["1 ", "2 ", "3 ", "4 "] {
            assert!(help.output.contains(code), "{}", help.output);
        }
        assert!(help.output.contains("OORE_CONFIG"));
    }
}
