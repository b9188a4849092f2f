//! The IPsec Authentication Header on VRRPv2 adverts over IPv4, as keepalived sends and
//! checks it with `auth_type AH` (RFC 2338 §5.3.6.2; the header of RFC 2402 §2, HMAC-MD5-96
//! of RFC 2403).
//!
//! No security association is negotiated: every router of the virtual router shares the
//! 8-byte key (keepalived's `auth_pass`, NUL-padded) and keepalived fills the rest as
//! follows (keepalived/vrrp/vrrp.c, `vrrp_build_ipsecah`, `vrrp_update_pkt`,
//! `vrrp_in_chk_ipsecah`):
//! - the SPI is the sender's IPv4 address, and a receiver refuses any other;
//! - the sequence number is one counter per virtual router, shared by sending and receiving
//!   (see [`SequenceCounter`]);
//! - the ICV is HMAC-MD5 keyed with the 8 bytes, truncated to its first 96 bits, over the
//!   IPv4 header with TOS, flags/fragment offset and header checksum zero (and the TTL too for
//!   unicast, where it is not checked), the AH header with the ICV zero, then the VRRP packet
//!   (RFC 2402 §3.3.3.1: mutable fields count as zero).
//!
//! The ICV covers the IP identification, which the kernel replaces when it is zero, so the
//! sender builds the whole IPv4 header itself ([`seal`]) and the receiver needs the header as
//! received ([`open`]).

use std::net::Ipv4Addr;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use super::decode::{DecodeOptions, DecodedAdvertisement, IpHeader};
use super::error::DecodeError;
use super::{HOP_LIMIT, IP_PROTOCOL as VRRP_PROTOCOL};

/// The IPv4 protocol number of the Authentication Header (RFC 2402 §2).
pub const IP_PROTOCOL: u8 = 51;

/// The AH header with a 96-bit ICV: next header, payload length, reserved, SPI, sequence
/// number, ICV (RFC 2402 §2).
pub const HEADER_LEN: usize = 24;

/// The 20-byte IPv4 header without options, which is what [`seal`] builds.
pub const IPV4_HEADER_LEN: usize = 20;

/// HMAC-MD5-96: the first 12 bytes of the HMAC (RFC 2403 §2).
const ICV_LEN: usize = 12;

/// Where the ICV starts in the AH header.
const ICV_OFFSET: usize = HEADER_LEN - ICV_LEN;

/// RFC 2402 §2.2: the AH length in 32-bit words, minus 2.
const PAYLOAD_LEN_WORDS: u8 = (HEADER_LEN / 4 - 2) as u8;

/// DSCP CS6 (network control), the TOS keepalived sends adverts with.
const TOS_NETWORK_CONTROL: u8 = 0xc0;

/// The bytes of an IPv4 header the ICV counts as zero: TOS, flags and fragment offset, header
/// checksum (RFC 2402 §3.3.3.1.1.1, as keepalived zeroes them).
const MUTABLE_IPV4_BYTES: [usize; 5] = [1, 6, 7, 10, 11];
/// The TTL byte, zeroed as well for unicast adverts.
const TTL_BYTE: usize = 8;

/// The shared key: the password, NUL-padded to 8 bytes; all 8 bytes key the HMAC.
pub type Key = [u8; 8];

/// What the Authentication Header of an accepted advert said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuthenticationHeader {
    /// The Security Parameters Index: the sender's IPv4 address.
    pub spi: u32,
    /// The sequence number (RFC 2402 §2.5).
    pub sequence: u32,
}

/// The anti-replay counter of one virtual router, as keepalived keeps it: the last sequence
/// number sent or accepted. An advert must carry a higher one than the last accepted; a
/// router sends the next after the highest it has seen, so a backup that takes over continues
/// the master's sequence and its peers accept it (keepalived/vrrp/vrrp.c, `ipsecah_counter`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SequenceCounter {
    last: u32,
}

impl SequenceCounter {
    /// The last sequence number sent or accepted; 0 before any.
    pub const fn last(self) -> u32 {
        self.last
    }

    /// The number for the next advert sent. It stops at the top of the range rather than
    /// wrap to numbers peers would refuse as replays; at one advert a second that is 136
    /// years away.
    pub fn next_to_send(&mut self) -> u32 {
        self.last = self.last.saturating_add(1);
        self.last
    }

    /// Accepts `received` if it is newer than every number seen so far (RFC 2402 §3.4.3).
    pub fn accept(&mut self, received: u32) -> Result<(), DecodeError> {
        if received <= self.last {
            return Err(DecodeError::AuthenticationHeaderReplayed {
                received,
                last: self.last,
            });
        }
        self.last = received;
        Ok(())
    }
}

/// Builds the IPv4 packet that carries `vrrp` (an encoded VRRPv2 advert with auth type 2)
/// from `source` to `destination` under an Authentication Header with `sequence`: the bytes
/// to send on a raw socket with `IP_HDRINCL`. For a unicast peer `unicast_ttl` is the TTL
/// (keepalived's `unicast_ttl`), left out of the ICV as keepalived leaves it, since routers
/// on the way change it; `None` sends to the group with TTL 255, which the ICV covers.
pub fn seal(
    vrrp: &[u8],
    source: Ipv4Addr,
    destination: Ipv4Addr,
    sequence: u32,
    key: &Key,
    unicast_ttl: Option<u8>,
) -> Vec<u8> {
    let unicast = unicast_ttl.is_some();
    let total_len = IPV4_HEADER_LEN + HEADER_LEN + vrrp.len();
    let mut packet = Vec::with_capacity(total_len);
    // Version 4, IHL 5.
    packet.push(0x45);
    packet.push(TOS_NETWORK_CONTROL);
    // An advert is at most 20 + 24 + 8 + 255 * 4 + 8 bytes, far below 65,535.
    packet.extend_from_slice(&(total_len as u16).to_be_bytes());
    packet.extend_from_slice(&identification(sequence).to_be_bytes());
    // Flags and fragment offset: none, as keepalived sends.
    packet.extend_from_slice(&[0, 0]);
    packet.push(unicast_ttl.unwrap_or(HOP_LIMIT));
    packet.push(IP_PROTOCOL);
    // The header checksum, filled in below (the kernel fills it in again).
    packet.extend_from_slice(&[0, 0]);
    packet.extend_from_slice(&source.octets());
    packet.extend_from_slice(&destination.octets());

    packet.push(VRRP_PROTOCOL);
    packet.push(PAYLOAD_LEN_WORDS);
    // Reserved (RFC 2402 §2.3).
    packet.extend_from_slice(&[0, 0]);
    packet.extend_from_slice(&source.octets());
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&[0; ICV_LEN]);
    packet.extend_from_slice(vrrp);

    let (ip_header, rest) = packet.split_at(IPV4_HEADER_LEN);
    let (ah_header, vrrp) = rest.split_at(HEADER_LEN);
    let icv = icv_mac(key, ip_header, ah_header, vrrp, unicast)
        .finalize()
        .into_bytes();
    let icv_at = IPV4_HEADER_LEN + ICV_OFFSET;
    packet[icv_at..icv_at + ICV_LEN].copy_from_slice(&icv[..ICV_LEN]);
    let checksum = ipv4_header_checksum(&packet[..IPV4_HEADER_LEN]);
    packet[10..12].copy_from_slice(&checksum.to_be_bytes());
    packet
}

/// Checks the Authentication Header that `after_ip` (the bytes after `ip_header`, the IPv4
/// header as received, options included) starts with: its layout, the ICV under `key`, and
/// the SPI against the IP source. Returns what the header said and the VRRP packet after it;
/// the sequence number is the caller's to check against its [`SequenceCounter`].
pub fn open<'a>(
    ip_header: &[u8],
    after_ip: &'a [u8],
    key: &Key,
    unicast: bool,
) -> Result<(AuthenticationHeader, &'a [u8]), DecodeError> {
    let malformed = DecodeError::AuthenticationHeaderMalformed;
    if ip_header.len() < IPV4_HEADER_LEN {
        return Err(malformed("IPv4 header shorter than 20 bytes"));
    }
    let Some((ah_header, vrrp)) = after_ip.split_first_chunk::<HEADER_LEN>() else {
        return Err(malformed("shorter than its 24 bytes"));
    };
    let [next_header, payload_len, ..] = *ah_header;
    if next_header != VRRP_PROTOCOL {
        return Err(malformed("next header is not VRRP (112)"));
    }
    if payload_len != PAYLOAD_LEN_WORDS {
        return Err(malformed("length is not that of a 96-bit ICV"));
    }
    // Compared in constant time, so the time taken says nothing about the right ICV.
    icv_mac(key, ip_header, ah_header, vrrp, unicast)
        .verify_truncated_left(&ah_header[ICV_OFFSET..])
        .map_err(|_| DecodeError::AuthenticationHeaderIcv)?;
    let header = AuthenticationHeader {
        spi: word_at(ah_header, 4),
        sequence: word_at(ah_header, 8),
    };
    let source = word_at(ip_header, 12);
    if header.spi != source {
        return Err(DecodeError::AuthenticationHeaderSpi {
            spi: header.spi,
            source_address: Ipv4Addr::from(source),
        });
    }
    Ok((header, vrrp))
}

/// [`open`], then the VRRP packet decoded with `options` (whose auth must be
/// [`Auth::AuthenticationHeader`](super::Auth::AuthenticationHeader) with `key`).
pub fn decode(
    ip_header: &[u8],
    after_ip: &[u8],
    ip: &IpHeader,
    key: &Key,
    unicast: bool,
    options: &DecodeOptions,
) -> Result<(AuthenticationHeader, DecodedAdvertisement), DecodeError> {
    let (header, vrrp) = open(ip_header, after_ip, key, unicast)?;
    let decoded = DecodedAdvertisement::decode(vrrp, ip, options)?;
    Ok((header, decoded))
}

/// Whether an IPv4 header says an Authentication Header follows.
pub fn carries_authentication_header(ip_header: &[u8]) -> bool {
    ip_header.get(9) == Some(&IP_PROTOCOL)
}

/// The identification of an advert with `sequence`: never zero, which the kernel would
/// replace after the ICV was computed. keepalived counts it per advert too.
fn identification(sequence: u32) -> u16 {
    match sequence as u16 {
        0 => 1,
        low => low,
    }
}

fn word_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

/// HMAC-MD5 fed with the IPv4 header (mutable fields zero), the AH header (ICV zero) and the
/// VRRP packet. `ip_header` is at least 20 bytes.
fn icv_mac(key: &Key, ip_header: &[u8], ah_header: &[u8], vrrp: &[u8], unicast: bool) -> Hmac<Md5> {
    let mut fixed = [0; IPV4_HEADER_LEN];
    fixed.copy_from_slice(&ip_header[..IPV4_HEADER_LEN]);
    for byte in MUTABLE_IPV4_BYTES {
        fixed[byte] = 0;
    }
    if unicast {
        fixed[TTL_BYTE] = 0;
    }
    let mut ah = [0; HEADER_LEN];
    ah[..ICV_OFFSET].copy_from_slice(&ah_header[..ICV_OFFSET]);
    let mut mac =
        <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(&fixed);
    mac.update(&ip_header[IPV4_HEADER_LEN..]);
    mac.update(&ah);
    mac.update(vrrp);
    mac
}

/// The IPv4 header checksum (RFC 791 §3.1) of a header whose checksum field is zero.
fn ipv4_header_checksum(header: &[u8]) -> u16 {
    let sum: u32 = header
        .chunks(2)
        .map(|pair| {
            u32::from(u16::from_be_bytes([
                pair[0],
                pair.get(1).copied().unwrap_or(0),
            ]))
        })
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    !(((folded & 0xffff) + (folded >> 16)) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::AdvertInterval;
    use crate::packet::{Advertisement, Auth, V3Ipv4Checksum, Version};

    const KEY: Key = *b"secret1\0";
    const SOURCE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
    const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

    /// The first two adverts keepalived 2.2.7 sent for `auth_type AH`, `auth_pass secret1`,
    /// VRID 51, priority 100, `advert_int 1`, 192.0.2.100, from 192.0.2.2 (captured in a
    /// namespace lab with tcpdump; IP header, AH, VRRP).
    const KEEPALIVED_SEQUENCE_1: [u8; 64] = [
        0x45, 0xc0, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, 0xff, 0x33, 0x18, 0xb5, 0xc0, 0x00, 0x02,
        0x02, 0xe0, 0x00, 0x00, 0x12, //
        0x70, 0x04, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x01, 0xdc, 0xfa, 0x61,
        0xe6, 0xbe, 0x46, 0x1e, 0x80, 0x0b, 0x2a, 0xac, 0xa6, //
        0x21, 0x33, 0x64, 0x01, 0x02, 0x01, 0xb6, 0x65, 0xc0, 0x00, 0x02, 0x64, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    const KEEPALIVED_SEQUENCE_2: [u8; 64] = [
        0x45, 0xc0, 0x00, 0x40, 0x00, 0x02, 0x00, 0x00, 0xff, 0x33, 0x18, 0xb4, 0xc0, 0x00, 0x02,
        0x02, 0xe0, 0x00, 0x00, 0x12, //
        0x70, 0x04, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x02, 0x90, 0x52, 0x5d,
        0x13, 0x7f, 0x12, 0x36, 0x9e, 0x39, 0x81, 0x9d, 0xb7, //
        0x21, 0x33, 0x64, 0x01, 0x02, 0x01, 0xb6, 0x65, 0xc0, 0x00, 0x02, 0x64, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn advert() -> Advertisement {
        Advertisement {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            advert_interval: AdvertInterval::from_secs(1).expect("1 s is an interval"),
            addresses: vec![Ipv4Addr::new(192, 0, 2, 100).into()],
            auth: Auth::AuthenticationHeader(KEY),
        }
    }

    fn ip_of(ip_header: &[u8]) -> IpHeader {
        IpHeader {
            source: SOURCE.into(),
            destination: GROUP.into(),
            hop_limit: ip_header[8],
        }
    }

    #[test]
    fn sealing_our_advert_gives_keepalived_s_bytes() {
        let vrrp = advert()
            .encode(
                SOURCE.into(),
                GROUP.into(),
                V3Ipv4Checksum::WithPseudoHeader,
            )
            .expect("a valid advert");
        assert_eq!(
            seal(&vrrp, SOURCE, GROUP, 1, &KEY, None),
            KEEPALIVED_SEQUENCE_1
        );
        assert_eq!(
            seal(&vrrp, SOURCE, GROUP, 2, &KEY, None),
            KEEPALIVED_SEQUENCE_2
        );
    }

    #[test]
    fn keepalived_s_advert_opens_and_decodes_with_its_key() {
        let (ip_header, after_ip) = KEEPALIVED_SEQUENCE_2.split_at(IPV4_HEADER_LEN);
        let options = DecodeOptions {
            version: Some(Version::V2),
            v2_auth: Auth::AuthenticationHeader(KEY),
            ..DecodeOptions::default()
        };
        let (header, decoded) = decode(
            ip_header,
            after_ip,
            &ip_of(ip_header),
            &KEY,
            false,
            &options,
        )
        .expect("keepalived's advert verifies");
        assert_eq!(
            header,
            AuthenticationHeader {
                spi: u32::from(SOURCE),
                sequence: 2
            }
        );
        assert_eq!(decoded.advertisement, advert());
    }

    #[test]
    fn a_wrong_key_or_an_altered_byte_fails_the_icv() {
        let (ip_header, after_ip) = KEEPALIVED_SEQUENCE_1.split_at(IPV4_HEADER_LEN);
        assert_eq!(
            open(ip_header, after_ip, b"secret2\0", false),
            Err(DecodeError::AuthenticationHeaderIcv)
        );
        for at in [
            4,
            12,
            16,
            IPV4_HEADER_LEN + 8,
            IPV4_HEADER_LEN + HEADER_LEN + 2,
        ] {
            let mut altered = KEEPALIVED_SEQUENCE_1;
            altered[at] ^= 1;
            let (ip_header, after_ip) = altered.split_at(IPV4_HEADER_LEN);
            assert_eq!(
                open(ip_header, after_ip, &KEY, false),
                Err(DecodeError::AuthenticationHeaderIcv),
                "byte {at} altered"
            );
        }
    }

    #[test]
    fn mutable_ip_fields_do_not_count_and_the_ttl_counts_for_multicast_only() {
        let mut altered = KEEPALIVED_SEQUENCE_1;
        // TOS, flags/fragment offset and the header checksum may change on the way.
        for at in MUTABLE_IPV4_BYTES {
            altered[at] ^= 0x20;
        }
        let (ip_header, after_ip) = altered.split_at(IPV4_HEADER_LEN);
        assert!(open(ip_header, after_ip, &KEY, false).is_ok());
        altered[TTL_BYTE] = 254;
        let (ip_header, after_ip) = altered.split_at(IPV4_HEADER_LEN);
        assert_eq!(
            open(ip_header, after_ip, &KEY, false),
            Err(DecodeError::AuthenticationHeaderIcv)
        );
        let unicast = seal(&altered[44..], SOURCE, SOURCE, 5, &KEY, Some(255));
        let mut hop = unicast.clone();
        hop[TTL_BYTE] = 64;
        let (ip_header, after_ip) = hop.split_at(IPV4_HEADER_LEN);
        assert!(open(ip_header, after_ip, &KEY, true).is_ok());
    }

    #[test]
    fn an_spi_other_than_the_source_is_refused() {
        let mut packet = KEEPALIVED_SEQUENCE_1;
        packet[IPV4_HEADER_LEN + 4..IPV4_HEADER_LEN + 8].copy_from_slice(&[192, 0, 2, 9]);
        let icv = {
            let (ip_header, rest) = packet.split_at(IPV4_HEADER_LEN);
            let (ah_header, vrrp) = rest.split_at(HEADER_LEN);
            icv_mac(&KEY, ip_header, ah_header, vrrp, false)
                .finalize()
                .into_bytes()
        };
        packet[IPV4_HEADER_LEN + ICV_OFFSET..IPV4_HEADER_LEN + HEADER_LEN]
            .copy_from_slice(&icv[..ICV_LEN]);
        let (ip_header, after_ip) = packet.split_at(IPV4_HEADER_LEN);
        assert_eq!(
            open(ip_header, after_ip, &KEY, false),
            Err(DecodeError::AuthenticationHeaderSpi {
                spi: u32::from(Ipv4Addr::new(192, 0, 2, 9)),
                source_address: SOURCE,
            })
        );
    }

    #[test]
    fn malformed_headers_are_refused_without_panicking() {
        let (ip_header, after_ip) = KEEPALIVED_SEQUENCE_1.split_at(IPV4_HEADER_LEN);
        for length in 0..HEADER_LEN {
            assert!(matches!(
                open(ip_header, &after_ip[..length], &KEY, false),
                Err(DecodeError::AuthenticationHeaderMalformed(_))
            ));
        }
        assert!(open(&ip_header[..19], after_ip, &KEY, false).is_err());
        let mut other_next = KEEPALIVED_SEQUENCE_1;
        other_next[IPV4_HEADER_LEN] = 6;
        let (ip_header, after_ip) = other_next.split_at(IPV4_HEADER_LEN);
        assert!(matches!(
            open(ip_header, after_ip, &KEY, false),
            Err(DecodeError::AuthenticationHeaderMalformed(_))
        ));
    }

    #[test]
    fn the_sequence_must_grow_and_sending_continues_after_the_highest_seen() {
        let mut counter = SequenceCounter::default();
        assert_eq!(counter.accept(5), Ok(()));
        assert_eq!(
            counter.accept(5),
            Err(DecodeError::AuthenticationHeaderReplayed {
                received: 5,
                last: 5
            })
        );
        assert!(counter.accept(4).is_err());
        assert_eq!(counter.next_to_send(), 6);
        assert!(counter.accept(6).is_err());
        assert_eq!(counter.accept(9), Ok(()));
        assert_eq!(counter.next_to_send(), 10);
    }

    #[test]
    fn the_identification_is_never_zero() {
        assert_eq!(identification(1), 1);
        assert_eq!(identification(0x1_0000), 1);
        assert_eq!(identification(0x1_0005), 5);
    }
}
