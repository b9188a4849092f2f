//! Why a received packet is dropped, and why an advertisement cannot be put on the wire.

use std::net::IpAddr;

use thiserror::Error;

use super::{AdvertInterval, HopLimits, V3Ipv4Checksum, Version};

/// A receive check of RFC 9568 §7.1 or RFC 3768 §7.1 that the packet failed.
///
/// Only the checks that need nothing but the packet and its IP header are here; those that need
/// the instance (VRID configured, address owner, v2 interval, address list, own advert) belong
/// to the state machine. The RFCs say to discard the packet and log the event: every variant
/// names what to log.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// RFC 9568 §7.1, RFC 3768 §7.1: the TTL / hop limit must be 255, or the packet came from
    /// beyond the link; from a unicast peer, within the `min_ttl` / `max_ttl` set for it
    /// (keepalived/vrrp/vrrp.c, `vrrp_check_packet`, counted as its `ip_ttl_err`).
    #[error("TTL/hop limit is {received}, must be {accepted}")]
    HopLimit {
        /// The TTL or hop limit of the IP header.
        received: u8,
        /// The ones taken.
        accepted: HopLimits,
    },
    /// The IP header given to the decoder has a source and a destination of different families,
    /// so it cannot be a real header.
    #[error("IP source {source_address} and destination {destination} are of different families")]
    MixedIpFamilies {
        /// The IP source address.
        source_address: IpAddr,
        /// The IP destination address.
        destination: IpAddr,
    },
    /// The payload ends before the field it must contain (RFC 9568 §7.1: the packet must be at
    /// least the VRRP header and contain the complete packet; RFC 3768 §7.1 likewise, with the
    /// Authentication Data).
    #[error("packet is {received} bytes, needs {needed}")]
    Truncated {
        /// The length the packet needs: the fixed header, or what its Count implies.
        needed: usize,
        /// The payload length received.
        received: usize,
    },
    /// The payload is longer than its Count IPvX Addrs implies. Neither RFC defines anything
    /// after the addresses (v3) or the Authentication Data (v2), so extra bytes mean the count
    /// and the length disagree; such packets are dropped, as keepalived does.
    #[error("packet is {received} bytes, its address count implies {expected}")]
    TrailingBytes {
        /// The length the Count IPvX Addrs field implies.
        expected: usize,
        /// The payload length received.
        received: usize,
    },
    /// RFC 9568 §5.2.1, RFC 3768 §5.3.1: only versions 2 and 3 exist.
    #[error("unknown VRRP version {0}")]
    UnknownVersion(u8),
    /// The caller asked for one version and the packet is the other (RFC 9568 §7.1: "MUST
    /// verify the VRRP version is 3"; RFC 3768 §7.1: "is 2").
    #[error("VRRP version {received:?} received, {expected:?} configured")]
    UnexpectedVersion {
        /// The version the caller configured.
        expected: Version,
        /// The version in the packet.
        received: Version,
    },
    /// A VRRPv2 packet in an IPv6 header: VRRPv2 is IPv4 only (RFC 3768 §1), so its address
    /// family cannot match the header.
    #[error("VRRPv2 packet carried over IPv6")]
    V2OverIpv6,
    /// RFC 9568 §5.2.2, RFC 3768 §5.3.2: a packet with an unknown type must be discarded; only
    /// 1 (ADVERTISEMENT) exists.
    #[error("unknown VRRP packet type {0}")]
    UnknownType(u8),
    /// RFC 9568 §7.1, RFC 3768 §7.1: the checksum does not verify.
    ///
    /// For VRRPv3 over IPv4 `passes_with` says whether the other form would have verified, so
    /// the log can tell the operator which checksum setting the peer needs.
    #[error(
        "bad checksum {received:#06x}, expected {computed:#06x}{}",
        other_form_hint(.passes_with)
    )]
    Checksum {
        /// The checksum in the packet.
        received: u16,
        /// The checksum this receiver computed with its configured form.
        computed: u16,
        /// The other VRRPv3-over-IPv4 form, when the packet verifies with it.
        passes_with: Option<V3Ipv4Checksum>,
    },
    /// The instance uses an IPsec Authentication Header (auth type 2) and the advert came
    /// without one (keepalived: "No AH header but auth type is AH").
    #[error("advert without the IPsec Authentication Header this instance requires")]
    AuthenticationHeaderMissing,
    /// An IPsec Authentication Header on an advert whose instance does not use one.
    #[error("advert with an IPsec Authentication Header, which this instance does not use")]
    UnexpectedAuthenticationHeader,
    /// The Authentication Header is not the one keepalived sends before a VRRP advert (RFC
    /// 2402 §2): too short, another next header, or an ICV other than 96 bits.
    #[error("malformed IPsec Authentication Header: {0}")]
    AuthenticationHeaderMalformed(&'static str),
    /// RFC 2402 §3.4.4: the ICV does not verify with our key: the key differs, or the packet
    /// changed on the way. No key is in the error.
    #[error("IPsec AH ICV (HMAC-MD5-96) does not verify: wrong key or altered packet")]
    AuthenticationHeaderIcv,
    /// The SPI is not the sender's IPv4 address, which is the SPI keepalived uses and checks.
    #[error("IPsec AH SPI {spi:#010x} is not the IP source {source_address}")]
    AuthenticationHeaderSpi {
        /// The SPI in the header.
        spi: u32,
        /// The IP source address.
        source_address: std::net::Ipv4Addr,
    },
    /// RFC 2402 §3.4.3: the sequence number is not above the last one sent or accepted for
    /// this virtual router, so the advert may be a replay.
    #[error("IPsec AH sequence number {received} is not above the last one, {last}")]
    AuthenticationHeaderReplayed {
        /// The sequence number in the header.
        received: u32,
        /// The last one sent or accepted.
        last: u32,
    },
    /// RFC 3768 §5.3.6: a packet with an unknown authentication type must be discarded.
    #[error("unknown VRRPv2 auth type {0}")]
    UnknownAuthType(u8),
    /// RFC 3768 §5.3.6: the auth type differs from the one configured for the virtual router.
    #[error("VRRPv2 auth type {received} received, {expected} configured")]
    AuthTypeMismatch {
        /// The configured auth type number.
        expected: u8,
        /// The auth type number in the packet.
        received: u8,
    },
    /// RFC 2338 §5.3.6.1: the simple password differs from the configured one. Neither
    /// password is in the error, so logging it leaks no secret.
    #[error("VRRPv2 simple password mismatch")]
    PasswordMismatch,
    /// The advertisement interval is 0. No timer can run on it (Master_Down_Interval would be
    /// 0), and neither RFC allows sending it (RFC 3768 §5.3.7 defaults to 1 s; RFC 9568 §5.2.7
    /// counts centiseconds from 1).
    #[error("advertisement interval is 0")]
    ZeroInterval,
}

/// Why an [`Advertisement`](super::Advertisement) cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// VRRPv2 is IPv4 only (RFC 3768 §1); this address is IPv6.
    #[error("VRRPv2 cannot carry the IPv6 address {0}")]
    V2WithIpv6(IpAddr),
    /// VRRPv2's Adver Int counts whole seconds (RFC 3768 §5.3.7).
    #[error("VRRPv2 interval {0} is not a whole number of seconds")]
    V2IntervalNotWholeSeconds(AdvertInterval),
    /// The interval does not fit the field: 255 s for VRRPv2 (8 bits, RFC 3768 §5.3.7), 4095 cs
    /// for VRRPv3 (12 bits, RFC 9568 §5.2.7).
    #[error("interval {interval} exceeds the VRRP{version:?} maximum of {max}")]
    IntervalTooLong {
        /// The interval asked for.
        interval: AdvertInterval,
        /// The version whose field it does not fit.
        version: Version,
        /// The largest interval that version can carry.
        max: AdvertInterval,
    },
    /// Count IPvX Addrs is 8 bits (RFC 9568 §5.2.5, RFC 3768 §5.3.5).
    #[error("{0} addresses do not fit the 8-bit address count")]
    TooManyAddresses(usize),
    /// All addresses of one packet, IP source and destination included, are of one family: the
    /// width of the IPvX addresses follows the IP header (RFC 9568 §5.2.9).
    #[error("{address} is not of the same family as the IP source {source_address}")]
    MixedFamilies {
        /// The IP source address, which sets the family.
        source_address: IpAddr,
        /// The first address of the other family.
        address: IpAddr,
    },
    /// VRRPv3 has no authentication field at all (RFC 9568 §5.1, §9).
    #[error("VRRPv3 has no authentication")]
    AuthInV3,
}

/// The tail of the checksum message that tells the operator which form the peer uses.
fn other_form_hint(passes_with: &Option<V3Ipv4Checksum>) -> String {
    match passes_with {
        Some(form) => {
            format!("; it verifies {form}, so set that checksum form for this instance")
        }
        None => String::new(),
    }
}
