//! Golden packets of our own encoder. `scripts/capture-keepalived.sh check-ours` wraps each in an
//! IP header and has tshark verify its checksum, so these files are the link between this test
//! and tshark's verdict.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_sidecar::vrrp::{AdvertInterval, Advertisement, Auth, V3Ipv4Checksum, Version};

use crate::support::Fixture;

const VIPS4: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101)),
];

fn advertisement(version: Version, addresses: &[IpAddr], auth: Auth) -> Advertisement {
    Advertisement {
        version,
        vrid: 42,
        priority: 200,
        advert_interval: match version {
            Version::V2 => AdvertInterval::from_secs(2).unwrap(),
            Version::V3 => AdvertInterval::from_centis(150).unwrap(),
        },
        addresses: addresses.to_vec(),
        auth,
    }
}

fn assert_golden(name: &str, advertisement: &Advertisement, form: V3Ipv4Checksum) {
    let fixture = Fixture::load(name);
    assert_eq!(
        advertisement.encode(fixture.source, fixture.destination, form),
        Ok(fixture.payload()),
        "{}",
        fixture.description
    );
    assert_eq!(fixture.hop_limit, 255);
}

#[test]
fn v2_with_password() {
    assert_golden(
        "sidecar-v2",
        &advertisement(Version::V2, &VIPS4, Auth::simple_password(b"sidecar")),
        V3Ipv4Checksum::default(),
    );
}

#[test]
fn v3_ipv4_with_pseudo_header() {
    assert_golden(
        "sidecar-v3-ipv4",
        &advertisement(Version::V3, &VIPS4, Auth::None),
        V3Ipv4Checksum::WithPseudoHeader,
    );
}

#[test]
fn v3_ipv4_unicast_with_pseudo_header() {
    assert_golden(
        "sidecar-v3-ipv4-unicast",
        &advertisement(Version::V3, &VIPS4, Auth::None),
        V3Ipv4Checksum::WithPseudoHeader,
    );
}

#[test]
fn v3_ipv4_without_pseudo_header() {
    assert_golden(
        "sidecar-v3-ipv4-without-pseudo-header",
        &advertisement(Version::V3, &VIPS4, Auth::None),
        V3Ipv4Checksum::WithoutPseudoHeader,
    );
}

#[test]
fn v3_ipv6() {
    let vips = [
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100)),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x101)),
    ];
    assert_golden(
        "sidecar-v3-ipv6",
        &advertisement(Version::V3, &vips, Auth::None),
        V3Ipv4Checksum::default(),
    );
}
