//! Decoding a received advertisement, with the receive checks of RFC 9568 §7.1 and RFC 3768
//! §7.1 that need only the packet and its IP header.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum::{self, V3Ipv4Checksum};
use super::error::DecodeError;
use super::{
    ADVERTISEMENT_TYPE, AdvertInterval, Advertisement, Auth, FIXED_HEADER_LEN, HopLimits,
    V2_AUTH_DATA_LEN, Version,
};

/// The fields of the IP header around a received VRRP payload that the receive checks need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpHeader {
    /// The IP source address: the sender's primary IPv4 address or IPv6 link-local address.
    pub source: IpAddr,
    /// The IP destination address: the VRRP multicast group, or this router for unicast.
    pub destination: IpAddr,
    /// The IPv4 TTL or IPv6 hop limit as received.
    pub hop_limit: u8,
}

/// What the receiving virtual router is configured for, as far as the codec checks it.
///
/// The default accepts either version and only hop limit 255, checks a VRRPv3-over-IPv4
/// checksum with the pseudo-header and expects VRRPv2 packets without authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DecodeOptions {
    /// The only version to accept, or `None` for both.
    pub version: Option<Version>,
    /// How a VRRPv3-over-IPv4 checksum is computed on this instance.
    pub v3_ipv4_checksum: V3Ipv4Checksum,
    /// The VRRPv2 authentication configured; a VRRPv2 packet must carry the same type and, for
    /// a simple password, the same password. Not consulted for VRRPv3.
    pub v2_auth: Auth,
    /// The hop limits taken: 255 only for multicast; for unicast peers, which may be routed
    /// hops away (keepalived's `unicast_ttl`), any, or a peer's `min_ttl`..=`max_ttl`.
    /// keepalived checks 255 on multicast adverts only (keepalived/vrrp/vrrp.c,
    /// `vrrp_check_packet`: "but not if unicast").
    pub hop_limits: HopLimits,
}

/// A decoded advertisement together with the bits the RFCs tell a receiver to ignore.
///
/// The ignored bits do not change what the advertisement means; they are kept only so that
/// [`DecodedAdvertisement::encode`] gives back exactly the bytes received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DecodedAdvertisement {
    /// What the packet says.
    pub advertisement: Advertisement,
    /// What the packet carried that the RFCs say to ignore.
    pub ignored: IgnoredFields,
}

/// Bits a receiver ignores; all zero in what a conforming sender puts on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IgnoredFields {
    /// The 4 Rsvd bits before Max Adver Int in VRRPv3 (RFC 9568 §5.2.6: set to zero on
    /// transmission, ignored on reception). Only the low 4 bits are used.
    pub v3_reserved: u8,
    /// The Authentication Data of a VRRPv2 packet with auth type 0 (RFC 3768 §5.3.10: set to
    /// zero on transmission, ignored on reception).
    pub v2_unused_auth_data: [u8; V2_AUTH_DATA_LEN],
    /// One's complement arithmetic has two zeros, so a checksum that computes to 0x0000 also
    /// verifies as 0xffff (RFC 1624 §5); true when the packet carried 0xffff.
    pub checksum_negative_zero: bool,
}

impl Advertisement {
    /// Decodes the VRRP `payload` (the bytes after the IP header) received in `ip`, applying
    /// every receive check that needs no instance state. The ignored bits are dropped; use
    /// [`DecodedAdvertisement::decode`] to keep them.
    pub fn decode(
        payload: &[u8],
        ip: &IpHeader,
        options: &DecodeOptions,
    ) -> Result<Advertisement, DecodeError> {
        DecodedAdvertisement::decode(payload, ip, options).map(|decoded| decoded.advertisement)
    }
}

impl DecodedAdvertisement {
    /// Decodes the VRRP `payload` (the bytes after the IP header) received in `ip`, applying
    /// every receive check that needs no instance state, in the order of RFC 9568 §7.1: hop
    /// limit, version, length, checksum, then (VRRPv2) authentication and the interval.
    pub fn decode(
        payload: &[u8],
        ip: &IpHeader,
        options: &DecodeOptions,
    ) -> Result<DecodedAdvertisement, DecodeError> {
        if !options.hop_limits.contains(ip.hop_limit) {
            return Err(DecodeError::HopLimit {
                received: ip.hop_limit,
                accepted: options.hop_limits,
            });
        }
        let family = match (ip.source, ip.destination) {
            (IpAddr::V4(_), IpAddr::V4(_)) => Family::Ipv4,
            (IpAddr::V6(_), IpAddr::V6(_)) => Family::Ipv6,
            (source_address, destination) => {
                return Err(DecodeError::MixedIpFamilies {
                    source_address,
                    destination,
                });
            }
        };
        let Some((header, after_header)) = payload.split_first_chunk::<FIXED_HEADER_LEN>() else {
            return Err(DecodeError::Truncated {
                needed: FIXED_HEADER_LEN,
                received: payload.len(),
            });
        };
        let [
            version_and_type,
            vrid,
            priority,
            address_count,
            auth_type_or_reserved,
            interval_low,
            checksum_high,
            checksum_low,
        ] = *header;

        let version = match version_and_type >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            unknown => return Err(DecodeError::UnknownVersion(unknown)),
        };
        if let Some(expected) = options.version
            && expected != version
        {
            return Err(DecodeError::UnexpectedVersion {
                expected,
                received: version,
            });
        }
        let packet_type = version_and_type & 0x0f;
        if packet_type != ADVERTISEMENT_TYPE {
            return Err(DecodeError::UnknownType(packet_type));
        }
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(DecodeError::V2OverIpv6);
        }

        let addresses_len = usize::from(address_count) * family.address_len();
        let trailer_len = match version {
            Version::V2 => V2_AUTH_DATA_LEN,
            Version::V3 => 0,
        };
        let expected_len = FIXED_HEADER_LEN + addresses_len + trailer_len;
        let truncated = DecodeError::Truncated {
            needed: expected_len,
            received: payload.len(),
        };
        let Some((address_bytes, after_addresses)) = after_header.split_at_checked(addresses_len)
        else {
            return Err(truncated);
        };
        let (auth_data, after_packet) = match version {
            Version::V2 => match after_addresses.split_first_chunk::<V2_AUTH_DATA_LEN>() {
                Some((auth_data, after_auth)) => (Some(auth_data), after_auth),
                None => return Err(truncated),
            },
            Version::V3 => (None, after_addresses),
        };
        if !after_packet.is_empty() {
            return Err(DecodeError::TrailingBytes {
                expected: expected_len,
                received: payload.len(),
            });
        }

        let received_checksum = u16::from_be_bytes([checksum_high, checksum_low]);
        let verifies = |form| {
            let computed = checksum::compute(version, ip.source, ip.destination, form, payload);
            (computed, checksum_matches(computed, received_checksum))
        };
        let (computed, matches) = verifies(options.v3_ipv4_checksum);
        if !matches {
            let other_form = options.v3_ipv4_checksum.other();
            let passes_with = (version == Version::V3 && family == Family::Ipv4)
                .then_some(other_form)
                .filter(|&form| verifies(form).1);
            return Err(DecodeError::Checksum {
                received: received_checksum,
                computed,
                passes_with,
            });
        }

        let mut ignored = IgnoredFields {
            checksum_negative_zero: computed != received_checksum,
            ..IgnoredFields::default()
        };
        // Only VRRPv2 has Authentication Data, so `Some` here means VRRPv2.
        let (auth, interval) = match auth_data {
            Some(auth_data) => {
                let auth = check_v2_auth(auth_type_or_reserved, auth_data, &options.v2_auth)?;
                if matches!(auth, Auth::None | Auth::AuthenticationHeader(_)) {
                    ignored.v2_unused_auth_data = *auth_data;
                }
                // RFC 3768 §5.3.7: Adver Int is whole seconds.
                (auth, AdvertInterval::from_secs(interval_low))
            }
            None => {
                // RFC 9568 §5.2.6 and §5.2.7: 4 reserved bits, then 12 bits of centiseconds.
                ignored.v3_reserved = auth_type_or_reserved >> 4;
                let centiseconds = u16::from_be_bytes([auth_type_or_reserved & 0x0f, interval_low]);
                (Auth::None, AdvertInterval::from_centis(centiseconds))
            }
        };
        let advert_interval = interval.ok_or(DecodeError::ZeroInterval)?;

        Ok(DecodedAdvertisement {
            advertisement: Advertisement {
                version,
                vrid,
                priority,
                advert_interval,
                addresses: family.addresses(address_bytes),
                auth,
            },
            ignored,
        })
    }
}

/// The address family of the IP header, which fixes the width of the addresses in the packet
/// (RFC 9568 §5.2.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    const fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    /// The addresses in `bytes`, whose length the caller has made a multiple of the width.
    fn addresses(self, bytes: &[u8]) -> Vec<IpAddr> {
        match self {
            Family::Ipv4 => {
                let (octets, _) = bytes.as_chunks::<4>();
                octets
                    .iter()
                    .map(|&octets| IpAddr::V4(Ipv4Addr::from(octets)))
                    .collect()
            }
            Family::Ipv6 => {
                let (octets, _) = bytes.as_chunks::<16>();
                octets
                    .iter()
                    .map(|&octets| IpAddr::V6(Ipv6Addr::from(octets)))
                    .collect()
            }
        }
    }
}

/// Whether a received checksum equals the computed one, counting 0xffff as the other spelling
/// of 0x0000 (RFC 1624 §5: one's complement has two zeros).
fn checksum_matches(computed: u16, received: u16) -> bool {
    received == computed || (computed == 0 && received == 0xffff)
}

/// RFC 3768 §5.3.6 and RFC 2338 §5.3.6: the auth type must be known and match the configured
/// one, and a simple password must match byte for byte. An Authentication Header was checked
/// before the advert was decoded ([`super::ah::decode`]); its advert says type 2 and nothing
/// else.
fn check_v2_auth(
    auth_type: u8,
    auth_data: &[u8; V2_AUTH_DATA_LEN],
    configured: &Auth,
) -> Result<Auth, DecodeError> {
    let received = match (auth_type, configured) {
        (Auth::TYPE_NONE, _) => Auth::None,
        (Auth::TYPE_SIMPLE_PASSWORD, _) => Auth::SimplePassword(*auth_data),
        (Auth::TYPE_AUTHENTICATION_HEADER, Auth::AuthenticationHeader(_)) => configured.clone(),
        (Auth::TYPE_AUTHENTICATION_HEADER, _) => {
            return Err(DecodeError::AuthTypeMismatch {
                expected: configured.type_number(),
                received: auth_type,
            });
        }
        (unknown, _) => return Err(DecodeError::UnknownAuthType(unknown)),
    };
    if received.type_number() != configured.type_number() {
        return Err(DecodeError::AuthTypeMismatch {
            expected: configured.type_number(),
            received: auth_type,
        });
    }
    if received != *configured {
        return Err(DecodeError::PasswordMismatch);
    }
    Ok(received)
}
