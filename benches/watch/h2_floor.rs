//! The floor under WatchState's fan-out: what HTTP/2 alone costs to put one small message on
//! every one of N streams and read it in another process, with no gRPC, no daemon and no
//! per-stream task on either side.
//!
//! ```text
//! cargo bench --bench watch_h2_floor -- --serve SOCKET
//! cargo bench --bench watch_h2_floor -- --socket SOCKET [--counts "1 100 1000 10000"] [--changes 20]
//!     [--server-pid PID]
//! ```
//!
//! The server (`--serve`) accepts HTTP/2 connections on a Unix socket and answers each
//! request with a response body it keeps open. Every 50 ms it stamps the time and writes a
//! gRPC-sized message (5-byte frame header, 100 bytes) carrying the stamp on every open
//! stream: one task per connection walks its streams and the connection is written once,
//! the cheapest arrangement the h2 crate allows. The client opens the streams, 100 to a
//! connection as `latency.rs` does, reads with one task per connection, and prints the
//! latency from stamp to read: the same quantity, on the same machine, as `latency.rs`
//! measures through the daemon. Whatever this prints is below what any HTTP/2 server could
//! deliver here, tonic's included.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast;

#[path = "cpu.rs"]
mod cpu;

/// Streams per connection, as in `latency.rs`.
const STREAMS_PER_CONNECTION: usize = 100;
/// Time between two messages.
const ROUND: Duration = Duration::from_millis(50);
/// A gRPC message of about a `PriorityChange` event's size: frame header and payload.
const MESSAGE_BYTES: usize = 5 + 100;
/// How long the client waits for one message before it gives up.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    // `cargo bench` adds `--bench` to the arguments of a harness-less bench.
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|argument| argument != "--bench")
        .collect();
    let value = |name: &str| {
        arguments
            .iter()
            .position(|argument| argument == name)
            .and_then(|at| arguments.get(at + 1))
            .cloned()
    };
    let runtime = if arguments.iter().any(|a| a == "--current-thread") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime starts")
    };
    if let Some(socket) = value("--serve") {
        let per_stream = arguments.iter().any(|a| a == "--per-stream-tasks");
        runtime.block_on(serve(PathBuf::from(socket), per_stream));
        return;
    }
    let Some(socket) = value("--socket") else {
        eprintln!("watch_h2_floor: --serve SOCKET or --socket SOCKET");
        std::process::exit(64);
    };
    let counts: Vec<usize> = value("--counts")
        .unwrap_or_else(|| "1 100 1000 10000".into())
        .split_whitespace()
        .map(|count| count.parse().expect("--counts: numbers"))
        .collect();
    let changes: usize = value("--changes")
        .map(|changes| changes.parse().expect("--changes: a number"))
        .unwrap_or(20);
    let server = value("--server-pid");
    runtime.block_on(async {
        println!(
            "| streams | deliveries | median | p99 | max | server CPU per delivery | \
             client CPU per delivery |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        for count in counts {
            measure(Path::new(&socket), count, changes, server.as_deref()).await;
        }
    });
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

async fn serve(socket: PathBuf, per_stream: bool) {
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).expect("the socket binds");
    let (rounds, _) = broadcast::channel::<Bytes>(4);
    let ticker = rounds.clone();
    let tick = async move {
        let mut interval = tokio::time::interval(ROUND);
        loop {
            interval.tick().await;
            let mut message = vec![0u8; MESSAGE_BYTES];
            message[5..13].copy_from_slice(&now_nanos().to_le_bytes());
            // No receiver yet is fine: nobody is connected.
            let _ = ticker.send(Bytes::from(message));
        }
    };
    tokio::spawn(tick);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let mut round = rounds.subscribe();
        tokio::spawn(async move {
            let Ok(mut connection) = h2::server::Builder::new()
                .max_concurrent_streams(STREAMS_PER_CONNECTION as u32 * 2)
                .handshake::<_, Bytes>(stream)
                .await
            else {
                return;
            };
            let mut streams = Vec::new();
            loop {
                tokio::select! {
                    accepted = connection.accept() => match accepted {
                        Some(Ok((_request, mut respond))) => {
                            let response = http::Response::new(());
                            if let Ok(mut send) = respond.send_response(response, false) {
                                if per_stream {
                                    let mut round = round.resubscribe();
                                    tokio::spawn(async move {
                                        while let Ok(message) = round.recv().await {
                                            if send.send_data(message, false).is_err() { return; }
                                        }
                                    });
                                } else {
                                    streams.push(send);
                                }
                            }
                        }
                        _ => return,
                    },
                    message = round.recv() => {
                        let Ok(message) = message else { continue };
                        streams.retain_mut(|send| send.send_data(message.clone(), false).is_ok());
                    }
                }
            }
        });
    }
}

/// Opens `count` streams, reads `changes` messages on each and prints the latencies.
async fn measure(socket: &Path, count: usize, changes: usize, server: Option<&str>) {
    let mut readers = Vec::new();
    for first in (0..count).step_by(STREAMS_PER_CONNECTION) {
        let streams = STREAMS_PER_CONNECTION.min(count - first);
        let io = UnixStream::connect(socket)
            .await
            .expect("the server listens");
        let (client, connection) = h2::client::handshake(io).await.expect("HTTP/2 handshake");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut client = client.ready().await.expect("the connection is ready");
        let mut bodies = Vec::with_capacity(streams);
        for _ in 0..streams {
            let request = http::Request::builder()
                .uri("http://floor/watch")
                .body(())
                .expect("a valid request");
            let (response, _) = client.send_request(request, true).expect("a stream opens");
            bodies.push(response);
            client = client.ready().await.expect("the connection is ready");
        }
        let mut open = Vec::with_capacity(streams);
        for response in bodies {
            open.push(response.await.expect("a response").into_body());
        }
        readers.push(tokio::spawn(read_all(open, changes)));
    }
    let server_cpu = || server.and_then(cpu::cpu_nanos);
    let cpu_before = (server_cpu(), cpu::cpu_nanos("self"));
    let mut latencies = Vec::with_capacity(count * changes);
    for reader in readers {
        latencies.extend(
            reader
                .await
                .expect("a reader never panics but on a timeout"),
        );
    }
    let cpu_after = (server_cpu(), cpu::cpu_nanos("self"));
    latencies.sort_unstable();
    let at = |fraction: f64| latencies[((latencies.len() - 1) as f64 * fraction) as usize];
    let millis = |nanos: u64| nanos as f64 / 1e6;
    println!(
        "| {count} | {} | {:.3} ms | {:.3} ms | {:.3} ms | {} | {} |",
        latencies.len(),
        millis(at(0.5)),
        millis(at(0.99)),
        millis(at(1.0)),
        cpu::per_delivery(cpu_before.0, cpu_after.0, latencies.len()),
        cpu::per_delivery(cpu_before.1, cpu_after.1, latencies.len()),
    );
}

/// Reads `changes` whole messages from every body of one connection, in one task; the first
/// message of each is skipped (it may have been stamped before the stream opened).
async fn read_all(bodies: Vec<h2::RecvStream>, changes: usize) -> Vec<u64> {
    let mut latencies = Vec::with_capacity(bodies.len() * changes);
    let mut reads: FuturesUnordered<_> = bodies
        .into_iter()
        .map(|body| read_one(body, changes + 1))
        .collect();
    while let Some(stamps) = reads.next().await {
        latencies.extend(stamps.into_iter().skip(1));
    }
    latencies
}

/// The latencies of `wanted` messages of one body.
async fn read_one(mut body: h2::RecvStream, wanted: usize) -> Vec<u64> {
    let mut latencies = Vec::with_capacity(wanted);
    let mut pending = Vec::new();
    while latencies.len() < wanted {
        let chunk = tokio::time::timeout(READ_TIMEOUT, body.data())
            .await
            .expect("a message within the timeout")
            .expect("the stream stays open")
            .expect("the stream reads");
        let read_at = now_nanos();
        let _ = body.flow_control().release_capacity(chunk.len());
        pending.extend_from_slice(&chunk);
        while pending.len() >= MESSAGE_BYTES {
            let mut stamp = [0u8; 8];
            stamp.copy_from_slice(&pending[5..13]);
            latencies.push(read_at.saturating_sub(u64::from_le_bytes(stamp)));
            pending.drain(..MESSAGE_BYTES);
        }
    }
    latencies
}
