//! `oore github setup` (spec 2.1): asks the server for a setup page, opens it in a browser
//! where there is one (prints it either way), then polls the setup's status until GitHub
//! sent the browser back and the App is stored, saying what to do at each stage. Ends,
//! exit 0, once the App is created, printing the link that installs it.

use std::time::{Duration, Instant};

use argh::FromArgs;
use oore_core::api::{
    ErrorCode, GitHubSetupRequest, GitHubSetupResponse, GitHubSetupStageDto,
    GitHubSetupStatusResponse, GitHubStatusResponse, paths,
};

use super::super::Ctx;
use super::render;
use crate::error::CliError;

/// How often the setup's status is polled.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How long past the state's 10 minutes the poll goes on (clock differences).
const POLL_LIMIT: Duration = Duration::from_secs(11 * 60);

/// create the GitHub App from a manifest (opens GitHub in a browser)
#[derive(FromArgs, Debug)]
#[argh(
    subcommand,
    name = "setup",
    example = "{command_name}\n  {command_name} --org acme --name \"Acme CI\"\n  {command_name} --no-browser",
    note = "GitHub must reach OORE_BASE_URL for webhooks: a public URL, or a tunnel to this server. On a machine whose browser cannot reach the server, finish with `oore github callback '<URL>'` using the URL GitHub sent the browser to."
)]
pub(crate) struct SetupCmd {
    /// create the App for this organisation instead of your account
    #[argh(option)]
    org: Option<String>,
    /// the App's name (GitHub lets you change it on its page)
    #[argh(option)]
    name: Option<String>,
    /// only print the link; do not open a browser
    #[argh(switch)]
    no_browser: bool,
    /// replace the GitHub App that is configured
    #[argh(switch)]
    force: bool,
}

/// What is printed once the App exists.
pub(super) fn created_text(name: &str, slug: &str, install_url: &str) -> String {
    let app = if name == slug {
        slug.to_owned()
    } else {
        format!("{name} ({slug})")
    };
    format!(
        "GitHub App created successfully: {app}; its credentials are stored encrypted.\n\
         Next, install it on your repositories:\n  {install_url}\n\
         Then run `oore github sync`; `oore github status` shows the installations."
    )
}

/// Opens `url` in the desktop's browser; false where there is none.
fn open_browser(url: &str) -> bool {
    let command = if cfg!(target_os = "macos") {
        "open"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        "xdg-open"
    } else {
        return false;
    };
    std::process::Command::new(command)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Run `oore github setup`.
pub(super) fn run(cmd: SetupCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(false);
    let client = ctx.client()?;
    let request = GitHubSetupRequest {
        org: cmd.org,
        name: cmd.name,
        force: cmd.force,
    };
    let started: GitHubSetupResponse = match client.post(&paths::github_setup(), Some(&request)) {
        Ok(started) => started,
        Err(CliError::Api(api)) if api.envelope.error.code == ErrorCode::Conflict => {
            let status: GitHubStatusResponse = client.get(&paths::github_status())?;
            return ctx.out.text(&format!(
                "{}\na GitHub App is configured already; to replace it, run `oore github setup --force`",
                render::status(&status)
            ));
        }
        Err(e) => return Err(e.with_flags(&[("org", "--org"), ("name", "--name")])),
    };
    if let Some(warning) = &started.warning {
        ctx.out.warn(warning);
    }
    ctx.out.text(&format!(
        "Open this page to create the GitHub App \"{}\" (it works until {}):\n  {}",
        started.app_name, started.expires_at, started.setup_url
    ))?;
    if !cmd.no_browser && open_browser(&started.setup_url) {
        ctx.out.text("opened it in your browser")?;
    }
    ctx.out.text(
        "On GitHub, click \"Create GitHub App\". If the browser then cannot reach this server, copy the URL it shows and run `oore github callback '<URL>'`.\nwaiting for GitHub...",
    )?;
    let deadline = Instant::now() + POLL_LIMIT;
    let mut exchanging_said = false;
    loop {
        let status: GitHubSetupStatusResponse =
            client.get(&paths::github_setup_status(&started.state))?;
        match status.stage {
            GitHubSetupStageDto::Completed => {
                return ctx.out.text(&created_text(
                    status.app_slug.as_deref().unwrap_or_default(),
                    status.app_slug.as_deref().unwrap_or_default(),
                    status.install_url.as_deref().unwrap_or_default(),
                ));
            }
            GitHubSetupStageDto::Failed => {
                return Err(CliError::Usage(format!(
                    "GitHub App setup failed: {}",
                    status.message
                )));
            }
            GitHubSetupStageDto::Expired => {
                return Err(CliError::Usage(format!(
                    "GitHub App setup failed: {}",
                    status.message
                )));
            }
            GitHubSetupStageDto::Exchanging if !exchanging_said => {
                exchanging_said = true;
                ctx.out
                    .text("GitHub sent the browser back; storing the App's credentials...")?;
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(CliError::Usage(
                "gave up waiting for GitHub after 11 minutes; start again with `oore github setup`"
                    .to_owned(),
            ));
        }
        std::thread::sleep(POLL_EVERY);
    }
}
