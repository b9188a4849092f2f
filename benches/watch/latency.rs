//! WatchState delivery latency, from the router's transition to the subscriber's read, with
//! 1, 100, 1,000 and 10,000 subscribers on the daemon's Unix socket. The subscribers live in
//! this process, the daemon in its own (started by `benches/watch/run.sh`), so the figures
//! include the socket and both HTTP/2 stacks.
//!
//! ```text
//! cargo bench --bench watch_latency -- --socket PATH --daemon-pid PID [--instance NAME]
//!     [--counts "1 100 1000 10000"] [--changes 20]
//! cargo bench --bench watch_latency -- --socket PATH --churn SECONDS [--stalled]
//! ```
//!
//! Each change is a `SetPriority` that alternates the instance's priority between 151 and 150;
//! its `PriorityChange` event carries the router's timestamp, and the latency of one delivery
//! is the subscriber's clock at the read minus that timestamp (same host, same clock). The
//! changes are spaced out so each is measured on its own, not queued behind the previous one.
//!
//! `--churn` makes a change every 5 ms for SECONDS, optionally with one subscriber that never
//! reads (`--stalled`, on a connection with the protocol's small default stream window so it
//! fills in seconds): `run.sh` captures the daemon's adverts meanwhile to show their timing
//! does not depend on a stalled client.

#[path = "../../tests/api_lab/mod.rs"]
mod api_lab;
#[path = "cpu.rs"]
mod cpu;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use vrrp_sidecar_client::GrpcClient;
use vrrp_sidecar_client::proto::watch_state_response::Kind;
use vrrp_sidecar_client::proto::{SetPriorityRequest, WatchStateRequest};

use api_lab::{
    connect, connect_with_small_windows, is_snapshot_complete, next, read_until, runtime, watch,
};

/// hyper's default limit of concurrent streams per HTTP/2 connection is 200; stay well below.
const STREAMS_PER_CONNECTION: usize = 100;
/// How long one subscriber may take to get its snapshot, or one change to arrive.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

struct Options {
    socket: PathBuf,
    daemon_pid: Option<u32>,
    instance: String,
    counts: Vec<usize>,
    changes: usize,
    churn: Option<Duration>,
    stalled: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        socket: PathBuf::new(),
        daemon_pid: None,
        instance: "vi".into(),
        counts: vec![1, 100, 1_000, 10_000],
        changes: 20,
        churn: None,
        stalled: false,
    };
    // `cargo bench` adds `--bench` to the arguments of a harness-less bench.
    let mut arguments = std::env::args()
        .skip(1)
        .filter(|argument| argument != "--bench");
    while let Some(argument) = arguments.next() {
        let mut value = || {
            arguments
                .next()
                .ok_or_else(|| format!("{argument} needs a value"))
        };
        match argument.as_str() {
            "--socket" => options.socket = value()?.into(),
            "--daemon-pid" => {
                options.daemon_pid = Some(value()?.parse().map_err(|_| "--daemon-pid: a PID")?)
            }
            "--instance" => options.instance = value()?,
            "--counts" => {
                options.counts = value()?
                    .split_whitespace()
                    .map(|count| count.parse().map_err(|_| format!("--counts: {count}")))
                    .collect::<Result<_, _>>()?
            }
            "--changes" => options.changes = value()?.parse().map_err(|_| "--changes: a count")?,
            "--churn" => {
                let seconds: u64 = value()?.parse().map_err(|_| "--churn: whole seconds")?;
                options.churn = Some(Duration::from_secs(seconds));
            }
            "--stalled" => options.stalled = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.socket.as_os_str().is_empty() {
        return Err("--socket PATH is required".into());
    }
    Ok(options)
}

fn main() {
    let options = parse_options().unwrap_or_else(|message| {
        eprintln!("watch_latency: {message}");
        std::process::exit(64);
    });
    runtime().block_on(async {
        match options.churn {
            Some(duration) => churn(&options, duration).await,
            None => {
                println!(
                    "| subscribers | deliveries | median | p99 | max | daemon RSS | \
                     daemon CPU per delivery | subscribers' CPU per delivery |"
                );
                println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
                for &count in &options.counts {
                    measure(&options, count).await;
                }
            }
        }
    });
}

fn watch_request(instance: &str) -> WatchStateRequest {
    WatchStateRequest {
        instance_names: vec![instance.to_owned()],
        ..WatchStateRequest::default()
    }
}

async fn set_priority(control: &GrpcClient, instance: &str, priority: u32) {
    control
        .clone()
        .set_priority(SetPriorityRequest {
            instance_name: instance.to_owned(),
            priority,
        })
        .await
        .unwrap_or_else(|status| panic!("SetPriority refused: {status:?}"));
}

/// Opens `count` subscribers, makes `options.changes` changes and prints the latencies.
async fn measure(options: &Options, count: usize) {
    let control = connect(&options.socket).await;
    let mut connections = Vec::new();
    for _ in 0..count.div_ceil(STREAMS_PER_CONNECTION) {
        connections.push(connect(&options.socket).await);
    }
    let mut readers = Vec::with_capacity(connections.len());
    for (connection, client) in connections.iter().enumerate() {
        let streams = STREAMS_PER_CONNECTION.min(count - connection * STREAMS_PER_CONNECTION);
        let mut opened = Vec::with_capacity(streams);
        for _ in 0..streams {
            let mut stream = watch(client, watch_request(&options.instance)).await;
            read_until(&mut stream, READ_TIMEOUT, is_snapshot_complete).await;
            opened.push(read_changes(stream, options.changes));
        }
        // One task per connection reads all its streams, as the floor's client does.
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut reads: FuturesUnordered<_> = opened.into_iter().collect();
            while let Some(stream_latencies) = reads.next().await {
                latencies.extend(stream_latencies);
            }
            latencies
        }));
    }
    let rss = options.daemon_pid.map(resident_set).unwrap_or_default();
    // Enough time between changes for every subscriber to read the previous one.
    let spacing = Duration::from_millis(50).max(Duration::from_micros(20 * count as u64));
    let daemon = options.daemon_pid.map(|pid| pid.to_string());
    let daemon_cpu = || daemon.as_deref().and_then(cpu::cpu_nanos);
    let cpu_before = (daemon_cpu(), cpu::cpu_nanos("self"));
    for change in 0..options.changes {
        set_priority(&control, &options.instance, 151 - (change % 2) as u32).await;
        tokio::time::sleep(spacing).await;
    }
    let mut latencies = Vec::with_capacity(count * options.changes);
    for reader in readers {
        latencies.extend(
            reader
                .await
                .expect("a reader never panics but on a timeout"),
        );
    }
    let cpu_after = (daemon_cpu(), cpu::cpu_nanos("self"));
    latencies.sort();
    let at = |fraction: f64| latencies[((latencies.len() - 1) as f64 * fraction) as usize];
    println!(
        "| {count} | {} | {:.3} ms | {:.3} ms | {:.3} ms | {} | {} | {} |",
        latencies.len(),
        millis(at(0.5)),
        millis(at(0.99)),
        millis(at(1.0)),
        rss,
        cpu::per_delivery(cpu_before.0, cpu_after.0, latencies.len()),
        cpu::per_delivery(cpu_before.1, cpu_after.1, latencies.len()),
    );
    set_priority(&control, &options.instance, 150).await;
}

/// The latencies of the next `changes` `PriorityChange` events of `stream`.
async fn read_changes(
    mut stream: tonic::Streaming<vrrp_sidecar_client::proto::WatchStateResponse>,
    changes: usize,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(changes);
    while latencies.len() < changes {
        let message = next(&mut stream, READ_TIMEOUT).await;
        let read_at = SystemTime::now();
        if let Some(Kind::PriorityChange(_)) = message.kind {
            let sent: SystemTime = message
                .timestamp
                .expect("every event carries its timestamp")
                .try_into()
                .expect("the daemon's timestamps are valid");
            latencies.push(read_at.duration_since(sent).unwrap_or_default());
        }
    }
    latencies
}

/// Changes the priority every 5 ms for `duration`, with one subscriber that never reads
/// when `options.stalled`; prints how many changes were made and whether it was reset.
async fn churn(options: &Options, duration: Duration) {
    let control = connect(&options.socket).await;
    let stalled = if options.stalled {
        let client = connect_with_small_windows(&options.socket).await;
        let mut stream = client
            .clone()
            .watch_state(watch_request(&options.instance))
            .await
            .unwrap_or_else(|status| panic!("WatchState refused: {status:?}"))
            .into_inner();
        read_until(&mut stream, READ_TIMEOUT, is_snapshot_complete).await;
        Some((client, stream))
    } else {
        None
    };
    let started = Instant::now();
    let mut changes = 0u64;
    while started.elapsed() < duration {
        set_priority(&control, &options.instance, 151 - (changes % 2) as u32).await;
        changes += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    set_priority(&control, &options.instance, 150).await;
    let reset = match stalled {
        Some((_client, stream)) => drain_until_reset(stream).await,
        None => "no stalled subscriber".to_owned(),
    };
    println!("churn: {changes} changes in {duration:?}; stalled subscriber: {reset}");
}

/// Reads what the stalled subscriber was sent, until its `Reset` or until nothing more comes
/// for a second (it was sent every change: the churn was too short to make it lag).
async fn drain_until_reset(
    mut stream: tonic::Streaming<vrrp_sidecar_client::proto::WatchStateResponse>,
) -> String {
    let mut read = 0u64;
    loop {
        match tokio::time::timeout(Duration::from_secs(1), stream.message()).await {
            Ok(Ok(Some(message))) => {
                read += 1;
                if let Some(Kind::Reset(_)) = message.kind {
                    return format!("reset after {read} messages");
                }
            }
            Ok(Ok(None)) => return format!("stream ended after {read} messages, no reset"),
            Ok(Err(status)) => return format!("stream failed after {read} messages: {status}"),
            Err(_) => return format!("not reset: read all {read} messages"),
        }
    }
}

/// The daemon's resident set size as /proc says, or "?".
fn resident_set(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .map(|value| value.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
