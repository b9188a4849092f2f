//! `WatchState`, served by hand beside the generated `vrrp.v1.Sidecar` server: each change is
//! encoded once, as the length-prefixed gRPC message, and every stream following its instance
//! sends those same bytes.
//!
//! tonic's generated route would turn each change into a `WatchStateResponse` and encode it
//! again for every stream, through a per-call encode buffer; with thousands of watchers that
//! was most of the daemon's work per change. [`WatchStateRoute`] answers the method's path
//! itself (the request, the response headers, the body and the trailers are the same on the
//! wire, so grpcurl, grpcio and the SDK see no difference) and hands every other path to the
//! generated server.
//!
//! One task, the hub, reads the router's event bus for every stream: it encodes each change
//! and hands it on through a queue of its own on the API's thread. The router so wakes one
//! task per change instead of every stream's: waking 10,000 streams from the router's
//! thread took about a fifth of the daemon's CPU per change in `perf`, all of it on the
//! thread that sends the adverts. The body of one stream is its [`Watcher`], written by the
//! HTTP/2 stream's own task: each time the client has room for a message, the stream reads
//! the hub's queue for the next one.
//!
//! The stream starts from what the router handed over in one step (a snapshot, or a resume's
//! backlog, up to a revision), having joined the hub's queue before it asked: the hub is
//! never ahead of the router, so every change after that revision is still to come through
//! the queue, and the stream skips those it already has. When the client reads too slowly,
//! HTTP/2 flow control stops the stream from being polled, so it stops reading the queue,
//! and the queue drops the oldest changes for it alone; the stream then learns it lagged
//! and starts again with a `Reset` and a fresh snapshot, so the client never sees a silent
//! gap. If the hub itself lags behind the router, every stream does the same.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONTENT_TYPE, HeaderValue};
use http_body::Frame;
use http_body_util::{BodyExt, Limited, StreamBody};
use prost::Message;
use tokio::sync::{OnceCell, broadcast};
use tokio::time::{Instant, Sleep};
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;
use tower_service::Service;

use crate::events::status::{InstanceEvent, InstanceStatus};
use crate::events::{Epoch, Next, ResumeRefused, Revisioned, Subscription};
use crate::router::control::{ResumePoint, RouterHandle, WatchBeginning, WatchStart};

use super::convert;
use super::listener::MAX_REQUEST_BYTES;
use super::service::control_status;
use super::v1::watch_state_response::Kind;
use super::v1::{self, reset::Cause};

/// The heartbeat interval when the request sets none.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);
/// The shortest and longest heartbeat interval a watcher may ask for.
const HEARTBEAT_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(300));

/// The HTTP/2 path of the method [`WatchStateRoute`] serves: `/{package.Service}/{Method}`.
const WATCH_STATE_PATH: &str = "/vrrp.v1.Sidecar/WatchState";

/// The gRPC message prefix: a compressed flag and the message's length (4 bytes, big-endian).
const PREFIX_BYTES: usize = 5;

/// How many changes a stream may fall behind the hub before it lags: as many as the router
/// lets any watcher fall behind its bus.
const HUB_QUEUE: usize = 256;

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

/// The generated `vrrp.v1.Sidecar` server with `WatchState` served by [`Watches`].
#[derive(Clone, Debug)]
pub struct WatchStateRoute<S> {
    generated: S,
    watches: Arc<Watches>,
}

impl<S> WatchStateRoute<S> {
    /// Serves `WatchState` from `router`, and every other method of the service through
    /// `generated`.
    pub fn new(generated: S, router: RouterHandle) -> Self {
        WatchStateRoute {
            generated,
            watches: Arc::new(Watches {
                router,
                hub: OnceCell::new(),
            }),
        }
    }
}

impl<S: NamedService> NamedService for WatchStateRoute<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for WatchStateRoute<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.generated.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path() == WATCH_STATE_PATH {
            let watches = Arc::clone(&self.watches);
            Box::pin(async move { Ok(watches.serve(request.into_body()).await) })
        } else {
            Box::pin(self.generated.call(request))
        }
    }
}

/// What every `WatchState` stream of one listener shares: the router, and the hub's queue.
#[derive(Debug)]
pub struct Watches {
    router: RouterHandle,
    /// Started by the first stream, and then for the daemon's life.
    hub: OnceCell<broadcast::Sender<HubItem>>,
}

/// What the hub hands the streams.
#[derive(Clone, Debug)]
enum HubItem {
    /// The next change.
    Change(Arc<EncodedChange>),
    /// The hub fell behind the router and missed changes: every stream starts again.
    Lagged,
    /// The router is gone: the daemon is stopping.
    Closed,
}

/// One change on the wire.
#[derive(Debug)]
struct EncodedChange {
    revision: u64,
    /// Its instance's key, to filter on without comparing names.
    instance: InstanceKey,
    /// Its instance's name, compared only when the key matches.
    name: Box<str>,
    /// The length-prefixed `WatchStateResponse`, the same bytes for every stream.
    frame: Bytes,
}

impl EncodedChange {
    fn new(epoch: &str, change: &Revisioned<InstanceEvent>) -> Self {
        let name = change.event.instance();
        EncodedChange {
            revision: change.revision,
            instance: InstanceKey::of(name),
            name: name.into(),
            frame: frame(&response(
                epoch,
                change.revision,
                change.at,
                convert::event(&change.event),
            )),
        }
    }
}

/// Reads the router's bus for every stream, from `subscription` on, and hands each change on
/// encoded; starts over from a fresh subscription when it lags.
async fn run_hub(
    router: RouterHandle,
    mut relay: (Epoch, Subscription<InstanceEvent>),
    streams: broadcast::Sender<HubItem>,
) {
    loop {
        let (epoch, mut subscription) = relay;
        let epoch = epoch.to_string();
        let lagged = loop {
            match subscription.next().await {
                Next::Event(change) => {
                    let encoded = Arc::new(EncodedChange::new(&epoch, &change));
                    // An error only means no stream is open right now.
                    let _ = streams.send(HubItem::Change(encoded));
                }
                Next::Lagged { .. } => break true,
                Next::Closed => break false,
            }
        };
        // Subscribed again before the streams hear of it, so a stream that starts over
        // asks the router after the hub's new subscription began.
        relay = match router.relay().await {
            Ok(relay) if lagged => relay,
            _ => {
                let _ = streams.send(HubItem::Closed);
                return;
            }
        };
        let _ = streams.send(HubItem::Lagged);
    }
}

impl Watches {
    /// Answers one `WatchState` call: the stream, or a status when the request is malformed
    /// or the router refuses (RESOURCE_EXHAUSTED, UNAVAILABLE).
    async fn serve(self: Arc<Self>, body: Body) -> http::Response<Body> {
        let started = match read_request(body).await.and_then(WatchRequest::parse) {
            Ok(request) => self.start(request).await,
            Err(status) => Err(status),
        };
        match started {
            Ok(watcher) => {
                let frames =
                    futures_util::stream::unfold(Box::new(watcher), |mut watcher| async move {
                        let frame = watcher.next_frame().await?;
                        Some((Ok::<_, Infallible>(frame), watcher))
                    });
                let mut response = http::Response::new(Body::new(StreamBody::new(frames)));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
                response
            }
            Err(status) => status.into_http(),
        }
    }

    /// A place in the hub's queue, taken before the stream asks the router for its start.
    async fn join_hub(&self) -> Result<broadcast::Receiver<HubItem>, Status> {
        let hub = self
            .hub
            .get_or_try_init(|| async {
                // The hub's own start, waited for, so no stream asks the router before the
                // hub is subscribed.
                let relay = self
                    .router
                    .relay()
                    .await
                    .map_err(|error| control_status(&error))?;
                let (streams, _) = broadcast::channel(HUB_QUEUE);
                tokio::spawn(run_hub(self.router.clone(), relay, streams.clone()));
                Ok::<_, Status>(streams)
            })
            .await?;
        Ok(hub.subscribe())
    }

    /// Starts a stream: asks the router first, so a refusal is the call's status.
    async fn start(self: Arc<Self>, request: WatchRequest) -> Result<Watcher, Status> {
        let hub = self.join_hub().await?;
        let first = self
            .router
            .watch(request.resume.clone())
            .await
            .map_err(|error| control_status(&error))?;
        let mut watcher = Watcher {
            hub,
            followed: request
                .instances
                .iter()
                .map(|name| InstanceKey::of(name))
                .collect(),
            instances: request.instances,
            heartbeat: request.heartbeat,
            heartbeat_timer: Box::pin(tokio::time::sleep(request.heartbeat)),
            last_sent: Instant::now(),
            epoch: String::new(),
            revision: 0,
            outbox: VecDeque::new(),
            phase: Phase::Ended,
            watches: self,
        };
        watcher.begin(first, None);
        Ok(watcher)
    }
}

/// An instance name as a number, the same for the same name throughout the run: a stream
/// compares numbers with each change, and names only when the numbers match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InstanceKey(u64);

impl InstanceKey {
    fn of(name: &str) -> Self {
        // Keyed once per run, so a client cannot choose names that collide on purpose.
        static HASHER: LazyLock<RandomState> = LazyLock::new(RandomState::new);
        InstanceKey(HASHER.hash_one(name))
    }
}

/// Reads the request's one message: INTERNAL when it is missing, extra or malformed (as
/// tonic answers), OUT_OF_RANGE when larger than the API accepts, UNIMPLEMENTED when
/// compressed (the API offers no compression).
async fn read_request(body: Body) -> Result<v1::WatchStateRequest, Status> {
    let limit = PREFIX_BYTES + MAX_REQUEST_BYTES;
    let bytes = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                Status::out_of_range(format!(
                    "the request is larger than the {} bytes the API accepts",
                    MAX_REQUEST_BYTES
                ))
            } else {
                Status::from_error(error)
            }
        })?
        .to_bytes();
    decode_request(&bytes)
}

/// The message of a request body holding exactly one uncompressed gRPC message.
fn decode_request(body: &[u8]) -> Result<v1::WatchStateRequest, Status> {
    let Some((prefix, message)) = body.split_at_checked(PREFIX_BYTES) else {
        return Err(Status::internal("Missing request message."));
    };
    if prefix[0] != 0 {
        return Err(Status::unimplemented(
            "compressed requests are not accepted: send WatchStateRequest uncompressed",
        ));
    }
    let length = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
    if usize::try_from(length).ok() != Some(message.len()) {
        return Err(Status::internal(format!(
            "the request body holds {} bytes after a message prefix of {length} bytes; \
             WatchState takes exactly one message",
            message.len()
        )));
    }
    v1::WatchStateRequest::decode(message)
        .map_err(|error| Status::internal(format!("decoding WatchStateRequest: {error}")))
}

/// A `WatchStateResponse`.
fn response(epoch: &str, revision: u64, at: SystemTime, kind: Kind) -> v1::WatchStateResponse {
    v1::WatchStateResponse {
        epoch: epoch.to_owned(),
        revision,
        timestamp: Some(convert::timestamp(at)),
        kind: Some(kind),
    }
}

/// `message` as gRPC sends it: the uncompressed flag, its length, the encoded message.
fn frame(message: &v1::WatchStateResponse) -> Bytes {
    let length = message.encoded_len();
    let mut frame = BytesMut::with_capacity(PREFIX_BYTES + length);
    frame.put_u8(0);
    frame.put_u32(
        u32::try_from(length).expect("a WatchStateResponse is a few hundred bytes at most"),
    );
    message
        .encode(&mut frame)
        .expect("the buffer was sized by encoded_len");
    frame.freeze()
}

/// The trailers that end a stream with `status`.
fn trailers(status: &Status) -> Frame<Bytes> {
    let mut trailers = http::HeaderMap::new();
    if let Err(unencodable) = status.add_header(&mut trailers) {
        trailers.clear();
        // Only a message that cannot be a header value gets here; its code still goes out.
        let _ = Status::new(unencodable.code(), "").add_header(&mut trailers);
    }
    Frame::trailers(trailers)
}

/// Where the stream stands once its outbox is empty.
enum Phase {
    /// Live changes from the hub. The router's subscription is held, never read, so the
    /// router counts this watcher (its watcher limit, the watchers metric); it wakes nobody.
    Following {
        _counted: Subscription<InstanceEvent>,
    },
    /// The hub's queue dropped changes for this watcher, or the hub lagged itself: a `Reset`
    /// and a fresh snapshot come next.
    Lagged,
    /// The stream is over.
    Ended,
}

struct Watcher {
    watches: Arc<Watches>,
    /// This stream's place in the hub's queue.
    hub: broadcast::Receiver<HubItem>,
    /// The names asked for, in order, for snapshots; empty follows every instance.
    instances: BTreeSet<String>,
    /// Their keys, for filtering changes.
    followed: Vec<InstanceKey>,
    heartbeat: Duration,
    /// Fires at most once per heartbeat interval; when it fires early (something was sent
    /// since it was set), it is set again instead of being moved on every message.
    heartbeat_timer: Pin<Box<Sleep>>,
    last_sent: Instant,
    epoch: String,
    /// The latest revision the client is up to date with, for messages that are not events.
    revision: u64,
    /// Messages made in one go (a snapshot, a resume's backlog), sent before anything else.
    outbox: VecDeque<Bytes>,
    phase: Phase,
}

impl Watcher {
    /// The next frame of the response body: a message, or the trailers that end the stream
    /// with an error; `None` once they are sent.
    async fn next_frame(&mut self) -> Option<Frame<Bytes>> {
        loop {
            if let Some(message) = self.outbox.pop_front() {
                return Some(self.sent(message));
            }
            match &mut self.phase {
                Phase::Ended => return None,
                Phase::Lagged => match self.watches.router.watch(None).await {
                    Ok(start) => self.begin(start, Some(Cause::SubscriberLagged)),
                    Err(error) => {
                        self.phase = Phase::Ended;
                        return Some(trailers(&control_status(&error)));
                    }
                },
                Phase::Following { .. } => {
                    tokio::select! {
                        biased;
                        item = self.hub.recv() => match item {
                            // Already in the snapshot or backlog the stream started from.
                            Ok(HubItem::Change(change)) if change.revision <= self.revision => {}
                            Ok(HubItem::Change(change)) if change.revision == self.revision + 1 => {
                                self.revision = change.revision;
                                if self.follows(&change) {
                                    return Some(self.sent(change.frame.clone()));
                                }
                            }
                            // A revision missing in between: never expected (the stream joined
                            // the hub before its start), but starting over is the safe answer.
                            Ok(HubItem::Change(_) | HubItem::Lagged)
                            | Err(broadcast::error::RecvError::Lagged(_)) => {
                                self.phase = Phase::Lagged;
                            }
                            Ok(HubItem::Closed) | Err(broadcast::error::RecvError::Closed) => {
                                self.phase = Phase::Ended;
                                return Some(trailers(&Status::unavailable(
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
                                return Some(self.sent(heartbeat));
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
                            instance: Some(Box::new(instance)),
                        }),
                    );
                    self.outbox.push_back(message);
                }
                subscription
            }
            WatchBeginning::Resumed(resumed) => {
                for change in &resumed.backlog {
                    let change = EncodedChange::new(&self.epoch, change);
                    if self.follows(&change) {
                        self.outbox.push_back(change.frame);
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
        self.phase = Phase::Following {
            _counted: subscription,
        };
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

    /// Whether this watcher follows `change`'s instance.
    fn follows(&self, change: &EncodedChange) -> bool {
        self.followed.is_empty()
            || (self.followed.contains(&change.instance) && self.instances.contains(&*change.name))
    }

    /// A message of this stream alone, encoded.
    fn message(&self, revision: u64, at: SystemTime, kind: Kind) -> Bytes {
        frame(&response(&self.epoch, revision, at, kind))
    }

    /// Notes that `message` goes out now, for the heartbeat.
    fn sent(&mut self, message: Bytes) -> Frame<Bytes> {
        self.last_sent = Instant::now();
        Frame::data(message)
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
