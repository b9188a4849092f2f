//! Bits the RFCs tell a receiver to ignore: ignored, but kept so a packet re-encodes exactly.

use vrrp_sidecar::vrrp::{
    Advertisement, Auth, DecodeOptions, DecodedAdvertisement, IgnoredFields, V3Ipv4Checksum,
};

use crate::support::{Fixture, hex, refresh_checksum};

/// RFC 9568 §5.2.6: the 4 reserved bits are ignored on reception.
#[test]
fn v3_reserved_bits() {
    let fixture = Fixture::load("v3-ipv4-10cs");
    let ip = fixture.ip();
    let mut payload = fixture.payload();
    payload[4] = 0xa0;
    refresh_checksum(&mut payload, &ip, true);
    let options = DecodeOptions::default();
    let decoded = DecodedAdvertisement::decode(&payload, &ip, &options).unwrap();
    assert_eq!(
        Ok(decoded.advertisement.clone()),
        Advertisement::decode(&fixture.payload(), &ip, &options)
    );
    assert_eq!(decoded.ignored.v3_reserved, 0xa);
    assert_eq!(
        decoded.encode(ip.source, ip.destination, V3Ipv4Checksum::default()),
        Ok(payload)
    );
}

/// RFC 3768 §5.3.10: with auth type 0 the Authentication Data is ignored on reception.
#[test]
fn v2_authentication_data_without_auth() {
    let fixture = Fixture::load("v2-noauth");
    let ip = fixture.ip();
    let mut payload = fixture.payload();
    payload[12..20].copy_from_slice(b"leftover");
    refresh_checksum(&mut payload, &ip, false);
    let decoded = DecodedAdvertisement::decode(&payload, &ip, &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.advertisement.auth, Auth::None);
    assert_eq!(decoded.ignored.v2_unused_auth_data, *b"leftover");
    assert_eq!(
        decoded.encode(ip.source, ip.destination, V3Ipv4Checksum::default()),
        Ok(payload)
    );
    assert_eq!(
        decoded
            .advertisement
            .encode(ip.source, ip.destination, V3Ipv4Checksum::default()),
        Ok(fixture.payload())
    );
}

/// One's complement has two zeros: a packet whose checksum computes to 0x0000 verifies as
/// 0xffff too (RFC 1624 §5), and re-encodes as it came.
#[test]
fn checksum_negative_zero() {
    // VRID 54, priority 12, 1 s, VIP 192.0.2.100, no pseudo-header: the words sum to 0xffff.
    let zero = hex("31360c0100640000c0000264");
    let ip = Fixture::load("v3-ipv4-10cs").ip();
    let options = DecodeOptions {
        v3_ipv4_checksum: V3Ipv4Checksum::WithoutPseudoHeader,
        ..DecodeOptions::default()
    };
    let positive = DecodedAdvertisement::decode(&zero, &ip, &options).unwrap();
    assert_eq!(positive.ignored, IgnoredFields::default());

    let mut negative_zero = zero.clone();
    negative_zero[6..8].copy_from_slice(&[0xff, 0xff]);
    let negative = DecodedAdvertisement::decode(&negative_zero, &ip, &options).unwrap();
    assert_eq!(negative.advertisement, positive.advertisement);
    assert!(negative.ignored.checksum_negative_zero);
    let form = options.v3_ipv4_checksum;
    assert_eq!(
        negative.encode(ip.source, ip.destination, form),
        Ok(negative_zero)
    );
    assert_eq!(
        negative
            .advertisement
            .encode(ip.source, ip.destination, form),
        Ok(zero)
    );
}
