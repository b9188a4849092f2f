//! A minimal OTLP/gRPC collector for the telemetry tests: the official collector services
//! (from `opentelemetry-proto`) served by tonic inside a lab namespace, keeping every span and
//! metric it is sent.
//!
//! Each test binary uses a different part of this module, so unused items are expected.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use tonic::{Request, Response, Status};

use crate::netns::Netns;

/// A span as received, ids in lowercase hex.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    /// Its name.
    pub name: String,
    /// Its trace id.
    pub trace_id: String,
    /// Its span id.
    pub span_id: String,
    /// Its parent's span id; empty for a root.
    pub parent_span_id: String,
    /// Its attributes, values as text.
    pub attributes: HashMap<String, String>,
    /// The resource's attributes, values as text.
    pub resource: HashMap<String, String>,
    /// How long it lasted.
    pub duration: Duration,
}

/// The names of the metrics received, with the resource of their batch.
#[derive(Clone, Debug)]
pub struct ReceivedMetric {
    /// Its name.
    pub name: String,
}

#[derive(Default)]
struct Store {
    spans: Mutex<Vec<ReceivedSpan>>,
    metrics: Mutex<Vec<ReceivedMetric>>,
}

#[derive(Clone)]
struct Collector(Arc<Store>);

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|value| value.value.as_ref()) {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::IntValue(number)) => number.to_string(),
        Some(any_value::Value::BoolValue(flag)) => flag.to_string(),
        Some(any_value::Value::DoubleValue(number)) => number.to_string(),
        Some(any_value::Value::ArrayValue(array)) => array
            .values
            .iter()
            .map(|item| text(Some(item)))
            .collect::<Vec<_>>()
            .join(","),
        other => format!("{other:?}"),
    }
}

fn attributes(pairs: &[KeyValue]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|pair| (pair.key.clone(), text(pair.value.as_ref())))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans
                .resource
                .map(|resource| attributes(&resource.attributes))
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    received.push(ReceivedSpan {
                        name: span.name.clone(),
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        attributes: attributes(&span.attributes),
                        resource: resource.clone(),
                        duration: Duration::from_nanos(
                            span.end_time_unix_nano
                                .saturating_sub(span.start_time_unix_nano),
                        ),
                    });
                }
            }
        }
        self.0
            .spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(received);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let names = request
            .into_inner()
            .resource_metrics
            .into_iter()
            .flat_map(|resource| resource.scope_metrics)
            .flat_map(|scope| scope.metrics)
            .map(|metric| ReceivedMetric { name: metric.name });
        self.0
            .metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(names);
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// A running receiver; it stops when the runtime it was started on is dropped.
pub struct Receiver {
    /// Where it listens, inside the namespace it was started in.
    pub address: SocketAddr,
    store: Arc<Store>,
}

impl Receiver {
    /// Starts a receiver on a loopback port of `ns`, served by `runtime`.
    pub fn start(ns: &Netns, runtime: &tokio::runtime::Runtime) -> Receiver {
        let listener = ns.enter(|| {
            let listener =
                std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
            listener
                .set_nonblocking(true)
                .expect("a socket can be made non-blocking");
            listener
        });
        let address = listener
            .local_addr()
            .expect("a bound socket has an address");
        let store = Arc::new(Store::default());
        let collector = Collector(Arc::clone(&store));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("inside a runtime");
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            let served = tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(collector.clone()))
                .add_service(MetricsServiceServer::new(collector))
                .serve_with_incoming(incoming)
                .await;
            if let Err(error) = served {
                eprintln!("the OTLP receiver stopped: {error}");
            }
        });
        Receiver { address, store }
    }

    /// The collector URL to configure.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.store
            .spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The names of the metrics received so far.
    pub fn metric_names(&self) -> Vec<String> {
        self.store
            .metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|metric| metric.name.clone())
            .collect()
    }

    /// The first span `matches` accepts, waiting up to `timeout` for it.
    pub fn wait_for_span(
        &self,
        timeout: Duration,
        mut matches: impl FnMut(&ReceivedSpan) -> bool,
    ) -> Option<ReceivedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(span) = self.spans().into_iter().find(|span| matches(span)) {
                return Some(span);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A request an [`HttpReceiver`] was sent.
#[derive(Clone, Debug)]
pub struct HttpExport {
    /// The request path.
    pub path: String,
    /// Its `content-type`.
    pub content_type: String,
    /// The names of the spans in it, when it decoded as a trace export.
    pub span_names: Vec<String>,
}

/// A minimal OTLP/HTTP (protobuf) receiver: one thread inside a namespace, one request per
/// connection, every request kept.
pub struct HttpReceiver {
    /// Where it listens, inside the namespace it was started in.
    pub address: SocketAddr,
    exports: Arc<Mutex<Vec<HttpExport>>>,
}

/// How long the receiver's thread runs at most.
const HTTP_RECEIVER_LIFETIME: Duration = Duration::from_secs(60);

impl HttpReceiver {
    /// Starts a receiver on a loopback port of `ns`.
    pub fn start(ns: &Netns) -> HttpReceiver {
        let listener = ns
            .enter(|| std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port"));
        listener
            .set_nonblocking(true)
            .expect("a socket can be made non-blocking");
        let address = listener
            .local_addr()
            .expect("a bound socket has an address");
        let exports = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&exports);
        std::thread::spawn(move || {
            let until = Instant::now() + HTTP_RECEIVER_LIFETIME;
            while Instant::now() < until {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(export) = answer(stream) {
                            kept.lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(export);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        HttpReceiver { address, exports }
    }

    /// The collector URL to configure.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request received so far.
    pub fn exports(&self) -> Vec<HttpExport> {
        self.exports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Reads one request from `stream` and answers 200 with an empty export response.
fn answer(mut stream: std::net::TcpStream) -> Option<HttpExport> {
    use prost::Message;
    use std::io::{BufRead, BufReader, Read, Write};

    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line.split_whitespace().nth(1)?.to_owned();
    let (mut length, mut content_type) = (0, String::new());
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().ok()?,
                "content-type" => content_type = value.trim().to_owned(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let span_names = ExportTraceServiceRequest::decode(body.as_slice())
        .map(|request| {
            request
                .resource_spans
                .into_iter()
                .flat_map(|resource| resource.scope_spans)
                .flat_map(|scope| scope.spans)
                .map(|span| span.name)
                .collect()
        })
        .unwrap_or_default();
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .ok()?;
    Some(HttpExport {
        path,
        content_type,
        span_names,
    })
}
