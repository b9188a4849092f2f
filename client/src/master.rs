//! `is_master()`: one instance's role as a `tokio::sync::watch` value, kept fresh by a
//! background task that follows a [`Session`].

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until};
use vrrp_sidecar_proto::v1::State;

use crate::watch::{Received, Session};
use crate::{Event, GrpcClient, WatchOptions};

/// An instance's role as far as this client can vouch for it.
///
/// ```no_run
/// # async fn run(client: vrrp_sidecar_client::Client) {
/// use vrrp_sidecar_client::MasterState;
///
/// let role = client.is_master("vi_web");
/// match *role.borrow() {
///     MasterState::Master => println!("serving"),
///     MasterState::NotMaster(state) => println!("standing by ({state:?})"),
///     MasterState::Unknown => println!("cannot tell: not connected"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterState {
    /// Nothing trustworthy is known: not yet connected, nothing heard for the heartbeat
    /// timeout, or the daemon reset the stream and its new snapshot has not arrived. Treat it
    /// as "not master": an application must not act as master when it cannot know.
    Unknown,
    /// The instance is master (RFC 9568's Active Router) and holds the virtual addresses.
    Master,
    /// The instance is in this other state. `State::Unknown` means the daemon has no instance
    /// of that name (not configured, or removed by a reload).
    NotMaster(State),
}

impl MasterState {
    /// Whether the instance is known to be master.
    ///
    /// ```
    /// use vrrp_sidecar_client::{MasterState, proto::State};
    ///
    /// assert!(MasterState::Master.is_master());
    /// assert!(!MasterState::Unknown.is_master());
    /// assert!(!MasterState::NotMaster(State::Backup).is_master());
    /// ```
    pub fn is_master(&self) -> bool {
        *self == MasterState::Master
    }

    fn from_state(state: State) -> Self {
        match state {
            State::Master => MasterState::Master,
            other => MasterState::NotMaster(other),
        }
    }

    /// The state after `event`, for the instance called `name`.
    fn after(self, event: &Event, name: &str) -> Self {
        match event {
            Event::Snapshot(instance) if instance.name == name => {
                MasterState::from_state(instance.state())
            }
            Event::Transition(transition) if transition.instance_name == name => {
                MasterState::from_state(transition.to())
            }
            Event::InstanceRemoved { instance_name } if instance_name == name => {
                MasterState::NotMaster(State::Unknown)
            }
            // Until the snapshot that follows, what we knew may be out of date.
            Event::Reset { .. } => MasterState::Unknown,
            _ => self,
        }
    }
}

/// Starts the task behind [`Client::is_master`](crate::Client::is_master).
pub(crate) fn spawn(
    grpc: GrpcClient,
    instance_name: &str,
    options: WatchOptions,
) -> watch::Receiver<MasterState> {
    let (sender, receiver) = watch::channel(MasterState::Unknown);
    tokio::spawn(follow_mastership(
        grpc,
        instance_name.to_owned(),
        options.only_instance(instance_name),
        sender,
    ));
    receiver
}

/// Publishes the instance's role until every receiver is gone.
///
/// What was last heard is trusted for one heartbeat timeout: through a quick reconnection the
/// value stays, and the resumed stream brings it up to date; past that, it is `Unknown`.
async fn follow_mastership(
    grpc: GrpcClient,
    instance_name: String,
    options: WatchOptions,
    sender: watch::Sender<MasterState>,
) {
    let trust_for = options.heartbeat_timeout();
    loop {
        let mut session = Session::new(grpc.clone(), options.clone());
        let mut known = MasterState::Unknown;
        let mut trusted_until: Option<Instant> = None;
        loop {
            let received = tokio::select! {
                () = sender.closed() => return,
                () = sleep_until_some(trusted_until) => {
                    trusted_until = None;
                    publish(&sender, MasterState::Unknown);
                    continue;
                }
                received = session.next_received() => received,
            };
            match received {
                Some(Ok(Received::Event(event)))
                    if matches!(*event, Event::Disconnected { .. }) => {}
                Some(Ok(received)) => {
                    if let Received::Event(event) = &received {
                        known = known.after(event, &instance_name);
                    }
                    trusted_until = Some(Instant::now() + trust_for);
                    publish(&sender, known);
                }
                // A permanent error (refused credentials, a contract violation): start over
                // after the longest backoff, in case the daemon is fixed or replaced.
                Some(Err(_)) | None => break,
            }
        }
        publish(&sender, MasterState::Unknown);
        tokio::select! {
            () = sender.closed() => return,
            () = sleep(options.backoff_settings().max().max(Duration::from_secs(1))) => {}
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Changes the published value, waking receivers only when it really changed.
fn publish(sender: &watch::Sender<MasterState>, state: MasterState) {
    sender.send_if_modified(|current| {
        let changed = *current != state;
        *current = state;
        changed
    });
}
