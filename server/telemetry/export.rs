//! The OTLP pipelines: a tracer provider whose batch processor feeds the span exporter, and a
//! meter provider whose periodic reader feeds the metric exporter.
//!
//! Both exporters need a tokio runtime while they export (tonic's channel, hyper's client
//! and their timers), and the SDK's default processors export from a bare thread of their
//! own, where there is none. So the pipelines get a small runtime of their own: the
//! exporters are built inside it and the async-runtime processors run their export loops on
//! it. An unreachable collector then holds up only that runtime's thread; the router only
//! ever hands a finished span to a bounded queue ([`MAX_QUEUED_SPANS`]), and a full queue
//! drops the span instead of waiting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{MetricExporter, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::metrics::periodic_reader_with_async_runtime::PeriodicReader;
use opentelemetry_sdk::resource::EnvResourceDetector;
use opentelemetry_sdk::runtime;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, SdkTracer, SdkTracerProvider};

use crate::config::{OtlpProtocol, TelemetrySettings};

use super::queue::{SpanQueue, spans_dropped};

/// Finished spans that may wait for export (queued, batched or being sent); past this, new
/// spans are dropped and counted (see [`super::queue`]). At a few hundred bytes a span this
/// bounds the memory an unreachable collector costs.
pub const MAX_QUEUED_SPANS: usize = 2048;

/// How long a shutdown waits for the last spans and metrics to leave.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(5);

/// The `service.name` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` say otherwise.
const SERVICE_NAME: &str = "vrrp-sidecar";

/// Set once the metrics pipeline is up, so the daemon keeps the figures its instruments
/// observe fresh.
static METRICS: AtomicBool = AtomicBool::new(false);

/// Whether metrics are exported over OTLP.
pub fn metrics_enabled() -> bool {
    METRICS.load(Ordering::Relaxed)
}

/// Why the pipelines could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` names a protocol we do not speak.
    #[error("OTEL_EXPORTER_OTLP_PROTOCOL is `{0}`; vrrp-sidecar speaks `grpc` and `http/protobuf`")]
    Protocol(String),
    /// The pipelines' runtime could not start.
    #[error("starting the telemetry runtime: {0}")]
    Runtime(std::io::Error),
    /// An exporter could not be built.
    #[error("building the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The running pipelines; [`Telemetry::shutdown`] flushes them. Must be created and shut
/// down outside any async context (it owns a runtime).
#[derive(Debug, Default)]
pub struct Telemetry {
    pipelines: Option<Pipelines>,
}

#[derive(Debug)]
struct Pipelines {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
    // Dropped last: the processors' tasks run on it until their shutdown.
    runtime: tokio::runtime::Runtime,
}

/// Where each signal goes: `None` for a signal nothing is configured for.
#[derive(Debug, PartialEq, Eq)]
struct Targets {
    protocol: OtlpProtocol,
    /// The configured base endpoint; `None` leaves it to the `OTEL_EXPORTER_OTLP_*`
    /// variables, which the exporter reads itself.
    endpoint: Option<String>,
    traces: bool,
    metrics: bool,
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| !value.trim().is_empty())
}

fn targets(settings: &TelemetrySettings) -> Result<Option<Targets>, TelemetryError> {
    if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|value| value.trim() == "true") {
        return Ok(None);
    }
    let base = settings.otlp_endpoint.is_some() || env_set("OTEL_EXPORTER_OTLP_ENDPOINT");
    let traces = base || env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    let metrics = base || env_set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    if !traces && !metrics {
        return Ok(None);
    }
    let protocol = match settings.otlp_protocol {
        Some(protocol) => protocol,
        None => match std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL") {
            Err(_) => OtlpProtocol::Grpc,
            Ok(name) => match name.trim() {
                "" | "grpc" => OtlpProtocol::Grpc,
                "http/protobuf" => OtlpProtocol::HttpProtobuf,
                _ => return Err(TelemetryError::Protocol(name)),
            },
        },
    };
    Ok(Some(Targets {
        protocol,
        endpoint: settings.otlp_endpoint.clone(),
        traces,
        metrics,
    }))
}

/// The resource every span and metric carries: service name, version, host, and the
/// instances this daemon runs (as configured at start).
fn resource(instances: &[String]) -> Resource {
    let mut builder = Resource::builder_empty()
        .with_service_name(SERVICE_NAME)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if let Some(host) = host_name() {
        builder = builder.with_attribute(KeyValue::new("host.name", host));
    }
    let names: Vec<opentelemetry::StringValue> =
        instances.iter().map(|name| name.clone().into()).collect();
    builder = builder
        .with_attribute(KeyValue::new(
            "vrrp.instances",
            opentelemetry::Value::Array(names.into()),
        ))
        // The variables last, so an operator's attributes win over ours.
        .with_detector(Box::new(EnvResourceDetector::new()));
    if let Ok(name) = std::env::var("OTEL_SERVICE_NAME")
        && !name.trim().is_empty()
    {
        builder = builder.with_service_name(name);
    }
    builder.build()
}

fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The endpoint for one signal: gRPC takes the base as it is; OTLP/HTTP appends the
/// signal's path to a base endpoint, as the specification says for
/// `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn signal_endpoint(targets: &Targets, path: &str) -> Option<String> {
    let base = targets.endpoint.as_deref()?;
    Some(match targets.protocol {
        OtlpProtocol::Grpc => base.to_owned(),
        OtlpProtocol::HttpProtobuf => format!("{}/{path}", base.trim_end_matches('/')),
    })
}

fn span_exporter(targets: &Targets) -> Result<SpanExporter, TelemetryError> {
    let endpoint = signal_endpoint(targets, "v1/traces");
    Ok(match targets.protocol {
        OtlpProtocol::Grpc => {
            let builder = SpanExporter::builder().with_tonic();
            match endpoint {
                Some(endpoint) => builder.with_endpoint(endpoint).build()?,
                None => builder.build()?,
            }
        }
        OtlpProtocol::HttpProtobuf => {
            let builder = SpanExporter::builder().with_http();
            match endpoint {
                Some(endpoint) => builder.with_endpoint(endpoint).build()?,
                None => builder.build()?,
            }
        }
    })
}

fn metric_exporter(targets: &Targets) -> Result<MetricExporter, TelemetryError> {
    let endpoint = signal_endpoint(targets, "v1/metrics");
    Ok(match targets.protocol {
        OtlpProtocol::Grpc => {
            let builder = MetricExporter::builder().with_tonic();
            match endpoint {
                Some(endpoint) => builder.with_endpoint(endpoint).build()?,
                None => builder.build()?,
            }
        }
        OtlpProtocol::HttpProtobuf => {
            let builder = MetricExporter::builder().with_http();
            match endpoint {
                Some(endpoint) => builder.with_endpoint(endpoint).build()?,
                None => builder.build()?,
            }
        }
    })
}

impl Telemetry {
    /// Sets up the pipelines `settings` and the `OTEL_*` variables ask for; none when
    /// neither names a collector. `instances` go into the resource.
    pub fn start(
        settings: &TelemetrySettings,
        instances: &[String],
    ) -> Result<Telemetry, TelemetryError> {
        let Some(targets) = targets(settings)? else {
            return Ok(Telemetry::default());
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("vrrp-telemetry")
            .enable_all()
            .build()
            .map_err(TelemetryError::Runtime)?;
        // Inside the runtime: tonic's channel spawns its connection task on creation, and
        // the processors spawn their export loops.
        let inside = runtime.enter();
        let resource = resource(instances);
        let tracer_provider = if targets.traces {
            let queue = SpanQueue::new(MAX_QUEUED_SPANS);
            let exporter = queue.exporter(span_exporter(&targets)?);
            let processor = queue.processor(
                BatchSpanProcessor::builder(exporter, runtime::Tokio)
                    .with_batch_config(
                        BatchConfigBuilder::default()
                            .with_max_queue_size(MAX_QUEUED_SPANS)
                            .build(),
                    )
                    .build(),
            );
            Some(
                SdkTracerProvider::builder()
                    .with_span_processor(processor)
                    .with_resource(resource.clone())
                    .build(),
            )
        } else {
            None
        };
        let meter_provider = if targets.metrics {
            // Every 60 s unless OTEL_METRIC_EXPORT_INTERVAL says otherwise.
            let reader =
                PeriodicReader::builder(metric_exporter(&targets)?, runtime::Tokio).build();
            let provider = SdkMeterProvider::builder()
                .with_reader(reader)
                .with_resource(resource)
                .build();
            opentelemetry::global::set_meter_provider(provider.clone());
            Some(provider)
        } else {
            None
        };
        crate::trace::set_enabled(tracer_provider.is_some());
        METRICS.store(meter_provider.is_some(), Ordering::Relaxed);
        drop(inside);
        Ok(Telemetry {
            pipelines: Some(Pipelines {
                tracer_provider,
                meter_provider,
                runtime,
            }),
        })
    }

    /// The tracer spans are recorded with, when spans are exported.
    pub fn tracer(&self) -> Option<SdkTracer> {
        let provider = self.pipelines.as_ref()?.tracer_provider.as_ref()?;
        Some(provider.tracer("vrrp-sidecar"))
    }

    /// Exports what is still queued (waiting at most a few seconds per signal) and stops
    /// the pipelines. Returns a line per signal that could not be flushed, and one for the
    /// spans dropped on the way.
    pub fn shutdown(self) -> Vec<String> {
        let Some(pipelines) = self.pipelines else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        if let Some(provider) = pipelines.tracer_provider
            && let Err(error) = provider.shutdown_with_timeout(SHUTDOWN_FLUSH)
        {
            problems.push(format!("spans not flushed: {error}"));
        }
        if let Some(provider) = pipelines.meter_provider
            && let Err(error) = provider.shutdown_with_timeout(SHUTDOWN_FLUSH)
        {
            problems.push(format!("metrics not flushed: {error}"));
        }
        pipelines.runtime.shutdown_timeout(SHUTDOWN_FLUSH);
        let dropped = spans_dropped();
        if dropped > 0 {
            problems.push(format!(
                "{dropped} spans dropped: more than {MAX_QUEUED_SPANS} were waiting for export"
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_base_endpoint_gets_the_signal_path_and_grpc_keeps_it() {
        let mut targets = Targets {
            protocol: OtlpProtocol::HttpProtobuf,
            endpoint: Some("http://198.51.100.7:4318/".into()),
            traces: true,
            metrics: true,
        };
        assert_eq!(
            signal_endpoint(&targets, "v1/traces").as_deref(),
            Some("http://198.51.100.7:4318/v1/traces")
        );
        targets.protocol = OtlpProtocol::Grpc;
        assert_eq!(
            signal_endpoint(&targets, "v1/traces").as_deref(),
            Some("http://198.51.100.7:4318/")
        );
    }
}
