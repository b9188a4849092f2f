//! Log output: `tracing` events as human-readable lines or JSON objects on standard error,
//! where a service manager collects them.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogLevel};

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `RUST_LOG` is set but not a valid filter.
    #[error("RUST_LOG is not a valid filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// Another subscriber was installed first.
    #[error("logging was already set up: {0}")]
    AlreadySet(String),
}

/// Installs the process-wide subscriber. `RUST_LOG`, when set, overrides `level`, so one
/// module can be turned up without touching the configuration.
pub fn init(format: LogFormat, level: LogLevel) -> Result<(), LoggingError> {
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        _ => EnvFilter::new(level_name(level)),
    };
    // Colours only for a person at a terminal: escape codes in a file or the journal are
    // noise to every reader and tool.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|error| LoggingError::AlreadySet(error.to_string()))
}

fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    }
}
