//! The daemon as a process on its host.
//!
//! - [`signals`]: SIGTERM/SIGINT (stop) and SIGHUP (reload).
//! - [`systemd`]: readiness, reload, stop and watchdog notifications to the service manager.
//! - [`privileges`]: the capabilities kept after start, and the check for those missing.
//! - [`logging`]: human or JSON log lines.

pub mod logging;
pub mod privileges;
pub mod signals;
pub mod systemd;
