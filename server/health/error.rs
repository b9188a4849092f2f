//! Why a check could not be set up, or why one run of it failed.
//!
//! A run's error becomes the run's summary (and so the check's last result); it never stops
//! the check, which tries again on its next interval.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::net::NetError;

/// A health check could not be set up, or one run of it failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The run took longer than the check's timeout.
    #[error("timed out after {after:?}")]
    TimedOut {
        /// The check's timeout.
        after: Duration,
    },
    /// An exec check's program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The error from fork/exec.
        source: io::Error,
    },
    /// Waiting for an exec check's program failed.
    #[error("waiting for {program}: {source}")]
    Wait {
        /// The program.
        program: String,
        /// The error from waitpid.
        source: io::Error,
    },
    /// The user an exec check should run as does not exist or could not be looked up.
    #[error("exec check user {user}: {reason}")]
    User {
        /// The configured user name.
        user: String,
        /// Not found, or the error from the user database.
        reason: String,
    },
    /// A TCP connection (TCP check, HTTP check) could not be opened.
    #[error("connecting to {address}: {source}")]
    Connect {
        /// Where the check connected, as configured.
        address: String,
        /// The error from connect.
        source: io::Error,
    },
    /// The URL of an HTTP check is not one the check can GET.
    #[error("HTTP check URL {url}: {reason}")]
    UnsupportedUrl {
        /// The URL, as configured.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The HTTP exchange failed after connecting.
    #[error("HTTP GET {url}: {source}")]
    Http {
        /// The URL, as configured.
        url: String,
        /// The error from the HTTP client.
        source: hyper::Error,
    },
    /// The gRPC health call could not be set up or failed at the transport.
    #[error("gRPC health service at {address}: {source}")]
    GrpcTransport {
        /// Where the service listens.
        address: SocketAddr,
        /// The error from the gRPC channel.
        source: tonic::transport::Error,
    },
    /// The gRPC health service answered with an error status (unknown service included).
    #[error("gRPC health service at {address}: {status}")]
    GrpcStatus {
        /// Where the service listens.
        address: SocketAddr,
        /// The status returned.
        status: Box<tonic::Status>,
    },
    /// The netlink socket of an interface check could not be opened or queried.
    /// (The net layer's error already names the interface.)
    #[error("interface check: {source}")]
    Link {
        /// The error from the net layer.
        source: NetError,
    },
    /// A file check's file could not be read.
    #[error("reading {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The error from read.
        source: io::Error,
    },
    /// A file check's file does not hold an integer.
    #[error("{} holds {text:?}, not an integer", path.display())]
    NotAnInteger {
        /// The file.
        path: PathBuf,
        /// What it holds (trimmed, at most 64 bytes).
        text: String,
    },
    /// A pushed check was handed to the prober; its reports come from the API instead.
    #[error("check {name} is pushed by an application; it has nothing to probe")]
    Pushed {
        /// The check.
        name: String,
    },
    /// A process check was handed to the prober; the process monitor follows it instead.
    #[error("check {name} follows processes through process events; it has nothing to probe")]
    Process {
        /// The check.
        name: String,
    },
}
