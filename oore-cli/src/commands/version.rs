//! `oore version`: the CLI's version and API version, the server's, and whether they can
//! talk. Without a reachable server it still prints the CLI's version, then fails.

use argh::FromArgs;
use oore_core::api::{API_VERSION, VersionResponse, paths};
use serde::Serialize;

use super::Ctx;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::resolve::Auth;
use crate::table::key_values;

/// show the CLI and server versions and whether their APIs match
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "version")]
pub(crate) struct VersionCmd {
    /// print JSON: {"cli": {...}, "server": {...} or null, "compatible": bool or null}
    #[argh(switch)]
    json: bool,
}

/// What `oore version --json` prints.
#[derive(Debug, Serialize)]
struct VersionReport {
    cli: VersionResponse,
    server: Option<VersionResponse>,
    compatible: Option<bool>,
}

/// Run `oore version`.
pub(crate) fn run(cmd: VersionCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let cli = VersionResponse {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        api_version: API_VERSION,
    };
    let server = ctx
        .target(Auth::Optional)
        .and_then(|target| ApiClient::new(target).get::<VersionResponse>(&paths::version()));
    let server = match server {
        Ok(server) => server,
        Err(error) => {
            let report = VersionReport {
                cli,
                server: None,
                compatible: None,
            };
            print(ctx, &report)?;
            return Err(error);
        }
    };
    let compatible = server.api_version == cli.api_version;
    let report = VersionReport {
        cli,
        server: Some(server),
        compatible: Some(compatible),
    };
    print(ctx, &report)?;
    if !compatible {
        let server = report.server.as_ref().map_or(0, |s| s.api_version);
        ctx.out.warn(&format!(
            "the server speaks API {server} and this oore speaks API {API_VERSION}; commands may fail; install the oore release that matches the server"
        ));
    }
    Ok(())
}

fn print(ctx: &mut Ctx<'_>, report: &VersionReport) -> Result<(), CliError> {
    if ctx.out.is_json() {
        ctx.out.json(report)
    } else {
        ctx.out.text(&render(report))
    }
}

fn render(report: &VersionReport) -> String {
    let cli = &report.cli;
    let mut rows = vec![(
        "CLI version",
        format!("{} (API {})", cli.version, cli.api_version),
    )];
    if let (Some(server), Some(compatible)) = (&report.server, report.compatible) {
        rows.push((
            "Server version",
            format!("{} (API {})", server.version, server.api_version),
        ));
        let verdict = match (compatible, server.version == cli.version) {
            (true, true) => "✓".to_owned(),
            (true, false) => "✓ (different releases, same API)".to_owned(),
            (false, _) => format!(
                "✗ (server speaks API {}, this oore speaks API {})",
                server.api_version, cli.api_version
            ),
        };
        rows.push(("API compatibility", verdict));
    }
    key_values(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(version: &str, api_version: u32) -> VersionResponse {
        VersionResponse {
            version: version.into(),
            api_version,
        }
    }

    #[test]
    fn renders_matching_versions() {
        let report = VersionReport {
            cli: v("0.1.0", 1),
            server: Some(v("0.1.0", 1)),
            compatible: Some(true),
        };
        insta::assert_snapshot!(render(&report), @r"
        CLI version:        0.1.0 (API 1)
        Server version:     0.1.0 (API 1)
        API compatibility:  ✓
        ");
    }

    #[test]
    fn renders_a_mismatch() {
        let report = VersionReport {
            cli: v("0.1.0", 1),
            server: Some(v("0.3.0", 2)),
            compatible: Some(false),
        };
        insta::assert_snapshot!(render(&report), @r"
        CLI version:        0.1.0 (API 1)
        Server version:     0.3.0 (API 2)
        API compatibility:  ✗ (server speaks API 2, this oore speaks API 1)
        ");
    }

    #[test]
    fn renders_the_cli_alone_without_a_server() {
        let report = VersionReport {
            cli: v("0.1.0", 1),
            server: None,
            compatible: None,
        };
        assert_eq!(render(&report), "CLI version:  0.1.0 (API 1)\n");
    }
}
