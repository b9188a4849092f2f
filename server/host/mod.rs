//! The daemon as a process on its host.
//!
//! - [`signals`]: SIGTERM/SIGINT (stop), SIGHUP (reload), SIGUSR1/SIGUSR2 (dumps).
//! - [`dump`]: keepalived's data and statistics dumps.
//! - [`systemd`]: readiness, reload, stop and watchdog notifications to the service manager.
//! - [`privileges`]: the capabilities kept after start, and the check for those missing.
//! - [`logging`]: human or JSON log lines.

pub mod dump;
pub mod logging;
pub mod privileges;
pub mod signals;
pub mod systemd;
