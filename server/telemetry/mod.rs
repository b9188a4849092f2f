//! Traces and metrics for the systems operators already run.
//!
//! - [`export`]: the OTLP pipelines (spans and metrics), set up only when a collector is
//!   configured, on a tokio runtime of their own.
//! - [`spans`]: the spans of state transitions and gRPC requests, the cause a command leaves
//!   for the transition it brings about, and the trace ids a `WatchState` event carries.
//!
//! With no collector configured the daemon installs no OpenTelemetry layer: spans are plain
//! `tracing` spans that no subscriber records, and nothing is exported.

pub mod export;
pub mod spans;

pub use export::{Telemetry, TelemetryError};
