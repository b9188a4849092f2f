//! `watch()`: the daemon's `WatchState` stream, made to survive daemon restarts and broken
//! connections without ever hiding a gap from the caller.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_stream::Stream;
use tonic::Streaming;
use vrrp_sidecar_proto::v1 as proto;
use vrrp_sidecar_proto::v1::watch_state_response::Kind;

use crate::{Backoff, Error, GrpcClient};

/// How many heartbeat intervals of silence make a connection count as dead. One lost heartbeat
/// is not proof (a busy daemon sends events instead, the network may hiccup); three is.
const SILENT_INTERVALS_BEFORE_DEAD: u32 = 3;

/// What to watch and how patiently.
///
/// ```
/// use std::time::Duration;
/// use vrrp_sidecar_client::{Backoff, WatchOptions};
///
/// let options = WatchOptions::default()
///     .instance("vi_web")
///     .heartbeat_interval(Duration::from_secs(2))
///     .backoff(Backoff::new(Duration::from_millis(50), Duration::from_secs(5)));
/// assert_eq!(options.heartbeat_timeout(), Duration::from_secs(6));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    instance_names: Vec<String>,
    heartbeat_interval: Duration,
    backoff: Backoff,
}

impl Default for WatchOptions {
    /// Every instance, the daemon's default 10 s heartbeat, [`Backoff::default`].
    fn default() -> Self {
        WatchOptions {
            instance_names: Vec::new(),
            heartbeat_interval: Duration::from_secs(10),
            backoff: Backoff::default(),
        }
    }
}

impl WatchOptions {
    /// Watches this instance (call again for more). Without any, every instance is watched,
    /// including ones a later reload creates.
    ///
    /// ```
    /// use vrrp_sidecar_client::WatchOptions;
    ///
    /// let options = WatchOptions::default().instance("vi_web").instance("vi_db");
    /// ```
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance_names.push(name.into());
        self
    }

    /// Asks the daemon for a heartbeat after this much silence. The daemon accepts 1 s to
    /// 300 s. Three intervals without any message count as a dead connection, and that is also
    /// how long [`Client::is_master`](crate::Client::is_master) keeps trusting what it last
    /// heard: pick it from how stale a mastership answer your application may act on.
    ///
    /// ```
    /// use std::time::Duration;
    /// use vrrp_sidecar_client::WatchOptions;
    ///
    /// let options = WatchOptions::default().heartbeat_interval(Duration::from_secs(1));
    /// ```
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// How to space reconnection attempts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use vrrp_sidecar_client::{Backoff, WatchOptions};
    ///
    /// let options = WatchOptions::default()
    ///     .backoff(Backoff::new(Duration::from_millis(20), Duration::from_secs(1)));
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The silence after which the connection counts as dead: three heartbeat intervals.
    ///
    /// ```
    /// use vrrp_sidecar_client::WatchOptions;
    ///
    /// assert_eq!(WatchOptions::default().heartbeat_timeout().as_secs(), 30);
    /// ```
    pub fn heartbeat_timeout(&self) -> Duration {
        self.heartbeat_interval * SILENT_INTERVALS_BEFORE_DEAD
    }

    /// These options narrowed to one instance.
    pub(crate) fn only_instance(mut self, name: &str) -> Self {
        self.instance_names = vec![name.to_owned()];
        self
    }

    pub(crate) fn backoff_settings(&self) -> Backoff {
        self.backoff
    }
}

/// Why the caller must drop what it built from earlier events: a fresh snapshot follows.
///
/// ```no_run
/// # async fn run(client: vrrp_sidecar_client::Client) {
/// use std::collections::HashMap;
/// use tokio_stream::StreamExt;
/// use vrrp_sidecar_client::{Event, ResetCause, WatchOptions};
///
/// let mut instances = HashMap::new();
/// let mut events = client.watch(WatchOptions::default());
/// while let Some(Ok(event)) = events.next().await {
///     match event {
///         Event::Reset { cause } => {
///             if cause == ResetCause::EpochChanged {
///                 println!("the daemon restarted");
///             }
///             instances.clear();
///         }
///         Event::Snapshot(instance) => {
///             instances.insert(instance.name.clone(), instance);
///         }
///         _ => {}
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetCause {
    /// The daemon dropped our pending events because we read too slowly.
    SubscriberLagged,
    /// We resumed after a revision that the daemon no longer keeps.
    RevisionNotInHistory,
    /// The daemon restarted: every revision we held belongs to its previous life.
    EpochChanged,
    /// The connection broke during a snapshot, so the SDK starts the snapshot over.
    SnapshotRestarted,
    /// The daemon sent a new snapshot without saying why.
    Unspecified,
}

impl From<proto::reset::Cause> for ResetCause {
    fn from(cause: proto::reset::Cause) -> Self {
        match cause {
            proto::reset::Cause::SubscriberLagged => ResetCause::SubscriberLagged,
            proto::reset::Cause::RevisionNotInHistory => ResetCause::RevisionNotInHistory,
            proto::reset::Cause::EpochChanged => ResetCause::EpochChanged,
            proto::reset::Cause::Unspecified => ResetCause::Unspecified,
        }
    }
}

/// One item of a [`Watch`].
///
/// The order is the contract's: `Snapshot` items, `SnapshotComplete`, then changes. A `Reset`
/// means "forget the previous snapshot and changes": a new snapshot follows. Heartbeats are
/// consumed by the SDK.
///
/// ```no_run
/// # async fn run(client: vrrp_sidecar_client::Client) {
/// use tokio_stream::StreamExt;
/// use vrrp_sidecar_client::{Event, WatchOptions};
///
/// let mut events = client.watch(WatchOptions::default());
/// while let Some(Ok(event)) = events.next().await {
///     if let Event::Transition(transition) = event {
///         println!("{}: {:?} -> {:?}", transition.instance_name, transition.from(), transition.to());
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// One instance's state at the time of the snapshot (boxed: an instance is several
    /// times the size of every other event).
    Snapshot(Box<proto::Instance>),
    /// Every snapshot item has been sent; changes after `revision` follow.
    SnapshotComplete {
        /// The daemon's boot identifier.
        epoch: String,
        /// The revision the stream continues from.
        revision: u64,
    },
    /// An instance changed state.
    Transition(proto::Transition),
    /// An instance's base or effective priority changed without a state change.
    PriorityChanged(proto::PriorityChange),
    /// A health check passed or failed after its rise/fall counts.
    HealthCheckResult(proto::HealthCheck),
    /// Events were missed: drop the state built so far, a fresh snapshot follows.
    Reset {
        /// Why.
        cause: ResetCause,
    },
    /// A reload removed the instance.
    InstanceRemoved {
        /// The removed instance.
        instance_name: String,
    },
    /// The connection is lost (or could not be made); the SDK is reconnecting with backoff and
    /// will resume after the last revision seen. Reported once per outage.
    Disconnected {
        /// What broke.
        error: Error,
    },
}

/// The stream returned by [`Client::watch`](crate::Client::watch).
///
/// Like any stream it is lazy: it connects when first polled, and stops (closing the call) when
/// dropped. It only ends after yielding an error that retrying cannot fix (for instance
/// `InvalidArgument` for the heartbeat interval, `PermissionDenied`, or a daemon that breaks the
/// stream's contract). Anything else is reported as [`Event::Disconnected`] and retried.
///
/// ```no_run
/// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
/// use tokio_stream::StreamExt;
/// use vrrp_sidecar_client::WatchOptions;
///
/// let mut events = client.watch(WatchOptions::default().instance("vi_web"));
/// while let Some(event) = events.next().await {
///     println!("{:?}", event?);
/// }
/// # Ok(())
/// # }
/// ```
pub struct Watch {
    events: Pin<Box<dyn Stream<Item = Result<Event, Error>> + Send>>,
}

impl Watch {
    pub(crate) fn new(session: Session) -> Self {
        let events = futures_util::stream::unfold(session, |mut session| async move {
            loop {
                match session.next_received().await? {
                    Ok(Received::Heartbeat) => continue,
                    Ok(Received::Event(event)) => return Some((Ok(*event), session)),
                    Err(error) => return Some((Err(error), session)),
                }
            }
        });
        Watch {
            events: Box::pin(events),
        }
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Watch").finish_non_exhaustive()
    }
}

impl Stream for Watch {
    type Item = Result<Event, Error>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.as_mut().poll_next(context)
    }
}

/// What a session hands out: events, plus the heartbeats that only liveness tracking needs.
#[derive(Debug)]
pub(crate) enum Received {
    /// Boxed: an event is hundreds of bytes and a heartbeat none, so every item stays small.
    Event(Box<Event>),
    Heartbeat,
}

/// Where a stream can be resumed: the last revision the caller has seen, in its epoch.
#[derive(Debug, Clone)]
struct ResumePoint {
    epoch: String,
    revision: u64,
}

/// Where one connection is in the contract's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// We asked to resume; the first message tells whether the daemon replays or resets.
    Resuming,
    /// Snapshot items until `SnapshotComplete`.
    Snapshotting,
    /// Changes, in revision order.
    Following,
}

struct Connection {
    messages: Streaming<proto::WatchStateResponse>,
    phase: Phase,
    /// The caller holds state from earlier connections that this connection has not yet
    /// confirmed (by resuming) or replaced (after a `Reset`): a snapshot without a `Reset`
    /// before it must be announced as one.
    owes_reset: bool,
    /// When the silence becomes a heartbeat timeout. Kept here rather than in a local timer so
    /// that a caller that drops `next_received` half-way does not reset it.
    silent_until: Instant,
}

/// The reconnecting, resuming state machine behind [`Watch`] and `is_master`.
pub(crate) struct Session {
    grpc: GrpcClient,
    options: WatchOptions,
    resume_point: Option<ResumePoint>,
    /// The epoch of the last message seen, to tell a restart from a reset.
    last_epoch: Option<String>,
    connection: Option<Connection>,
    /// Not before this instant may the next connection attempt start.
    retry_at: Option<Instant>,
    failed_attempts: u32,
    outage_reported: bool,
    /// The caller has seen snapshot items or changes since the last reset.
    caller_has_state: bool,
    /// An event held back while a synthesized `Reset` goes first.
    held_back: Option<Event>,
    finished: bool,
}

impl Session {
    pub(crate) fn new(grpc: GrpcClient, options: WatchOptions) -> Self {
        Session {
            grpc,
            options,
            resume_point: None,
            last_epoch: None,
            connection: None,
            retry_at: None,
            failed_attempts: 0,
            outage_reported: false,
            caller_has_state: false,
            held_back: None,
            finished: false,
        }
    }

    /// The next event or heartbeat; `None` once a permanent error has been returned.
    ///
    /// Safe to drop half-way: the deadlines live in the session, and a dropped connection
    /// attempt is simply made again.
    pub(crate) async fn next_received(&mut self) -> Option<Result<Received, Error>> {
        loop {
            if let Some(event) = self.held_back.take() {
                return Some(Ok(Received::Event(Box::new(event))));
            }
            if self.finished {
                return None;
            }
            let Some(connection) = self.connection.as_mut() else {
                if let Some(retry_at) = self.retry_at {
                    sleep_until(retry_at).await;
                    self.retry_at = None;
                }
                match self.open().await {
                    Ok(connection) => self.connection = Some(connection),
                    Err(error) => {
                        if let Some(report) = self.lose_connection(error) {
                            return Some(report);
                        }
                    }
                }
                continue;
            };
            let outcome =
                match timeout_at(connection.silent_until, connection.messages.message()).await {
                    Err(_elapsed) => Err(Error::HeartbeatTimeout(self.options.heartbeat_timeout())),
                    Ok(Err(status)) => Err(Error::from(status)),
                    Ok(Ok(None)) => Err(Error::StreamEnded),
                    Ok(Ok(Some(message))) => Ok(message),
                };
            match outcome {
                Ok(message) => {
                    connection.silent_until = Instant::now() + self.options.heartbeat_timeout();
                    self.failed_attempts = 0;
                    self.outage_reported = false;
                    return Some(match self.accept(message) {
                        Ok(received) => Ok(received),
                        Err(error) => {
                            self.connection = None;
                            self.finished = true;
                            Err(error)
                        }
                    });
                }
                Err(error) => {
                    if let Some(report) = self.lose_connection(error) {
                        return Some(report);
                    }
                }
            }
        }
    }

    async fn open(&mut self) -> Result<Connection, Error> {
        let heartbeat_interval =
            prost_types::Duration::try_from(self.options.heartbeat_interval)
                .map_err(|error| Error::InvalidSettings(format!("heartbeat interval: {error}")))?;
        let request = proto::WatchStateRequest {
            instance_names: self.options.instance_names.clone(),
            resume_after_revision: self.resume_point.as_ref().map(|point| point.revision),
            epoch: self
                .resume_point
                .as_ref()
                .map(|point| point.epoch.clone())
                .unwrap_or_default(),
            heartbeat_interval: Some(heartbeat_interval),
        };
        // A daemon that accepts the connection but never answers is as dead as a silent one.
        let silent_until = Instant::now() + self.options.heartbeat_timeout();
        let response = timeout_at(silent_until, self.grpc.watch_state(request))
            .await
            .map_err(|_elapsed| Error::HeartbeatTimeout(self.options.heartbeat_timeout()))??;
        Ok(Connection {
            messages: response.into_inner(),
            phase: if self.resume_point.is_some() {
                Phase::Resuming
            } else {
                Phase::Snapshotting
            },
            owes_reset: self.caller_has_state,
            silent_until,
        })
    }

    /// Drops the connection and schedules the next attempt; returns what the caller must hear:
    /// a permanent error, or the first `Disconnected` of an outage.
    fn lose_connection(&mut self, error: Error) -> Option<Result<Received, Error>> {
        self.connection = None;
        if !error.is_transient() {
            self.finished = true;
            return Some(Err(error));
        }
        self.retry_at = Some(Instant::now() + self.options.backoff.delay(self.failed_attempts));
        self.failed_attempts = self.failed_attempts.saturating_add(1);
        if self.outage_reported {
            return None;
        }
        self.outage_reported = true;
        Some(Ok(Received::Event(Box::new(Event::Disconnected { error }))))
    }

    /// Checks one message against the contract and turns it into what the caller sees.
    fn accept(&mut self, message: proto::WatchStateResponse) -> Result<Received, Error> {
        let proto::WatchStateResponse {
            epoch,
            revision,
            kind,
            ..
        } = message;
        let kind = kind.ok_or_else(|| invalid("a message without a kind"))?;
        let Some(connection) = self.connection.as_mut() else {
            return Err(invalid("a message outside a connection"));
        };
        let received = match kind {
            Kind::Heartbeat(_) => return Ok(Received::Heartbeat),
            Kind::Reset(reset) => {
                connection.phase = Phase::Snapshotting;
                connection.owes_reset = false;
                self.resume_point = None;
                self.caller_has_state = false;
                self.last_epoch = Some(epoch);
                return Ok(Received::Event(Box::new(Event::Reset {
                    cause: reset.cause().into(),
                })));
            }
            Kind::Snapshot(snapshot) => {
                let instance = snapshot
                    .instance
                    .ok_or_else(|| invalid("a snapshot item without an instance"))?;
                self.enter_snapshot(&epoch, Event::Snapshot(instance))?
            }
            Kind::SnapshotComplete(_) => {
                let event = Event::SnapshotComplete {
                    epoch: epoch.clone(),
                    revision,
                };
                let received = self.enter_snapshot(&epoch, event)?;
                if let Some(connection) = self.connection.as_mut() {
                    connection.phase = Phase::Following;
                }
                self.resume_point = Some(ResumePoint {
                    epoch: epoch.clone(),
                    revision,
                });
                received
            }
            Kind::Transition(transition) => {
                self.follow(&epoch, revision, Event::Transition(transition))?
            }
            Kind::PriorityChange(change) => {
                self.follow(&epoch, revision, Event::PriorityChanged(change))?
            }
            Kind::HealthCheckResult(result) => {
                let check = result
                    .check
                    .ok_or_else(|| invalid("a health check result without its check"))?;
                self.follow(&epoch, revision, Event::HealthCheckResult(check))?
            }
            Kind::InstanceRemoved(removed) => self.follow(
                &epoch,
                revision,
                Event::InstanceRemoved {
                    instance_name: removed.instance_name,
                },
            )?,
        };
        self.last_epoch = Some(epoch);
        self.caller_has_state = true;
        Ok(received)
    }

    /// A snapshot item or `SnapshotComplete`: allowed while snapshotting, or as the daemon's
    /// answer to a resume. When the caller still holds older state and the daemon sent no
    /// `Reset`, the SDK sends one first.
    fn enter_snapshot(&mut self, epoch: &str, event: Event) -> Result<Received, Error> {
        let Some(connection) = self.connection.as_mut() else {
            return Err(invalid("a message outside a connection"));
        };
        let cause = match connection.phase {
            Phase::Following => {
                return Err(invalid(
                    "a snapshot item after SnapshotComplete without a Reset",
                ));
            }
            _ if self.last_epoch.as_deref().is_some_and(|last| last != epoch) => {
                ResetCause::EpochChanged
            }
            Phase::Resuming => ResetCause::Unspecified,
            Phase::Snapshotting => ResetCause::SnapshotRestarted,
        };
        connection.phase = Phase::Snapshotting;
        if !std::mem::take(&mut connection.owes_reset) {
            return Ok(Received::Event(Box::new(event)));
        }
        self.resume_point = None;
        self.held_back = Some(event);
        Ok(Received::Event(Box::new(Event::Reset { cause })))
    }

    /// A change: allowed after `SnapshotComplete`, or as the first replayed change of a resume,
    /// and only in the same epoch with a higher revision than the last.
    fn follow(&mut self, epoch: &str, revision: u64, event: Event) -> Result<Received, Error> {
        let (Some(connection), Some(resume_point)) =
            (self.connection.as_mut(), self.resume_point.as_mut())
        else {
            return Err(invalid("a change before SnapshotComplete"));
        };
        if connection.phase == Phase::Snapshotting {
            return Err(invalid("a change before SnapshotComplete"));
        }
        if resume_point.epoch != epoch {
            return Err(invalid(&format!(
                "epoch {epoch} follows epoch {} without a Reset",
                resume_point.epoch
            )));
        }
        if revision <= resume_point.revision {
            return Err(invalid(&format!(
                "revision {revision} after revision {}",
                resume_point.revision
            )));
        }
        resume_point.revision = revision;
        connection.phase = Phase::Following;
        connection.owes_reset = false;
        Ok(Received::Event(Box::new(event)))
    }
}

fn invalid(what: &str) -> Error {
    Error::InvalidResponse(format!(
        "{what} (see the WatchState contract in sidecar.proto)"
    ))
}
