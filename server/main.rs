//! `vrrp-sidecar`: runs the configured VRRP instances, or checks a configuration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum, error::ErrorKind};
use tracing::error;

use vrrp_sidecar::config::{Config, ConfigError, LogFormat};
use vrrp_sidecar::daemon::{self, logging};

/// Exit status for a configuration that does not pass its checks: sysexits.h's EX_CONFIG,
/// so a service manager can tell "fix the file" (do not restart) from a failure at run time.
const EXIT_INVALID_CONFIG: u8 = 78;
/// Exit status for a daemon that could not start or failed while running.
const EXIT_FAILED: u8 = 1;

/// A VRRP (RFC 3768 v2, RFC 9568 v3) high-availability daemon.
///
/// Runs every instance of the configuration until SIGTERM or SIGINT. On the first of those
/// a master hands over (priority 0) and removes its addresses before the daemon exits; a
/// second one stops at once. SIGHUP rereads the configuration. Exits 78 (EX_CONFIG) for a
/// configuration with problems, 1 for any other failure.
#[derive(Debug, Parser)]
#[command(name = "vrrp-sidecar", version, about, long_about)]
struct Cli {
    /// The configuration file (.toml, .yaml or .yml).
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    config: Option<PathBuf>,

    /// How log lines are written; overrides the configuration's `global.log_format`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormatArg>,

    /// The gRPC API's Unix socket; overrides the configuration's `api.socket`.
    #[arg(long, value_name = "PATH")]
    api_socket: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Subcommands>,
}

#[derive(Debug, Subcommand)]
enum Subcommands {
    /// Check the configuration and exit: 0 if valid, 78 (EX_CONFIG) with every problem
    /// listed (file:line: field: message) if not.
    Check,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormatArg {
    /// Text lines for a terminal or the journal.
    Human,
    /// One JSON object per line.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(config_path) = cli.config.clone() else {
        Cli::command()
            .error(
                ErrorKind::MissingRequiredArgument,
                "--config FILE is required",
            )
            .exit();
    };
    match cli.command {
        Some(Subcommands::Check) => check(&config_path),
        None => run(cli, config_path),
    }
}

fn check(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            println!(
                "{}: valid, {} instance(s)",
                path.display(),
                config.instances.len()
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            print_problems(&problems);
            ExitCode::from(EXIT_INVALID_CONFIG)
        }
    }
}

fn print_problems(problems: &ConfigError) {
    for problem in problems.problems() {
        eprintln!("{problem}");
    }
}

fn run(cli: Cli, config_path: PathBuf) -> ExitCode {
    let mut config = match Config::load(&config_path) {
        Ok(config) => config,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::from(EXIT_INVALID_CONFIG);
        }
    };
    if let Some(socket) = cli.api_socket {
        config.api.socket = socket;
    }
    let format = match cli.log_format {
        Some(LogFormatArg::Human) => LogFormat::Human,
        Some(LogFormatArg::Json) => LogFormat::Json,
        None => config.global.log_format,
    };
    if let Err(problem) = logging::init(format, config.global.log_level) {
        eprintln!("vrrp-sidecar: {problem}");
        return ExitCode::from(EXIT_FAILED);
    }
    // Two workers: the router keeps running while the VIP worker or a look-up waits on
    // netlink, and the daemon stays small.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("vrrp-sidecar")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(problem) => {
            error!(%problem, "cannot start the async runtime");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(daemon::run(config_path, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            error!(%problem, "vrrp-sidecar failed");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
