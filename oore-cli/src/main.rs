//! `oore`: parse the command line, run the command, print the result or the error, exit
//! with the error's code. See the README (below) for the commands.
#![doc = include_str!("../README.md")]

mod cli;
mod client;
mod commands;
mod config;
mod error;
mod output;
mod resolve;
mod table;
mod tls;

use std::process::ExitCode;

use argh::FromArgs as _;

use crate::cli::Cli;
use crate::commands::Env;
use crate::error::CliError;
use crate::output::Output;

fn main() -> ExitCode {
    let mut out = Output::stdio();
    let cli = match parse_args(&mut out) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match commands::run(cli, Env::from_process(), &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            // The reader went away (`oore repo list | head -1`); nothing more to say.
            ExitCode::SUCCESS
        }
        Err(error) => {
            out.error(&error);
            ExitCode::from(error.exit_code() as u8)
        }
    }
}

/// Parse `std::env::args`; on `--help` or a usage error, print argh's text and return the
/// exit code.
fn parse_args(out: &mut Output) -> Result<Cli, ExitCode> {
    let mut args = Vec::new();
    for arg in std::env::args_os() {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(arg) => {
                out.error(&CliError::Usage(format!(
                    "argument {} is not valid UTF-8",
                    arg.to_string_lossy()
                )));
                return Err(ExitCode::from(error::ExitCode::Failure as u8));
            }
        }
    }
    let command = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("oore")
        .to_owned();
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    match Cli::from_args(&[&command], &rest) {
        Ok(cli) => Ok(cli),
        Err(early) => match early.status {
            Ok(()) => {
                let _ = out.text(&early.output);
                Err(ExitCode::SUCCESS)
            }
            Err(()) => {
                out.raw_stderr(&format!("{}\n", early.output.trim_end()));
                Err(ExitCode::from(error::ExitCode::Failure as u8))
            }
        },
    }
}
