//! `vrrp-sidecar`: runs the configured VRRP instances, checks a configuration, converts a
//! keepalived.conf to the native format, or shows a failover in a throwaway lab (`demo`).

mod demo;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum, error::ErrorKind};
use tracing::{error, info, warn};

use vrrp_sidecar::config::{
    ConfigError, ConfigSource, Diagnostic, KeepalivedOptions, LogFormat, load_keepalived_conf_with,
    to_native_toml,
};
use vrrp_sidecar::daemon;
use vrrp_sidecar::host::logging;
use vrrp_sidecar::host::privileges;
use vrrp_sidecar::telemetry::Telemetry;

/// Exit status for a configuration that does not pass its checks: sysexits.h's EX_CONFIG,
/// so a service manager can tell "fix the file" (do not restart) from a failure at run time.
const EXIT_INVALID_CONFIG: u8 = 78;
/// Exit status for a daemon that could not start or failed while running.
const EXIT_FAILED: u8 = 1;
/// Exit status when the daemon lacks the privileges it needs: sysexits.h's EX_NOPERM.
const EXIT_NEEDS_PRIVILEGES: u8 = 77;

/// A VRRP (RFC 3768 v2, RFC 9568 v3) high-availability daemon.
///
/// Runs every instance of the configuration until SIGTERM or SIGINT. On the first of those
/// a master hands over (priority 0) and removes its addresses before the daemon exits; a
/// second one stops at once. SIGHUP rereads the configuration. Exits 78 (EX_CONFIG) for a
/// configuration with problems, 1 for any other failure.
///
/// `--keepalived-conf FILE` runs from a keepalived.conf instead: what it sets that this
/// daemon leaves out is logged as a warning with its file and line, and what could not be
/// left out without changing behaviour is an error.
///
/// Started by systemd with Type=notify (deploy/systemd/vrrp-sidecar.service), it reports
/// readiness once its API serves, each reload and its stop, and pings the watchdog when the
/// unit sets WatchdogSec.
#[derive(Debug, Parser)]
#[command(name = "vrrp-sidecar", version, about, long_about)]
struct Cli {
    /// The configuration file (.toml, .yaml or .yml).
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        global = true,
        conflicts_with = "keepalived_conf"
    )]
    config: Option<PathBuf>,

    /// A keepalived.conf to run from (or check) instead of a native configuration.
    #[arg(long, value_name = "FILE", global = true)]
    keepalived_conf: Option<PathBuf>,

    /// keepalived's `-i`: the configuration id that `@ID` lines of a keepalived.conf are
    /// compared with; by default the host name up to its first dot, as keepalived's.
    #[arg(long, short = 'i', value_name = "ID", global = true)]
    config_id: Option<String>,

    /// Every warning about a keepalived.conf is an error (exit 78): the file must carry
    /// over exactly, with nothing left out or corrected.
    #[arg(long, global = true)]
    strict: bool,

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
    /// Check the configuration and exit.
    ///
    /// Exits 0 if it is valid, 78 (EX_CONFIG) with every problem listed (file:line: field:
    /// message) if not.
    Check,
    /// Print a keepalived.conf as the native TOML configuration.
    ///
    /// The TOML goes to standard output, warnings to standard error; exits 78 (EX_CONFIG)
    /// with every error listed if it has any.
    Convert {
        /// The keepalived.conf.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Show a failover in a throwaway lab of network namespaces (as root).
    ///
    /// Builds three hosts and a client in network namespaces, runs a daemon on each host,
    /// crashes the master, brings it back, hands over on SIGTERM, and shows what a client
    /// pinging the VIP felt each time; then removes everything.
    Demo(demo::DemoArgs),
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
    match &cli.command {
        Some(Subcommands::Convert { file }) => return convert(file, &keepalived_options(&cli)),
        Some(Subcommands::Demo(args)) => return demo::run(args),
        _ => {}
    }
    let source = match (cli.config.clone(), cli.keepalived_conf.clone()) {
        (Some(path), _) => ConfigSource::Native(path),
        (None, Some(path)) => ConfigSource::Keepalived(path, keepalived_options(&cli)),
        (None, None) => Cli::command()
            .error(
                ErrorKind::MissingRequiredArgument,
                "--config FILE or --keepalived-conf FILE is required",
            )
            .exit(),
    };
    match cli.command {
        Some(Subcommands::Check) => check(&source),
        _ => run(cli.log_format, cli.api_socket, source),
    }
}

fn keepalived_options(cli: &Cli) -> KeepalivedOptions {
    KeepalivedOptions {
        config_id: cli.config_id.clone(),
        strict: cli.strict,
    }
}

fn check(source: &ConfigSource) -> ExitCode {
    match source.load() {
        Ok((config, warnings)) => {
            print_warnings(&warnings);
            println!(
                "{}: valid, {} instance(s)",
                source.path().display(),
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

fn convert(keepalived_conf: &Path, options: &KeepalivedOptions) -> ExitCode {
    match load_keepalived_conf_with(keepalived_conf, options) {
        Ok((config, warnings)) => {
            print_warnings(&warnings);
            print!("{}", to_native_toml(&config));
            ExitCode::SUCCESS
        }
        Err(problems) => {
            print_problems(&problems);
            ExitCode::from(EXIT_INVALID_CONFIG)
        }
    }
}

/// Warnings go to standard error, so `convert`'s standard output stays a loadable file.
fn print_warnings(warnings: &[Diagnostic]) {
    for warning in warnings {
        eprintln!("{warning}");
    }
}

fn print_problems(problems: &ConfigError) {
    for problem in problems.problems() {
        eprintln!("{problem}");
    }
}

fn run(
    log_format: Option<LogFormatArg>,
    api_socket: Option<PathBuf>,
    source: ConfigSource,
) -> ExitCode {
    let (mut config, warnings) = match source.load() {
        Ok(loaded) => loaded,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::from(EXIT_INVALID_CONFIG);
        }
    };
    if let Some(socket) = api_socket {
        config.api.socket = socket;
    }
    let format = match log_format {
        Some(LogFormatArg::Human) => LogFormat::Human,
        Some(LogFormatArg::Json) => LogFormat::Json,
        None => config.global.log_format,
    };
    let instance_names: Vec<String> = config
        .instances
        .iter()
        .map(|instance| instance.name.clone())
        .collect();
    let telemetry = match Telemetry::start(&config.telemetry, &instance_names) {
        Ok(telemetry) => telemetry,
        Err(problem) => {
            eprintln!("vrrp-sidecar: {problem}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    if let Err(problem) = logging::init(format, config.global.log_level, telemetry.tracer()) {
        eprintln!("vrrp-sidecar: {problem}");
        return ExitCode::from(EXIT_FAILED);
    }
    for warning in &warnings {
        warn!(%warning, "configuration warning");
    }
    let refused = vrrp_sidecar::router::reload::checks_refused_as_root(&config);
    if !refused.is_empty() {
        for problem in &refused {
            eprintln!("{}: {problem}", source.path().display());
        }
        return ExitCode::from(EXIT_INVALID_CONFIG);
    }
    // Process checks need the process events connector, which only the host's network
    // namespace has: reaching it takes CAP_SYS_ADMIN, which a daemon started as root gives up
    // next, so the socket is opened first (server/net/proc_events.rs).
    if vrrp_sidecar::health::process::configured_in(&config) {
        vrrp_sidecar::net::proc_events::open_early();
    }
    if privileges::running_as_root() {
        let keep = privileges::needed_by(&config);
        // Before the runtime starts its threads: they inherit the reduced sets.
        if let Err(error) = privileges::keep_only(&keep) {
            error!(%error, "could not give up the capabilities the daemon does not use");
            return ExitCode::from(EXIT_FAILED);
        }
        let kept: Vec<String> = keep.iter().map(ToString::to_string).collect();
        info!(capabilities = %kept.join(" "), "running as root with only these capabilities");
    } else {
        let missing = privileges::missing_network_capabilities();
        if !missing.is_empty() {
            let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
            eprintln!(
                "vrrp-sidecar: needs {} to send adverts and hold addresses: run it as root \
                 (sudo), or grant CAP_NET_ADMIN and CAP_NET_RAW (systemd's \
                 AmbientCapabilities=, or setcap cap_net_admin,cap_net_raw+ep on the binary; \
                 README, \"Running in production\")",
                missing.join(" and ")
            );
            return ExitCode::from(EXIT_NEEDS_PRIVILEGES);
        }
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
    let outcome = runtime.block_on(daemon::run(source, config));
    drop(runtime);
    // After the daemon: its last transitions' spans are queued by now.
    for problem in telemetry.shutdown() {
        warn!(%problem, "telemetry not flushed");
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            error!(%problem, "vrrp-sidecar failed");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
