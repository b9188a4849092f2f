//! Signals become router commands: SIGTERM and SIGINT stop the daemon (gracefully the first
//! time, at once the second), SIGHUP rereads the configuration, SIGUSR1 and SIGUSR2 write
//! keepalived's data and statistics dumps (see [`super::dump`]).
//!
//! Reading the file and looking up its interfaces happen here, off the router, so a reload
//! never holds up a VRRP timer; the router only gets a configuration that is valid in full.
//! A service manager hears `RELOADING=1` when SIGHUP arrives and `READY=1` once the router
//! applied the configuration, or at once when it was refused (the running one stays).

use std::io;
use std::path::PathBuf;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::ConfigSource;
use crate::net::Netlink;

use super::dump::Dump;
use super::systemd::Notifier;
use crate::router::control::ReloadOutcome;
use crate::router::{ReloadError, RouterCommand, prepare_reload};

/// Installs the handlers, then spawns the task that turns signals into commands. Installing
/// first means a signal that arrives once this returns is never lost to the default action.
/// The dumps go into `dump_directory`.
pub fn spawn(
    source: ConfigSource,
    netlink: Netlink,
    commands: mpsc::Sender<RouterCommand>,
    notifier: Notifier,
    dump_directory: PathBuf,
) -> io::Result<JoinHandle<()>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut user1 = signal(SignalKind::user_defined1())?;
    let mut user2 = signal(SignalKind::user_defined2())?;
    Ok(tokio::spawn(async move {
        let mut stop_requests = 0;
        loop {
            let command = tokio::select! {
                Some(()) = terminate.recv() => stop(&mut stop_requests, "SIGTERM"),
                Some(()) = interrupt.recv() => stop(&mut stop_requests, "SIGINT"),
                Some(()) = user1.recv() => dump(Dump::Data, &dump_directory),
                Some(()) = user2.recv() => dump(Dump::Stats, &dump_directory),
                Some(()) = hangup.recv() => {
                    info!("SIGHUP: rereading the configuration");
                    notifier.reloading("rereading the configuration");
                    match prepare_reload(&source, &netlink).await {
                        Ok((reload, _logged_warnings)) => {
                            let (reply, outcome) = oneshot::channel();
                            tokio::spawn(report_reload(notifier.clone(), outcome));
                            RouterCommand::Reload { reload: Box::new(reload), reply: Some(reply) }
                        }
                        Err(error) => {
                            log_refused_reload(&error);
                            let status = format!("reload refused, configuration kept: {error}");
                            notifier.ready(&status);
                            continue;
                        }
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

/// Tells the service manager the reload is over once the router applied it. No answer means
/// the router refused it because it is stopping, and then `STOPPING=1` is what counts.
async fn report_reload(notifier: Notifier, outcome: oneshot::Receiver<ReloadOutcome>) {
    if let Ok(outcome) = outcome.await {
        notifier.ready(&format!(
            "reloaded: {} added, {} removed, {} changed",
            outcome.added.len(),
            outcome.removed.len(),
            outcome.changed.len()
        ));
    }
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

/// Asks the router for every instance's status and writes `kind` from it on a task of its
/// own, so a slow disk holds up neither the router nor the next signal.
fn dump(kind: Dump, directory: &std::path::Path) -> RouterCommand {
    let (reply, statuses) = oneshot::channel::<Vec<_>>();
    let directory = directory.to_owned();
    tokio::spawn(async move {
        // No answer: the router is stopping, and the dump would be of nothing.
        let Ok(statuses) = statuses.await else {
            return;
        };
        match kind.write(&directory, &statuses).await {
            Ok(path) => info!(path = %path.display(), instances = statuses.len(), "dump written"),
            Err(error) => error!(
                directory = %directory.display(),
                %error,
                "cannot write the {} dump",
                kind.file_name()
            ),
        }
    });
    RouterCommand::Statuses { reply }
}

fn log_refused_reload(error: &ReloadError) {
    if let ReloadError::Invalid(problems) = error {
        for problem in problems.problems() {
            error!(%problem, "configuration problem");
        }
    }
    error!(%error, "configuration not reloaded; the running one stays");
}
