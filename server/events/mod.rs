//! The daemon's change history: every change gets a revision, and watchers follow it.
//!
//! The router task owns the [`EventBus`] and is the only one to [`EventBus::publish`], so
//! revisions are strictly increasing within one boot [`Epoch`] without any lock. Watchers
//! (the `WatchState` streams) never hold the router up: each reads from its own position in a
//! bounded broadcast queue, and one that falls behind the queue learns it missed events
//! ([`Next::Lagged`]) instead of slowing anyone or growing a buffer without limit; it then
//! asks the router for a fresh snapshot.
//!
//! Subscribing and taking a snapshot happen in one step of the router task (it builds the
//! snapshot, then calls [`EventBus::subscribe`] before handling anything else), so no event
//! can fall between the snapshot and the first event a watcher receives.

mod epoch;
pub mod stats;
pub mod status;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use tokio::sync::broadcast;

pub use epoch::Epoch;

/// One change, numbered.
#[derive(Debug, PartialEq, Eq)]
pub struct Revisioned<E> {
    /// Strictly increasing within the epoch; the first change is revision 1.
    pub revision: u64,
    /// When the change happened, for the event's timestamp.
    pub at: SystemTime,
    /// What changed.
    pub event: E,
}

/// The revisioned history of one daemon run and the queue its watchers read.
#[derive(Debug)]
pub struct EventBus<E> {
    epoch: Epoch,
    last_revision: u64,
    /// The most recent changes, oldest first, for watchers that reconnect and resume.
    history: VecDeque<Arc<Revisioned<E>>>,
    history_limit: usize,
    live: broadcast::Sender<Arc<Revisioned<E>>>,
    /// How many of the live queue's readers are relays, not watchers.
    relays: Arc<AtomicUsize>,
}

/// A watcher's place in the live queue.
#[derive(Debug)]
pub struct Subscription<E> {
    /// The revision the watcher is up to date with when it starts reading: the snapshot taken
    /// in the same router step includes every change up to here.
    pub start_revision: u64,
    receiver: broadcast::Receiver<Arc<Revisioned<E>>>,
    /// Set for a relay: takes it off the relay count when it is dropped (held, never read).
    _relay: Option<RelayCount>,
}

/// One relay in [`EventBus`]'s count, for as long as its subscription lives.
#[derive(Debug)]
struct RelayCount(Arc<AtomicUsize>);

impl Drop for RelayCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a watcher reads next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<E> {
    /// The next change, in revision order.
    Event(Arc<Revisioned<E>>),
    /// The watcher fell behind the queue and `missed` changes are gone: it must start again
    /// from a snapshot.
    Lagged {
        /// How many changes it missed.
        missed: u64,
    },
    /// The bus is gone: the daemon is stopping.
    Closed,
}

/// A resumed watcher: the changes it missed, then its live subscription.
#[derive(Debug)]
pub struct Resumed<E> {
    /// The changes after the watcher's revision, oldest first; empty when it missed nothing.
    pub backlog: Vec<Arc<Revisioned<E>>>,
    /// Continues right after the backlog.
    pub subscription: Subscription<E>,
}

/// Why a watcher cannot resume where it left off, and must take a fresh snapshot instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResumeRefused {
    /// The daemon restarted: revisions of another epoch mean nothing now.
    #[error("the daemon restarted (epoch {current}, not {requested})")]
    EpochChanged {
        /// The epoch the watcher asked for.
        requested: String,
        /// This run's epoch.
        current: String,
    },
    /// The history no longer holds the changes after that revision (or never had it).
    #[error("revision {requested} is not in the history (it holds {oldest}..={newest})")]
    RevisionNotInHistory {
        /// The revision the watcher asked to resume after.
        requested: u64,
        /// The oldest revision still held (the next to be published when the history is
        /// empty).
        oldest: u64,
        /// The newest revision published.
        newest: u64,
    },
}

impl<E> EventBus<E> {
    /// A bus for the run `epoch` that keeps the last `history_limit` changes for resuming
    /// watchers and lets a watcher fall `queue_limit` changes behind before it lags.
    ///
    /// Both limits are at least 1.
    pub fn new(epoch: Epoch, history_limit: usize, queue_limit: usize) -> Self {
        let (live, _) = broadcast::channel(queue_limit.max(1));
        EventBus {
            epoch,
            last_revision: 0,
            history: VecDeque::with_capacity(history_limit.max(1)),
            history_limit: history_limit.max(1),
            live,
            relays: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// This run's epoch.
    pub fn epoch(&self) -> &Epoch {
        &self.epoch
    }

    /// The revision of the latest change; 0 before the first.
    pub fn last_revision(&self) -> u64 {
        self.last_revision
    }

    /// How many watchers are subscribed (relays are not watchers).
    pub fn watcher_count(&self) -> usize {
        watchers(self.live.receiver_count(), &self.relays)
    }

    /// Records a change and hands it to every watcher; returns its revision.
    ///
    /// Never waits: a watcher whose queue is full loses its oldest changes and reads
    /// [`Next::Lagged`].
    pub fn publish(&mut self, at: SystemTime, event: E) -> u64 {
        self.last_revision += 1;
        let change = Arc::new(Revisioned {
            revision: self.last_revision,
            at,
            event,
        });
        if self.history.len() == self.history_limit {
            self.history.pop_front();
        }
        self.history.push_back(Arc::clone(&change));
        // An error only means nobody is watching right now; the history still has it.
        let _ = self.live.send(change);
        self.last_revision
    }

    /// A new watcher that reads every change after [`EventBus::last_revision`].
    pub fn subscribe(&self) -> Subscription<E> {
        Subscription {
            start_revision: self.last_revision,
            receiver: self.live.subscribe(),
            _relay: None,
        }
    }

    /// Like [`EventBus::subscribe`], for a relay: a reader that hands every change on to
    /// watchers of its own, which are the ones to count, not the relay.
    pub fn subscribe_relay(&self) -> Subscription<E> {
        self.relays.fetch_add(1, Ordering::Relaxed);
        Subscription {
            _relay: Some(RelayCount(Arc::clone(&self.relays))),
            ..self.subscribe()
        }
    }

    /// A watcher that had seen every change of `epoch` up to `after` and wants the rest.
    pub fn resume(&self, epoch: &str, after: u64) -> Result<Resumed<E>, ResumeRefused> {
        if epoch != self.epoch.as_str() {
            return Err(ResumeRefused::EpochChanged {
                requested: epoch.to_owned(),
                current: self.epoch.to_string(),
            });
        }
        let oldest = self
            .history
            .front()
            .map_or(self.last_revision + 1, |change| change.revision);
        // Resuming after `oldest - 1` still needs nothing the history has dropped.
        if after > self.last_revision || after + 1 < oldest {
            return Err(ResumeRefused::RevisionNotInHistory {
                requested: after,
                oldest,
                newest: self.last_revision,
            });
        }
        let backlog = self
            .history
            .iter()
            .filter(|change| change.revision > after)
            .cloned()
            .collect();
        Ok(Resumed {
            backlog,
            subscription: self.subscribe(),
        })
    }
}

impl<E: Send + Sync + 'static> EventBus<E> {
    /// Counts this bus's watchers from outside the router (for metrics), without keeping
    /// the live queue open after the bus is gone.
    pub fn watcher_gauge(&self) -> WatcherGauge {
        let live = self.live.downgrade();
        let relays = Arc::clone(&self.relays);
        WatcherGauge(Arc::new(move || {
            live.upgrade()
                .map_or(0, |sender| watchers(sender.receiver_count(), &relays))
        }))
    }
}

/// The watchers among `readers` of the live queue. A relay's subscription leaves the queue
/// just before the relay count, so for an instant this may count one watcher less.
fn watchers(readers: usize, relays: &AtomicUsize) -> usize {
    readers.saturating_sub(relays.load(Ordering::Relaxed))
}

/// How many watchers a bus has; see [`EventBus::watcher_gauge`].
#[derive(Clone)]
pub struct WatcherGauge(Arc<dyn Fn() -> usize + Send + Sync>);

impl WatcherGauge {
    /// The number of watchers now; 0 once the bus is gone.
    pub fn count(&self) -> usize {
        (self.0)()
    }
}

impl std::fmt::Debug for WatcherGauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WatcherGauge").field(&self.count()).finish()
    }
}

impl<E> Subscription<E> {
    /// Waits for the next change.
    pub async fn next(&mut self) -> Next<E> {
        match self.receiver.recv().await {
            Ok(change) => Next::Event(change),
            Err(broadcast::error::RecvError::Lagged(missed)) => Next::Lagged { missed },
            Err(broadcast::error::RecvError::Closed) => Next::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus(history: usize, queue: usize) -> EventBus<&'static str> {
        EventBus::new(Epoch::from("boot-1"), history, queue)
    }

    fn revisions(changes: &[Arc<Revisioned<&'static str>>]) -> Vec<u64> {
        changes.iter().map(|change| change.revision).collect()
    }

    async fn next_revision(subscription: &mut Subscription<&'static str>) -> Option<u64> {
        match subscription.next().await {
            Next::Event(change) => Some(change.revision),
            _ => None,
        }
    }

    #[tokio::test]
    async fn revisions_start_at_one_and_increase_by_one() {
        let mut bus = bus(8, 8);
        assert_eq!(bus.last_revision(), 0);
        assert_eq!(bus.publish(SystemTime::UNIX_EPOCH, "a"), 1);
        assert_eq!(bus.publish(SystemTime::UNIX_EPOCH, "b"), 2);
        assert_eq!(bus.last_revision(), 2);
    }

    #[tokio::test]
    async fn a_subscriber_sees_every_change_after_its_start_revision_in_order() {
        let mut bus = bus(8, 8);
        bus.publish(SystemTime::UNIX_EPOCH, "before");
        let mut watcher = bus.subscribe();
        assert_eq!(watcher.start_revision, 1);
        bus.publish(SystemTime::UNIX_EPOCH, "a");
        bus.publish(SystemTime::UNIX_EPOCH, "b");
        assert_eq!(next_revision(&mut watcher).await, Some(2));
        assert_eq!(next_revision(&mut watcher).await, Some(3));
    }

    #[tokio::test]
    async fn a_slow_subscriber_lags_without_holding_up_publishing_or_others() {
        let mut bus = bus(64, 2);
        let mut slow = bus.subscribe();
        let mut fast = bus.subscribe();
        for n in 1..=5 {
            bus.publish(SystemTime::UNIX_EPOCH, "change");
            assert_eq!(next_revision(&mut fast).await, Some(n));
        }
        assert_eq!(slow.next().await, Next::Lagged { missed: 3 });
        assert_eq!(next_revision(&mut slow).await, Some(4));
        assert_eq!(bus.watcher_count(), 2);
    }

    #[tokio::test]
    async fn resume_replays_what_was_missed_then_continues_live() {
        let mut bus = bus(8, 8);
        for _ in 0..4 {
            bus.publish(SystemTime::UNIX_EPOCH, "change");
        }
        let mut resumed = bus
            .resume("boot-1", 2)
            .expect("revision 2 is in the history");
        assert_eq!(revisions(&resumed.backlog), [3, 4]);
        assert_eq!(resumed.subscription.start_revision, 4);
        bus.publish(SystemTime::UNIX_EPOCH, "later");
        assert_eq!(next_revision(&mut resumed.subscription).await, Some(5));
    }

    #[tokio::test]
    async fn resume_at_the_latest_revision_has_an_empty_backlog() {
        let mut bus = bus(8, 8);
        assert!(bus.resume("boot-1", 0).unwrap().backlog.is_empty());
        bus.publish(SystemTime::UNIX_EPOCH, "change");
        assert!(bus.resume("boot-1", 1).unwrap().backlog.is_empty());
    }

    #[tokio::test]
    async fn resume_from_a_revision_the_history_dropped_is_refused() {
        let mut bus = bus(2, 8);
        for _ in 0..5 {
            bus.publish(SystemTime::UNIX_EPOCH, "change");
        }
        // The history holds 4 and 5, so resuming after 3 still works; after 2 it cannot.
        assert_eq!(revisions(&bus.resume("boot-1", 3).unwrap().backlog), [4, 5]);
        assert_eq!(
            bus.resume("boot-1", 2).unwrap_err(),
            ResumeRefused::RevisionNotInHistory {
                requested: 2,
                oldest: 4,
                newest: 5
            }
        );
    }

    #[tokio::test]
    async fn resume_from_a_future_revision_is_refused() {
        let mut bus = bus(8, 8);
        bus.publish(SystemTime::UNIX_EPOCH, "change");
        assert!(matches!(
            bus.resume("boot-1", 7),
            Err(ResumeRefused::RevisionNotInHistory { requested: 7, .. })
        ));
    }

    #[tokio::test]
    async fn resume_from_another_epoch_is_refused() {
        let bus = bus(8, 8);
        assert_eq!(
            bus.resume("boot-0", 0).unwrap_err(),
            ResumeRefused::EpochChanged {
                requested: "boot-0".to_owned(),
                current: "boot-1".to_owned()
            }
        );
    }

    #[tokio::test]
    async fn a_relay_reads_every_change_but_is_not_counted_as_a_watcher() {
        let mut bus = bus(8, 8);
        let gauge = bus.watcher_gauge();
        let watcher = bus.subscribe();
        let mut relay = bus.subscribe_relay();
        assert_eq!((bus.watcher_count(), gauge.count()), (1, 1));
        bus.publish(SystemTime::UNIX_EPOCH, "change");
        assert_eq!(next_revision(&mut relay).await, Some(1));
        drop(relay);
        assert_eq!((bus.watcher_count(), gauge.count()), (1, 1));
        drop(watcher);
        assert_eq!((bus.watcher_count(), gauge.count()), (0, 0));
    }

    #[tokio::test]
    async fn watchers_learn_when_the_bus_is_gone() {
        let bus = bus(8, 8);
        let mut watcher = bus.subscribe();
        drop(bus);
        assert_eq!(watcher.next().await, Next::Closed);
    }
}
