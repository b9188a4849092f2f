//! What cannot be put on the wire, and the error each gives.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_sidecar::vrrp::{
    AdvertInterval, Advertisement, Auth, EncodeError, V3Ipv4Checksum, Version,
};

const SOURCE4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const GROUP4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
const VIP4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
const SOURCE6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1));
const GROUP6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12));
const VIP6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100));

fn advertisement(version: Version, addresses: Vec<IpAddr>) -> Advertisement {
    Advertisement {
        version,
        vrid: 51,
        priority: 100,
        advert_interval: AdvertInterval::DEFAULT,
        addresses,
        auth: Auth::None,
    }
}

fn encode(advertisement: &Advertisement, source: IpAddr, destination: IpAddr) -> EncodeError {
    advertisement
        .encode(source, destination, V3Ipv4Checksum::default())
        .expect_err("cannot be encoded")
}

#[test]
fn v2_with_ipv6_addresses() {
    let v2 = advertisement(Version::V2, vec![VIP6]);
    assert_eq!(encode(&v2, SOURCE4, GROUP4), EncodeError::V2WithIpv6(VIP6));
    assert_eq!(
        encode(&v2, SOURCE6, GROUP6),
        EncodeError::V2WithIpv6(SOURCE6)
    );
}

#[test]
fn v2_interval_not_whole_seconds() {
    let mut v2 = advertisement(Version::V2, vec![VIP4]);
    for centiseconds in [1, 10, 150, 25_499] {
        v2.advert_interval = AdvertInterval::from_centis(centiseconds).unwrap();
        assert_eq!(
            encode(&v2, SOURCE4, GROUP4),
            EncodeError::V2IntervalNotWholeSeconds(v2.advert_interval)
        );
    }
}

#[test]
fn interval_over_the_field() {
    let mut v2 = advertisement(Version::V2, vec![VIP4]);
    v2.advert_interval = AdvertInterval::from_centis(25_600).unwrap();
    assert_eq!(
        encode(&v2, SOURCE4, GROUP4),
        EncodeError::IntervalTooLong {
            interval: v2.advert_interval,
            version: Version::V2,
            max: AdvertInterval::V2_MAX,
        }
    );
    let mut v3 = advertisement(Version::V3, vec![VIP4]);
    v3.advert_interval = AdvertInterval::from_centis(4096).unwrap();
    assert_eq!(
        encode(&v3, SOURCE4, GROUP4),
        EncodeError::IntervalTooLong {
            interval: v3.advert_interval,
            version: Version::V3,
            max: AdvertInterval::V3_MAX,
        }
    );
}

#[test]
fn the_largest_intervals_fit() {
    let mut v2 = advertisement(Version::V2, vec![VIP4]);
    v2.advert_interval = AdvertInterval::V2_MAX;
    assert!(
        v2.encode(SOURCE4, GROUP4, V3Ipv4Checksum::default())
            .is_ok()
    );
    let mut v3 = advertisement(Version::V3, vec![VIP6]);
    v3.advert_interval = AdvertInterval::V3_MAX;
    assert!(
        v3.encode(SOURCE6, GROUP6, V3Ipv4Checksum::default())
            .is_ok()
    );
}

#[test]
fn more_than_255_addresses() {
    let addresses: Vec<IpAddr> = (0..256u16)
        .map(|index| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, index)))
        .collect();
    let mut v3 = advertisement(Version::V3, addresses);
    assert_eq!(
        encode(&v3, SOURCE6, GROUP6),
        EncodeError::TooManyAddresses(256)
    );
    v3.addresses.pop();
    assert_eq!(
        v3.encode(SOURCE6, GROUP6, V3Ipv4Checksum::default())
            .map(|bytes| bytes.len()),
        Ok(8 + 255 * 16)
    );
}

#[test]
fn mixed_families() {
    let v3 = advertisement(Version::V3, vec![VIP4, VIP6]);
    assert_eq!(
        encode(&v3, SOURCE4, GROUP4),
        EncodeError::MixedFamilies {
            source_address: SOURCE4,
            address: VIP6,
        }
    );
    let v3 = advertisement(Version::V3, vec![VIP6]);
    assert_eq!(
        encode(&v3, SOURCE4, GROUP4),
        EncodeError::MixedFamilies {
            source_address: SOURCE4,
            address: VIP6,
        }
    );
    assert_eq!(
        encode(&v3, SOURCE6, GROUP4),
        EncodeError::MixedFamilies {
            source_address: SOURCE6,
            address: GROUP4,
        }
    );
}

#[test]
fn auth_in_v3() {
    let mut v3 = advertisement(Version::V3, vec![VIP4]);
    v3.auth = Auth::simple_password(b"1111");
    assert_eq!(encode(&v3, SOURCE4, GROUP4), EncodeError::AuthInV3);
}
