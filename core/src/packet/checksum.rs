//! The VRRP checksum: which bytes it covers in each version and address family.
//!
//! - VRRPv2: the Internet checksum (RFC 1071) over the VRRP message, Authentication Data
//!   included, with no pseudo-header (RFC 3768 §5.3.8).
//! - VRRPv3 over IPv6: the same sum with the IPv6 pseudo-header of RFC 8200 §8.1 in front, next
//!   header 112 (RFC 9568 §5.2.8).
//! - VRRPv3 over IPv4: RFC 9568 §5.2.8 points at the RFC 8200 pseudo-header, and implementations
//!   read that two ways for IPv4; see [`V3Ipv4Checksum`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{CHECKSUM_OFFSET, IP_PROTOCOL, Version};

/// Which bytes a VRRPv3-over-IPv4 checksum covers.
///
/// The default is [`V3Ipv4Checksum::WithPseudoHeader`]: it is what keepalived 2.2.7 sends by
/// default, what FRR's vrrpd sends, and what tshark's VRRP dissector checks by default, all
/// measured to agree (reference/keepalived-baseline.md, section (e)). Peers that leave the
/// pseudo-header out (keepalived's `v3_checksum_as_v2`, Cisco and Juniper) need
/// [`V3Ipv4Checksum::WithoutPseudoHeader`] on that instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum V3Ipv4Checksum {
    /// An IPv4 pseudo-header (source, destination, zero, protocol 112, VRRP length) is summed
    /// in front of the message, by analogy with RFC 8200 §8.1.
    #[default]
    WithPseudoHeader,
    /// Only the VRRP message is summed, as VRRPv2 does.
    WithoutPseudoHeader,
}

impl V3Ipv4Checksum {
    /// The form that is not this one: what a mismatching peer might be using.
    pub const fn other(self) -> Self {
        match self {
            V3Ipv4Checksum::WithPseudoHeader => V3Ipv4Checksum::WithoutPseudoHeader,
            V3Ipv4Checksum::WithoutPseudoHeader => V3Ipv4Checksum::WithPseudoHeader,
        }
    }
}

impl fmt::Display for V3Ipv4Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            V3Ipv4Checksum::WithPseudoHeader => "with the IPv4 pseudo-header",
            V3Ipv4Checksum::WithoutPseudoHeader => "without the IPv4 pseudo-header",
        })
    }
}

/// The checksum `message` must carry, computed as if its checksum field were zero.
///
/// `message` is the whole VRRP message (the IP payload). The caller has already checked that it
/// holds at least the fixed header and that `source` and `destination` share a family; the
/// length is at most a few kilobytes, so it fits both pseudo-headers' length fields.
pub(crate) fn compute(
    version: Version,
    source: IpAddr,
    destination: IpAddr,
    v3_ipv4: V3Ipv4Checksum,
    message: &[u8],
) -> u16 {
    let mut sum = OnesComplementSum::default();
    match (version, source, destination) {
        (Version::V2, _, _) => {}
        (Version::V3, IpAddr::V4(source), IpAddr::V4(destination)) => {
            if v3_ipv4 == V3Ipv4Checksum::WithPseudoHeader {
                add_ipv4_pseudo_header(&mut sum, source, destination, message.len());
            }
        }
        (Version::V3, IpAddr::V6(source), IpAddr::V6(destination)) => {
            add_ipv6_pseudo_header(&mut sum, source, destination, message.len());
        }
        // Mixed families never reach here: decode and encode refuse them first. Summing no
        // pseudo-header keeps this total anyway.
        (Version::V3, _, _) => {}
    }
    let (before, rest) = message.split_at(CHECKSUM_OFFSET.min(message.len()));
    sum.add(before);
    // RFC 9568 §5.2.8, RFC 3768 §5.3.8: the checksum field counts as zero while computing.
    sum.add(rest.get(2..).unwrap_or_default());
    sum.finish()
}

/// The IPv4 pseudo-header, laid out as UDP's (RFC 768) since RFC 8200 §8.1 defines only IPv6's.
fn add_ipv4_pseudo_header(
    sum: &mut OnesComplementSum,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    length: usize,
) {
    sum.add(&source.octets());
    sum.add(&destination.octets());
    sum.add(&[0, IP_PROTOCOL]);
    sum.add(&wire_length(length).to_be_bytes()[2..]);
}

/// RFC 8200 §8.1: source, destination, 32-bit upper-layer length, 3 zero bytes, next header.
fn add_ipv6_pseudo_header(
    sum: &mut OnesComplementSum,
    source: Ipv6Addr,
    destination: Ipv6Addr,
    length: usize,
) {
    sum.add(&source.octets());
    sum.add(&destination.octets());
    sum.add(&wire_length(length).to_be_bytes());
    sum.add(&[0, 0, 0, IP_PROTOCOL]);
}

/// A VRRP message is at most 8 + 255 × 16 bytes, so its length always fits; saturating keeps
/// the function total without a panic path.
fn wire_length(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

/// The 16-bit one's complement sum of RFC 1071, folded as it goes so no input length can
/// overflow it.
#[derive(Default)]
struct OnesComplementSum {
    sum: u32,
}

impl OnesComplementSum {
    /// Adds `bytes` as big-endian 16-bit words. Every piece summed here has an even length
    /// except possibly the last, whose odd byte RFC 1071 pads with a zero.
    fn add(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(2);
        for word in &mut words {
            self.add_word(u16::from_be_bytes([word[0], word[1]]));
        }
        if let [odd] = words.remainder() {
            self.add_word(u16::from_be_bytes([*odd, 0]));
        }
    }

    fn add_word(&mut self, word: u16) {
        self.sum += u32::from(word);
        // End-around carry (RFC 1071 §1). The sum was at most 0xffff, so after adding a word it
        // is at most 0x1fffe and one fold brings it back to at most 0xffff.
        self.sum = (self.sum & 0xffff) + (self.sum >> 16);
    }

    fn finish(self) -> u16 {
        // add_word keeps the sum at most 0xffff, so the cast loses nothing.
        !(self.sum as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 §3's worked example: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    #[test]
    fn rfc1071_example_sum() {
        let mut sum = OnesComplementSum::default();
        sum.add(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(sum.finish(), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        let mut odd = OnesComplementSum::default();
        odd.add(&[0x12, 0x34, 0x56]);
        let mut padded = OnesComplementSum::default();
        padded.add(&[0x12, 0x34, 0x56, 0x00]);
        assert_eq!(odd.finish(), padded.finish());
    }

    #[test]
    fn checksum_field_counts_as_zero() {
        let source = IpAddr::from([192, 0, 2, 1]);
        let destination = IpAddr::from([224, 0, 0, 18]);
        let zeroed = [0x31, 51, 101, 1, 0, 10, 0, 0, 192, 0, 2, 100];
        let mut filled = zeroed;
        filled[6] = 0xab;
        filled[7] = 0xcd;
        for form in [
            V3Ipv4Checksum::WithPseudoHeader,
            V3Ipv4Checksum::WithoutPseudoHeader,
        ] {
            assert_eq!(
                compute(Version::V3, source, destination, form, &zeroed),
                compute(Version::V3, source, destination, form, &filled),
            );
        }
    }

    /// keepalived's v3 IPv4 advert from reference/keepalived-baseline.md (e): 192.0.2.1 to
    /// 224.0.0.18, VRID 51, priority 101, 10 cs, VIP 192.0.2.100, checksum 0x04cc, which tshark
    /// verified with the pseudo-header.
    #[test]
    fn keepalived_v3_ipv4_uses_the_pseudo_header() {
        let message = [0x31, 51, 101, 1, 0, 10, 0x04, 0xcc, 192, 0, 2, 100];
        let source = IpAddr::from([192, 0, 2, 1]);
        let destination = IpAddr::from([224, 0, 0, 18]);
        assert_eq!(
            compute(
                Version::V3,
                source,
                destination,
                V3Ipv4Checksum::WithPseudoHeader,
                &message
            ),
            0x04cc
        );
        assert_ne!(
            compute(
                Version::V3,
                source,
                destination,
                V3Ipv4Checksum::WithoutPseudoHeader,
                &message
            ),
            0x04cc
        );
    }
}
