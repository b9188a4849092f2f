//! A small web app that reports its own readiness to the vrrp-sidecar daemon, so its host
//! gives up the VIP while the app cannot serve.
//!
//! It registers a pushed health check with weight -60 on the instance, serves plain HTTP on
//! the address given, and is "ready" once its warm-up is over and until someone GETs
//! `/drain` (GET `/ready` undoes it). The [`HealthReporter`] polls the flag before each
//! report; if the app dies, the report stream closes and the daemon fails the check at once.
//!
//! `cargo run -p vrrp-sidecar-client --example ready_web_app -- vi_web 192.0.2.10:8080 [SOCKET]`

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vrrp_sidecar_client::{
    Client, DEFAULT_SOCKET_PATH, Health, HealthReporter, HealthReporterOptions, Target,
};

/// How long the app warms up (loads caches, connects to its database) before it is ready.
const WARM_UP: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let usage = "usage: ready_web_app INSTANCE LISTEN_ADDRESS [SOCKET]";
    let instance = arguments.next().ok_or(usage)?;
    let listen = arguments.next().ok_or(usage)?;
    let socket = arguments
        .next()
        .unwrap_or_else(|| DEFAULT_SOCKET_PATH.to_owned());

    let client = Client::connect(Target::UnixSocket(PathBuf::from(socket))).await?;
    let ready = Arc::new(AtomicBool::new(false));
    let flag = ready.clone();
    // A 900 ms lease renewed every 300 ms: a hung app loses the VIP within about a second.
    let options = HealthReporterOptions::new("web-ready", &instance, -60)
        .lease(Duration::from_millis(900), Duration::from_millis(300));
    let reporter = HealthReporter::from_fn(&client, options, move || {
        if flag.load(Ordering::Relaxed) {
            Health::passing("serving")
        } else {
            Health::failing("not ready")
        }
    })
    .await?;

    let listener = TcpListener::bind(&listen).await?;
    println!("{instance}: serving on {listen}, ready in {WARM_UP:?}");
    let warming = ready.clone();
    tokio::spawn(async move {
        tokio::time::sleep(WARM_UP).await;
        warming.store(true, Ordering::Relaxed);
    });

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (connection, _) = accepted?;
                tokio::spawn(serve(connection, ready.clone()));
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    // A clean stop removes the check; a crash leaves it failing until the app is back.
    reporter.unregister().await?;
    Ok(())
}

/// Answers one HTTP/1.0-style request: `/drain` and `/ready` flip readiness, anything else
/// says hello (or 503 while not ready).
async fn serve(mut connection: tokio::net::TcpStream, ready: Arc<AtomicBool>) {
    let mut request = [0_u8; 1024];
    let Ok(read) = connection.read(&mut request).await else {
        return;
    };
    let line = String::from_utf8_lossy(&request[..read]);
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = match path {
        "/drain" => {
            ready.store(false, Ordering::Relaxed);
            ("200 OK", "draining: the VIP moves away\n")
        }
        "/ready" => {
            ready.store(true, Ordering::Relaxed);
            ("200 OK", "ready again\n")
        }
        _ if ready.load(Ordering::Relaxed) => ("200 OK", "hello from the master\n"),
        _ => ("503 Service Unavailable", "not ready\n"),
    };
    let response = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = connection.write_all(response.as_bytes()).await;
}
