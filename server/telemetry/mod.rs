//! Traces and metrics for the systems operators already run.
//!
//! - [`export`]: the OTLP pipelines (spans and metrics), set up only when a collector is
//!   configured, on a tokio runtime of their own.
//! - [`metrics`]: the figures as Prometheus text and as OpenTelemetry instruments.
//! - [`prometheus`]: the HTTP endpoint that serves the Prometheus text.
//! - [`queue`]: the bound on spans waiting for export, and the count of those dropped.
//!
//! With no collector configured the daemon installs no OpenTelemetry layer: spans are plain
//! `tracing` spans, which the log lines do not show, and nothing is exported.

pub mod export;
pub mod metrics;
pub mod prometheus;
pub mod queue;

pub use export::{Telemetry, TelemetryError};

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::TelemetrySettings;

use metrics::{Figures, SharedFigures};
use prometheus::{FigureSource, MetricsEndpointError};

/// How often the figures the OTLP instruments observe are read from the router: a few
/// times per export interval, so an export reports figures at most this old.
const FIGURES_REFRESH: Duration = Duration::from_secs(5);

/// The tasks that serve and refresh metrics; [`MetricsTasks::stop`] ends them.
#[derive(Debug, Default)]
pub struct MetricsTasks {
    tasks: Vec<JoinHandle<()>>,
}

impl MetricsTasks {
    /// Ends every task.
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Starts the Prometheus endpoint when `settings` ask for one, and, when metrics are
/// exported over OTLP, the instruments and the task that keeps their figures fresh.
pub async fn start_metrics(
    settings: &TelemetrySettings,
    source: FigureSource,
) -> Result<MetricsTasks, MetricsEndpointError> {
    let mut tasks = Vec::new();
    if let Some(address) = settings.metrics_listen {
        tasks.push(prometheus::serve(address, source.clone()).await?);
    }
    if export::metrics_enabled() {
        let figures: SharedFigures = Arc::new(Mutex::new(Figures::default()));
        metrics::register_instruments(&figures);
        tasks.push(tokio::spawn(async move {
            let mut every = tokio::time::interval(FIGURES_REFRESH);
            loop {
                every.tick().await;
                let Some(fresh) = source.read().await else {
                    return;
                };
                *figures.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
            }
        }));
    }
    Ok(MetricsTasks { tasks })
}
