//! Adverts captured from keepalived 2.2.7: each decodes to exactly the fields its configuration
//! says, and encodes back to the very bytes keepalived sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_sidecar::vrrp::{
    AdvertInterval, Advertisement, Auth, DecodeError, DecodeOptions, DecodedAdvertisement,
    IgnoredFields, V3Ipv4Checksum, Version,
};

use crate::support::Fixture;

const VIP4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
const VIP6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100));

fn centis(centiseconds: u16) -> AdvertInterval {
    AdvertInterval::from_centis(centiseconds).expect("test intervals are not zero")
}

fn password_1111() -> Auth {
    Auth::SimplePassword(*b"1111\0\0\0\0")
}

/// Decodes the fixture `name` with `options`, checks it against `expected`, and checks that both
/// encoders give the captured bytes back.
fn assert_fixture(name: &str, options: DecodeOptions, expected: Advertisement) {
    let fixture = Fixture::load(name);
    let payload = fixture.payload();
    let ip = fixture.ip();
    let decoded = DecodedAdvertisement::decode(&payload, &ip, &options)
        .unwrap_or_else(|error| panic!("{}: {error}", fixture.description));
    assert_eq!(decoded.advertisement, expected, "{}", fixture.description);
    assert_eq!(
        decoded.ignored,
        IgnoredFields::default(),
        "keepalived zeroes what RFCs reserve"
    );
    let form = options.v3_ipv4_checksum;
    assert_eq!(
        decoded.encode(ip.source, ip.destination, form),
        Ok(payload.clone()),
        "exact re-encoding of {name}"
    );
    assert_eq!(
        expected.encode(ip.source, ip.destination, form),
        Ok(payload),
        "canonical encoding of {name}"
    );
}

fn v2_options(auth: Auth) -> DecodeOptions {
    DecodeOptions {
        version: Some(Version::V2),
        v2_auth: auth,
        ..DecodeOptions::default()
    }
}

fn v3_options() -> DecodeOptions {
    DecodeOptions {
        version: Some(Version::V3),
        ..DecodeOptions::default()
    }
}

#[test]
fn v2_with_simple_password() {
    assert_fixture(
        "v2-pass",
        v2_options(Auth::simple_password(b"1111")),
        Advertisement {
            version: Version::V2,
            vrid: 51,
            priority: 101,
            advert_interval: centis(100),
            addresses: vec![VIP4],
            auth: password_1111(),
        },
    );
}

#[test]
fn v2_priority_zero_on_sigterm() {
    assert_fixture(
        "v2-pass-priority0",
        v2_options(Auth::simple_password(b"1111")),
        Advertisement {
            version: Version::V2,
            vrid: 51,
            priority: 0,
            advert_interval: centis(100),
            addresses: vec![VIP4],
            auth: password_1111(),
        },
    );
}

#[test]
fn v2_without_auth() {
    assert_fixture(
        "v2-noauth",
        v2_options(Auth::None),
        Advertisement {
            version: Version::V2,
            vrid: 51,
            priority: 101,
            advert_interval: centis(100),
            addresses: vec![VIP4],
            auth: Auth::None,
        },
    );
}

#[test]
fn v3_ipv4_one_second() {
    assert_fixture(
        "v3-ipv4-1s",
        v3_options(),
        Advertisement {
            version: Version::V3,
            vrid: 51,
            priority: 101,
            advert_interval: centis(100),
            addresses: vec![VIP4],
            auth: Auth::None,
        },
    );
}

#[test]
fn v3_ipv4_ten_centiseconds() {
    assert_fixture(
        "v3-ipv4-10cs",
        v3_options(),
        Advertisement {
            version: Version::V3,
            vrid: 51,
            priority: 101,
            advert_interval: centis(10),
            addresses: vec![VIP4],
            auth: Auth::None,
        },
    );
}

#[test]
fn v3_ipv4_priority_zero_on_sigterm() {
    assert_fixture(
        "v3-ipv4-10cs-priority0",
        v3_options(),
        Advertisement {
            version: Version::V3,
            vrid: 51,
            priority: 0,
            advert_interval: centis(10),
            addresses: vec![VIP4],
            auth: Auth::None,
        },
    );
}

#[test]
fn v3_ipv6_from_link_local() {
    let fixture = Fixture::load("v3-ipv6-10cs");
    assert_eq!(
        fixture.source,
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1)),
        "RFC 9568 §5.1.2.1: the source is the link-local address"
    );
    assert_eq!(fixture.destination, "ff02::12".parse::<IpAddr>().unwrap());
    assert_fixture(
        "v3-ipv6-10cs",
        v3_options(),
        Advertisement {
            version: Version::V3,
            vrid: 51,
            priority: 101,
            advert_interval: centis(10),
            addresses: vec![VIP6],
            auth: Auth::None,
        },
    );
}

#[test]
fn every_capture_has_hop_limit_255() {
    for name in [
        "v2-pass",
        "v2-pass-priority0",
        "v2-noauth",
        "v3-ipv4-1s",
        "v3-ipv4-10cs",
        "v3-ipv4-10cs-priority0",
        "v3-ipv6-10cs",
    ] {
        assert_eq!(Fixture::load(name).hop_limit, 255, "{name}");
    }
}

/// keepalived 2.2.7 sums the IPv4 pseudo-header; an instance set to leave it out must refuse the
/// packet and say that the other form verifies, so the operator knows which switch to set.
#[test]
fn keepalived_v3_ipv4_names_the_form_it_passes_with() {
    let fixture = Fixture::load("v3-ipv4-10cs");
    let options = DecodeOptions {
        v3_ipv4_checksum: V3Ipv4Checksum::WithoutPseudoHeader,
        ..DecodeOptions::default()
    };
    let error = Advertisement::decode(&fixture.payload(), &fixture.ip(), &options).unwrap_err();
    assert_eq!(
        error,
        DecodeError::Checksum {
            received: 0x04cc,
            computed: 0xa75c,
            passes_with: Some(V3Ipv4Checksum::WithPseudoHeader),
        }
    );
    assert_eq!(
        error.to_string(),
        "bad checksum 0x04cc, expected 0xa75c; it verifies with the IPv4 pseudo-header, \
         so set that checksum form for this instance"
    );
}

/// With no version configured both versions decode.
#[test]
fn default_options_accept_both_versions() {
    for name in ["v2-noauth", "v3-ipv4-10cs", "v3-ipv6-10cs"] {
        let fixture = Fixture::load(name);
        let decoded =
            Advertisement::decode(&fixture.payload(), &fixture.ip(), &DecodeOptions::default());
        assert!(decoded.is_ok(), "{name}: {decoded:?}");
    }
}
