//! When a master announces its addresses: a burst on taking over, a second burst later, and
//! an optional periodic refresh (keepalived's `garp_master_repeat`, `garp_master_delay` and
//! `garp_master_refresh`, defaults 5, 5 s and off).
//!
//! The schedule is data the node keeps with each instance: its deadlines join the protocol
//! timers in the node's one timer table, so nothing ever sleeps between bursts.

use std::time::{Duration, Instant};

/// Announcements after becoming master, keepalived's `garp_master_*` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GarpSettings {
    /// Announcements per address in each burst.
    pub repeat: u8,
    /// When the second burst follows the first; `None`: no second burst.
    pub second_burst_after: Option<Duration>,
    /// How often a master repeats the announcement; `None`: never.
    pub refresh_every: Option<Duration>,
}

/// Messages per address in each periodic refresh (keepalived's
/// `garp_master_refresh_repeat` default): a refresh only reminds switches and neighbours
/// that already follow us, so one is enough.
const REFRESH_MESSAGES: u8 = 1;

/// The pending announcements of one instance while it is master.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnnounceSchedule {
    second_burst_at: Option<Instant>,
    refresh_at: Option<Instant>,
}

impl AnnounceSchedule {
    /// Starts announcing at `now` (RFC 9568 §6.4.2: right after the first advertisement of a
    /// new master). Returns how many messages per address to send now.
    pub fn start(&mut self, now: Instant, garp: &GarpSettings) -> u8 {
        self.second_burst_at = garp.second_burst_after.map(|delay| now + delay);
        self.refresh_at = garp.refresh_every.map(|every| now + every);
        garp.repeat
    }

    /// Forgets every pending announcement: we are no longer master.
    pub fn stop(&mut self) {
        *self = AnnounceSchedule::default();
    }

    /// When the next announcement is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.second_burst_at, self.refresh_at) {
            (Some(burst), Some(refresh)) => Some(burst.min(refresh)),
            (burst, refresh) => burst.or(refresh),
        }
    }

    /// Takes what is due at `now`: how many messages per address to send, or `None` if
    /// nothing is due. A second burst and a refresh due together give one burst.
    pub fn take_due(&mut self, now: Instant, garp: &GarpSettings) -> Option<u8> {
        let mut messages = None;
        if self.second_burst_at.is_some_and(|at| at <= now) {
            self.second_burst_at = None;
            messages = Some(garp.repeat);
        }
        if let Some(at) = self.refresh_at
            && at <= now
        {
            // Counted from the deadline, not from `now`, so a late wake-up does not drift
            // the refresh period; `every` is non-zero (config turns 0 into None).
            self.refresh_at = garp.refresh_every.map(|every| at + every);
            messages = Some(messages.unwrap_or(0).max(REFRESH_MESSAGES));
        }
        messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keepalived_defaults() -> GarpSettings {
        GarpSettings {
            repeat: 5,
            second_burst_after: Some(Duration::from_secs(5)),
            refresh_every: None,
        }
    }

    #[test]
    fn a_burst_now_and_a_second_one_after_the_delay() {
        let start = Instant::now();
        let garp = keepalived_defaults();
        let mut schedule = AnnounceSchedule::default();
        assert_eq!(schedule.start(start, &garp), 5);
        assert_eq!(
            schedule.next_deadline(),
            Some(start + Duration::from_secs(5))
        );
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(4), &garp),
            None
        );
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(5), &garp),
            Some(5)
        );
        assert_eq!(schedule.next_deadline(), None);
    }

    #[test]
    fn a_refresh_repeats_at_its_period_without_drift() {
        let start = Instant::now();
        let garp = GarpSettings {
            repeat: 3,
            second_burst_after: None,
            refresh_every: Some(Duration::from_secs(60)),
        };
        let mut schedule = AnnounceSchedule::default();
        assert_eq!(schedule.start(start, &garp), 3);
        let late = start + Duration::from_secs(61);
        assert_eq!(schedule.take_due(late, &garp), Some(1));
        assert_eq!(
            schedule.next_deadline(),
            Some(start + Duration::from_secs(120))
        );
    }

    #[test]
    fn a_second_burst_and_a_refresh_due_together_send_one_burst() {
        let start = Instant::now();
        let garp = GarpSettings {
            repeat: 4,
            second_burst_after: Some(Duration::from_secs(5)),
            refresh_every: Some(Duration::from_secs(5)),
        };
        let mut schedule = AnnounceSchedule::default();
        schedule.start(start, &garp);
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(5), &garp),
            Some(4)
        );
        assert_eq!(
            schedule.next_deadline(),
            Some(start + Duration::from_secs(10))
        );
    }

    #[test]
    fn stopping_forgets_everything() {
        let start = Instant::now();
        let mut schedule = AnnounceSchedule::default();
        schedule.start(start, &keepalived_defaults());
        schedule.stop();
        assert_eq!(schedule.next_deadline(), None);
        assert_eq!(
            schedule.take_due(start + Duration::from_secs(10), &keepalived_defaults()),
            None
        );
    }
}
