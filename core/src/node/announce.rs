//! When a master announces its addresses: a burst on taking over, a second burst later, and
//! an optional periodic refresh (keepalived's `garp_master_repeat`, `garp_master_delay` and
//! `garp_master_refresh`, defaults 5, 5 s and off); a burst, and a second one later, when it
//! hears a lower priority (`garp_lower_prio_repeat` and `garp_lower_prio_delay`, which default
//! to the first two).
//!
//! And how the messages of a burst are spaced on an interface ([`Spacing`], keepalived's
//! `vrrp_garp_interval`, `vrrp_gna_interval` and `garp_group`): see [`Pacer`].
//!
//! The schedules are data the node keeps: their deadlines join the protocol timers in the
//! node's one timer table, so nothing ever sleeps between bursts or between two messages.

use std::collections::BTreeMap;
use std::net::IpAddr;
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
    /// Announcements per address when a master hears a lower priority, and again
    /// `lower_priority_second_after` later; 0: none (keepalived's strict mode).
    pub lower_priority_repeat: u8,
    /// When the second lower-priority burst follows the first; `None`: no second burst.
    pub lower_priority_second_after: Option<Duration>,
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
    lower_priority_burst_at: Option<Instant>,
}

impl AnnounceSchedule {
    /// Starts announcing at `now` (RFC 9568 §6.4.2: right after the first advertisement of a
    /// new master). Returns how many messages per address to send now.
    pub fn start(&mut self, now: Instant, garp: &GarpSettings) -> u8 {
        self.second_burst_at = garp.second_burst_after.map(|delay| now + delay);
        self.refresh_at = garp.refresh_every.map(|every| now + every);
        garp.repeat
    }

    /// Answers a lower priority heard at `now` (keepalived's `vrrp.c`, on a lower priority
    /// advert): returns how many messages per address to send now, and plans the second
    /// burst. keepalived starts a timer per advert heard; one pending second burst, moved to
    /// the latest, is kept here: the core already limits how often a lower priority is
    /// answered (`LOWER_PRIORITY_ANNOUNCEMENTS` per advert interval).
    pub fn lower_priority(&mut self, now: Instant, garp: &GarpSettings) -> u8 {
        if garp.lower_priority_repeat > 0 {
            self.lower_priority_burst_at =
                garp.lower_priority_second_after.map(|delay| now + delay);
        }
        garp.lower_priority_repeat
    }

    /// Forgets every pending announcement: we are no longer master.
    pub fn stop(&mut self) {
        *self = AnnounceSchedule::default();
    }

    /// When the next announcement is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.second_burst_at,
            self.refresh_at,
            self.lower_priority_burst_at,
        ]
        .into_iter()
        .flatten()
        .min()
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
        if self.lower_priority_burst_at.is_some_and(|at| at <= now) {
            self.lower_priority_burst_at = None;
            messages = Some(messages.unwrap_or(0).max(garp.lower_priority_repeat));
        }
        messages
    }
}

/// keepalived's `garp_delay` of an interface: the least time between two gratuitous ARPs,
/// and between two unsolicited NAs, that any instance sends on it. `None`: back to back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spacing {
    /// Between two gratuitous ARPs (`vrrp_garp_interval`, a group's `garp_interval`).
    pub arp: Option<Duration>,
    /// Between two unsolicited NAs (`vrrp_gna_interval`, a group's `gna_interval`).
    pub na: Option<Duration>,
}

impl Spacing {
    fn for_address(&self, address: IpAddr) -> Option<Duration> {
        match address {
            IpAddr::V4(_) => self.arp,
            IpAddr::V6(_) => self.na,
        }
    }
}

/// One address an instance announces, with the spacing it waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacedAddress {
    /// The address.
    pub address: IpAddr,
    /// Who shares its spacing: the (base) interface it is announced on, or the `garp_group`
    /// holding that interface, whose interfaces all share one clock in keepalived.
    pub shared_by: String,
    /// Its spacing; the same for every address of one `shared_by`.
    pub spacing: Spacing,
}

/// The clocks of each spacing: when it may send its next gratuitous ARP and its next NA.
#[derive(Clone, Copy, Debug, Default)]
struct NextAllowed {
    arp: Option<Instant>,
    na: Option<Instant>,
}

impl NextAllowed {
    fn for_address(&mut self, address: IpAddr) -> &mut Option<Instant> {
        match address {
            IpAddr::V4(_) => &mut self.arp,
            IpAddr::V6(_) => &mut self.na,
        }
    }
}

/// Spaces announcements as keepalived 2.2.7 does (`send_gratuitous_arp` in
/// `vrrp/vrrp_arp.c`, `ndisc_send_unsolicited_na` in `vrrp/vrrp_ndisc.c`, `vrrp_arp_thread`
/// in `vrrp/vrrp_scheduler.c`):
/// - a message whose spacing has passed (or that has none) goes out at once, and its
///   spacing's next allowed time becomes now plus the interval, whichever instance sent it;
/// - one that comes too early is not queued as a message but as a flag on its address: an
///   address already waiting is not queued twice, so a burst of 5 to one address with a
///   spacing sends one message at once and one more later, not five;
/// - when a spacing's time comes, the waiting addresses go out one per interval, instances
///   in the order configured and addresses in the order listed;
/// - waiting addresses of an instance that is no longer master are dropped.
#[derive(Debug, Default)]
pub struct Pacer {
    next_allowed: BTreeMap<String, NextAllowed>,
}

/// The addresses of one instance and which of them wait for their spacing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacedAddresses {
    addresses: Vec<PacedAddress>,
    waiting: Vec<bool>,
}

impl PacedAddresses {
    /// The addresses to announce, in order; none: the instance's announcements are not
    /// spaced.
    pub fn new(addresses: Vec<PacedAddress>) -> Self {
        let waiting = vec![false; addresses.len()];
        PacedAddresses { addresses, waiting }
    }

    /// Whether any of its addresses has a spacing.
    pub fn is_spaced(&self) -> bool {
        self.addresses
            .iter()
            .any(|paced| paced.spacing.for_address(paced.address).is_some())
    }

    /// Drops every waiting address: the instance is no longer master.
    pub fn forget(&mut self) {
        self.waiting.fill(false);
    }
}

impl Pacer {
    /// A burst of `messages` per address at `now`: returns the addresses to send one
    /// message to now, in order (an address may come more than once), and flags the others
    /// as waiting.
    pub fn burst(&mut self, now: Instant, paced: &mut PacedAddresses, messages: u8) -> Vec<IpAddr> {
        let mut send = Vec::new();
        for _ in 0..messages {
            for (index, address) in paced.addresses.iter().enumerate() {
                if self.may_send(now, address) {
                    send.push(address.address);
                } else {
                    paced.waiting[index] = true;
                }
            }
        }
        send
    }

    /// The waiting addresses whose spacing has passed at `now`, in order, one per spacing.
    pub fn due(&mut self, now: Instant, paced: &mut PacedAddresses) -> Vec<IpAddr> {
        let mut send = Vec::new();
        for (index, address) in paced.addresses.iter().enumerate() {
            if paced.waiting[index] && self.may_send(now, address) {
                paced.waiting[index] = false;
                send.push(address.address);
            }
        }
        send
    }

    /// When the next waiting address of `paced` may go out.
    pub fn next_deadline(&self, paced: &PacedAddresses) -> Option<Instant> {
        paced
            .addresses
            .iter()
            .zip(&paced.waiting)
            .filter(|(_, waiting)| **waiting)
            .filter_map(|(address, _)| {
                let mut clocks = self.next_allowed.get(&address.shared_by).copied()?;
                *clocks.for_address(address.address)
            })
            .min()
    }

    /// A message to `address` of `paced` left at `sent_at`: the next one its spacing allows
    /// is not before `sent_at` plus the interval.
    pub fn sent(&mut self, paced: &PacedAddresses, address: IpAddr, sent_at: Instant) {
        let Some(paced) = paced
            .addresses
            .iter()
            .find(|paced| paced.address == address)
        else {
            return;
        };
        let Some(interval) = paced.spacing.for_address(address) else {
            return;
        };
        let next = self
            .next_allowed
            .entry(paced.shared_by.clone())
            .or_default()
            .for_address(address);
        let after_send = sent_at + interval;
        if next.is_none_or(|at| at < after_send) {
            *next = Some(after_send);
        }
    }

    /// Whether a message to `address` may go out at `now`; if so, it counts as sent.
    fn may_send(&mut self, now: Instant, address: &PacedAddress) -> bool {
        let Some(interval) = address.spacing.for_address(address.address) else {
            return true;
        };
        let next = self
            .next_allowed
            .entry(address.shared_by.clone())
            .or_default()
            .for_address(address.address);
        if next.is_some_and(|at| now < at) {
            return false;
        }
        *next = Some(now + interval);
        true
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
            lower_priority_repeat: 5,
            lower_priority_second_after: Some(Duration::from_secs(5)),
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
            lower_priority_repeat: 3,
            lower_priority_second_after: None,
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
            lower_priority_repeat: 4,
            lower_priority_second_after: None,
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

    fn paced(addresses: &[(&str, &str)], spacing: Spacing) -> PacedAddresses {
        PacedAddresses::new(
            addresses
                .iter()
                .map(|(address, shared_by)| PacedAddress {
                    address: address.parse().expect("a test address"),
                    shared_by: (*shared_by).into(),
                    spacing,
                })
                .collect(),
        )
    }

    fn ip(address: &str) -> IpAddr {
        address.parse().expect("a test address")
    }

    const MS: Duration = Duration::from_millis(1);

    fn arp_every(interval: Duration) -> Spacing {
        Spacing {
            arp: Some(interval),
            na: None,
        }
    }

    #[test]
    fn a_spaced_burst_sends_one_at_once_and_each_address_once_more_per_interval() {
        // keepalived 2.2.7: the first message goes out, every later one only flags its
        // address, so a burst of 5 to A and B is A now, then A and B 10 ms apart.
        let start = Instant::now();
        let mut pacer = Pacer::default();
        let mut vi = paced(
            &[("192.0.2.10", "eth0"), ("192.0.2.11", "eth0")],
            arp_every(10 * MS),
        );
        assert!(vi.is_spaced());
        assert_eq!(pacer.burst(start, &mut vi, 5), vec![ip("192.0.2.10")]);
        assert_eq!(pacer.next_deadline(&vi), Some(start + 10 * MS));
        assert_eq!(pacer.due(start + 9 * MS, &mut vi), Vec::<IpAddr>::new());
        let first = start + 10 * MS;
        assert_eq!(pacer.due(first, &mut vi), vec![ip("192.0.2.10")]);
        assert_eq!(pacer.next_deadline(&vi), Some(first + 10 * MS));
        let second = first + 10 * MS;
        assert_eq!(pacer.due(second, &mut vi), vec![ip("192.0.2.11")]);
        assert_eq!(pacer.next_deadline(&vi), None);
    }

    #[test]
    fn instances_on_one_interface_share_its_spacing_and_others_do_not() {
        let start = Instant::now();
        let mut pacer = Pacer::default();
        let mut first = paced(&[("192.0.2.10", "eth0")], arp_every(10 * MS));
        let mut second = paced(&[("192.0.2.20", "eth0")], arp_every(10 * MS));
        let mut elsewhere = paced(&[("198.51.100.10", "eth1")], arp_every(10 * MS));
        assert_eq!(pacer.burst(start, &mut first, 1), vec![ip("192.0.2.10")]);
        // The second instance's burst waits for the interface, not for its own last send.
        assert_eq!(pacer.burst(start, &mut second, 1), Vec::<IpAddr>::new());
        assert_eq!(pacer.next_deadline(&second), Some(start + 10 * MS));
        assert_eq!(
            pacer.burst(start, &mut elsewhere, 1),
            vec![ip("198.51.100.10")]
        );
        assert_eq!(
            pacer.due(start + 10 * MS, &mut second),
            vec![ip("192.0.2.20")]
        );
    }

    #[test]
    fn a_garp_group_spaces_its_interfaces_together() {
        // Interfaces of one `garp_group { interfaces { ... } }` share one clock: the node
        // is given the group as what they share.
        let start = Instant::now();
        let mut pacer = Pacer::default();
        let mut on_eth0 = paced(&[("192.0.2.10", "garp_group 1")], arp_every(10 * MS));
        let mut on_eth1 = paced(&[("198.51.100.10", "garp_group 1")], arp_every(10 * MS));
        assert_eq!(pacer.burst(start, &mut on_eth0, 1).len(), 1);
        assert!(pacer.burst(start, &mut on_eth1, 1).is_empty());
    }

    #[test]
    fn arp_and_na_have_clocks_of_their_own() {
        let start = Instant::now();
        let mut pacer = Pacer::default();
        let spacing = Spacing {
            arp: Some(10 * MS),
            na: Some(20 * MS),
        };
        let mut vi = paced(
            &[
                ("192.0.2.10", "eth0"),
                ("2001:db8::10", "eth0"),
                ("2001:db8::11", "eth0"),
            ],
            spacing,
        );
        assert_eq!(
            pacer.burst(start, &mut vi, 1),
            vec![ip("192.0.2.10"), ip("2001:db8::10")]
        );
        assert_eq!(pacer.next_deadline(&vi), Some(start + 20 * MS));
        assert_eq!(
            pacer.due(start + 20 * MS, &mut vi),
            vec![ip("2001:db8::11")]
        );
    }

    #[test]
    fn a_family_without_spacing_is_sent_back_to_back() {
        let start = Instant::now();
        let mut pacer = Pacer::default();
        let mut vi = paced(&[("2001:db8::10", "eth0")], arp_every(10 * MS));
        assert!(!vi.is_spaced());
        assert_eq!(pacer.burst(start, &mut vi, 3).len(), 3);
    }

    #[test]
    fn the_second_burst_and_a_refresh_start_again_once_the_spacing_has_passed() {
        let start = Instant::now();
        let mut pacer = Pacer::default();
        let mut vi = paced(
            &[("192.0.2.10", "eth0"), ("192.0.2.11", "eth0")],
            arp_every(10 * MS),
        );
        pacer.burst(start, &mut vi, 5);
        pacer.due(start + 10 * MS, &mut vi);
        pacer.due(start + 20 * MS, &mut vi);
        let later = start + Duration::from_secs(5);
        assert_eq!(pacer.burst(later, &mut vi, 5), vec![ip("192.0.2.10")]);
        assert_eq!(pacer.due(later + 10 * MS, &mut vi), vec![ip("192.0.2.10")]);
        assert_eq!(pacer.due(later + 20 * MS, &mut vi), vec![ip("192.0.2.11")]);
        // A refresh of one message per address: the first at once, the second spaced.
        let refresh = later + Duration::from_secs(60);
        assert_eq!(pacer.burst(refresh, &mut vi, 1), vec![ip("192.0.2.10")]);
        assert_eq!(
            pacer.due(refresh + 10 * MS, &mut vi),
            vec![ip("192.0.2.11")]
        );
    }

    #[test]
    fn leaving_master_drops_the_waiting_addresses() {
        let start = Instant::now();
        let mut pacer = Pacer::default();
        let mut vi = paced(
            &[("192.0.2.10", "eth0"), ("192.0.2.11", "eth0")],
            arp_every(10 * MS),
        );
        pacer.burst(start, &mut vi, 1);
        vi.forget();
        assert_eq!(pacer.next_deadline(&vi), None);
        assert!(pacer.due(start + 10 * MS, &mut vi).is_empty());
    }

    #[test]
    fn a_lower_priority_sends_its_burst_and_a_second_one_after_its_delay() {
        let start = Instant::now();
        let garp = GarpSettings {
            lower_priority_repeat: 2,
            lower_priority_second_after: Some(Duration::from_secs(3)),
            ..keepalived_defaults()
        };
        let mut schedule = AnnounceSchedule::default();
        schedule.start(start, &garp);
        schedule.take_due(start + Duration::from_secs(5), &garp);
        let heard = start + Duration::from_secs(10);
        assert_eq!(schedule.lower_priority(heard, &garp), 2);
        assert_eq!(
            schedule.next_deadline(),
            Some(heard + Duration::from_secs(3))
        );
        assert_eq!(
            schedule.take_due(heard + Duration::from_secs(3), &garp),
            Some(2)
        );
        assert_eq!(schedule.next_deadline(), None);
    }

    #[test]
    fn a_lower_priority_repeat_of_zero_announces_nothing() {
        let start = Instant::now();
        let garp = GarpSettings {
            lower_priority_repeat: 0,
            ..keepalived_defaults()
        };
        let mut schedule = AnnounceSchedule::default();
        assert_eq!(schedule.lower_priority(start, &garp), 0);
        assert_eq!(schedule.next_deadline(), None);
    }

    #[test]
    fn the_spacing_counts_from_the_send_when_it_came_later() {
        // The first message waited 5 ms behind an address install: the next waits for the
        // interval after the send, as keepalived counts it.
        let start = Instant::now();
        let mut pacer = Pacer::default();
        let mut vi = paced(
            &[("192.0.2.10", "eth0"), ("192.0.2.11", "eth0")],
            arp_every(10 * MS),
        );
        assert_eq!(pacer.burst(start, &mut vi, 1), vec![ip("192.0.2.10")]);
        pacer.sent(&vi, ip("192.0.2.10"), start + 5 * MS);
        assert_eq!(pacer.next_deadline(&vi), Some(start + 15 * MS));
        // A report older than the node's own count changes nothing.
        pacer.sent(&vi, ip("192.0.2.10"), start);
        assert_eq!(pacer.next_deadline(&vi), Some(start + 15 * MS));
    }
}
