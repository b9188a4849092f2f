//! TCP, HTTP and gRPC health checks against real servers on 127.0.0.1. Nothing leaves
//! loopback: the TCP timeout comes from a listener whose accept queue is full, which makes
//! the kernel drop further SYNs.

use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic_health::ServingStatus;
use vrrp_sidecar::health::runner::Probe;
use vrrp_sidecar::health::{
    CheckSpec, DEFAULT_HTTP_STATUSES, HealthError, HttpSpec, ProbeSpec, RunResult,
};

/// Upper bound for any single wait in these tests.
const WAIT: Duration = Duration::from_secs(5);

/// The timeout of checks that are expected to time out: short, so the suite stays fast.
const SHORT: Duration = Duration::from_millis(300);

fn check(probe: ProbeSpec, timeout: Duration) -> CheckSpec {
    CheckSpec {
        name: "network".to_owned(),
        probe,
        interval: WAIT,
        timeout,
        rise: 1,
        fall: 1,
        weight: 0,
        init_fail: false,
    }
}

async fn run_once(probe: ProbeSpec, timeout: Duration) -> RunResult {
    let spec = check(probe, timeout);
    let probe = Probe::new(&spec).expect("the probe sets up");
    tokio::time::timeout(WAIT, probe.run(timeout))
        .await
        .expect("the run ends within its own timeout")
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address")
}

#[tokio::test]
async fn tcp_connect_to_a_listener_passes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let result = run_once(ProbeSpec::Tcp { address }, WAIT).await;
    assert!(result.passed, "{result:?}");
}

#[tokio::test]
async fn tcp_connect_to_a_closed_port_fails() {
    let result = run_once(
        ProbeSpec::Tcp {
            address: closed_port(),
        },
        WAIT,
    )
    .await;
    assert!(!result.passed);
    assert!(result.summary.contains("connecting"), "{result:?}");
}

#[tokio::test]
async fn tcp_connect_that_gets_no_answer_times_out() {
    // Backlog 0 holds one connection; with the queue full, Linux drops SYNs silently.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("literal address");
    socket.bind(&loopback.into()).expect("bind");
    socket.listen(0).expect("listen");
    let address = socket
        .local_addr()
        .expect("local address")
        .as_socket()
        .expect("an IP socket");
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match StdTcpStream::connect_timeout(&address, Duration::from_millis(100)) {
            Ok(stream) => fillers.push(stream),
            Err(_) => break,
        }
    }
    let result = run_once(ProbeSpec::Tcp { address }, SHORT).await;
    assert!(!result.passed);
    assert!(result.summary.contains("timed out"), "{result:?}");
    assert!(result.duration >= SHORT);
    drop(socket);
}

/// A tiny HTTP server: answers by path, and never answers `/hang`.
async fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream));
        }
    });
    address
}

async fn answer(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let response: &[u8] = match path {
        "/healthy" => b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nstatus: all good",
        "/broken" => b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 13\r\n\r\ndatabase down",
        "/created" => b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        // "all good" split across two chunks: found only if the body is de-chunked.
        "/chunked" => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nall \r\n4\r\ngood\r\n0\r\n\r\n"
        }
        "/hang" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    };
    // The client may have given up already; that is its business.
    let _ = stream.write_all(response).await;
}

fn http(address: SocketAddr, path: &str) -> HttpSpec {
    HttpSpec {
        url: format!("http://{address}{path}"),
        expected_statuses: vec![DEFAULT_HTTP_STATUSES],
        body_contains: None,
    }
}

#[tokio::test]
async fn http_200_passes_and_500_fails() {
    let server = http_server().await;
    let ok = run_once(ProbeSpec::Http(http(server, "/healthy")), WAIT).await;
    assert!(ok.passed, "{ok:?}");
    assert_eq!(ok.summary, "HTTP 200 OK");
    assert_eq!(ok.output, "status: all good");

    let broken = run_once(ProbeSpec::Http(http(server, "/broken")), WAIT).await;
    assert!(!broken.passed);
    assert!(broken.summary.contains("500"), "{broken:?}");
    assert_eq!(broken.output, "database down");
}

#[tokio::test]
async fn http_expected_statuses_decide() {
    let server = http_server().await;
    let created = run_once(ProbeSpec::Http(http(server, "/created")), WAIT).await;
    assert!(created.passed, "201 is within the default 2xx: {created:?}");

    let only_200 = HttpSpec {
        expected_statuses: vec![200..=200],
        ..http(server, "/created")
    };
    assert!(!run_once(ProbeSpec::Http(only_200), WAIT).await.passed);

    let accepts_500 = HttpSpec {
        expected_statuses: vec![200..=299, 500..=500],
        ..http(server, "/broken")
    };
    assert!(run_once(ProbeSpec::Http(accepts_500), WAIT).await.passed);
}

#[tokio::test]
async fn http_body_must_contain_the_substring() {
    let server = http_server().await;
    let present = HttpSpec {
        body_contains: Some("all good".to_owned()),
        ..http(server, "/healthy")
    };
    assert!(run_once(ProbeSpec::Http(present), WAIT).await.passed);

    let absent = HttpSpec {
        body_contains: Some("degraded".to_owned()),
        ..http(server, "/healthy")
    };
    let result = run_once(ProbeSpec::Http(absent), WAIT).await;
    assert!(!result.passed);
    assert!(result.summary.contains("lacks"), "{result:?}");

    let across_chunks = HttpSpec {
        body_contains: Some("all good".to_owned()),
        ..http(server, "/chunked")
    };
    let result = run_once(ProbeSpec::Http(across_chunks), WAIT).await;
    assert!(result.passed, "{result:?}");
}

#[tokio::test]
async fn http_server_that_never_answers_times_out() {
    let server = http_server().await;
    let result = run_once(ProbeSpec::Http(http(server, "/hang")), SHORT).await;
    assert!(!result.passed);
    assert!(result.summary.contains("timed out"), "{result:?}");
}

#[tokio::test]
async fn http_closed_port_fails() {
    let result = run_once(ProbeSpec::Http(http(closed_port(), "/")), WAIT).await;
    assert!(!result.passed);
    assert!(result.summary.contains("connecting"), "{result:?}");
}

#[test]
fn https_is_refused_when_the_check_is_set_up() {
    let spec = check(
        ProbeSpec::Http(HttpSpec {
            url: "https://127.0.0.1/".to_owned(),
            expected_statuses: Vec::new(),
            body_contains: None,
        }),
        WAIT,
    );
    assert!(matches!(
        Probe::new(&spec),
        Err(HealthError::UnsupportedUrl { .. })
    ));
}

/// A grpc.health.v1 server: `database` serving, `cache` not serving.
async fn grpc_health_server() -> SocketAddr {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("database", ServingStatus::Serving)
        .await;
    reporter
        .set_service_status("cache", ServingStatus::NotServing)
        .await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming),
    );
    address
}

fn grpc(address: SocketAddr, service: &str) -> ProbeSpec {
    ProbeSpec::Grpc {
        address,
        service: Some(service.to_owned()),
    }
}

#[tokio::test]
async fn grpc_serving_passes() {
    let server = grpc_health_server().await;
    let result = run_once(grpc(server, "database"), WAIT).await;
    assert!(result.passed, "{result:?}");
    assert_eq!(result.summary, "SERVING");
    let whole_server = ProbeSpec::Grpc {
        address: server,
        service: None,
    };
    assert!(run_once(whole_server, WAIT).await.passed);
}

#[tokio::test]
async fn grpc_not_serving_fails() {
    let server = grpc_health_server().await;
    let result = run_once(grpc(server, "cache"), WAIT).await;
    assert!(!result.passed);
    assert_eq!(result.summary, "NOT_SERVING");
}

#[tokio::test]
async fn grpc_unknown_service_fails() {
    let server = grpc_health_server().await;
    let result = run_once(grpc(server, "no-such-service"), WAIT).await;
    assert!(!result.passed);
    assert!(
        result.summary.to_lowercase().contains("not found"),
        "{result:?}"
    );
}

#[tokio::test]
async fn grpc_without_a_server_fails_within_the_timeout() {
    let result = run_once(grpc(closed_port(), "database"), SHORT).await;
    assert!(!result.passed, "{result:?}");
    assert!(result.duration < WAIT);
}
