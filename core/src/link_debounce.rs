//! Debouncing of link changes: keepalived's `interface_up_down_delays`.
//!
//! A link that goes down (or up) is acted on only once it has stayed so for the interface's
//! down (or up) delay; a flap shorter than the delay changes nothing. This follows
//! `update_interface_flags()` of keepalived 2.2.7 (keepalived/core/keepalived_netlink.c):
//! - a link that returns to the state acted on before the delay ends cancels the change;
//! - a further event in the direction already pending keeps the pending deadline (the delay
//!   is not restarted);
//! - nothing is delayed before the link has once been seen up, so a link down at start is
//!   acted on at once.
//!
//! The delays must end before a backup on the same link could time the master out, so
//! [`fit_delays`] shortens them below `(down_timer_adverts - 1) * advert_int` of every
//! instance on the interface, and with `down_timer_adverts = 1` turns them off, as
//! `check_debounce_timers()` and `vrrp_complete_instance()` in keepalived/vrrp/vrrp.c do.

use std::time::{Duration, Instant};

use super::interval::AdvertInterval;
use super::timers::DownTimerAdverts;

/// The longest delay keepalived accepts (keepalived/vrrp/vrrp_parser.c, `255 * TIMER_HZ`).
pub const MAX_DEBOUNCE_DELAY: Duration = Duration::from_secs(255);

/// How long a link must stay down, or up, before its instances act on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DebounceDelays {
    /// Before a link that went down faults its instances.
    pub down: Duration,
    /// Before a link that came back takes its instances out of Fault.
    pub up: Duration,
}

impl DebounceDelays {
    /// No delay either way: every change is acted on at once.
    pub const NONE: DebounceDelays = DebounceDelays {
        down: Duration::ZERO,
        up: Duration::ZERO,
    };

    /// Whether neither direction is delayed.
    pub fn is_none(&self) -> bool {
        self.down.is_zero() && self.up.is_zero()
    }

    fn for_direction(&self, up: bool) -> Duration {
        if up { self.up } else { self.down }
    }
}

/// What [`fit_delays`] did to the delays for one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelayFit {
    /// Both delays end in time; nothing changed.
    Kept,
    /// At least one delay was shortened to `limit`, just below
    /// `(down_timer_adverts - 1) * advert_int`.
    Shortened {
        /// The delay now used in place of any longer one.
        limit: Duration,
    },
    /// `down_timer_adverts` is 1: a backup times out after one interval plus skew, which
    /// no delay can fit in, so both delays are off (keepalived: "cannot use debounce timers
    /// with down_timer_adverts = 1 - resetting").
    TurnedOff,
}

/// `delays` fitted to an instance on the interface that advertises every `advert_int` and
/// waits `down_timer_adverts` intervals: a delay of `(down_timer_adverts - 1) * advert_int`
/// or more becomes that bound less `advert_int / 256`, keepalived's margin (in its
/// microsecond unit). Call once per instance on the interface; the delays only shrink.
pub fn fit_delays(
    delays: DebounceDelays,
    down_timer_adverts: DownTimerAdverts,
    advert_int: AdvertInterval,
) -> (DebounceDelays, DelayFit) {
    if delays.is_none() {
        return (delays, DelayFit::Kept);
    }
    if down_timer_adverts.get() == 1 {
        return (DebounceDelays::NONE, DelayFit::TurnedOff);
    }
    let interval_micros = u64::from(advert_int.centis()) * 10_000;
    let bound = Duration::from_micros(u64::from(down_timer_adverts.get() - 1) * interval_micros);
    let limit = bound - Duration::from_micros(interval_micros / 256);
    let fit = |delay: Duration| if delay >= bound { limit } else { delay };
    let fitted = DebounceDelays {
        down: fit(delays.down),
        up: fit(delays.up),
    };
    if fitted == delays {
        (delays, DelayFit::Kept)
    } else {
        (fitted, DelayFit::Shortened { limit })
    }
}

/// A link change waiting out its delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingChange {
    /// Whether the link is to be taken as up (`false`: down) when the delay ends.
    pub up: bool,
    /// When the delay ends.
    pub at: Instant,
}

/// What a link event means for the instances on the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkVerdict {
    /// Act on it now: the link is up (`true`) or down.
    Apply(bool),
    /// It waits until the delay ends (newly pending, or already pending in that direction).
    Delayed(PendingChange),
    /// The link came back to the state acted on before the delay ended: the pending change
    /// is dropped and nothing happens.
    Cancelled,
    /// The link is in the state already acted on, and nothing was pending.
    Unchanged,
}

/// The debounced state of one link.
#[derive(Clone, Debug)]
pub struct LinkDebouncer {
    delays: DebounceDelays,
    /// The state the instances act on.
    applied_up: bool,
    /// Whether the link was ever up: keepalived delays nothing before (`seen_up`).
    seen_up: bool,
    pending: Option<PendingChange>,
}

impl LinkDebouncer {
    /// A link that is `up` now, debounced by `delays`.
    pub fn new(delays: DebounceDelays, up: bool) -> Self {
        LinkDebouncer {
            delays,
            applied_up: up,
            seen_up: up,
            pending: None,
        }
    }

    /// The delays in use.
    pub fn delays(&self) -> DebounceDelays {
        self.delays
    }

    /// Uses `delays` from now on; a change already pending keeps its deadline.
    pub fn set_delays(&mut self, delays: DebounceDelays) {
        self.delays = delays;
    }

    /// The state the instances act on.
    pub fn applied_up(&self) -> bool {
        self.applied_up
    }

    /// The change waiting out its delay, if any.
    pub fn pending(&self) -> Option<PendingChange> {
        self.pending
    }

    /// The link was seen `up` (or down) at `now`.
    pub fn link_changed(&mut self, now: Instant, up: bool) -> LinkVerdict {
        if up == self.applied_up {
            return match self.pending.take() {
                Some(_) => LinkVerdict::Cancelled,
                None => LinkVerdict::Unchanged,
            };
        }
        // A pending change is always away from the applied state, so in this direction.
        if let Some(pending) = self.pending {
            return LinkVerdict::Delayed(pending);
        }
        let delay = self.delays.for_direction(up);
        if self.seen_up && !delay.is_zero() {
            let pending = PendingChange {
                up,
                at: now + delay,
            };
            self.pending = Some(pending);
            return LinkVerdict::Delayed(pending);
        }
        self.apply(up);
        LinkVerdict::Apply(up)
    }

    /// When [`Self::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.map(|pending| pending.at)
    }

    /// The pending change, once its delay has ended at `now`: the link is to be taken as up
    /// (`Some(true)`) or down.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<bool> {
        let pending = self.pending.filter(|pending| pending.at <= now)?;
        self.pending = None;
        self.apply(pending.up);
        Some(pending.up)
    }

    fn apply(&mut self, up: bool) {
        self.applied_up = up;
        self.seen_up |= up;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELAYS: DebounceDelays = DebounceDelays {
        down: Duration::from_secs(2),
        up: Duration::from_secs(1),
    };

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn a_flap_shorter_than_the_down_delay_changes_nothing() {
        let start = Instant::now();
        let mut link = LinkDebouncer::new(DELAYS, true);
        let pending = PendingChange {
            up: false,
            at: start + ms(2000),
        };
        assert_eq!(
            link.link_changed(start, false),
            LinkVerdict::Delayed(pending)
        );
        assert_eq!(link.poll_timeout(), Some(start + ms(2000)));
        assert_eq!(link.handle_timeout(start + ms(1999)), None);
        assert_eq!(
            link.link_changed(start + ms(1500), true),
            LinkVerdict::Cancelled
        );
        assert_eq!(link.poll_timeout(), None);
        assert_eq!(link.handle_timeout(start + ms(5000)), None);
        assert!(link.applied_up());
    }

    #[test]
    fn a_link_down_longer_than_the_delay_is_acted_on_when_the_delay_ends() {
        let start = Instant::now();
        let mut link = LinkDebouncer::new(DELAYS, true);
        link.link_changed(start, false);
        assert_eq!(link.handle_timeout(start + ms(2000)), Some(false));
        assert!(!link.applied_up());
        assert_eq!(link.pending(), None);
        // Coming back waits the up delay.
        let back = start + ms(3000);
        assert_eq!(
            link.link_changed(back, true),
            LinkVerdict::Delayed(PendingChange {
                up: true,
                at: back + ms(1000)
            })
        );
        assert_eq!(link.handle_timeout(back + ms(999)), None);
        assert_eq!(link.handle_timeout(back + ms(1000)), Some(true));
        assert!(link.applied_up());
    }

    #[test]
    fn a_repeated_event_keeps_the_pending_deadline() {
        let start = Instant::now();
        let mut link = LinkDebouncer::new(DELAYS, true);
        link.link_changed(start, false);
        assert_eq!(
            link.link_changed(start + ms(1000), false),
            LinkVerdict::Delayed(PendingChange {
                up: false,
                at: start + ms(2000)
            })
        );
        assert_eq!(link.handle_timeout(start + ms(2000)), Some(false));
    }

    #[test]
    fn a_zero_delay_direction_is_acted_on_at_once() {
        let start = Instant::now();
        let delays = DebounceDelays {
            down: Duration::from_secs(2),
            up: Duration::ZERO,
        };
        let mut link = LinkDebouncer::new(delays, true);
        link.link_changed(start, false);
        link.handle_timeout(start + ms(2000));
        assert_eq!(
            link.link_changed(start + ms(2500), true),
            LinkVerdict::Apply(true)
        );
    }

    #[test]
    fn nothing_is_delayed_before_the_link_was_once_up() {
        let start = Instant::now();
        let mut link = LinkDebouncer::new(DELAYS, false);
        assert_eq!(link.link_changed(start, true), LinkVerdict::Apply(true));
        // Seen up now: the next change waits.
        assert!(matches!(
            link.link_changed(start + ms(10), false),
            LinkVerdict::Delayed(_)
        ));
    }

    #[test]
    fn the_same_state_again_without_anything_pending_is_unchanged() {
        let mut link = LinkDebouncer::new(DELAYS, true);
        assert_eq!(
            link.link_changed(Instant::now(), true),
            LinkVerdict::Unchanged
        );
    }

    fn interval(centis: u16) -> AdvertInterval {
        AdvertInterval::from_centis(centis).expect("a valid interval")
    }

    #[test]
    fn delays_that_fit_are_kept() {
        let (fitted, fit) = fit_delays(DELAYS, DownTimerAdverts::RFC, interval(200));
        assert_eq!((fitted, fit), (DELAYS, DelayFit::Kept));
    }

    #[test]
    fn a_delay_reaching_the_bound_is_shortened_below_it_as_keepalived_does() {
        // 1 s adverts, three adverts: bound 2 s, limit 2 s - 3906 µs.
        let (fitted, fit) = fit_delays(DELAYS, DownTimerAdverts::RFC, interval(100));
        let limit = Duration::from_micros(2_000_000 - 3906);
        assert_eq!(fit, DelayFit::Shortened { limit });
        assert_eq!(
            fitted,
            DebounceDelays {
                down: limit,
                up: Duration::from_secs(1)
            }
        );
    }

    #[test]
    fn one_down_timer_advert_turns_the_delays_off() {
        let one = DownTimerAdverts::new(1).expect("1 is in range");
        assert_eq!(
            fit_delays(DELAYS, one, interval(100)),
            (DebounceDelays::NONE, DelayFit::TurnedOff)
        );
        assert_eq!(
            fit_delays(DebounceDelays::NONE, one, interval(100)),
            (DebounceDelays::NONE, DelayFit::Kept)
        );
    }
}
