//! One `WatchState` stream, written by the HTTP/2 stream's own task: each time the client
//! has room for a message, the stream reads the router's event bus for the next one. With
//! thousands of watchers, a change costs one wake-up per watcher and no copy through a
//! second task.
//!
//! The stream starts from what the router handed over in one step (a snapshot and its
//! subscription, or a resume's backlog and its subscription). When the client reads too
//! slowly, HTTP/2 flow control stops the stream from being polled, so it stops reading the
//! bus, and the bus drops the oldest changes for it alone; the stream then learns it lagged
//! and starts again with a `Reset` and a fresh snapshot, so the client never sees a silent gap.

use std::collections::{BTreeSet, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::Stream;
use tokio::time::{Instant, Sleep};
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

/// The stream a `WatchState` call returns.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<v1::WatchStateResponse, Status>> + Send>>;

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
/// is the call's status.
pub async fn start(router: RouterHandle, request: WatchRequest) -> Result<WatchStream, Status> {
    let first = router
        .watch(request.resume.clone())
        .await
        .map_err(|error| control_status(&error))?;
    let mut watcher = Watcher {
        router,
        instances: request.instances,
        heartbeat: request.heartbeat,
        heartbeat_timer: Box::pin(tokio::time::sleep(request.heartbeat)),
        last_sent: Instant::now(),
        epoch: String::new(),
        revision: 0,
        outbox: VecDeque::new(),
        phase: Phase::Ended,
    };
    watcher.begin(first, None);
    Ok(Box::pin(futures_util::stream::unfold(
        Box::new(watcher),
        |mut watcher| async move {
            let message = watcher.next_message().await?;
            Some((message, watcher))
        },
    )))
}

/// Where the stream stands once its outbox is empty.
enum Phase {
    /// Live changes from the bus.
    Following(Subscription<InstanceEvent>),
    /// The bus dropped changes for this watcher: a `Reset` and a fresh snapshot come next.
    Lagged,
    /// The stream is over.
    Ended,
}

struct Watcher {
    router: RouterHandle,
    instances: BTreeSet<String>,
    heartbeat: Duration,
    /// Fires at most once per heartbeat interval; when it fires early (something was sent
    /// since it was set), it is set again instead of being moved on every message.
    heartbeat_timer: Pin<Box<Sleep>>,
    last_sent: Instant,
    epoch: String,
    /// The latest revision the client is up to date with, for messages that are not events.
    revision: u64,
    /// Messages made in one go (a snapshot, a resume's backlog), sent before anything else.
    outbox: VecDeque<v1::WatchStateResponse>,
    phase: Phase,
}

impl Watcher {
    /// The next message for the client; `None` ends the stream.
    async fn next_message(&mut self) -> Option<Result<v1::WatchStateResponse, Status>> {
        loop {
            if let Some(message) = self.outbox.pop_front() {
                return Some(Ok(self.sent(message)));
            }
            match &mut self.phase {
                Phase::Ended => return None,
                Phase::Lagged => match self.router.watch(None).await {
                    Ok(start) => self.begin(start, Some(Cause::SubscriberLagged)),
                    Err(error) => {
                        self.phase = Phase::Ended;
                        return Some(Err(control_status(&error)));
                    }
                },
                Phase::Following(subscription) => {
                    tokio::select! {
                        biased;
                        next = subscription.next() => match next {
                            Next::Event(change) => {
                                self.revision = change.revision;
                                if let Some(message) = self.event_message(&change) {
                                    return Some(Ok(self.sent(message)));
                                }
                            }
                            Next::Lagged { .. } => self.phase = Phase::Lagged,
                            Next::Closed => {
                                self.phase = Phase::Ended;
                                return Some(Err(Status::unavailable(
                                    "the daemon is shutting down; reconnect and resume once it \
                                     is back",
                                )));
                            }
                        },
                        () = self.heartbeat_timer.as_mut() => {
                            let due = self.last_sent + self.heartbeat;
                            if due <= Instant::now() {
                                let heartbeat = self.message(
                                    self.revision,
                                    SystemTime::now(),
                                    Kind::Heartbeat(v1::Heartbeat {}),
                                );
                                return Some(Ok(self.sent(heartbeat)));
                            }
                            self.heartbeat_timer.as_mut().reset(due);
                        }
                    }
                }
            }
        }
    }

    /// Fills the outbox with the snapshot (after a `Reset` when there is a cause) or the
    /// replay, then `SnapshotComplete`, and follows the subscription that comes after.
    fn begin(&mut self, start: WatchStart, mut reset: Option<Cause>) {
        self.epoch = start.epoch.to_string();
        let subscription = match start.beginning {
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
                let now = SystemTime::now();
                if let Some(cause) = reset {
                    let message = self.message(
                        revision,
                        now,
                        Kind::Reset(v1::Reset {
                            cause: cause as i32,
                        }),
                    );
                    self.outbox.push_back(message);
                }
                for instance in self.snapshot(&statuses) {
                    let message = self.message(
                        revision,
                        now,
                        Kind::Snapshot(v1::InstanceSnapshot {
                            instance: Some(instance),
                        }),
                    );
                    self.outbox.push_back(message);
                }
                subscription
            }
            WatchBeginning::Resumed(resumed) => {
                for change in &resumed.backlog {
                    if let Some(message) = self.event_message(change) {
                        self.outbox.push_back(message);
                    }
                }
                resumed.subscription
            }
        };
        self.revision = subscription.start_revision;
        let complete = self.message(
            self.revision,
            SystemTime::now(),
            Kind::SnapshotComplete(v1::SnapshotComplete {}),
        );
        self.outbox.push_back(complete);
        self.phase = Phase::Following(subscription);
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

    /// The message for `change`, or `None` when this watcher does not follow its instance.
    fn event_message(
        &self,
        change: &Arc<Revisioned<InstanceEvent>>,
    ) -> Option<v1::WatchStateResponse> {
        if !self.instances.is_empty() && !self.instances.contains(change.event.instance()) {
            return None;
        }
        Some(self.message(change.revision, change.at, convert::event(&change.event)))
    }

    fn message(&self, revision: u64, at: SystemTime, kind: Kind) -> v1::WatchStateResponse {
        v1::WatchStateResponse {
            epoch: self.epoch.clone(),
            revision,
            timestamp: Some(convert::timestamp(at)),
            kind: Some(kind),
        }
    }

    /// Notes that `message` goes out now, for the heartbeat.
    fn sent(&mut self, message: v1::WatchStateResponse) -> v1::WatchStateResponse {
        self.last_sent = Instant::now();
        message
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
