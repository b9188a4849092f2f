//! HTTP checks: a GET over HTTP/1.1 whose status, and optionally body, decide.
//!
//! hyper's client connection does the protocol (chunked bodies, keep-alive framing) over a
//! plain tokio `TcpStream`; hyper is in the build already through tonic. Only `http://` URLs
//! are supported: `https://` would need a TLS stack and its root certificates, which the
//! daemon does not carry yet.

use std::ops::RangeInclusive;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, Uri, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::outcome::RunResult;
use super::runner::{Observation, observe};
use super::{DEFAULT_HTTP_STATUSES, HealthError, HttpSpec};

/// The most bytes of the body read: the substring must appear within them. A health page is
/// small; a large one must not make every check download it.
pub const BODY_LIMIT: usize = 64 * 1024;

/// An HTTP check with its URL taken apart once.
#[derive(Clone, Debug)]
pub struct HttpProbe {
    url: String,
    /// `host:port`, as connected to.
    connect_to: String,
    /// What the `Host` header says: the URL's authority.
    host_header: String,
    /// The request target: path and query.
    target: String,
    expected_statuses: Vec<RangeInclusive<u16>>,
    body_contains: Option<String>,
}

impl HttpProbe {
    /// Checks the URL: it must be `http://` with a host.
    pub fn new(spec: HttpSpec) -> Result<Self, HealthError> {
        let unsupported = |reason| HealthError::UnsupportedUrl {
            url: spec.url.clone(),
            reason,
        };
        let uri: Uri = spec
            .url
            .parse()
            .map_err(|_| unsupported("not a valid URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(unsupported("https is not supported yet; use http")),
            _ => return Err(unsupported("the URL must start with http://")),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| unsupported("the URL has no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let target = uri
            .path_and_query()
            .map_or("/", |target| target.as_str())
            .to_owned();
        let expected_statuses = if spec.expected_statuses.is_empty() {
            vec![DEFAULT_HTTP_STATUSES]
        } else {
            spec.expected_statuses
        };
        Ok(Self {
            connect_to: format!("{}:{port}", authority.host()),
            host_header: authority.as_str().to_owned(),
            target: if target.is_empty() {
                "/".to_owned()
            } else {
                target
            },
            url: spec.url,
            expected_statuses,
            body_contains: spec.body_contains,
        })
    }

    /// Sends one GET; no complete answer within `timeout` is a failure.
    pub async fn run(&self, timeout: Duration) -> RunResult {
        observe(timeout, self.get()).await
    }

    async fn get(&self) -> Result<Observation, HealthError> {
        let http_error = |source| HealthError::Http {
            url: self.url.clone(),
            source,
        };
        let stream = TcpStream::connect(&self.connect_to)
            .await
            .map_err(|source| HealthError::Connect {
                address: self.connect_to.clone(),
                source,
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http_error)?;
        let request = Request::get(self.target.as_str())
            .header(header::HOST, self.host_header.as_str())
            .header(header::USER_AGENT, "vrrp-sidecar health check")
            .header(header::CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            // The target and Host come from a URL that parsed, so they are valid header
            // values and a valid request target.
            .expect("a request built from a parsed URL is valid");
        let exchange = async {
            let response = sender.send_request(request).await.map_err(http_error)?;
            let status = response.status();
            let mut body = response.into_body();
            let mut received = Vec::new();
            while received.len() < BODY_LIMIT {
                let Some(frame) = body.frame().await else {
                    break;
                };
                if let Some(data) = frame.map_err(http_error)?.data_ref() {
                    let room = BODY_LIMIT - received.len();
                    received.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Ok((status, received))
        };
        // The connection future does the I/O for the exchange, so both are polled together.
        // With `Connection: close` it may finish first, once the whole answer is buffered;
        // the exchange then completes from the buffer, or fails if no answer came.
        tokio::pin!(connection, exchange);
        let (status, body) = tokio::select! {
            exchanged = &mut exchange => exchanged?,
            closed = &mut connection => {
                closed.map_err(http_error)?;
                exchange.await?
            }
        };
        let status_passes = self
            .expected_statuses
            .iter()
            .any(|range| range.contains(&status.as_u16()));
        let body_passes = self
            .body_contains
            .as_ref()
            .is_none_or(|wanted| contains(&body, wanted.as_bytes()));
        let summary = match (&self.body_contains, status_passes, body_passes) {
            (Some(wanted), true, false) => format!("HTTP {status}; body lacks {wanted:?}"),
            _ => format!("HTTP {status}"),
        };
        Ok(Observation {
            passed: status_passes && body_passes,
            summary,
            output: String::from_utf8_lossy(&body).into_owned(),
            value: None,
        })
    }
}

/// Whether `needle` occurs in `haystack`; an empty needle always does.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}
