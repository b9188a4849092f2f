//! One `WatchState` stream: a task per watcher that reads the router's event bus and writes
//! the stream, so a slow client only ever slows its own task.
//!
//! The task starts from what the router handed over in one step (a snapshot and its
//! subscription, or a resume's backlog and its subscription). When the client reads too
//! slowly, its outbox fills, the task stops reading the bus, and the bus drops the oldest
//! changes for it alone; the task then learns it lagged and starts again with a `Reset` and a
//! fresh snapshot, so the client never sees a silent gap.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tokio_stream::adapters::Map;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::daemon::control::{ResumePoint, RouterHandle, WatchBeginning, WatchStart};
use crate::daemon::status::{InstanceEvent, InstanceStatus};
use crate::events::{Next, ResumeRefused, Revisioned, Subscription};

use super::convert;
use super::service::control_status;
use super::v1::watch_state_response::Kind;
use super::v1::{self, reset::Cause};

/// The heartbeat interval when the request sets none.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);
/// The shortest and longest heartbeat interval a watcher may ask for.
const HEARTBEAT_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(300));
/// Messages waiting for the client before the task stops reading the bus. Small, so a
/// stalled client lags (and is reset) instead of holding a copy of the history.
const OUTBOX: usize = 16;

/// One message for the client, boxed in the outbox: a `WatchStateResponse` with a snapshot is
/// several hundred bytes, and the channel allocates its slots 32 at a time, so unboxed each
/// watcher would hold some 20 KiB of empty slots (200 MiB for 10,000 watchers).
type Outgoing = Box<Result<v1::WatchStateResponse, Status>>;

/// The stream a `WatchState` call returns.
pub type WatchStream =
    Map<ReceiverStream<Outgoing>, fn(Outgoing) -> Result<v1::WatchStateResponse, Status>>;

/// A checked `WatchStateRequest`.
#[derive(Debug)]
pub struct WatchRequest {
    /// Instance names to follow; empty follows every instance.
    instances: BTreeSet<String>,
    resume: Option<ResumePoint>,
    heartbeat: Duration,
}

impl WatchRequest {
    /// Checks `request`: INVALID_ARGUMENT for a heartbeat interval outside 1 s..300 s.
    pub fn parse(request: v1::WatchStateRequest) -> Result<Self, Status> {
        let heartbeat = match request.heartbeat_interval {
            None => DEFAULT_HEARTBEAT,
            Some(asked) => Duration::try_from(asked)
                .ok()
                .filter(|interval| (HEARTBEAT_RANGE.0..=HEARTBEAT_RANGE.1).contains(interval))
                .ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "heartbeat_interval is {}s {}ns; set it between 1s and 300s, or leave \
                         it unset for the default 10s",
                        asked.seconds, asked.nanos
                    ))
                })?,
        };
        Ok(WatchRequest {
            instances: request.instance_names.into_iter().collect(),
            resume: request.resume_after_revision.map(|after| ResumePoint {
                epoch: request.epoch,
                after,
            }),
            heartbeat,
        })
    }
}

/// Starts the stream: asks the router first, so a refusal (RESOURCE_EXHAUSTED, UNAVAILABLE)
/// is the call's status; then a task writes the stream.
pub async fn start(router: RouterHandle, request: WatchRequest) -> Result<WatchStream, Status> {
    let first = router
        .watch(request.resume.clone())
        .await
        .map_err(|error| control_status(&error))?;
    let (outbox, stream) = mpsc::channel(OUTBOX);
    let watcher = Watcher {
        router,
        instances: request.instances,
        heartbeat: request.heartbeat,
        outbox,
        epoch: first.epoch.to_string(),
        last_sent: Instant::now(),
    };
    tokio::spawn(watcher.run(first));
    let unbox: fn(Outgoing) -> Result<v1::WatchStateResponse, Status> = |outgoing| *outgoing;
    Ok(ReceiverStream::new(stream).map(unbox))
}

/// The client went away; the task ends.
struct Gone;

struct Watcher {
    router: RouterHandle,
    instances: BTreeSet<String>,
    heartbeat: Duration,
    outbox: mpsc::Sender<Outgoing>,
    epoch: String,
    last_sent: Instant,
}

impl Watcher {
    async fn run(mut self, first: WatchStart) {
        let mut start = first;
        let mut reset = None;
        loop {
            self.epoch = start.epoch.to_string();
            let Ok(subscription) = self.begin(start.beginning, reset).await else {
                return;
            };
            if self.follow(subscription).await.is_err() {
                return;
            }
            reset = Some(Cause::SubscriberLagged);
            start = match self.router.watch(None).await {
                Ok(start) => start,
                Err(error) => {
                    let _ = self
                        .outbox
                        .send(Box::new(Err(control_status(&error))))
                        .await;
                    return;
                }
            };
        }
    }

    /// Sends the snapshot (after a `Reset` when there is a cause) or the replay, then
    /// `SnapshotComplete`; returns the subscription to follow.
    async fn begin(
        &mut self,
        beginning: WatchBeginning,
        mut reset: Option<Cause>,
    ) -> Result<Subscription<InstanceEvent>, Gone> {
        match beginning {
            WatchBeginning::Snapshot {
                refused,
                statuses,
                subscription,
            } => {
                if let Some(refused) = refused {
                    reset = Some(match refused {
                        ResumeRefused::EpochChanged { .. } => Cause::EpochChanged,
                        ResumeRefused::RevisionNotInHistory { .. } => Cause::RevisionNotInHistory,
                    });
                }
                let revision = subscription.start_revision;
                if let Some(cause) = reset {
                    self.send(
                        revision,
                        SystemTime::now(),
                        Kind::Reset(v1::Reset {
                            cause: cause as i32,
                        }),
                    )
                    .await?;
                }
                for instance in self.snapshot(&statuses) {
                    self.send(
                        revision,
                        SystemTime::now(),
                        Kind::Snapshot(v1::InstanceSnapshot {
                            instance: Some(instance),
                        }),
                    )
                    .await?;
                }
                self.complete(revision).await?;
                Ok(subscription)
            }
            WatchBeginning::Resumed(resumed) => {
                for change in &resumed.backlog {
                    self.send_event(change).await?;
                }
                self.complete(resumed.subscription.start_revision).await?;
                Ok(resumed.subscription)
            }
        }
    }

    /// The snapshot items this watcher asked for: every instance, or the named ones with
    /// STATE_UNKNOWN for a name no instance has.
    fn snapshot(&self, statuses: &[InstanceStatus]) -> Vec<v1::Instance> {
        if self.instances.is_empty() {
            return statuses.iter().map(convert::instance).collect();
        }
        self.instances
            .iter()
            .map(|name| {
                statuses
                    .iter()
                    .find(|status| status.name() == name)
                    .map_or_else(|| convert::unknown_instance(name), convert::instance)
            })
            .collect()
    }

    async fn complete(&mut self, revision: u64) -> Result<(), Gone> {
        self.send(
            revision,
            SystemTime::now(),
            Kind::SnapshotComplete(v1::SnapshotComplete {}),
        )
        .await
    }

    /// Forwards live changes and heartbeats; returns `Ok` when the watcher lagged. A closed
    /// bus (the daemon stopping) ends the stream with UNAVAILABLE.
    async fn follow(&mut self, mut subscription: Subscription<InstanceEvent>) -> Result<(), Gone> {
        let mut revision = subscription.start_revision;
        loop {
            let heartbeat_due = self.last_sent + self.heartbeat;
            tokio::select! {
                biased;
                next = subscription.next() => match next {
                    Next::Event(change) => {
                        revision = change.revision;
                        self.send_event(&change).await?;
                    }
                    Next::Lagged { .. } => return Ok(()),
                    Next::Closed => {
                        let _ = self
                            .outbox
                            .send(Box::new(Err(Status::unavailable(
                                "the daemon is shutting down; reconnect and resume once it is back",
                            ))))
                            .await;
                        return Err(Gone);
                    }
                },
                () = tokio::time::sleep_until(heartbeat_due) => {
                    self.send(revision, SystemTime::now(), Kind::Heartbeat(v1::Heartbeat {}))
                        .await?;
                }
            }
        }
    }

    async fn send_event(&mut self, change: &Arc<Revisioned<InstanceEvent>>) -> Result<(), Gone> {
        if !self.instances.is_empty() && !self.instances.contains(change.event.instance()) {
            return Ok(());
        }
        self.send(change.revision, change.at, convert::event(&change.event))
            .await
    }

    async fn send(&mut self, revision: u64, at: SystemTime, kind: Kind) -> Result<(), Gone> {
        let message = v1::WatchStateResponse {
            epoch: self.epoch.clone(),
            revision,
            timestamp: Some(convert::timestamp(at)),
            kind: Some(kind),
        };
        self.outbox
            .send(Box::new(Ok(message)))
            .await
            .map_err(|_| Gone)?;
        self.last_sent = Instant::now();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_heartbeat(seconds: i64, nanos: i32) -> v1::WatchStateRequest {
        v1::WatchStateRequest {
            heartbeat_interval: Some(prost_types::Duration { seconds, nanos }),
            ..v1::WatchStateRequest::default()
        }
    }

    #[test]
    fn the_heartbeat_defaults_to_ten_seconds_and_must_lie_in_one_to_three_hundred() {
        let default = WatchRequest::parse(v1::WatchStateRequest::default()).expect("valid");
        assert_eq!(default.heartbeat, DEFAULT_HEARTBEAT);
        assert!(WatchRequest::parse(with_heartbeat(1, 0)).is_ok());
        assert!(WatchRequest::parse(with_heartbeat(300, 0)).is_ok());
        for (seconds, nanos) in [(0, 999_999_999), (300, 1), (-1, 0)] {
            let status = WatchRequest::parse(with_heartbeat(seconds, nanos)).expect_err("refused");
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert!(
                status.message().contains("between 1s and 300s"),
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_resume_takes_the_epoch_along() {
        let request = WatchRequest::parse(v1::WatchStateRequest {
            resume_after_revision: Some(7),
            epoch: "boot".into(),
            ..v1::WatchStateRequest::default()
        })
        .expect("valid");
        assert_eq!(
            request.resume,
            Some(ResumePoint {
                epoch: "boot".into(),
                after: 7
            })
        );
    }
}
