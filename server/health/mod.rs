//! Health checks: each runs as its own tokio task on its interval and reports its verdict over
//! a channel; the router turns verdicts and weights into priority with
//! [`crate::vrrp::effective_priority`].
//!
//! - [`outcome`]: rise/fall counting, sans-IO ([`CheckState`]).
//! - [`runner`]: the task that runs one check and reports ([`spawn_check`], [`CheckReport`]).
//! - One file per kind of probe: [`exec`], [`tcp`], [`http`], [`grpc`], [`interface`],
//!   [`file`](mod@file).
//! - Process checks are not probed: [`process_monitor`] follows the kernel's process events
//!   for all of them in one task, counting with the sans-IO [`process`] table.
//!
//! A [`CheckSpec`] is what the runner needs, made from a configured check by
//! `From<&config::HealthCheck>` or from an API registration.

pub mod error;
pub mod exec;
pub mod file;
pub mod grpc;
pub mod http;
pub mod interface;
pub mod lease;
pub mod outcome;
pub mod process;
pub mod process_monitor;
pub mod runner;
pub mod tcp;

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{HealthCheck, Probe, ProcessMatch};

pub use error::HealthError;
pub use file::tracked_file_value;
pub use lease::{
    CheckMessage, LeaseAck, LeaseInput, LeaseSpec, LeaseTask, OnLeaseExpiry, spawn_lease,
};
pub use outcome::{CheckState, CheckTransition, OUTPUT_LIMIT, RunResult, Verdict};
pub use process_monitor::{ProcessMonitor, ProcessTrack};
pub use runner::{CheckReport, CheckTask, Reporting, spawn_check, spawn_probe};

/// How long a timed-out program gets between SIGTERM and SIGKILL: keepalived's 2 s.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// The HTTP statuses that pass when none are configured: any 2xx.
pub const DEFAULT_HTTP_STATUSES: RangeInclusive<u16> = 200..=299;

/// Everything the runner needs to run one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSpec {
    /// The check's name, repeated in every report.
    pub name: String,
    /// What is checked.
    pub probe: ProbeSpec,
    /// Time between the starts of two runs.
    pub interval: Duration,
    /// How long one run may take before it counts as a failure.
    pub timeout: Duration,
    /// Consecutive successes that make a failing check pass.
    pub rise: u8,
    /// Consecutive failures that make a passing check fail.
    pub fall: u8,
    /// keepalived's weight, carried into reports so the router can count them; for a file
    /// check it also decides what the value means (see [`tracked_file_value`]).
    pub weight: i16,
    /// Start failing rather than pending (keepalived's `init_fail`).
    pub init_fail: bool,
}

/// What a check looks at, with the settings of each kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeSpec {
    /// Run a program; exit status 0 passes.
    Exec(ExecSpec),
    /// Open a TCP connection; connecting passes.
    Tcp {
        /// Where to connect.
        address: SocketAddr,
    },
    /// Send an HTTP GET.
    Http(HttpSpec),
    /// Ask a `grpc.health.v1.Health` service; SERVING passes.
    Grpc {
        /// Where the service listens (plaintext HTTP/2).
        address: SocketAddr,
        /// The service asked about; `None` asks about the server as a whole (`""`).
        service: Option<String>,
    },
    /// Look at an interface's link: administratively up and running passes.
    Interface {
        /// The interface, in the daemon's network namespace.
        name: String,
    },
    /// Read an integer from a file, like keepalived's `track_file`.
    File {
        /// The file.
        path: PathBuf,
    },
    /// Reports an application pushes over the API, under a lease (see [`lease`]); nothing
    /// is probed.
    Pushed(LeaseSpec),
    /// Counts running processes, like keepalived's `vrrp_track_process`; followed by the
    /// [`process_monitor`], not probed.
    Process(ProcessMatch),
}

/// An exec check: a program run without a shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecSpec {
    /// The program, found on the daemon's `PATH` when it has no slash.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The user to run it as (its primary group too); `None` runs it as the daemon's user.
    pub user: Option<String>,
    /// How long after SIGTERM a timed-out program gets SIGKILL.
    pub kill_grace: Duration,
}

/// An HTTP check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSpec {
    /// An `http://` URL (https is not supported yet; see [`HealthError::UnsupportedUrl`]).
    pub url: String,
    /// The statuses that pass; empty means [`DEFAULT_HTTP_STATUSES`].
    pub expected_statuses: Vec<RangeInclusive<u16>>,
    /// Text the body must contain (within its first [`http::BODY_LIMIT`] bytes) to pass.
    pub body_contains: Option<String>,
}

impl From<&HealthCheck> for CheckSpec {
    fn from(check: &HealthCheck) -> Self {
        let probe = match &check.probe {
            Probe::Exec {
                command,
                user,
                kill_grace,
            } => {
                // The configuration refuses an empty command; an empty program name would
                // only make every run fail with "cannot start".
                let (program, args) = match command.split_first() {
                    Some((program, args)) => (program.clone(), args.to_vec()),
                    None => (String::new(), Vec::new()),
                };
                ProbeSpec::Exec(ExecSpec {
                    program,
                    args,
                    user: user.clone(),
                    kill_grace: kill_grace.unwrap_or(DEFAULT_KILL_GRACE),
                })
            }
            Probe::Tcp { address } => ProbeSpec::Tcp { address: *address },
            Probe::Http {
                url,
                expected_status,
                body_contains,
            } => ProbeSpec::Http(HttpSpec {
                url: url.clone(),
                expected_statuses: if expected_status.is_empty() {
                    vec![DEFAULT_HTTP_STATUSES]
                } else {
                    expected_status
                        .iter()
                        .map(|&status| status..=status)
                        .collect()
                },
                body_contains: body_contains.clone(),
            }),
            Probe::Grpc { address, service } => ProbeSpec::Grpc {
                address: *address,
                service: service.clone(),
            },
            Probe::Interface { name } => ProbeSpec::Interface { name: name.clone() },
            Probe::File { path } => ProbeSpec::File { path: path.clone() },
            Probe::Process(tracked) => ProbeSpec::Process(tracked.clone()),
        };
        Self {
            name: check.name.clone(),
            probe,
            interval: check.interval,
            timeout: check.timeout,
            rise: check.rise,
            fall: check.fall,
            weight: check.weight,
            init_fail: check.init_fail,
        }
    }
}
