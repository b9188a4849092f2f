//! What an instance counts, and why it drops an advertisement.
//!
//! The names follow the statistics of the VRRPv3 MIB (RFC 6527 §5, `vrrpv3Statistics*`) where
//! one exists, so the metrics layer can map them one to one.

use thiserror::Error;

use super::packet::DecodeError;

/// Why an instance refused an advertisement the codec accepted (RFC 9568 §7.1, RFC 3768 §7.1:
/// the checks that need the instance's configuration or state). The advertisement changes
/// nothing and is counted under its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum DropReason {
    /// The instance is in Initialize or Fault, where advertisements are ignored (keepalived
    /// does the same; the RFC has no receive rules for Initialize).
    #[error("the instance is not running (Initialize or Fault)")]
    NotRunning,
    /// The advertisement speaks the other VRRP version (RFC 9568 §7.1 version check).
    #[error("wrong VRRP version")]
    WrongVersion,
    /// The sender or the addresses are of the other address family (RFC 9568 §1: each family
    /// is a separate virtual router).
    #[error("wrong address family")]
    WrongFamily,
    /// The advertisement is for another virtual router (RFC 9568 §7.1 VRID check).
    #[error("wrong VRID")]
    WrongVrid,
    /// The advertisement came from our own primary address: multicast loopback, or another
    /// host misconfigured with our address.
    #[error("our own advertisement")]
    OwnAdvertisement,
    /// The address count is zero (RFC 9568 §5.2.5, erratum 8299).
    #[error("no virtual addresses listed")]
    EmptyAddressList,
    /// VRRPv2: the authentication differs from ours (RFC 3768 §7.1; RFC 2338 §5.3.6).
    #[error("authentication mismatch")]
    AuthMismatch,
    /// VRRPv2: the interval differs from ours (RFC 3768 §7.1 "MUST verify that the Adver
    /// Interval in the packet is the same as the locally configured").
    #[error("advertisement interval differs from ours (VRRPv2)")]
    IntervalMismatch,
}

impl DropReason {
    /// Every reason, in the order the checks run.
    pub const ALL: [DropReason; 8] = [
        DropReason::NotRunning,
        DropReason::WrongVersion,
        DropReason::WrongFamily,
        DropReason::WrongVrid,
        DropReason::OwnAdvertisement,
        DropReason::EmptyAddressList,
        DropReason::AuthMismatch,
        DropReason::IntervalMismatch,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// The running totals of one instance since it was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Advertisements we asked to send, including priority 0 ones.
    pub adverts_sent: u64,
    /// Advertisements that passed the instance's checks and were processed.
    pub adverts_received: u64,
    /// Priority 0 advertisements sent (RFC 6527 `vrrpv3StatisticsSentPriZeroPackets`).
    pub priority_zero_sent: u64,
    /// Priority 0 advertisements processed (RFC 6527 `vrrpv3StatisticsRcvdPriZeroPackets`).
    pub priority_zero_received: u64,
    /// Transitions to Master (RFC 6527 `vrrpv3StatisticsMasterTransitions`).
    pub became_master: u64,
    /// Accepted advertisements whose address list differs from ours (RFC 6527
    /// `vrrpv3StatisticsAddressListErrors`; accepted anyway, see `Instance::handle_packet`).
    pub address_list_mismatches: u64,
    /// Advertisements processed while we are the address owner: another router claims our
    /// addresses or our VRID (RFC 9568 §7.1 as amended by erratum 8298).
    pub owner_conflicts: u64,
    /// Advertisements a preempting backup discarded because they had a lower priority.
    pub lower_priority_discarded: u64,
    dropped: [u64; DropReason::ALL.len()],
}

impl Counters {
    /// How many advertisements were dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()]
    }

    /// How many advertisements were dropped, for all reasons.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        self.dropped[reason.index()] += 1;
    }
}

/// Adverts the codec refused, by the RFC 6527 statistic they belong to
/// (`vrrpv3StatisticsRcvd*`), for the API's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeErrorCounts {
    /// TTL or hop limit other than 255 (RFC 9568 §7.1).
    pub ttl: u64,
    /// A version we do not speak, or not the instance's.
    pub version: u64,
    /// A type other than Advertisement.
    pub kind: u64,
    /// Too short, too long, or an address count that does not fit the packet.
    pub length: u64,
    /// A bad checksum.
    pub checksum: u64,
    /// VRRPv2 authentication that differs from ours or that we cannot check.
    pub auth: u64,
    /// An advertisement interval of zero.
    pub interval: u64,
}

impl DecodeErrorCounts {
    /// Counts one refused advert under its statistic.
    pub fn count(&mut self, error: &DecodeError) {
        let counter = match error {
            DecodeError::HopLimit { .. } => &mut self.ttl,
            DecodeError::UnknownVersion(_)
            | DecodeError::UnexpectedVersion { .. }
            | DecodeError::V2OverIpv6 => &mut self.version,
            DecodeError::UnknownType(_) => &mut self.kind,
            DecodeError::Truncated { .. }
            | DecodeError::TrailingBytes { .. }
            | DecodeError::MixedIpFamilies { .. } => &mut self.length,
            DecodeError::Checksum { .. } => &mut self.checksum,
            DecodeError::AuthenticationHeaderMissing
            | DecodeError::UnexpectedAuthenticationHeader
            | DecodeError::AuthenticationHeaderMalformed(_)
            | DecodeError::AuthenticationHeaderIcv
            | DecodeError::AuthenticationHeaderSpi { .. }
            | DecodeError::AuthenticationHeaderReplayed { .. }
            | DecodeError::UnknownAuthType(_)
            | DecodeError::AuthTypeMismatch { .. }
            | DecodeError::PasswordMismatch => &mut self.auth,
            DecodeError::ZeroInterval => &mut self.interval,
        };
        *counter += 1;
    }

    /// Every refused advert, whatever the reason.
    pub fn total(&self) -> u64 {
        self.ttl
            + self.version
            + self.kind
            + self.length
            + self.checksum
            + self.auth
            + self.interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_has_its_own_counter() {
        let mut counters = Counters::default();
        for (n, reason) in DropReason::ALL.into_iter().enumerate() {
            for _ in 0..=n {
                counters.count_drop(reason);
            }
        }
        for (n, reason) in DropReason::ALL.into_iter().enumerate() {
            assert_eq!(counters.dropped(reason), n as u64 + 1);
        }
        assert_eq!(counters.dropped_total(), 36);
    }
}
