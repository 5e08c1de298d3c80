//! `oore health`: is the server up, and is its database connected?

use argh::FromArgs;
use oore_core::api::{HealthResponse, HealthStatusDto, paths};

use super::Ctx;
use crate::client::{ApiClient, Method};
use crate::error::CliError;
use crate::resolve::Auth;
use crate::table::key_values;

/// check the server's health (exits 1 when it is degraded)
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "health")]
pub(crate) struct HealthCmd {
    /// print the API's JSON
    #[argh(switch)]
    json: bool,
}

/// Run `oore health`.
pub(crate) fn run(cmd: HealthCmd, ctx: &mut Ctx<'_>) -> Result<(), CliError> {
    ctx.use_json(cmd.json);
    let target = ctx.target(Auth::Optional)?;
    let server = target.server.to_string();
    let client = ApiClient::new(target);
    let response = client.send(Method::Get, &paths::health(), None)?;
    // A degraded server may answer 503 with the same body; show it rather than fail.
    let health: HealthResponse = if response.status == 503 {
        match serde_json::from_str(&response.body) {
            Ok(health) => health,
            Err(_) => return Err(client.error(response)),
        }
    } else {
        client.decode(response)?
    };

    if ctx.out.is_json() {
        ctx.out.json(&health)?;
    } else {
        ctx.out.text(&render(&server, &health))?;
    }
    if health.status != HealthStatusDto::Healthy {
        return Err(CliError::Unhealthy {
            server,
            status: health.status.to_string(),
            detail: health
                .reason
                .clone()
                .unwrap_or_else(|| format!("database {}", health.database)),
        });
    }
    Ok(())
}

fn render(server: &str, health: &HealthResponse) -> String {
    let mut rows = vec![
        ("server", server.to_owned()),
        ("status", health.status.to_string()),
    ];
    if let Some(reason) = &health.reason {
        rows.push(("reason", reason.clone()));
    }
    rows.extend([
        ("version", health.version.clone()),
        ("uptime", uptime(health.uptime_seconds)),
        ("database", health.database.to_string()),
        (
            "workers",
            format!("{} of {} busy", health.workers.busy, health.workers.max),
        ),
    ]);
    key_values(rows)
}

/// `3d 14h 22m`, `5m 3s`, `42s`.
fn uptime(seconds: u64) -> String {
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds / 3_600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h {minutes}m"),
    }
}

#[cfg(test)]
mod tests {
    use oore_core::api::{DatabaseStatusDto, WorkersDto};

    use super::*;

    #[test]
    fn uptime_is_short_and_readable() {
        assert_eq!(uptime(42), "42s");
        assert_eq!(uptime(303), "5m 3s");
        assert_eq!(uptime(3_600), "1h 0m");
        assert_eq!(uptime(3 * 86_400 + 14 * 3_600 + 22 * 60 + 5), "3d 14h 22m");
    }

    #[test]
    fn renders_a_key_value_block() {
        let health = HealthResponse {
            status: HealthStatusDto::Healthy,
            reason: None,
            version: "0.1.0".into(),
            uptime_seconds: 3 * 86_400 + 14 * 3_600 + 22 * 60,
            database: DatabaseStatusDto::Connected,
            workers: WorkersDto { busy: 1, max: 2 },
        };
        insta::assert_snapshot!(render("http://localhost:8080", &health), @r"
        server:    http://localhost:8080
        status:    healthy
        version:   0.1.0
        uptime:    3d 14h 22m
        database:  connected
        workers:   1 of 2 busy
        ");
    }
}
