//! The one error type of the SDK.

use std::time::Duration;

/// What went wrong talking to the daemon.
///
/// Cloneable, so a watch stream can both report a lost connection as an event and keep going.
///
/// ```no_run
/// # async fn run() {
/// use vrrp_sidecar_client::{Client, Error, Target};
///
/// match Client::connect(Target::default()).await {
///     Ok(_client) => println!("connected"),
///     Err(Error::Connect { target, reason }) => eprintln!("no daemon at {target}: {reason}"),
///     Err(other) => eprintln!("{other}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The daemon could not be reached at all (no socket, connection refused, TLS handshake).
    #[error("cannot connect to the vrrp-sidecar daemon at {target}: {reason}")]
    Connect {
        /// The socket path or URL that was tried.
        target: String,
        /// Why, as the transport said it.
        reason: String,
    },
    /// The connection settings themselves are wrong (an unparsable URL, an unreadable CA file,
    /// a token that cannot be sent as metadata); retrying cannot help.
    #[error("invalid connection settings: {0}")]
    InvalidSettings(String),
    /// The daemon answered with a gRPC status other than OK. `message` says what to change.
    #[error("{message} ({code:?})")]
    Rpc {
        /// The gRPC status code, e.g. `NotFound` or `InvalidArgument`.
        code: tonic::Code,
        /// The daemon's explanation.
        message: String,
    },
    /// The daemon closed a watch stream without an error status.
    #[error("the daemon ended the watch stream")]
    StreamEnded,
    /// Nothing, not even a heartbeat, arrived for three heartbeat intervals.
    #[error("no message from the daemon for {0:?} (three heartbeat intervals)")]
    HeartbeatTimeout(Duration),
    /// The daemon sent something the contract in `sidecar.proto` does not allow.
    #[error("invalid response from the daemon: {0}")]
    InvalidResponse(String),
}

impl Error {
    /// Whether retrying the same call later may succeed.
    ///
    /// The statuses that say the request itself is wrong or not allowed are permanent; everything
    /// else (the daemon is restarting, a watcher limit, a broken connection) can pass.
    ///
    /// ```
    /// use vrrp_sidecar_client::Error;
    ///
    /// use vrrp_sidecar_client::Code;
    ///
    /// let refused = Error::Rpc { code: Code::PermissionDenied, message: "read-only token".into() };
    /// assert!(!refused.is_transient());
    /// assert!(Error::StreamEnded.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Rpc { code, .. } => !matches!(
                code,
                tonic::Code::InvalidArgument
                    | tonic::Code::Unimplemented
                    | tonic::Code::Unauthenticated
                    | tonic::Code::PermissionDenied
            ),
            Error::InvalidSettings(_) | Error::InvalidResponse(_) => false,
            Error::Connect { .. } | Error::StreamEnded | Error::HeartbeatTimeout(_) => true,
        }
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::Rpc {
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}
