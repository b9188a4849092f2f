//! Runs a job only while this host's instance is master, and stops it as soon as it is not,
//! or as soon as the SDK can no longer vouch for it.
//!
//! `cargo run -p vrrp-sidecar-client --example run_while_master -- vi_web [SOCKET]`

use std::path::PathBuf;
use std::time::Duration;

use vrrp_sidecar_client::{Client, DEFAULT_SOCKET_PATH, Target};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let instance = arguments
        .next()
        .ok_or("usage: run_while_master INSTANCE [SOCKET]")?;
    let socket = arguments
        .next()
        .unwrap_or_else(|| DEFAULT_SOCKET_PATH.to_owned());

    let client = Client::connect(Target::UnixSocket(PathBuf::from(socket))).await?;
    // After 3 s without word from the daemon the job stops: about how long a backup waits
    // (Master_Down_Interval at 1 s adverts) before taking over.
    let mut role = client.is_master(&instance);

    let mut job: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        let state = *role.borrow_and_update();
        match (state.is_master(), &job) {
            (true, None) => {
                println!("{instance}: master, starting the job");
                job = Some(tokio::spawn(the_job()));
            }
            (false, Some(running)) => {
                println!("{instance}: {state:?}, stopping the job");
                running.abort();
                job = None;
            }
            _ => {}
        }
        if role.changed().await.is_err() {
            return Ok(());
        }
    }
}

/// Stands for the work only the master may do (a cron job, a queue consumer, a leader task).
async fn the_job() {
    let mut ticks = tokio::time::interval(Duration::from_secs(5));
    loop {
        ticks.tick().await;
        println!("working as master");
    }
}
