//! The Prometheus endpoint: `GET /metrics` over HTTP/1.1 on the configured address, answered
//! with the router's current figures in the text format. Off unless
//! `[telemetry] metrics_listen` is set.
//!
//! A scrape asks the router for the statuses like any API client, so it sees exactly what the
//! API would; the router answers between two inputs and never waits for the scraper.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::events::WatcherGauge;
use crate::router::control::RouterHandle;

use super::metrics::{Figures, prometheus_text};

/// The media type of the text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("metrics endpoint on {address}: {source}")]
pub struct MetricsEndpointError {
    /// The configured address.
    pub address: SocketAddr,
    /// Why it could not be bound.
    pub source: std::io::Error,
}

/// Where the figures come from: the router's statuses and the bus's watcher count.
#[derive(Clone, Debug)]
pub struct FigureSource {
    /// Asks the router for statuses.
    pub router: RouterHandle,
    /// Counts the watchers.
    pub watchers: WatcherGauge,
}

impl FigureSource {
    /// The figures now; `None` once the router stopped.
    pub async fn read(&self) -> Option<Figures> {
        let statuses = self.router.statuses().await.ok()?;
        Some(Figures {
            statuses,
            watchers: self.watchers.count(),
            spans_dropped: super::queue::spans_dropped(),
        })
    }
}

/// Binds `address` and serves scrapes until the task is aborted.
pub async fn serve(
    address: SocketAddr,
    source: FigureSource,
) -> Result<JoinHandle<()>, MetricsEndpointError> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| MetricsEndpointError { address, source })?;
    info!(%address, "metrics endpoint listening");
    Ok(tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    warn!(%error, "metrics endpoint: connection not accepted");
                    continue;
                }
            };
            let source = source.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(request, source.clone()));
                if let Err(error) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    debug!(%peer, %error, "metrics endpoint: connection ended with an error");
                }
            });
        }
    }))
}

async fn answer(
    request: Request<Incoming>,
    source: FigureSource,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = if request.method() != Method::GET {
        plain(StatusCode::METHOD_NOT_ALLOWED, "only GET\n")
    } else if request.uri().path() != "/metrics" {
        plain(StatusCode::NOT_FOUND, "the metrics are at /metrics\n")
    } else {
        match source.read().await {
            Some(figures) => Response::builder()
                .header(header::CONTENT_TYPE, TEXT_FORMAT)
                .body(Full::new(Bytes::from(prometheus_text(&figures))))
                .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "\n")),
            None => plain(StatusCode::SERVICE_UNAVAILABLE, "the daemon is stopping\n"),
        }
    };
    Ok(response)
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}
