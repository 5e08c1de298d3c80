//! `oored`: command-line definition and glue. `init` writes the env file; `run` reads
//! the settings, starts logging, and serves until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use argh::FromArgs;
use oore_server::config::{Config, check_readable_file, merge_sources, read_env_file};
use oore_server::init::{DEFAULT_DATA_DIR, DEFAULT_ENV_FILE, InitOptions};
use oore_server::isolation::{self, StepsRunAs};
use oore_server::{Server, StartupError, bind, init_logging};

/// Oore CI server daemon.
#[derive(FromArgs)]
struct Args {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Init(InitArgs),
    Run(RunArgs),
}

/// Write the env file with a fresh encryption key and admin token.
#[derive(FromArgs)]
#[argh(subcommand, name = "init")]
struct InitArgs {
    /// replace an existing env file (its ENCRYPTION_KEY is lost)
    #[argh(switch)]
    force: bool,
    /// data directory for the database and workspaces (default /var/lib/oore)
    #[argh(option)]
    data_dir: Option<PathBuf>,
    /// build log directory (default <data-dir>/logs)
    #[argh(option)]
    log_dir: Option<PathBuf>,
    /// env file to write (default /etc/oore/oore.env)
    #[argh(option)]
    env_file: Option<PathBuf>,
    /// account build steps run as (default oore-build when run as root; never root or
    /// a person's account)
    #[argh(option)]
    build_user: Option<String>,
}

/// Run the server in the foreground.
#[derive(FromArgs)]
#[argh(subcommand, name = "run")]
struct RunArgs {
    /// env file to read (default /etc/oore/oore.env, if it exists)
    #[argh(option)]
    env_file: Option<PathBuf>,
}

/// Invalid settings (also an unusable `OORE_BUILD_USER`, and an `ENCRYPTION_KEY` that
/// does not match the database).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    match args.command {
        Command::Init(args) => init(args),
        Command::Run(args) => run(args),
    }
}

#[expect(
    clippy::print_stderr,
    reason = "errors before logging exists go to stderr"
)]
fn report(error: &dyn std::fmt::Display) {
    eprintln!("oored: {error}");
}

#[expect(
    clippy::print_stdout,
    reason = "init's result is for the person who ran it"
)]
fn init(args: InitArgs) -> ExitCode {
    let options = InitOptions {
        env_file: args.env_file.unwrap_or_else(|| DEFAULT_ENV_FILE.into()),
        data_dir: args.data_dir.unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
        log_dir: args.log_dir,
        force: args.force,
        build_user: args.build_user,
    };
    match oore_server::init::init(&options) {
        Ok(done) => {
            let env_file = done.env_file.display();
            let verb = if done.replaced { "replaced" } else { "wrote" };
            println!("{verb} {env_file} (mode 0600) with a new encryption key and admin token.");
            println!();
            println!("admin token: {}", done.admin_token);
            println!();
            let mut step = 1;
            println!("next steps:");
            match &done.build_user {
                Some((name, true)) => {
                    println!("build steps will run as {name} (OORE_BUILD_USER), which exists.");
                }
                Some((name, false)) => {
                    println!(
                        "  {step}. create the account build steps run as (OORE_BUILD_USER={name}):"
                    );
                    if cfg!(target_os = "macos") {
                        println!(
                            "       sudo sysadminctl -addUser {name} -home /Users/{name}  (then see docs/macos-checklist.md)"
                        );
                    } else {
                        println!(
                            "       sudo useradd --system --create-home --home-dir /var/lib/{name} --shell /bin/bash {name}"
                        );
                    }
                    step += 1;
                }
                None => {
                    println!(
                        "build steps will run as the user who runs oored and can read this file and the database;"
                    );
                    println!(
                        "run oored as root with OORE_BUILD_USER (see `oored init --help`) to keep them out."
                    );
                }
            }
            println!("  {step}. start the server:     oored run --env-file {env_file}");
            println!(
                "  {}. point the CLI at it:  oore config init --server http://localhost:8080 --token {}",
                step + 1,
                done.admin_token
            );
            println!("  {}. check it:             oore health", step + 2);
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    let required = args.env_file.is_some();
    let env_file = args.env_file.unwrap_or_else(|| DEFAULT_ENV_FILE.into());
    let file = match read_env_file(&env_file, required) {
        Ok(file) => file,
        Err(e) => {
            report(&e);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let file_was_read = file.found;
    // Where ENCRYPTION_KEY came from, for a key that does not match the database: asked
    // now, before the environment is scrubbed (the environment wins over the file).
    let key_origin = if std::env::var_os("ENCRYPTION_KEY").is_some() {
        "it was set as ENCRYPTION_KEY in oored's environment".to_owned()
    } else {
        format!("it was in {}", env_file.display())
    };
    let environment = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let vars = merge_sources(file.entries, environment);
    let (config, warnings) = match Config::from_vars(&vars, &check_readable_file) {
        Ok(parsed) => parsed,
        Err(errors) => {
            report(&errors);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // The settings are read: no step (or anything else) may find them in this process's
    // environment, not even in /proc/<pid>/environ.
    // SAFETY: no thread has been started yet; the runtime is built below.
    let scrubbed = unsafe { isolation::scrub_environment() };
    let euid = oore_adapters::build_user::effective_uid();
    let runs_as = match StepsRunAs::resolve(config.build_user.as_deref(), euid) {
        Ok(runs_as) => runs_as,
        Err(e) => {
            report(&e);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if runs_as.build_user().is_some() {
        // Root with a build user: what oored creates (database, logs) is root's alone.
        oore_adapters::process_env::private_umask();
    }
    if let Err(e) = init_logging(config.log_format, &config.log_filter) {
        report(&e);
        return ExitCode::FAILURE;
    }
    if file_was_read {
        tracing::info!(env_file = %env_file.display(), "settings read");
    } else {
        tracing::info!(env_file = %env_file.display(), "no env file; settings from the environment only");
    }
    for warning in file.warnings.iter().chain(&warnings) {
        tracing::warn!("{warning}");
    }
    if scrubbed > 0 {
        tracing::debug!("{scrubbed} setting(s) removed from oored's own environment");
    }
    if file_was_read {
        match isolation::prepare_env_file(&env_file, &runs_as) {
            Ok(Some(change)) => tracing::info!("{change}"),
            Ok(None) => {}
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<StartupError>() {
            Some(mismatch @ StartupError::KeyMismatch) => {
                tracing::error!("{mismatch} ({key_origin})");
                ExitCode::from(EXIT_CONFIG)
            }
            _ => {
                tracing::error!("{e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Listen for the signals before anything else, so that a SIGTERM during startup is a
    // graceful stop, not the default disposition's kill.
    let shutdown = shutdown_signal();
    let server = Server::open(&config).await?;
    let listener = bind(config.bind_address).await?;
    server.serve(listener, shutdown).await;
    Ok(())
}

/// Registers the SIGTERM and SIGINT handlers now; the returned future completes on the
/// first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        let wait = |stream: std::io::Result<tokio::signal::unix::Signal>, name: &'static str| async move {
            match stream {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(e) => {
                    tracing::warn!("cannot listen for {name} ({e})");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = wait(term, "SIGTERM") => tracing::info!("SIGTERM received: shutting down"),
            () = wait(int, "SIGINT") => tracing::info!("SIGINT received: shutting down"),
        }
    }
}
