//! The advertisement interval, in the unit the wire uses.
//!
//! VRRPv3 carries `Max Adver Int` in centiseconds (12 bits, RFC 9568 §5.2.7); VRRPv2 carries
//! `Adver Int` in whole seconds (8 bits, RFC 3768 §5.3.7). One type in centiseconds covers both,
//! so a v2 interval of 1 s is simply 100 cs and every timer formula is written once.

use std::fmt;
use std::time::Duration;

/// An advertisement interval in centiseconds, always at least 1 cs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AdvertInterval(u16);

impl AdvertInterval {
    /// The largest interval VRRPv3 can carry: 4095 cs (12 bits, RFC 9568 §5.2.7).
    pub const V3_MAX: AdvertInterval = AdvertInterval(4095);
    /// The largest interval VRRPv2 can carry: 255 s (8 bits, RFC 3768 §5.3.7).
    pub const V2_MAX: AdvertInterval = AdvertInterval(25_500);
    /// The default of both RFCs: one second.
    pub const DEFAULT: AdvertInterval = AdvertInterval(100);

    /// An interval of `centiseconds`; `None` for zero, which no version can send.
    pub const fn from_centis(centiseconds: u16) -> Option<Self> {
        if centiseconds == 0 {
            None
        } else {
            Some(AdvertInterval(centiseconds))
        }
    }

    /// An interval of whole `seconds` (the VRRPv2 unit); `None` for zero.
    pub const fn from_secs(seconds: u8) -> Option<Self> {
        Self::from_centis(seconds as u16 * 100)
    }

    /// The interval in centiseconds.
    pub const fn centis(self) -> u16 {
        self.0
    }

    /// The interval in whole seconds when it is a whole number of seconds that fits VRRPv2's
    /// 8-bit field, else `None`.
    pub const fn whole_secs(self) -> Option<u8> {
        if self.0.is_multiple_of(100) && self.0 <= Self::V2_MAX.0 {
            Some((self.0 / 100) as u8)
        } else {
            None
        }
    }

    /// The interval as a [`Duration`].
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
}

impl fmt::Display for AdvertInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}s", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_not_an_interval() {
        assert_eq!(AdvertInterval::from_centis(0), None);
        assert_eq!(AdvertInterval::from_secs(0), None);
    }

    #[test]
    fn v2_seconds_are_hundreds_of_centiseconds() {
        let one_second = AdvertInterval::from_secs(1).unwrap();
        assert_eq!(one_second, AdvertInterval::DEFAULT);
        assert_eq!(one_second.whole_secs(), Some(1));
        assert_eq!(
            AdvertInterval::from_secs(255).unwrap(),
            AdvertInterval::V2_MAX
        );
    }

    #[test]
    fn fractional_seconds_have_no_v2_form() {
        assert_eq!(AdvertInterval::from_centis(10).unwrap().whole_secs(), None);
        assert_eq!(AdvertInterval::from_centis(150).unwrap().whole_secs(), None);
    }

    #[test]
    fn duration_and_display() {
        let ten_ms = AdvertInterval::from_centis(1).unwrap();
        assert_eq!(ten_ms.as_duration(), Duration::from_millis(10));
        assert_eq!(ten_ms.to_string(), "0.01s");
        assert_eq!(AdvertInterval::V3_MAX.to_string(), "40.95s");
    }
}
