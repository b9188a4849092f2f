//! The task that owns every process check of the daemon: one process events socket, one
//! [`ProcessTable`], one timer. Checks are added and removed by message; each gets a
//! [`CheckReport`] whenever its count or verdict changes, on the channel the router reads
//! every check's reports from.
//!
//! The socket is opened when the first process check is added. When it cannot be (see
//! [`ConnectorError::advice`]), each process check is named in a warning and counts no
//! process, so it fails: keepalived 2.2.7 does the same ("Failed to set/clear process event
//! listen", then "quorum not achieved"), and a check that cannot see its process must not
//! pass.

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::ProcessMatch;
use crate::net::proc_events::{ConnectorError, ProcEvent, ProcEventSocket, Received};

use super::outcome::{CheckTransition, RunResult, Verdict};
use super::process::{ProcessInfo, ProcessTable, TrackerStatus};
use super::runner::{CheckReport, record_run};

/// The most bytes of a command line read: enough for the program and the arguments a check
/// compares, bounded so a huge command line costs nothing.
const CMDLINE_LIMIT: u64 = 4096;

enum Command {
    Track {
        id: u64,
        name: String,
        weight: i16,
        tracked: ProcessMatch,
        reports: mpsc::Sender<CheckReport>,
    },
    Untrack {
        id: u64,
    },
}

/// The running monitor; dropping it stops the task and closes the socket.
#[derive(Debug)]
pub struct ProcessMonitor {
    commands: mpsc::UnboundedSender<Command>,
    next_id: u64,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Track { id, name, .. } => write!(formatter, "Track({id}, {name})"),
            Command::Untrack { id } => write!(formatter, "Untrack({id})"),
        }
    }
}

impl Drop for ProcessMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One process check followed by the monitor; dropping it stops following it.
#[derive(Debug)]
pub struct ProcessTrack {
    id: u64,
    commands: mpsc::UnboundedSender<Command>,
}

impl Drop for ProcessTrack {
    fn drop(&mut self) {
        // The monitor gone means nothing is followed any more.
        let _ = self.commands.send(Command::Untrack { id: self.id });
    }
}

impl ProcessMonitor {
    /// Starts the task on the current tokio runtime; the socket waits for the first check.
    pub fn spawn() -> Self {
        let (commands, receiver) = mpsc::unbounded_channel();
        ProcessMonitor {
            commands,
            next_id: 0,
            task: tokio::spawn(run(receiver)),
        }
    }

    /// Follows the processes `tracked` describes for check `name`, reporting to `reports`:
    /// at once with the count `/proc` gives, then on every change.
    pub fn track(
        &mut self,
        name: &str,
        weight: i16,
        tracked: ProcessMatch,
        reports: mpsc::Sender<CheckReport>,
    ) -> ProcessTrack {
        let id = self.next_id;
        self.next_id += 1;
        // Sending fails only once the task ended, which it does only when this handle drops.
        let _ = self.commands.send(Command::Track {
            id,
            name: name.to_owned(),
            weight,
            tracked,
            reports,
        });
        ProcessTrack {
            id,
            commands: self.commands.clone(),
        }
    }
}

/// Where a check's reports go, and what it last reported.
struct Follower {
    name: String,
    weight: i16,
    reports: mpsc::Sender<CheckReport>,
    passing: Option<bool>,
}

/// The socket as far as it got.
enum Connector {
    /// Not needed yet: no process check was added.
    Unopened,
    Open(ProcEventSocket),
    Unavailable(String),
}

async fn run(mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut connector = Connector::Unopened;
    let mut table = ProcessTable::new();
    let mut followers: HashMap<u64, Follower> = HashMap::new();
    loop {
        let deadline = table.poll_timeout();
        tokio::select! {
            command = commands.recv() => match command {
                None => return,
                Some(Command::Track { id, name, weight, tracked, reports }) => {
                    if matches!(connector, Connector::Unopened) {
                        connector = open();
                    }
                    let processes = match &connector {
                        Connector::Open(_) => read_processes(tracked.uses_command_line()),
                        Connector::Unavailable(reason) => {
                            warn!(
                                check = %name,
                                process = %tracked.process,
                                %reason,
                                "process check cannot follow processes and counts none, so it \
                                 fails (as keepalived's track_process does)"
                            );
                            Vec::new()
                        }
                        Connector::Unopened => Vec::new(),
                    };
                    table.add(id, tracked, processes);
                    followers.insert(id, Follower { name, weight, reports, passing: None });
                }
                Some(Command::Untrack { id }) => {
                    table.remove(id);
                    followers.remove(&id);
                }
            },
            received = receive(&mut connector) => {
                let now = Instant::now();
                match received {
                    Ok(Received::Events(events)) => {
                        for event in events {
                            apply(&mut table, now, event);
                        }
                    }
                    Ok(Received::Overrun) => {
                        warn!("process events were lost (socket buffer full); reading /proc again");
                        let processes = read_processes(table.uses_command_lines());
                        table.rescan(now, &processes);
                    }
                    Err(error) => {
                        warn!(%error, "process events socket failed; process checks keep their last counts");
                        connector = Connector::Unavailable(error.to_string());
                    }
                }
            },
            () = sleep_until(deadline) => table.handle_timeout(Instant::now()),
        }
        for (id, status) in table.take_changed() {
            if let Some(follower) = followers.get_mut(&id) {
                let report = report(follower, &status);
                // The router reads reports in turn with packets; waiting here delays only
                // other process checks, never a VRRP timer.
                let _ = follower.reports.send(report).await;
            }
        }
    }
}

fn open() -> Connector {
    match ProcEventSocket::open() {
        Ok(socket) => {
            info!("following processes through the kernel's process events connector");
            Connector::Open(socket)
        }
        Err(error) => Connector::Unavailable(describe(&error)),
    }
}

fn describe(error: &ConnectorError) -> String {
    format!("{error}: {}", error.advice())
}

async fn receive(connector: &mut Connector) -> io::Result<Received> {
    match connector {
        Connector::Open(socket) => socket.receive().await,
        Connector::Unopened | Connector::Unavailable(_) => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// One event into the table; threads are ignored, as keepalived ignores them.
fn apply(table: &mut ProcessTable, now: Instant, event: ProcEvent) {
    match event {
        ProcEvent::Fork {
            parent_tgid,
            child_pid,
            child_tgid,
        } if child_pid == child_tgid => table.handle_fork(now, parent_tgid, child_tgid),
        ProcEvent::Exec { pid, tgid } if pid == tgid => {
            let info = read_process(pid, table.uses_command_lines());
            table.handle_exec(now, pid, info.as_ref());
        }
        ProcEvent::Comm { pid, tgid, comm } if pid == tgid => table.handle_comm(now, pid, &comm),
        ProcEvent::Exit { pid, tgid } if pid == tgid => table.handle_exit(now, pid),
        _ => {}
    }
}

/// The name from `/proc/PID/stat`, and `/proc/PID/cmdline` when `with_cmdline`; `None` when
/// the process is gone or is a zombie (keepalived's `read_procs` skips state `Z` too: a
/// zombie has exited, and its exit event was seen or will be).
fn read_process(pid: u32, with_cmdline: bool) -> Option<ProcessInfo> {
    use std::io::Read;
    let directory = format!("/proc/{pid}");
    let stat = std::fs::read_to_string(format!("{directory}/stat")).ok()?;
    // "PID (NAME) STATE ...": the name may hold spaces and parentheses, so it ends at the
    // last ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    if stat.get(close + 2..close + 3) == Some("Z") {
        return None;
    }
    let mut cmdline = Vec::new();
    if with_cmdline {
        std::fs::File::open(format!("{directory}/cmdline"))
            .ok()?
            .take(CMDLINE_LIMIT)
            .read_to_end(&mut cmdline)
            .ok()?;
    }
    Some(ProcessInfo {
        comm: comm.to_owned(),
        cmdline,
    })
}

/// Every process `/proc` lists now.
fn read_processes(with_cmdline: bool) -> Vec<(u32, ProcessInfo)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, read_process(pid, with_cmdline)?)))
        .collect()
}

fn report(follower: &mut Follower, status: &TrackerStatus) -> CheckReport {
    let count = status.pids.len();
    let summary = format!(
        "{count} process{} running{}",
        if count == 1 { "" } else { "es" },
        if status.delayed {
            ", verdict held by fork_delay or terminate_delay"
        } else {
            ""
        }
    );
    let run = RunResult::new(status.passing, summary, "", Duration::ZERO)
        .with_processes(status.pids.clone());
    let transition = (follower.passing != Some(status.passing)).then_some(CheckTransition {
        passing: status.passing,
    });
    if transition.is_some() {
        info!(
            check = %follower.name,
            processes = count,
            passing = status.passing,
            "process check verdict changed"
        );
    }
    follower.passing = Some(status.passing);
    let span = tracing::info_span!(
        "vrrp.check.process",
        vrrp.check = follower.name.as_str(),
        vrrp.check.passed = tracing::field::Empty,
        vrrp.check.summary = tracing::field::Empty,
    );
    record_run(&span, &run);
    CheckReport {
        check_name: follower.name.clone(),
        weight: follower.weight,
        verdict: if status.passing {
            Verdict::Passing
        } else {
            Verdict::Failing
        },
        transition,
        last_run: run,
        consecutive_passes: u32::from(status.passing),
        consecutive_failures: u32::from(!status.passing),
        skipped_runs: 0,
        span,
    }
}
