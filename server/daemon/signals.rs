//! Signals become router commands: SIGTERM and SIGINT stop the daemon (gracefully the first
//! time, at once the second), SIGHUP rereads the configuration.
//!
//! Reading the file and looking up its interfaces happen here, off the router, so a reload
//! never holds up a VRRP timer; the router only gets a configuration that is valid in full.

use std::io;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::ConfigSource;
use crate::net::Netlink;

use super::lookup_interfaces;
use super::router::{Reload, RouterCommand};

/// Installs the handlers, then spawns the task that turns signals into commands. Installing
/// first means a signal that arrives once this returns is never lost to the default action.
pub fn spawn(
    source: ConfigSource,
    netlink: Netlink,
    commands: mpsc::Sender<RouterCommand>,
) -> io::Result<JoinHandle<()>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        let mut stop_requests = 0;
        loop {
            let command = tokio::select! {
                Some(()) = terminate.recv() => stop(&mut stop_requests, "SIGTERM"),
                Some(()) = interrupt.recv() => stop(&mut stop_requests, "SIGINT"),
                Some(()) = hangup.recv() => {
                    info!("SIGHUP: rereading the configuration");
                    match prepare_reload(&source, &netlink).await {
                        Some(reload) => RouterCommand::Reload(Box::new(reload)),
                        None => continue,
                    }
                }
                else => return,
            };
            // The router is gone only once the daemon is exiting.
            if commands.send(command).await.is_err() {
                return;
            }
        }
    }))
}

fn stop(stop_requests: &mut u32, signal: &str) -> RouterCommand {
    *stop_requests += 1;
    let graceful = *stop_requests == 1;
    if graceful {
        info!(
            signal,
            "stopping: masters hand over first; send it again to stop at once"
        );
    } else {
        warn!(signal, "stopping at once");
    }
    RouterCommand::Shutdown { graceful }
}

/// The configuration `source` now holds and its interfaces, or `None` (with every problem
/// logged) when it cannot be applied as a whole; then nothing changes.
async fn prepare_reload(source: &ConfigSource, netlink: &Netlink) -> Option<Reload> {
    let reread = source.clone();
    let loaded = tokio::task::spawn_blocking(move || reread.load()).await;
    let config = match loaded {
        Ok(Ok((config, warnings))) => {
            for warning in &warnings {
                warn!(%warning, "configuration warning");
            }
            config
        }
        Ok(Err(problems)) => {
            for problem in problems.problems() {
                error!(%problem, "configuration problem");
            }
            error!(
                problems = problems.problems().len(),
                "configuration not reloaded; the running one stays"
            );
            return None;
        }
        Err(error) => {
            error!(%error, "configuration not reloaded: the reader failed");
            return None;
        }
    };
    match lookup_interfaces(netlink, &config).await {
        Ok(interfaces) => Some(Reload { config, interfaces }),
        Err(error) => {
            error!(%error, "configuration not reloaded; the running one stays");
            None
        }
    }
}
