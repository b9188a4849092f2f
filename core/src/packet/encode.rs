//! Encoding an advertisement into the VRRP payload a raw socket sends (RFC 9568 §5.1 and §5.2,
//! RFC 3768 §5.1 and §5.3).

use std::net::IpAddr;

use super::checksum::{self, V3Ipv4Checksum};
use super::decode::{DecodedAdvertisement, IgnoredFields};
use super::error::EncodeError;
use super::{
    ADVERTISEMENT_TYPE, AdvertInterval, Advertisement, Auth, CHECKSUM_OFFSET, FIXED_HEADER_LEN,
    V2_AUTH_DATA_LEN, Version,
};

impl Advertisement {
    /// Encodes this advertisement as sent from `source` to `destination` (both needed for the
    /// VRRPv3 pseudo-header), with the VRRPv3-over-IPv4 checksum computed as `v3_ipv4_checksum`
    /// says. Every field the RFCs reserve is zero.
    pub fn encode(
        &self,
        source: IpAddr,
        destination: IpAddr,
        v3_ipv4_checksum: V3Ipv4Checksum,
    ) -> Result<Vec<u8>, EncodeError> {
        write(
            self,
            &IgnoredFields::default(),
            source,
            destination,
            v3_ipv4_checksum,
        )
    }
}

impl DecodedAdvertisement {
    /// Encodes the advertisement with the ignored bits it was received with: given the same
    /// addresses and checksum form it was decoded with, this gives back the received bytes.
    pub fn encode(
        &self,
        source: IpAddr,
        destination: IpAddr,
        v3_ipv4_checksum: V3Ipv4Checksum,
    ) -> Result<Vec<u8>, EncodeError> {
        write(
            &self.advertisement,
            &self.ignored,
            source,
            destination,
            v3_ipv4_checksum,
        )
    }
}

fn write(
    advertisement: &Advertisement,
    ignored: &IgnoredFields,
    source: IpAddr,
    destination: IpAddr,
    v3_ipv4_checksum: V3Ipv4Checksum,
) -> Result<Vec<u8>, EncodeError> {
    let version = advertisement.version;
    if version == Version::V2 && source.is_ipv6() {
        return Err(EncodeError::V2WithIpv6(source));
    }
    for address in std::iter::once(&destination).chain(&advertisement.addresses) {
        check_family(version, source, *address)?;
    }
    let address_count = u8::try_from(advertisement.addresses.len())
        .map_err(|_| EncodeError::TooManyAddresses(advertisement.addresses.len()))?;
    let auth = match (version, &advertisement.auth) {
        (Version::V3, Auth::None) => None,
        (Version::V3, Auth::SimplePassword(_) | Auth::AuthenticationHeader(_)) => {
            return Err(EncodeError::AuthInV3);
        }
        (Version::V2, auth) => Some(auth),
    };
    let interval_field = auth_and_interval_field(
        version,
        &advertisement.auth,
        advertisement.advert_interval,
        ignored,
    )?;

    let mut bytes = Vec::with_capacity(encoded_len(advertisement));
    bytes.push((version.number() << 4) | ADVERTISEMENT_TYPE);
    bytes.push(advertisement.vrid);
    bytes.push(advertisement.priority);
    bytes.push(address_count);
    bytes.extend_from_slice(&interval_field);
    // RFC 9568 §5.2.8, RFC 3768 §5.3.8: zero while the checksum is computed, filled in below.
    bytes.extend_from_slice(&[0, 0]);
    for address in &advertisement.addresses {
        match address {
            IpAddr::V4(address) => bytes.extend_from_slice(&address.octets()),
            IpAddr::V6(address) => bytes.extend_from_slice(&address.octets()),
        }
    }
    if let Some(auth) = auth {
        bytes.extend_from_slice(match auth {
            Auth::None | Auth::AuthenticationHeader(_) => &ignored.v2_unused_auth_data,
            Auth::SimplePassword(password) => password,
        });
    }

    let mut checksum = checksum::compute(version, source, destination, v3_ipv4_checksum, &bytes);
    if checksum == 0 && ignored.checksum_negative_zero {
        checksum = 0xffff;
    }
    // The fixed header was pushed above, so the checksum bytes exist.
    bytes[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 2].copy_from_slice(&checksum.to_be_bytes());
    Ok(bytes)
}

/// The number of bytes [`Advertisement::encode`] produces for `advertisement`.
fn encoded_len(advertisement: &Advertisement) -> usize {
    let addresses: usize = advertisement
        .addresses
        .iter()
        .map(|address| if address.is_ipv4() { 4 } else { 16 })
        .sum();
    let trailer = match advertisement.version {
        Version::V2 => V2_AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    FIXED_HEADER_LEN + addresses + trailer
}

/// Every address of a packet has the family of its IP source (RFC 9568 §5.2.9), and VRRPv2 has
/// only IPv4 (RFC 3768 §1).
fn check_family(version: Version, source: IpAddr, address: IpAddr) -> Result<(), EncodeError> {
    if version == Version::V2 && address.is_ipv6() {
        return Err(EncodeError::V2WithIpv6(address));
    }
    if address.is_ipv4() != source.is_ipv4() {
        return Err(EncodeError::MixedFamilies {
            source_address: source,
            address,
        });
    }
    Ok(())
}

/// Bytes 4 and 5 of the header: Auth Type and Adver Int in whole seconds for VRRPv2 (RFC 3768
/// §5.3.6, §5.3.7), or 4 reserved bits and 12 bits of centiseconds for VRRPv3 (RFC 9568 §5.2.6,
/// §5.2.7).
fn auth_and_interval_field(
    version: Version,
    auth: &Auth,
    interval: AdvertInterval,
    ignored: &IgnoredFields,
) -> Result<[u8; 2], EncodeError> {
    let max = match version {
        Version::V2 => AdvertInterval::V2_MAX,
        Version::V3 => AdvertInterval::V3_MAX,
    };
    if interval > max {
        return Err(EncodeError::IntervalTooLong {
            interval,
            version,
            max,
        });
    }
    match version {
        Version::V2 => {
            let seconds = interval
                .whole_secs()
                .ok_or(EncodeError::V2IntervalNotWholeSeconds(interval))?;
            Ok([auth.type_number(), seconds])
        }
        Version::V3 => {
            let reserved = u16::from(ignored.v3_reserved & 0x0f) << 12;
            Ok((reserved | interval.centis()).to_be_bytes())
        }
    }
}
