//! Log output: `tracing` events as human-readable lines or JSON objects on standard error,
//! where a service manager collects them; and, when a collector is configured, the daemon's
//! spans to OpenTelemetry (see [`crate::telemetry`]).

use std::io::IsTerminal;

use opentelemetry_sdk::trace::SdkTracer;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

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
/// module can be turned up without touching the configuration. With a `tracer`, the
/// daemon's info-level spans go to it too, whatever the log level: the log filter applies to
/// the log lines only.
pub fn init(
    format: LogFormat,
    level: LogLevel,
    tracer: Option<SdkTracer>,
) -> Result<(), LoggingError> {
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        _ => EnvFilter::new(level_name(level)),
    };
    // Colours only for a person at a terminal: escape codes in a file or the journal are
    // noise to every reader and tool.
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Human => lines.boxed(),
        // No span fields in the objects: the spans are for traces, and log shippers keep
        // the shape they had before tracing existed.
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .boxed(),
    };
    let spans = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(Targets::new().with_target("vrrp_sidecar", LevelFilter::INFO))
    });
    tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(spans)
        .try_init()
        .map_err(|error| LoggingError::AlreadySet(error.to_string()))
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
