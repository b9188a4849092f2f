//! Where the daemon is and how to reach it: Unix socket or URL, TLS, bearer token.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::Error;

/// The daemon's default API socket (`--api-socket` and the configuration change it).
///
/// ```
/// use vrrp_sidecar_client::{DEFAULT_SOCKET_PATH, Target};
///
/// assert_eq!(Target::default(), Target::UnixSocket(DEFAULT_SOCKET_PATH.into()));
/// ```
pub const DEFAULT_SOCKET_PATH: &str = "/run/vrrp-sidecar/api.sock";

/// How long establishing a connection may take before it counts as failed. A local socket
/// answers at once; this bounds a TCP peer that silently drops our SYN.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the daemon listens.
///
/// ```
/// use vrrp_sidecar_client::Target;
///
/// let local = Target::default();
/// assert_eq!(local.to_string(), "/run/vrrp-sidecar/api.sock");
/// let remote = Target::Url("https://192.0.2.10:50051".into());
/// assert_eq!(remote.to_string(), "https://192.0.2.10:50051");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The daemon's Unix socket (the default listener).
    UnixSocket(PathBuf),
    /// A TCP listener: `http://host:port`, or `https://host:port` with the `tls` feature.
    Url(String),
}

impl Default for Target {
    /// The daemon's default socket, [`DEFAULT_SOCKET_PATH`].
    fn default() -> Self {
        Target::UnixSocket(PathBuf::from(DEFAULT_SOCKET_PATH))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::UnixSocket(path) => write!(formatter, "{}", path.display()),
            Target::Url(url) => formatter.write_str(url),
        }
    }
}

/// Files for TLS to an `https://` target.
#[cfg(feature = "tls")]
#[derive(Debug, Clone, Default)]
struct TlsFiles {
    /// PEM CA bundle that signed the daemon's certificate; the system roots when absent.
    ca_file: Option<PathBuf>,
    /// PEM client certificate and key, for daemons that authenticate clients by certificate.
    client_identity: Option<(PathBuf, PathBuf)>,
}

/// Connection settings beyond the target; finish with [`ClientBuilder::connect`].
///
/// ```no_run
/// # async fn run() -> Result<(), vrrp_sidecar_client::Error> {
/// use vrrp_sidecar_client::{Client, Target};
///
/// let client = Client::builder(Target::Url("https://192.0.2.10:50051".into()))
///     .ca_file("/etc/vrrp-sidecar/ca.pem")
///     .bearer_token("s3cret")
///     .connect()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    target: Target,
    bearer_token: Option<String>,
    #[cfg(feature = "tls")]
    tls: TlsFiles,
}

impl ClientBuilder {
    pub(crate) fn new(target: Target) -> Self {
        ClientBuilder {
            target,
            bearer_token: None,
            #[cfg(feature = "tls")]
            tls: TlsFiles::default(),
        }
    }

    /// Sends `authorization: Bearer TOKEN` with every call. The daemon requires a token (or a
    /// client certificate) for mutating calls over TCP.
    ///
    /// ```
    /// use vrrp_sidecar_client::{Client, Target};
    ///
    /// let builder = Client::builder(Target::Url("http://127.0.0.1:50051".into())).bearer_token("s3cret");
    /// ```
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Trusts the CA in this PEM file for an `https://` target, instead of the system roots.
    ///
    /// ```
    /// use vrrp_sidecar_client::{Client, Target};
    ///
    /// let builder = Client::builder(Target::Url("https://192.0.2.10:50051".into()))
    ///     .ca_file("/etc/vrrp-sidecar/ca.pem");
    /// ```
    #[cfg(feature = "tls")]
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca_file = Some(path.into());
        self
    }

    /// Presents this PEM certificate and key to an `https://` daemon that authenticates clients
    /// by certificate.
    ///
    /// ```
    /// use vrrp_sidecar_client::{Client, Target};
    ///
    /// let builder = Client::builder(Target::Url("https://192.0.2.10:50051".into()))
    ///     .client_identity("/etc/app/client.pem", "/etc/app/client.key");
    /// ```
    #[cfg(feature = "tls")]
    pub fn client_identity(
        mut self,
        certificate: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.tls.client_identity = Some((certificate.into(), key.into()));
        self
    }

    /// Connects now, so that a wrong path or a daemon that is not running shows up here as
    /// [`Error::Connect`] rather than on the first call. Later calls reconnect by themselves
    /// when the daemon restarts.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), vrrp_sidecar_client::Error> {
    /// use vrrp_sidecar_client::{Client, Target};
    ///
    /// let client = Client::builder(Target::UnixSocket("/tmp/api.sock".into())).connect().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(self) -> Result<crate::Client, Error> {
        let authorization = Authorization::new(self.bearer_token.as_deref())?;
        let channel = match &self.target {
            Target::UnixSocket(path) => connect_unix(path).await,
            Target::Url(url) => self.url_endpoint(url)?.connect().await,
        }
        .map_err(|error| Error::Connect {
            target: self.target.to_string(),
            reason: error_chain(&error),
        })?;
        Ok(crate::Client::from_channel(channel, authorization))
    }

    fn url_endpoint(&self, url: &str) -> Result<Endpoint, Error> {
        let invalid_url = |error: tonic::transport::Error| {
            Error::InvalidSettings(format!("URL {url}: {}", error_chain(&error)))
        };
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(invalid_url)?
            .connect_timeout(CONNECT_TIMEOUT);
        if !url.starts_with("https://") {
            return Ok(endpoint);
        }
        #[cfg(feature = "tls")]
        return endpoint.tls_config(self.tls_config()?).map_err(invalid_url);
        #[cfg(not(feature = "tls"))]
        return Err(Error::InvalidSettings(format!(
            "URL {url}: https needs the SDK's `tls` feature"
        )));
    }

    #[cfg(feature = "tls")]
    fn tls_config(&self) -> Result<tonic::transport::ClientTlsConfig, Error> {
        use tonic::transport::{Certificate, ClientTlsConfig, Identity};

        let mut config = ClientTlsConfig::new();
        config = match &self.tls.ca_file {
            Some(path) => config.ca_certificate(Certificate::from_pem(read_pem(path)?)),
            None => config.with_native_roots(),
        };
        if let Some((certificate, key)) = &self.tls.client_identity {
            config = config.identity(Identity::from_pem(read_pem(certificate)?, read_pem(key)?));
        }
        Ok(config)
    }
}

/// Reads a PEM file, naming the file when it cannot.
#[cfg(feature = "tls")]
fn read_pem(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|error| Error::InvalidSettings(format!("reading {}: {error}", path.display())))
}

async fn connect_unix(path: &Path) -> Result<Channel, tonic::transport::Error> {
    let path = path.to_owned();
    // The URI is never dialled: the connector below ignores it and opens the socket. It only has
    // to be a valid authority for the HTTP/2 requests.
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?))
            }
        }))
        .await
}

/// The full `source()` chain of an error on one line: tonic's own text ("transport error") says
/// nothing about the cause, which sits further down.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // Some layers repeat their source's text in their own; say each thing once.
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Adds the bearer token, when there is one, to every request as `authorization` metadata.
/// Part of [`GrpcClient`](crate::GrpcClient)'s type; set it with
/// [`ClientBuilder::bearer_token`].
///
/// ```no_run
/// # async fn run() -> Result<(), vrrp_sidecar_client::Error> {
/// use vrrp_sidecar_client::{Client, Target};
///
/// // Every call on this client, including those through `grpc()`, carries the token.
/// let client = Client::builder(Target::Url("http://127.0.0.1:50051".into()))
///     .bearer_token("s3cret")
///     .connect()
///     .await?;
/// let grpc = client.grpc();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Authorization {
    header: Option<AsciiMetadataValue>,
}

impl Authorization {
    fn new(bearer_token: Option<&str>) -> Result<Self, Error> {
        let header = bearer_token
            .map(|token| {
                format!("Bearer {token}")
                    .parse::<AsciiMetadataValue>()
                    .map_err(|_| {
                        Error::InvalidSettings(
                            "the bearer token must be printable ASCII without line breaks".into(),
                        )
                    })
            })
            .transpose()?;
        Ok(Authorization { header })
    }
}

impl Interceptor for Authorization {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(header) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        Ok(request)
    }
}
