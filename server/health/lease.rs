//! Pushed checks: the application reports pass or fail over the API and holds a lease.
//!
//! Each pushed check is a task of its own, like a probed one: it counts the reports with the
//! same rise/fall rules ([`CheckState`]) and sends the same [`CheckReport`]s, so the router
//! cannot tell the two apart. A report must arrive within the lease's time to live; each TTL
//! that passes without one counts as a failed run, and so does the report stream closing (an
//! application that died cannot say so). With [`OnLeaseExpiry::Remove`] the lease ends
//! instead and the task says so with [`CheckMessage::Lost`].

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::outcome::{CheckState, RunResult};
use super::runner::CheckReport;

/// What happens when a lease runs out or its stream closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnLeaseExpiry {
    /// The check counts a failed run, and again each TTL, until reports resume.
    Fail,
    /// The check is unregistered.
    Remove,
}

/// The lease of a pushed check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeaseSpec {
    /// A report must arrive within this time.
    pub ttl: Duration,
    /// What a missed report or a closed stream does.
    pub on_expiry: OnLeaseExpiry,
}

/// What the report stream of an application hands the lease task.
#[derive(Debug)]
pub enum LeaseInput {
    /// One report; the acknowledgement says when the lease now runs out.
    Report {
        /// Whether the application is healthy.
        passing: bool,
        /// Its message, kept as the run's output.
        message: String,
        /// Where the acknowledgement goes.
        ack: oneshot::Sender<LeaseAck>,
    },
    /// The stream that fed the check closed.
    StreamClosed,
}

/// The state of a pushed check after a report.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaseAck {
    /// The report as counted.
    pub report: CheckReport,
    /// When the lease runs out unless another report arrives.
    pub expires: SystemTime,
}

/// What a check's task tells its owner: a lease task sends both kinds, a probing task's
/// [`CheckReport`]s are handed on as [`CheckMessage::Report`].
#[derive(Clone, Debug, PartialEq)]
pub enum CheckMessage {
    /// A counted report, a missed TTL or a closed stream.
    Report(CheckReport),
    /// The lease ran out (or its stream closed) and the check is to be removed.
    Lost {
        /// Why, for the log.
        why: String,
    },
}

/// A running lease task; dropping it stops the task.
#[derive(Debug)]
pub struct LeaseTask {
    handle: JoinHandle<()>,
}

impl Drop for LeaseTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Starts the lease of the pushed check `name`: its first TTL starts now (an application
/// that registers and never reports fails like one that stops reporting).
pub fn spawn_lease(
    name: String,
    weight: i16,
    counting: CheckState,
    lease: LeaseSpec,
    inputs: mpsc::Receiver<LeaseInput>,
    messages: mpsc::Sender<CheckMessage>,
) -> LeaseTask {
    let handle = tokio::spawn(run_lease(name, weight, counting, lease, inputs, messages));
    LeaseTask { handle }
}

async fn run_lease(
    name: String,
    weight: i16,
    mut counting: CheckState,
    lease: LeaseSpec,
    mut inputs: mpsc::Receiver<LeaseInput>,
    messages: mpsc::Sender<CheckMessage>,
) {
    let mut expires_at = Instant::now() + lease.ttl;
    loop {
        let (run, ack) = tokio::select! {
            input = inputs.recv() => match input {
                Some(LeaseInput::Report { passing, message, ack }) => {
                    expires_at = Instant::now() + lease.ttl;
                    let summary = if passing { "reported passing" } else { "reported failing" };
                    (RunResult::new(passing, summary, message, Duration::ZERO), Some(ack))
                }
                Some(LeaseInput::StreamClosed) => {
                    // Counted once now; the lease keeps running, so a stream that does not
                    // come back fails again each TTL.
                    expires_at = Instant::now() + lease.ttl;
                    (RunResult::new(false, "report stream closed", "", Duration::ZERO), None)
                }
                // The router dropped the check.
                None => return,
            },
            () = tokio::time::sleep_until(expires_at.into()) => {
                expires_at += lease.ttl;
                let summary = format!("no report within the lease TTL of {:?}", lease.ttl);
                (RunResult::new(false, summary, "", Duration::ZERO), None)
            }
        };
        if !run.passed && ack.is_none() && lease.on_expiry == OnLeaseExpiry::Remove {
            let _ = messages.send(CheckMessage::Lost { why: run.summary }).await;
            return;
        }
        let transition = counting.record(run.clone());
        let span = tracing::info_span!(
            "vrrp.check.report",
            vrrp.check = name.as_str(),
            vrrp.check.passed = tracing::field::Empty,
            vrrp.check.summary = tracing::field::Empty,
        );
        super::runner::record_run(&span, &run);
        let report = CheckReport {
            check_name: name.clone(),
            weight,
            verdict: counting.verdict(),
            transition,
            last_run: run,
            consecutive_passes: counting.consecutive_passes(),
            consecutive_failures: counting.consecutive_failures(),
            // Nothing runs on a tick here, so nothing is ever skipped.
            skipped_runs: 0,
            span,
        };
        if let Some(ack) = ack {
            let expires = SystemTime::now() + expires_at.saturating_duration_since(Instant::now());
            let _ = ack.send(LeaseAck {
                report: report.clone(),
                expires,
            });
        }
        if messages.send(CheckMessage::Report(report)).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generous for a loaded machine: the TTL below is 200 ms.
    const WAIT: Duration = Duration::from_secs(5);

    fn start(
        on_expiry: OnLeaseExpiry,
    ) -> (
        mpsc::Sender<LeaseInput>,
        mpsc::Receiver<CheckMessage>,
        LeaseTask,
    ) {
        let (inputs, inputs_receiver) = mpsc::channel(4);
        let (messages, received) = mpsc::channel(4);
        let lease = LeaseSpec {
            ttl: Duration::from_millis(200),
            on_expiry,
        };
        let task = spawn_lease(
            "app".into(),
            -10,
            CheckState::new(1, 2, false),
            lease,
            inputs_receiver,
            messages,
        );
        (inputs, received, task)
    }

    async fn next(received: &mut mpsc::Receiver<CheckMessage>) -> CheckMessage {
        tokio::time::timeout(WAIT, received.recv())
            .await
            .expect("a message in time")
            .expect("the task runs")
    }

    async fn report(inputs: &mpsc::Sender<LeaseInput>, passing: bool) -> LeaseAck {
        let (ack, acked) = oneshot::channel();
        inputs
            .send(LeaseInput::Report {
                passing,
                message: "hello".into(),
                ack,
            })
            .await
            .expect("the task runs");
        acked.await.expect("acknowledged")
    }

    #[tokio::test]
    async fn reports_count_and_each_missed_ttl_is_a_failed_run() {
        let (inputs, mut received, _task) = start(OnLeaseExpiry::Fail);
        let ack = report(&inputs, true).await;
        assert!(ack.report.passing());
        assert_eq!(ack.report.last_run.output, "hello");
        assert!(ack.expires > SystemTime::now());
        assert!(matches!(next(&mut received).await, CheckMessage::Report(r) if r.passing()));
        // Fall 2: the first missed TTL counts, the second makes the check fail.
        let CheckMessage::Report(first) = next(&mut received).await else {
            panic!("a report")
        };
        assert!(first.passing());
        assert_eq!(first.consecutive_failures, 1);
        assert!(first.last_run.summary.contains("lease TTL"), "{first:?}");
        let CheckMessage::Report(second) = next(&mut received).await else {
            panic!("a report")
        };
        assert!(!second.passing());
        assert!(second.transition.is_some());
    }

    #[tokio::test]
    async fn a_closed_stream_fails_at_once() {
        let (inputs, mut received, _task) = start(OnLeaseExpiry::Fail);
        report(&inputs, true).await;
        next(&mut received).await;
        inputs
            .send(LeaseInput::StreamClosed)
            .await
            .expect("the task runs");
        let CheckMessage::Report(closed) = next(&mut received).await else {
            panic!("a report")
        };
        assert_eq!(closed.last_run.summary, "report stream closed");
    }

    #[tokio::test]
    async fn with_remove_a_missed_ttl_ends_the_lease() {
        let (_inputs, mut received, _task) = start(OnLeaseExpiry::Remove);
        assert!(matches!(
            next(&mut received).await,
            CheckMessage::Lost { .. }
        ));
    }
}
