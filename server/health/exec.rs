//! Exec checks: a program with arguments, no shell, exit status 0 passes.
//!
//! The program runs in a process group of its own, so a timeout reaches whatever it started
//! too: SIGTERM to the group, then SIGKILL after the grace (keepalived does the same, with 2 s).
//! Its environment is empty but for `PATH`, so a check behaves the same whoever started the
//! daemon and sees none of the daemon's secrets.

use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, User};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use super::outcome::{OUTPUT_LIMIT, RunResult};
use super::{ExecSpec, HealthError};

/// How long output is still read after the program exits: a background process it left
/// behind may hold the pipes open forever, and must not hold the run open with them.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(100);

/// The user and group a program runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// An exec check ready to run: its user looked up once, when the check starts.
#[derive(Debug)]
pub struct ExecProbe {
    spec: ExecSpec,
    run_as: Option<RunAs>,
}

impl ExecProbe {
    /// Looks up the check's user, if it has one. This reads the user database (which may be
    /// NSS over the network), so it is done once here rather than on every run.
    pub fn new(spec: ExecSpec) -> Result<Self, HealthError> {
        let run_as = match &spec.user {
            None => None,
            Some(user) => match User::from_name(user) {
                Ok(Some(account)) => Some(RunAs {
                    uid: account.uid.as_raw(),
                    gid: account.gid.as_raw(),
                }),
                Ok(None) => {
                    return Err(HealthError::User {
                        user: user.clone(),
                        reason: "no such user".to_owned(),
                    });
                }
                Err(errno) => {
                    return Err(HealthError::User {
                        user: user.clone(),
                        reason: errno.to_string(),
                    });
                }
            },
        };
        Ok(Self { spec, run_as })
    }

    /// Runs the program once; past `timeout` it is terminated and the run fails. The result
    /// comes when the program is gone, so at most `timeout` plus the kill grace.
    pub async fn run(&self, timeout: Duration) -> RunResult {
        let started = Instant::now();
        match self.run_to_exit(timeout).await {
            Ok((ending, output)) => {
                RunResult::new(ending.passed(), ending.summary(), output, started.elapsed())
            }
            Err(error) => RunResult::new(false, error.to_string(), "", started.elapsed()),
        }
    }

    async fn run_to_exit(&self, timeout: Duration) -> Result<(Ending, String), HealthError> {
        let mut command = Command::new(&self.spec.program);
        command
            .args(&self.spec.args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, whose id is its pid, so the timeout can signal all of it.
            .process_group(0)
            // If the check is stopped mid-run, the program must not outlive it.
            .kill_on_drop(true);
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        if let Some(run_as) = self.run_as {
            // The standard library also drops supplementary groups when root changes uid.
            command.uid(run_as.uid).gid(run_as.gid);
        }
        let mut child = command.spawn().map_err(|source| HealthError::Spawn {
            program: self.spec.program.clone(),
            source,
        })?;
        let mut group_guard = GroupGuard::of(&child);
        let output = Mutex::new(BoundedOutput::default());
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let capture =
            async { tokio::join!(capture_into(stdout, &output), capture_into(stderr, &output)) };
        tokio::pin!(capture);
        let mut captured = false;
        let ending = {
            let wait = self.wait_or_terminate(&mut child, timeout);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    ending = &mut wait => {
                        // Reaped (or failed to be): the group id may be reused from now on.
                        group_guard.disarm();
                        break ending?;
                    }
                    _ = &mut capture, if !captured => captured = true,
                }
            }
        };
        if !captured {
            // The program is gone; whatever still writes to the pipes gets a short while.
            let _drained = tokio::time::timeout(DRAIN_AFTER_EXIT, capture).await;
        }
        let text = output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .text();
        Ok((ending, text))
    }

    async fn wait_or_terminate(
        &self,
        child: &mut Child,
        timeout: Duration,
    ) -> Result<Ending, HealthError> {
        let wait_error = |source| HealthError::Wait {
            program: self.spec.program.clone(),
            source,
        };
        if let Ok(status) = tokio::time::timeout(timeout, child.wait()).await {
            return Ok(Ending::Exited(status.map_err(wait_error)?));
        }
        // Not reaped yet (wait did not return), so the id is still this child's group.
        let group = process_group(child);
        signal_group(group, Signal::SIGTERM);
        if let Ok(status) = tokio::time::timeout(self.spec.kill_grace, child.wait()).await {
            status.map_err(wait_error)?;
            return Ok(Ending::Terminated { timeout });
        }
        signal_group(group, Signal::SIGKILL);
        child.wait().await.map_err(wait_error)?;
        Ok(Ending::Killed {
            timeout,
            grace: self.spec.kill_grace,
        })
    }
}

/// The process group a child leads (`process_group(0)` makes its id its pid); `None` once
/// it has been reaped.
fn process_group(child: &Child) -> Option<Pid> {
    child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw)
}

/// Kills the program's whole group if a run is abandoned (its check stopped) before the
/// program was reaped: `kill_on_drop` reaches only the program itself, not what it started.
struct GroupGuard {
    group: Option<Pid>,
}

impl GroupGuard {
    fn of(child: &Child) -> Self {
        Self {
            group: process_group(child),
        }
    }

    fn disarm(&mut self) {
        self.group = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.group, Signal::SIGKILL);
    }
}

/// Sends `signal` to the process group; a group that is already gone is what we wanted.
fn signal_group(group: Option<Pid>, signal: Signal) {
    if let Some(group) = group
        && let Err(errno) = killpg(group, signal)
    {
        tracing::debug!(%group, ?signal, %errno, "signalling an exec check's process group");
    }
}

/// How a run of the program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// It exited or was killed by something else.
    Exited(ExitStatus),
    /// It outlived the timeout and ended after SIGTERM.
    Terminated { timeout: Duration },
    /// It outlived the timeout and the grace after SIGTERM, and got SIGKILL.
    Killed { timeout: Duration, grace: Duration },
}

impl Ending {
    fn passed(self) -> bool {
        matches!(self, Ending::Exited(status) if status.success())
    }

    fn summary(self) -> String {
        match self {
            Ending::Exited(status) => status.to_string(),
            Ending::Terminated { timeout } => {
                format!("timed out after {timeout:?}; ended on SIGTERM")
            }
            Ending::Killed { timeout, grace } => format!(
                "timed out after {timeout:?}; still running {grace:?} after SIGTERM, sent SIGKILL"
            ),
        }
    }
}

/// The first [`OUTPUT_LIMIT`] bytes of a program's stdout and stderr, in the order they
/// arrived; the rest is read and dropped so the program never blocks on a full pipe.
#[derive(Debug, Default)]
struct BoundedOutput {
    bytes: Vec<u8>,
}

impl BoundedOutput {
    fn push(&mut self, chunk: &[u8]) {
        let room = OUTPUT_LIMIT.saturating_sub(self.bytes.len());
        let kept = chunk.len().min(room);
        self.bytes.extend_from_slice(&chunk[..kept]);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Reads `pipe` to its end into `output`; a read error ends the capture, not the run.
async fn capture_into(pipe: Option<impl AsyncRead + Unpin>, output: &Mutex<BoundedOutput>) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let mut buffer = [0_u8; 4096];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => output
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(&buffer[..read]),
        }
    }
}
