//! The task that runs one check on its interval, counts its results and reports them.
//!
//! Each check is its own tokio task, so a slow check delays nobody but itself. Runs start on
//! the interval; when a run is still going at the next tick (a program past its interval, or
//! being killed after its timeout), that tick is skipped with a log line, as keepalived does,
//! so a check never has two runs at once.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::Instrument;

use crate::net::LinkEvents;
use crate::vrrp::TrackedCheck;

use super::exec::ExecProbe;
use super::file::{FileProbe, tracked_file_value};
use super::grpc::GrpcProbe;
use super::http::HttpProbe;
use super::interface::{InterfaceProbe, link_changed};
use super::outcome::{CheckState, CheckTransition, RunResult, Verdict};
use super::tcp::TcpProbe;
use super::{CheckSpec, HealthError, ProbeSpec};

/// When a check sends a [`CheckReport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reporting {
    /// When the verdict flips, and when a file check reads a new value: what the priority
    /// needs.
    Changes,
    /// After every run: for status displays that show the last output and the counts.
    EveryRun,
}

/// What a check says after a run. Not `Eq`: it carries its run's span, which is only
/// `PartialEq` (the same span).
#[derive(Clone, Debug, PartialEq)]
pub struct CheckReport {
    /// The check's name.
    pub check_name: String,
    /// The check's weight, from its spec.
    pub weight: i16,
    /// The verdict after this run.
    pub verdict: Verdict,
    /// Set when this run changed the verdict.
    pub transition: Option<CheckTransition>,
    /// This run: whether it passed, what happened, its output, how long it took.
    pub last_run: RunResult,
    /// Successful runs in a row, this one included.
    pub consecutive_passes: u32,
    /// Failed runs in a row, this one included.
    pub consecutive_failures: u32,
    /// Ticks skipped since the check started because a run was still going.
    pub skipped_runs: u64,
    /// The span of this run (`vrrp.check.run`, or `vrrp.check.report` for a pushed check):
    /// a transition the verdict brings about becomes its child.
    pub span: tracing::Span,
}

impl CheckReport {
    /// Whether the check passes now (`false` while pending too).
    pub fn passing(&self) -> bool {
        self.verdict == Verdict::Passing
    }

    /// What [`crate::vrrp::effective_priority`] should count for this check; `None` while
    /// pending. A file check that read a value with a non-zero weight counts value × weight
    /// at once (see [`tracked_file_value`]); every other check counts its weight by verdict.
    pub fn tracked_check(&self) -> Option<TrackedCheck> {
        match (self.verdict, self.last_run.value) {
            (Verdict::Pending, _) => None,
            (_, Some(value)) if self.weight != 0 => Some(tracked_file_value(value, self.weight)),
            (verdict, _) => Some(TrackedCheck {
                weight: self.weight,
                passing: verdict == Verdict::Passing,
            }),
        }
    }
}

/// A running check. Dropping it (or calling [`CheckTask::stop`]) stops the check; a program
/// it was running is killed with its process group.
#[derive(Debug)]
pub struct CheckTask {
    handle: JoinHandle<()>,
}

impl CheckTask {
    /// Stops the check.
    pub fn stop(self) {
        // Drop aborts the task.
    }

    /// Whether the task ended by itself: its report receiver was dropped.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl Drop for CheckTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Starts `spec` as a task on the current tokio runtime, sending reports to `reports` as
/// `reporting` says; the first run starts at once.
///
/// Setting up is done here, in the caller's thread (and so its network namespace): the exec
/// user is looked up, the HTTP URL checked, the gRPC channel and the netlink socket created.
/// Must be called within a tokio runtime. The task ends when `reports` is closed.
pub fn spawn_check(
    spec: CheckSpec,
    reports: mpsc::Sender<CheckReport>,
    reporting: Reporting,
) -> Result<CheckTask, HealthError> {
    let probe = Probe::new(&spec)?;
    Ok(spawn_probe(spec, probe, reports, reporting))
}

/// Starts `spec` with a `probe` set up beforehand (see [`Probe::new`]): for a caller that
/// must not do the set-up itself, such as the router, which cannot wait for a user look-up.
pub fn spawn_probe(
    spec: CheckSpec,
    probe: Probe,
    reports: mpsc::Sender<CheckReport>,
    reporting: Reporting,
) -> CheckTask {
    let handle = tokio::spawn(run_check(spec, probe, reports, reporting));
    CheckTask { handle }
}

/// A check's probe, set up and ready to run.
#[derive(Debug)]
pub enum Probe {
    /// A program.
    Exec(ExecProbe),
    /// A TCP connect.
    Tcp(TcpProbe),
    /// An HTTP GET.
    Http(HttpProbe),
    /// A gRPC health call.
    Grpc(GrpcProbe),
    /// An interface's link flags.
    Interface(InterfaceProbe),
    /// A file's integer.
    File(FileProbe),
}

impl Probe {
    /// Sets up the probe of `spec` (see [`spawn_check`] for what that involves).
    pub fn new(spec: &CheckSpec) -> Result<Self, HealthError> {
        Ok(match &spec.probe {
            ProbeSpec::Exec(exec) => Probe::Exec(ExecProbe::new(exec.clone())?),
            ProbeSpec::Tcp { address } => Probe::Tcp(TcpProbe::new(*address)),
            ProbeSpec::Http(http) => Probe::Http(HttpProbe::new(http.clone())?),
            ProbeSpec::Grpc { address, service } => {
                Probe::Grpc(GrpcProbe::new(*address, service.clone(), spec.timeout)?)
            }
            ProbeSpec::Interface { name } => Probe::Interface(InterfaceProbe::new(name.clone())?),
            ProbeSpec::File { path } => Probe::File(FileProbe::new(path.clone(), spec.weight)),
            ProbeSpec::Pushed(_) => {
                return Err(HealthError::Pushed {
                    name: spec.name.clone(),
                });
            }
            ProbeSpec::Process(_) => {
                return Err(HealthError::Process {
                    name: spec.name.clone(),
                });
            }
        })
    }

    /// What makes the probe run again before its interval: an interface check's link
    /// events.
    fn take_link_events(&mut self) -> Option<LinkEvents> {
        match self {
            Probe::Interface(probe) => probe.take_link_events(),
            _ => None,
        }
    }

    /// Runs the probe once, bounded by `timeout` (plus the kill grace for a program).
    pub async fn run(&self, timeout: Duration) -> RunResult {
        match self {
            Probe::Exec(probe) => probe.run(timeout).await,
            Probe::Tcp(probe) => probe.run(timeout).await,
            Probe::Http(probe) => probe.run(timeout).await,
            Probe::Grpc(probe) => probe.run(timeout).await,
            Probe::Interface(probe) => probe.run(timeout).await,
            Probe::File(probe) => probe.run(timeout).await,
        }
    }
}

/// What a probe saw, before the runner times it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Observation {
    pub(crate) passed: bool,
    pub(crate) summary: String,
    pub(crate) output: String,
    pub(crate) value: Option<i64>,
}

impl Observation {
    pub(crate) fn passed(summary: String) -> Self {
        Self {
            passed: true,
            summary,
            output: String::new(),
            value: None,
        }
    }

    pub(crate) fn failed(summary: impl Into<String>) -> Self {
        Self {
            passed: false,
            summary: summary.into(),
            output: String::new(),
            value: None,
        }
    }
}

/// Runs `attempt` within `timeout` and times it; an error or the timeout is a failed run.
pub(crate) async fn observe(
    timeout: Duration,
    attempt: impl Future<Output = Result<Observation, HealthError>>,
) -> RunResult {
    let started = Instant::now();
    let observed = tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(Err(HealthError::TimedOut { after: timeout }));
    let duration = started.elapsed();
    match observed {
        Ok(observation) => {
            let result = RunResult::new(
                observation.passed,
                observation.summary,
                observation.output,
                duration,
            );
            match observation.value {
                Some(value) => result.with_value(value),
                None => result,
            }
        }
        Err(error) => RunResult::new(false, error.to_string(), "", duration),
    }
}

type RunFuture<'probe> = Pin<Box<dyn Future<Output = RunResult> + Send + 'probe>>;

/// Waits for the run in flight; never resolves when there is none.
async fn finished(run: &mut Option<RunFuture<'_>>) -> RunResult {
    match run {
        Some(run) => run.await,
        None => std::future::pending().await,
    }
}

async fn run_check(
    spec: CheckSpec,
    probe: Probe,
    reports: mpsc::Sender<CheckReport>,
    reporting: Reporting,
) {
    let mut probe = probe;
    let mut link_events = probe.take_link_events();
    let probe = probe;
    // A link changed while a run was in flight: that run may have read the old flags.
    let mut run_again = false;
    let mut state = CheckState::new(spec.rise, spec.fall, spec.init_fail);
    let mut ticks = tokio::time::interval(spec.interval);
    // After a long pause (a suspended host), run once and carry on; no burst of catch-up runs.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut in_flight: Option<RunFuture<'_>> = None;
    let mut run_started = Instant::now();
    let mut skipped_runs = 0_u64;
    let mut last_value = None;
    let mut in_flight_span = tracing::Span::none();
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if in_flight.is_some() {
                    skipped_runs += 1;
                    tracing::warn!(
                        check = %spec.name,
                        running_for = ?run_started.elapsed(),
                        "health check still running from the last interval; skipping this run"
                    );
                } else {
                    run_started = Instant::now();
                    (in_flight, in_flight_span) = start_run(&probe, &spec);
                }
            }
            () = link_changed(&mut link_events) => {
                if in_flight.is_some() {
                    run_again = true;
                } else {
                    run_started = Instant::now();
                    (in_flight, in_flight_span) = start_run(&probe, &spec);
                }
            }
            run = finished(&mut in_flight) => {
                in_flight = None;
                if std::mem::take(&mut run_again) {
                    run_started = Instant::now();
                    (in_flight, in_flight_span) = start_run(&probe, &spec);
                }
                let span = std::mem::replace(&mut in_flight_span, tracing::Span::none());
                record_run(&span, &run);
                let value = run.value;
                let transition = state.record(run.clone());
                let value_changed = value.is_some() && value != last_value;
                last_value = value;
                if transition.is_none() && !value_changed && reporting == Reporting::Changes {
                    continue;
                }
                if let Some(transition) = transition {
                    tracing::info!(
                        check = %spec.name,
                        passing = transition.passing,
                        summary = %run.summary,
                        "health check verdict changed"
                    );
                }
                let report = CheckReport {
                    check_name: spec.name.clone(),
                    weight: spec.weight,
                    verdict: state.verdict(),
                    transition,
                    last_run: run,
                    consecutive_passes: state.consecutive_passes(),
                    consecutive_failures: state.consecutive_failures(),
                    skipped_runs,
                    span,
                };
                if reports.send(report).await.is_err() {
                    // Nobody listens any more: the check has no reason to run.
                    return;
                }
            }
        }
    }
}

/// A run of `probe` in its span.
fn start_run<'probe>(
    probe: &'probe Probe,
    spec: &CheckSpec,
) -> (Option<RunFuture<'probe>>, tracing::Span) {
    let span = run_span(&spec.name);
    let run = probe.run(spec.timeout).instrument(span.clone());
    (Some(Box::pin(run)), span)
}

/// The span of one run of check `name`; [`record_run`] adds what it found.
fn run_span(name: &str) -> tracing::Span {
    tracing::info_span!(
        "vrrp.check.run",
        vrrp.check = name,
        vrrp.check.passed = tracing::field::Empty,
        vrrp.check.summary = tracing::field::Empty,
    )
}

/// Records a run's result on its span.
pub fn record_run(span: &tracing::Span, run: &RunResult) {
    span.record("vrrp.check.passed", run.passed);
    span.record("vrrp.check.summary", tracing::field::display(&run.summary));
}
