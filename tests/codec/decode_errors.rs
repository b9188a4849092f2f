//! One bad packet per receive check: each is a keepalived capture with one thing changed (and
//! the checksum refreshed where the check comes after it), and each gives exactly its error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_sidecar::vrrp::{
    Advertisement, Auth, DecodeError, DecodeOptions, HopLimits, IpHeader, V3Ipv4Checksum, Version,
};

use crate::support::{Fixture, refresh_checksum};

fn decode(payload: &[u8], ip: &IpHeader, options: &DecodeOptions) -> DecodeError {
    Advertisement::decode(payload, ip, options).expect_err("the packet is bad")
}

fn v2_pass() -> (Vec<u8>, IpHeader, DecodeOptions) {
    let fixture = Fixture::load("v2-pass");
    let options = DecodeOptions {
        v2_auth: Auth::simple_password(b"1111"),
        ..DecodeOptions::default()
    };
    (fixture.payload(), fixture.ip(), options)
}

fn v3_ipv4() -> (Vec<u8>, IpHeader, DecodeOptions) {
    let fixture = Fixture::load("v3-ipv4-10cs");
    (fixture.payload(), fixture.ip(), DecodeOptions::default())
}

fn v3_ipv6() -> (Vec<u8>, IpHeader, DecodeOptions) {
    let fixture = Fixture::load("v3-ipv6-10cs");
    (fixture.payload(), fixture.ip(), DecodeOptions::default())
}

#[test]
fn hop_limit_not_255() {
    for (payload, mut ip, options) in [v2_pass(), v3_ipv4(), v3_ipv6()] {
        for hop_limit in [0, 1, 64, 254] {
            ip.hop_limit = hop_limit;
            assert_eq!(
                decode(&payload, &ip, &options),
                DecodeError::HopLimit {
                    received: hop_limit,
                    accepted: HopLimits::LINK_ONLY,
                }
            );
        }
    }
}

/// keepalived checks the hop limit of multicast adverts only: a unicast peer may be routed
/// hops away and send with its `unicast_ttl`.
#[test]
fn any_hop_limit_is_taken_from_unicast_peers() {
    for (payload, mut ip, options) in [v2_pass(), v3_ipv4(), v3_ipv6()] {
        let options = DecodeOptions {
            hop_limits: HopLimits::ANY,
            ..options
        };
        for hop_limit in [1, 64, 254, 255] {
            ip.hop_limit = hop_limit;
            assert!(Advertisement::decode(&payload, &ip, &options).is_ok());
        }
    }
}

#[test]
fn ip_source_and_destination_of_different_families() {
    let (payload, mut ip, options) = v3_ipv4();
    ip.destination = IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12));
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::MixedIpFamilies {
            source_address: ip.source,
            destination: ip.destination,
        }
    );
}

#[test]
fn shorter_than_the_fixed_header() {
    let (payload, ip, options) = v3_ipv4();
    for length in 0..8 {
        assert_eq!(
            decode(&payload[..length], &ip, &options),
            DecodeError::Truncated {
                needed: 8,
                received: length,
            }
        );
    }
}

#[test]
fn shorter_than_the_address_count_implies() {
    let (mut payload, ip, options) = v3_ipv4();
    payload[3] = 2;
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::Truncated {
            needed: 16,
            received: 12,
        }
    );
    let (mut payload, ip, options) = v3_ipv6();
    payload[3] = 2;
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::Truncated {
            needed: 40,
            received: 24,
        }
    );
}

#[test]
fn v2_without_its_authentication_data() {
    let (payload, ip, options) = v2_pass();
    for missing in 1..=8 {
        assert_eq!(
            decode(&payload[..payload.len() - missing], &ip, &options),
            DecodeError::Truncated {
                needed: 20,
                received: 20 - missing,
            }
        );
    }
}

#[test]
fn longer_than_the_address_count_implies() {
    let (mut payload, ip, options) = v3_ipv4();
    payload.extend([192, 0, 2, 101]);
    refresh_checksum(&mut payload, &ip, true);
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::TrailingBytes {
            expected: 12,
            received: 16,
        }
    );
    let (mut payload, ip, options) = v2_pass();
    payload.push(0);
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::TrailingBytes {
            expected: 20,
            received: 21,
        }
    );
}

#[test]
fn unknown_version() {
    let (mut payload, ip, options) = v3_ipv4();
    for version in [0, 1, 4, 15] {
        payload[0] = (version << 4) | 1;
        assert_eq!(
            decode(&payload, &ip, &options),
            DecodeError::UnknownVersion(version)
        );
    }
}

#[test]
fn version_other_than_configured() {
    let (payload, ip, mut options) = v3_ipv4();
    options.version = Some(Version::V2);
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::UnexpectedVersion {
            expected: Version::V2,
            received: Version::V3,
        }
    );
    let (payload, ip, mut options) = v2_pass();
    options.version = Some(Version::V3);
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::UnexpectedVersion {
            expected: Version::V3,
            received: Version::V2,
        }
    );
}

#[test]
fn v2_in_an_ipv6_header() {
    let (payload, _, options) = v2_pass();
    let ip = IpHeader {
        source: IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1)),
        destination: IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        hop_limit: 255,
    };
    assert_eq!(decode(&payload, &ip, &options), DecodeError::V2OverIpv6);
}

#[test]
fn type_other_than_advertisement() {
    let (mut payload, ip, options) = v3_ipv4();
    for packet_type in [0, 2, 15] {
        payload[0] = 0x30 | packet_type;
        assert_eq!(
            decode(&payload, &ip, &options),
            DecodeError::UnknownType(packet_type)
        );
    }
}

#[test]
fn corrupted_v2_checksum() {
    let (mut payload, ip, options) = v2_pass();
    payload[2] = 102;
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::Checksum {
            received: 0x5403,
            computed: 0x5303,
            passes_with: None,
        }
    );
}

#[test]
fn corrupted_v3_ipv4_checksum_passes_with_neither_form() {
    let (mut payload, ip, options) = v3_ipv4();
    payload[7] ^= 1;
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::Checksum {
            received: 0x04cd,
            computed: 0x04cc,
            passes_with: None,
        }
    );
}

/// The pseudo-header binds the checksum to the addresses: the same payload from another source
/// fails.
#[test]
fn v3_ipv4_checksum_covers_the_source_address() {
    let (payload, mut ip, options) = v3_ipv4();
    ip.source = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    assert!(matches!(
        decode(&payload, &ip, &options),
        DecodeError::Checksum {
            received: 0x04cc,
            passes_with: None,
            ..
        }
    ));
}

/// A Cisco/Juniper-style packet (no pseudo-header) received by an instance on the default form
/// says that the other form verifies.
#[test]
fn v3_ipv4_without_pseudo_header_received_with_the_default() {
    let (mut payload, ip, options) = v3_ipv4();
    refresh_checksum(&mut payload, &ip, false);
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::Checksum {
            received: 0xa75c,
            computed: 0x04cc,
            passes_with: Some(V3Ipv4Checksum::WithoutPseudoHeader),
        }
    );
    let options = DecodeOptions {
        v3_ipv4_checksum: V3Ipv4Checksum::WithoutPseudoHeader,
        ..options
    };
    assert!(Advertisement::decode(&payload, &ip, &options).is_ok());
}

/// Over IPv6 there is only one form, so a failure never points to another.
#[test]
fn v3_ipv6_without_pseudo_header_is_just_bad() {
    let (mut payload, ip, options) = v3_ipv6();
    refresh_checksum(&mut payload, &ip, false);
    for v3_ipv4_checksum in [
        V3Ipv4Checksum::WithPseudoHeader,
        V3Ipv4Checksum::WithoutPseudoHeader,
    ] {
        let options = DecodeOptions {
            v3_ipv4_checksum,
            ..options.clone()
        };
        assert!(matches!(
            decode(&payload, &ip, &options),
            DecodeError::Checksum {
                computed: 0x3de9,
                passes_with: None,
                ..
            }
        ));
    }
}

/// Auth type 2 (IPsec AH) on an instance configured for a password is a type mismatch; an
/// AH instance checks the header before the advert (see core's `packet::ah`).
#[test]
fn v2_ip_authentication_header_on_a_password_instance() {
    let (mut payload, ip, options) = v2_pass();
    payload[4] = 2;
    refresh_checksum(&mut payload, &ip, false);
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::AuthTypeMismatch {
            expected: 1,
            received: 2
        }
    );
}

#[test]
fn v2_unknown_auth_type() {
    let (mut payload, ip, options) = v2_pass();
    for auth_type in [3, 255] {
        payload[4] = auth_type;
        refresh_checksum(&mut payload, &ip, false);
        assert_eq!(
            decode(&payload, &ip, &options),
            DecodeError::UnknownAuthType(auth_type)
        );
    }
}

#[test]
fn v2_auth_type_other_than_configured() {
    let (payload, ip, mut options) = v2_pass();
    options.v2_auth = Auth::None;
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::AuthTypeMismatch {
            expected: 0,
            received: 1,
        }
    );
    let fixture = Fixture::load("v2-noauth");
    let options = DecodeOptions {
        v2_auth: Auth::simple_password(b"1111"),
        ..DecodeOptions::default()
    };
    assert_eq!(
        decode(&fixture.payload(), &fixture.ip(), &options),
        DecodeError::AuthTypeMismatch {
            expected: 1,
            received: 0,
        }
    );
}

#[test]
fn v2_wrong_password() {
    let (payload, ip, mut options) = v2_pass();
    for configured in [&b"1112"[..], b"111", b"11111", b"", b"1111\0\0\0\x01"] {
        options.v2_auth = Auth::simple_password(configured);
        assert_eq!(
            decode(&payload, &ip, &options),
            DecodeError::PasswordMismatch,
            "{configured:?}"
        );
    }
}

/// keepalived uses the first 8 characters of a longer auth_pass; so does simple_password.
#[test]
fn v2_password_is_cut_at_eight_bytes() {
    assert_eq!(
        Auth::simple_password(b"123456789"),
        Auth::SimplePassword(*b"12345678")
    );
}

#[test]
fn v2_interval_zero() {
    let (mut payload, ip, options) = v2_pass();
    payload[5] = 0;
    refresh_checksum(&mut payload, &ip, false);
    assert_eq!(decode(&payload, &ip, &options), DecodeError::ZeroInterval);
}

#[test]
fn v3_interval_zero() {
    let (mut payload, ip, options) = v3_ipv4();
    payload[5] = 0;
    refresh_checksum(&mut payload, &ip, true);
    assert_eq!(decode(&payload, &ip, &options), DecodeError::ZeroInterval);
    // Reserved bits do not make the interval.
    payload[4] = 0xf0;
    refresh_checksum(&mut payload, &ip, true);
    assert_eq!(decode(&payload, &ip, &options), DecodeError::ZeroInterval);
    let (mut payload, ip, options) = v3_ipv6();
    payload[5] = 0;
    refresh_checksum(&mut payload, &ip, true);
    assert_eq!(decode(&payload, &ip, &options), DecodeError::ZeroInterval);
}

/// The checks run in the order of RFC 9568 §7.1, so a packet with several faults reports the
/// first: hop limit before version, version before checksum.
#[test]
fn the_first_failed_check_is_reported() {
    let (mut payload, mut ip, options) = v3_ipv4();
    payload[0] = 0x41;
    payload[7] ^= 1;
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::UnknownVersion(4)
    );
    ip.hop_limit = 1;
    assert_eq!(
        decode(&payload, &ip, &options),
        DecodeError::HopLimit {
            received: 1,
            accepted: HopLimits::LINK_ONLY,
        }
    );
}
