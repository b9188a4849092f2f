//! Where the API listens: a Unix socket always (mode 0660: its permissions are the
//! authentication), and a TCP listener when configured, with TLS unless the configuration
//! allows plaintext, which is then only accepted on a loopback address. Each listener also
//! serves gRPC server reflection (v1 and v1alpha, so grpcurl needs no proto files) and
//! `grpc.health.v1.Health`, which reports the daemon's health (SERVING while it runs,
//! NOT_SERVING once it is stopping), not mastership.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::transport::server::Router;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tracing::{error, info, warn};

use crate::config::{ApiSettings, TcpListenerSettings, TcpSecurity, TlsSettings};
use crate::router::control::RouterHandle;
use crate::trace::tracing_enabled;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::codegen::http;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::FILE_DESCRIPTOR_SET;
use super::auth::{MutationGuard, TokensError};
use super::runtime::ApiRuntime;
use super::service::{Reloader, SidecarService};
use super::unix_authority::UnixApiStream;
use super::v1::sidecar_server::{SERVICE_NAME, SidecarServer};
use super::watch::WatchStateRoute;

/// The largest request message accepted: every request is a few names and numbers, so
/// anything near this is a mistake or an attack; tonic answers OUT_OF_RANGE with both sizes.
pub(super) const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Concurrent HTTP/2 streams (calls, watches and health reports included) one connection may
/// have open; more wait in the client (gRPC queues them) or are refused by HTTP/2 itself. Twice
/// the registered-check limit, so one application may keep every check it may register on one
/// connection; the daemon-wide caps on watchers and registered checks still apply.
const MAX_STREAMS_PER_CONNECTION: u32 = 8_192;

/// The socket's mode: owner and group may connect (and so call every RPC), others not.
const SOCKET_MODE: u32 = 0o660;

/// How long open streams get to end once the daemon stopped before the listeners close.
const DRAIN: Duration = Duration::from_secs(2);

/// HTTP/2 pings on idle connections, so a client behind a dead path is noticed and one that
/// watches learns of a dead daemon even between heartbeats.
const KEEPALIVE: Duration = Duration::from_secs(20);

/// Why the API could not start.
#[derive(Debug, Error)]
pub enum ApiError {
    /// Another process answers on the socket: two daemons must not share one API.
    #[error(
        "another process is listening on the API socket {0}; stop it, or give this daemon \
         another socket with --api-socket PATH or api.socket"
    )]
    SocketInUse(PathBuf),
    /// Something that is not a socket is in the way.
    #[error("{0} exists and is not a socket; remove it or choose another api.socket")]
    NotASocket(PathBuf),
    /// The socket (or its directory) could not be created.
    #[error("creating the API socket {path}: {source}")]
    Socket {
        /// The socket's path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TCP listener could not be bound.
    #[error("binding the API's TCP listener on {address}: {source}")]
    Tcp {
        /// The address.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Plaintext TCP was asked for on an address other nodes can reach.
    #[error(
        "api.tcp_address {0} is not a loopback address, and plaintext is only served on \
         loopback; configure api.tls or listen on 127.0.0.1 / ::1"
    )]
    PlaintextOffLoopback(std::net::SocketAddr),
    /// A TLS file could not be read, or rustls refused it.
    #[error("API TLS: {0}")]
    Tls(String),
    /// The tokens file is unusable.
    #[error(transparent)]
    Tokens(#[from] TokensError),
    /// The reflection service could not be built from the descriptors.
    #[error("building the reflection service: {0}")]
    Reflection(String),
    /// The API's thread could not be started.
    #[error("starting the API's thread: {0}")]
    Runtime(std::io::Error),
}

/// The running API; [`ApiServer::stop`] closes it and removes the socket file.
#[derive(Debug)]
pub struct ApiServer {
    socket_file: SocketFile,
    close: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    runtime: ApiRuntime,
}

impl ApiServer {
    /// Binds every listener (the Unix socket first, so a second daemon on the same socket
    /// stops before touching anything) and starts serving. `stopping` turns the health
    /// service to NOT_SERVING.
    pub async fn start(
        settings: &ApiSettings,
        router: RouterHandle,
        reloader: Reloader,
        mut stopping: watch::Receiver<bool>,
    ) -> Result<ApiServer, ApiError> {
        let (unix, socket_file) = bind_unix(&settings.socket)?;
        let tcp = match &settings.tcp {
            Some(tcp) => Some(bind_tcp(tcp, settings.tokens_file.as_deref()).await?),
            None => None,
        };
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_service_status(SERVICE_NAME, ServingStatus::Serving)
            .await;
        let reflection_v1 = reflection()
            .build_v1()
            .map_err(|error| ApiError::Reflection(error.to_string()))?;
        let reflection_v1alpha = reflection()
            .build_v1alpha()
            .map_err(|error| ApiError::Reflection(error.to_string()))?;
        let services = |server: Server, guard: MutationGuard| -> Router {
            // Each request in a span that continues the caller's trace (when spans are
            // exported), so a command's transition can join that trace.
            let mut server = server
                .http2_keepalive_interval(Some(KEEPALIVE))
                .tcp_keepalive(Some(KEEPALIVE))
                .max_concurrent_streams(Some(MAX_STREAMS_PER_CONNECTION))
                .trace_fn(grpc_request);
            server
                .add_service(WatchStateRoute::new(
                    SidecarServer::new(SidecarService::new(
                        router.clone(),
                        reloader.clone(),
                        Arc::new(guard),
                    ))
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
                    router.clone(),
                ))
                .add_service(health_service.clone())
                .add_service(reflection_v1.clone())
                .add_service(reflection_v1alpha.clone())
        };
        let (close, closed) = watch::channel(false);
        let runtime = ApiRuntime::start().map_err(ApiError::Runtime)?;
        let mut servers = Vec::new();
        let unix_router = services(Server::builder(), MutationGuard::SocketPermissions);
        // The socket path, its %-encoding or nothing as `:authority`, which stock gRPC
        // clients send here, become acceptable to h2 (see unix_authority); TCP keeps h2's check.
        let unix_connections =
            UnixListenerStream::new(unix).map(|accepted| accepted.map(UnixApiStream::new));
        servers.push(serve(
            &runtime,
            "unix",
            unix_router.serve_with_incoming_shutdown(unix_connections, wait_closed(closed.clone())),
        ));
        info!(socket = %settings.socket.display(), "API listening");
        if let Some((listener, server, guard)) = tcp {
            let address = listener.local_addr().ok();
            let tcp_router = services(server, guard);
            servers.push(serve(
                &runtime,
                "tcp",
                tcp_router.serve_with_incoming_shutdown(
                    TcpListenerStream::new(listener),
                    wait_closed(closed),
                ),
            ));
            info!(?address, "API listening on TCP");
        }
        tokio::spawn(async move {
            // Only daemon health: a backup is as healthy as a master.
            if stopping.wait_for(|stopping| *stopping).await.is_ok() {
                health
                    .set_service_status("", ServingStatus::NotServing)
                    .await;
                health
                    .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
                    .await;
            }
        });
        Ok(ApiServer {
            socket_file,
            close,
            servers,
            runtime,
        })
    }

    /// Stops serving (open streams get a moment to end) and removes the socket file.
    pub async fn stop(self) {
        self.close.send_replace(true);
        for server in self.servers {
            let abort = server.abort_handle();
            if tokio::time::timeout(DRAIN, server).await.is_err() {
                abort.abort();
            }
        }
        self.runtime.stop().await;
        drop(self.socket_file);
    }
}

/// The API's Unix socket file, removed when this is dropped: when the API stops, and when
/// the daemon's start fails after the socket was bound (a TCP listener, an interface
/// missing), so a failed start leaves nothing behind. Made only once this daemon bound the
/// socket, so a start refused because another daemon listens there never removes its socket.
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.path)
            && error.kind() != ErrorKind::NotFound
        {
            warn!(socket = %self.path.display(), %error, "API socket not removed");
        }
    }
}

/// Reflection over every service served. Naming services replaces the builder's own list,
/// so all four are named; each version then lists both reflection services, and a client
/// that only speaks v1alpha (grpcurl 1.8) still sees that v1 is there too.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    use tonic_reflection::pb::{v1, v1alpha};
    tonic_reflection::server::Builder::configure()
        .include_reflection_service(false)
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(v1alpha::FILE_DESCRIPTOR_SET)
        .with_service_name(SERVICE_NAME)
        .with_service_name(tonic_health::pb::health_server::SERVICE_NAME)
        .with_service_name(v1::server_reflection_server::SERVICE_NAME)
        .with_service_name(v1alpha::server_reflection_server::SERVICE_NAME)
}

async fn wait_closed(mut closed: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = closed.wait_for(|closed| *closed).await;
}

/// Serves on the API's thread (see `runtime`).
fn serve(
    runtime: &ApiRuntime,
    listener: &'static str,
    serving: impl Future<Output = Result<(), tonic::transport::Error>> + Send + 'static,
) -> JoinHandle<()> {
    runtime.handle().spawn(async move {
        if let Err(error) = serving.await {
            error!(listener, %error, "the API listener failed");
        }
    })
}

/// Binds the Unix socket at `path`: creates its directory, replaces a stale socket file
/// (one nobody answers on: a killed daemon's), refuses to take a live one over.
fn bind_unix(path: &Path) -> Result<(UnixListener, SocketFile), ApiError> {
    let socket_error = |source| ApiError::Socket {
        path: path.to_owned(),
        source,
    };
    if let Some(directory) = path.parent() {
        std::fs::create_dir_all(directory).map_err(socket_error)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if !metadata.file_type().is_socket() => {
            return Err(ApiError::NotASocket(path.to_owned()));
        }
        Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => return Err(ApiError::SocketInUse(path.to_owned())),
            Err(error) if error.kind() == ErrorKind::ConnectionRefused => {
                info!(socket = %path.display(), "removing a stale API socket nobody listens on");
                std::fs::remove_file(path).map_err(socket_error)?;
            }
            Err(error) => return Err(socket_error(error)),
        },
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(socket_error(error)),
    }
    let listener = UnixListener::bind(path).map_err(socket_error)?;
    let socket_file = SocketFile {
        path: path.to_owned(),
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(socket_error)?;
    Ok((listener, socket_file))
}

/// Binds the TCP listener and prepares its server (TLS or plaintext on loopback) and guard.
async fn bind_tcp(
    settings: &TcpListenerSettings,
    tokens_file: Option<&Path>,
) -> Result<(TcpListener, Server, MutationGuard), ApiError> {
    let server = match &settings.security {
        TcpSecurity::Tls(tls) => Server::builder()
            .tls_config(tls_config(tls)?)
            .map_err(|error| ApiError::Tls(error.to_string()))?,
        TcpSecurity::Plaintext if settings.address.ip().is_loopback() => Server::builder(),
        TcpSecurity::Plaintext => return Err(ApiError::PlaintextOffLoopback(settings.address)),
    };
    let guard = MutationGuard::for_tcp(tokens_file)?;
    let listener = TcpListener::bind(settings.address)
        .await
        .map_err(|source| ApiError::Tcp {
            address: settings.address,
            source,
        })?;
    Ok((listener, server, guard))
}

fn tls_config(tls: &TlsSettings) -> Result<ServerTlsConfig, ApiError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|error| ApiError::Tls(format!("{}: {error}", path.display())))
    };
    let mut config =
        ServerTlsConfig::new().identity(Identity::from_pem(read(&tls.cert)?, read(&tls.key)?));
    if let Some(client_ca) = &tls.client_ca {
        // Optional, so a client with a bearer token instead of a certificate can connect;
        // a certificate that is presented must still chain to this CA.
        config = config
            .client_ca_root(Certificate::from_pem(read(client_ca)?))
            .client_auth_optional(true);
    }
    Ok(config)
}

/// The span of one gRPC request, for tonic's `trace_fn`: named after the method, and a
/// child of the caller's span when its metadata carries a W3C `traceparent`.
pub fn grpc_request(request: &http::Request<()>) -> Span {
    if !tracing_enabled() {
        return Span::none();
    }
    let method = request.uri().path();
    let span = tracing::info_span!(
        "grpc.request",
        otel.name = method,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.method = method,
    );
    let caller = TraceContextPropagator::new().extract(&Headers(request.headers()));
    if caller.span().span_context().is_valid() {
        // Fails only for a span no OpenTelemetry layer records, which has no parent to set.
        let _ = span.set_parent(caller);
    }
    span
}

/// Request metadata as the propagator reads it.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
