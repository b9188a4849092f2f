//! Timer arithmetic (Skew_Time, Master_Down_Interval) and the names of the instance's timers.
//!
//! The two versions define Skew_Time differently:
//! - VRRPv3 (RFC 9568 §6.1): `((256 - Priority) * Master_Adver_Interval) / 256` centiseconds,
//!   so the skew shrinks with the interval;
//! - VRRPv2 (RFC 3768 §6.1): `(256 - Priority) / 256` **seconds**, whatever the interval.
//!
//! Both add it to three intervals to get Master_Down_Interval; keepalived's
//! `down_timer_adverts` makes the three another count ([`DownTimerAdverts`]). The arithmetic is done in
//! nanoseconds from integer centiseconds, so nothing truncates: priority 255 at a 10 ms interval
//! gives a skew of 39.0625 µs (rounded down to 39062 ns), not the 0 an integer division in
//! centiseconds or seconds would give.

use std::time::Duration;

use super::interval::AdvertInterval;
use super::packet::Version;
use super::priority::Priority;

/// Nanoseconds in one centisecond, the unit of both RFCs' interval formulas.
const NANOS_PER_CENTI: u64 = 10_000_000;

/// The priority a router can have is below 256, so `256 - priority` is the skew numerator.
const SKEW_DENOMINATOR: u64 = 256;

/// Skew_Time: how much longer than three intervals a backup of `priority` waits before it
/// declares the master down, so that higher priorities fire first.
///
/// `master_adver_interval` is the learned Master_Adver_Interval (VRRPv3) or the configured
/// Advertisement_Interval (VRRPv2, where it does not affect the skew).
pub fn skew_time(
    version: Version,
    priority: Priority,
    master_adver_interval: AdvertInterval,
) -> Duration {
    let numerator = SKEW_DENOMINATOR - u64::from(priority.get());
    let nanos = match version {
        // RFC 9568 §6.1: in centiseconds, scaled by the interval.
        Version::V3 => {
            numerator * u64::from(master_adver_interval.centis()) * NANOS_PER_CENTI
                / SKEW_DENOMINATOR
        }
        // RFC 3768 §6.1: a fraction of one second.
        Version::V2 => numerator * 1_000_000_000 / SKEW_DENOMINATOR,
    };
    Duration::from_nanos(nanos)
}

/// How many advertisement intervals of silence the master-down timer waits, besides the skew.
///
/// Both RFCs say three (RFC 9568 §6.1, RFC 3768 §6.1). keepalived's `down_timer_adverts`
/// takes 1..=100 (keepalived/vrrp/vrrp_parser.c) for networks that lose adverts or for
/// faster takeovers; it does not conform to the RFCs, and strict mode resets it to three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DownTimerAdverts(u8);

impl DownTimerAdverts {
    /// The RFCs' three intervals.
    pub const RFC: DownTimerAdverts = DownTimerAdverts(3);
    /// The most keepalived accepts.
    pub const MAX: u8 = 100;

    /// `adverts` intervals; `None` outside 1..=[`Self::MAX`], keepalived's range.
    pub const fn new(adverts: u8) -> Option<Self> {
        if adverts >= 1 && adverts <= Self::MAX {
            Some(DownTimerAdverts(adverts))
        } else {
            None
        }
    }

    /// The number of intervals.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for DownTimerAdverts {
    fn default() -> Self {
        Self::RFC
    }
}

/// Master_Down_Interval: `3 * Master_Adver_Interval + Skew_Time` (RFC 9568 §6.1,
/// RFC 3768 §6.1 with Advertisement_Interval), with `adverts` in place of the 3.
pub fn master_down_interval(
    version: Version,
    priority: Priority,
    master_adver_interval: AdvertInterval,
    adverts: DownTimerAdverts,
) -> Duration {
    let intervals = Duration::from_nanos(
        u64::from(adverts.get()) * u64::from(master_adver_interval.centis()) * NANOS_PER_CENTI,
    );
    intervals + skew_time(version, priority, master_adver_interval)
}

/// The timers an instance runs; at most two are armed at once (a resigning master runs both
/// [`Timer::Adver`] and [`Timer::ResignDeadline`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Master_Down_Timer (RFC 9568 §6.2), run by a backup: when it fires the master is
    /// considered gone and the backup takes over.
    MasterDown,
    /// Adver_Timer (RFC 9568 §6.2), run by a master: when it fires the master advertises.
    Adver,
    /// The bound on a make-before-break handover: a resigning master that has not heard its
    /// successor by then removes its addresses anyway (see `Command::Resign`).
    ResignDeadline,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priority(value: u8) -> Priority {
        Priority::new(value).unwrap()
    }

    fn centis(value: u16) -> AdvertInterval {
        AdvertInterval::from_centis(value).unwrap()
    }

    #[test]
    fn v2_master_down_interval_priority_101_interval_1s_is_3605_47ms_rfc3768_6_1() {
        let down = master_down_interval(
            Version::V2,
            priority(101),
            centis(100),
            DownTimerAdverts::RFC,
        );
        // keepalived measured 3605.47 ms; exactly 3 s + 155/256 s = 3.60546875 s.
        assert_eq!(down, Duration::from_nanos(3_605_468_750));
    }

    #[test]
    fn v3_master_down_interval_priority_101_interval_100ms_is_360_55ms_rfc9568_6_1() {
        let down = master_down_interval(
            Version::V3,
            priority(101),
            centis(10),
            DownTimerAdverts::RFC,
        );
        // keepalived measured 360.55 ms; exactly 300 ms + 155/256 × 100 ms = 360.546875 ms.
        assert_eq!(down, Duration::from_nanos(360_546_875));
    }

    #[test]
    fn skew_priority_100_interval_1s_is_609_4ms_in_both_versions_rfc9568_6_1_rfc3768_6_1() {
        let expected = Duration::from_nanos(609_375_000);
        assert_eq!(skew_time(Version::V3, priority(100), centis(100)), expected);
        assert_eq!(skew_time(Version::V2, priority(100), centis(100)), expected);
    }

    #[test]
    fn v3_skew_of_owner_at_10ms_is_39us_not_zero_rfc9568_6_1() {
        let skew = skew_time(Version::V3, Priority::OWNER, centis(1));
        assert_eq!(skew, Duration::from_nanos(39_062));
        assert_eq!(skew.as_micros(), 39);
    }

    #[test]
    fn v3_skew_scales_with_interval_v2_skew_does_not_rfc9568_6_1_rfc3768_6_1() {
        let p = priority(128);
        assert_eq!(
            skew_time(Version::V3, p, centis(200)),
            Duration::from_secs(1)
        );
        assert_eq!(
            skew_time(Version::V2, p, centis(200)),
            Duration::from_millis(500)
        );
        assert_eq!(
            master_down_interval(Version::V2, p, centis(300), DownTimerAdverts::RFC),
            Duration::from_millis(9_500)
        );
    }

    #[test]
    fn one_missed_advert_is_one_interval_plus_the_skew_as_keepalived_times_it() {
        let one = DownTimerAdverts::new(1).unwrap();
        // keepalived/vrrp/vrrp.c: ms_down_timer = down_timer_adverts * master_adver_int + skew.
        assert_eq!(
            master_down_interval(Version::V3, priority(100), centis(100), one),
            Duration::from_millis(1000) + Duration::from_nanos(609_375_000)
        );
        let most = DownTimerAdverts::new(DownTimerAdverts::MAX).unwrap();
        assert_eq!(
            master_down_interval(Version::V2, priority(100), centis(100), most),
            Duration::from_secs(100) + Duration::from_nanos(609_375_000)
        );
    }

    #[test]
    fn keepalived_takes_1_to_100_missed_adverts() {
        assert_eq!(DownTimerAdverts::new(0), None);
        assert_eq!(DownTimerAdverts::new(101), None);
        assert_eq!(DownTimerAdverts::new(3), Some(DownTimerAdverts::RFC));
        assert_eq!(DownTimerAdverts::default(), DownTimerAdverts::RFC);
    }

    #[test]
    fn largest_values_do_not_overflow() {
        let skew = skew_time(Version::V3, Priority::MIN, AdvertInterval::V3_MAX);
        assert_eq!(skew, Duration::from_nanos(255 * 4095 * 10_000_000 / 256));
        let down = master_down_interval(
            Version::V2,
            Priority::MIN,
            AdvertInterval::V2_MAX,
            DownTimerAdverts::RFC,
        );
        assert_eq!(
            down,
            Duration::from_secs(765) + Duration::from_nanos(996_093_750)
        );
    }
}
