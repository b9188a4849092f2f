//! Talking to the real daemon's API in a namespace lab: connecting over its Unix socket (the
//! file system is shared, so the test process connects from outside the namespace), reading
//! `WatchState` streams with bounded waits, and finding the external clients (grpcurl, Python
//! grpcio, Node grpc-js) the CI installs.
//!
//! Each test binary uses a different part of this module, so unused items are expected.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tonic::Streaming;
use vrrp_sidecar_client::proto::watch_state_response::Kind;
use vrrp_sidecar_client::proto::{self, WatchStateRequest, WatchStateResponse};
use vrrp_sidecar_client::{Client, GrpcClient, Target};

/// Where `scripts/install-test-deps.sh` installs grpcurl and Python's grpcio (one virtual
/// environment).
pub const CI_VENV: &str = "/opt/grpcurl";

/// Where `scripts/install-test-deps.sh` installs Node's @grpc/grpc-js and @grpc/proto-loader.
pub const CI_NODE_MODULES: &str = "/opt/grpc-node/node_modules";

/// A multi-threaded runtime for a test's client side.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building a runtime only fails when out of resources")
}

/// Connects to the daemon serving `socket`, retrying while it starts (up to 5 s).
pub async fn connect(socket: &Path) -> GrpcClient {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Client::connect(Target::UnixSocket(socket.to_owned())).await {
            Ok(client) => {
                let mut grpc = client.grpc();
                if grpc
                    .list_instances(proto::ListInstancesRequest {})
                    .await
                    .is_ok()
                {
                    return grpc;
                }
            }
            Err(error) if Instant::now() > deadline => {
                panic!("no API on {}: {error}", socket.display())
            }
            Err(_) => {}
        }
        assert!(
            Instant::now() < deadline,
            "the API on {} never answered",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client on its own connection whose HTTP/2 stream window is the protocol's default
/// (64 KiB) instead of the megabytes tonic asks for, so a watcher it never reads fills up
/// soon. The connection window stays large: h2 budgets a client's buffered small DATA frames
/// at half of it, and a stalled stream of small messages would otherwise exhaust that budget
/// and have the client close the connection (ENHANCE_YOUR_CALM) before the daemon lags it.
pub async fn connect_with_small_windows(
    socket: &Path,
) -> proto::sidecar_client::SidecarClient<tonic::transport::Channel> {
    const STREAM_WINDOW: u32 = 65_535;
    const CONNECTION_WINDOW: u32 = 8 << 20;
    let endpoint = tonic::transport::Endpoint::from_static("http://localhost")
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW);
    proto::sidecar_client::SidecarClient::new(channel(endpoint, socket).await)
}

/// A plain channel to the API socket, for services the SDK does not wrap (gRPC health).
pub async fn unix_channel(socket: &Path) -> tonic::transport::Channel {
    channel(
        tonic::transport::Endpoint::from_static("http://localhost"),
        socket,
    )
    .await
}

async fn channel(endpoint: tonic::transport::Endpoint, socket: &Path) -> tonic::transport::Channel {
    let socket = socket.to_owned();
    endpoint
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .expect("connecting to the API socket")
}

/// Opens a `WatchState` stream.
pub async fn watch(
    client: &GrpcClient,
    request: WatchStateRequest,
) -> Streaming<WatchStateResponse> {
    client
        .clone()
        .watch_state(request)
        .await
        .unwrap_or_else(|status| panic!("WatchState refused: {status:?}"))
        .into_inner()
}

/// The next message, within `timeout`.
pub async fn next(
    stream: &mut Streaming<WatchStateResponse>,
    timeout: Duration,
) -> WatchStateResponse {
    match tokio::time::timeout(timeout, stream.message()).await {
        Ok(Ok(Some(message))) => message,
        Ok(Ok(None)) => panic!("the stream ended"),
        Ok(Err(status)) => panic!("the stream failed: {status:?}"),
        Err(_) => panic!("nothing on the stream within {timeout:?}"),
    }
}

/// Messages up to and including the first that `done` accepts, within `timeout` in all.
pub async fn read_until(
    stream: &mut Streaming<WatchStateResponse>,
    timeout: Duration,
    mut done: impl FnMut(&WatchStateResponse) -> bool,
) -> Vec<WatchStateResponse> {
    let deadline = Instant::now() + timeout;
    let mut read = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "not seen within {timeout:?}; read {read:#?}"
        );
        let message = next(stream, left).await;
        let finished = done(&message);
        read.push(message);
        if finished {
            return read;
        }
    }
}

/// Whether `message` is `SnapshotComplete`.
pub fn is_snapshot_complete(message: &WatchStateResponse) -> bool {
    matches!(message.kind, Some(Kind::SnapshotComplete(_)))
}

/// The transition `message` carries, if any.
pub fn transition(message: &WatchStateResponse) -> Option<&proto::Transition> {
    match &message.kind {
        Some(Kind::Transition(transition)) => Some(transition),
        _ => None,
    }
}

/// A watch of the instance `name` with a 1 s heartbeat.
pub fn watch_request(name: &str) -> WatchStateRequest {
    WatchStateRequest {
        instance_names: vec![name.to_owned()],
        heartbeat_interval: Some(prost_types::Duration {
            seconds: 1,
            nanos: 0,
        }),
        ..WatchStateRequest::default()
    }
}

/// An external tool the test needs, found at `path` or on `PATH` as `name`; the test fails
/// without it, naming the script that installs it (tests that need one are `#[ignore]`d).
pub fn require_tool(test: &str, name: &str, path: &Path) -> PathBuf {
    if path.exists() {
        return path.to_owned();
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|directory| directory.join(name))
            .find(|candidate| candidate.exists())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "{test} needs {name} ({}): scripts/install-test-deps.sh installs it",
            path.display()
        )
    })
}

/// The CI venv's Python, which can import grpc and grpc_tools; the test fails without it.
pub fn require_python_grpc(test: &str) -> PathBuf {
    let python = PathBuf::from(CI_VENV).join("bin/python3");
    let importable = std::process::Command::new(&python)
        .args(["-c", "import grpc, grpc_tools"])
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        importable,
        "{test} needs Python with grpcio and grpcio-tools in {CI_VENV}: \
         scripts/install-test-deps.sh installs them"
    );
    python
}

/// `node` and the node_modules that hold @grpc/grpc-js and @grpc/proto-loader; the test fails
/// without them.
pub fn require_node_grpc(test: &str) -> (PathBuf, PathBuf) {
    let node_modules = PathBuf::from(CI_NODE_MODULES);
    let node = require_tool(test, "node", Path::new("/usr/bin/node"));
    let loadable = std::process::Command::new(&node)
        .args([
            "-e",
            "require('@grpc/grpc-js'); require('@grpc/proto-loader')",
        ])
        .env("NODE_PATH", &node_modules)
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        loadable,
        "{test} needs @grpc/grpc-js and @grpc/proto-loader in {CI_NODE_MODULES}: \
         scripts/install-test-deps.sh installs them"
    );
    (node, node_modules)
}
