//! Property tests: every valid advertisement survives encode then decode, and no input makes
//! the decoder panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;
use vrrp_sidecar::vrrp::{
    AdvertInterval, Advertisement, Auth, DecodeError, DecodeOptions, DecodedAdvertisement,
    HopLimits, IgnoredFields, IpHeader, V3Ipv4Checksum, Version,
};

use crate::support::refresh_checksum;

const GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// An address from the three IPv4 documentation ranges (RFC 5737).
fn documentation_ipv4() -> impl Strategy<Value = IpAddr> {
    (
        prop_oneof![Just([192, 0, 2]), Just([198, 51, 100]), Just([203, 0, 113])],
        any::<u8>(),
    )
        .prop_map(|([a, b, c], host)| IpAddr::V4(Ipv4Addr::new(a, b, c, host)))
}

/// An address of 2001:db8::/64 (RFC 3849).
fn documentation_ipv6() -> impl Strategy<Value = IpAddr> {
    any::<u64>()
        .prop_map(|host| IpAddr::V6(Ipv6Addr::from((0x2001_0db8_u128 << 96) | u128::from(host))))
}

/// A link-local address, the only source VRRPv3 over IPv6 sends from (RFC 9568 §5.1.2.1).
fn link_local() -> impl Strategy<Value = IpAddr> {
    any::<u64>()
        .prop_map(|host| IpAddr::V6(Ipv6Addr::from((0xfe80_u128 << 112) | u128::from(host))))
}

fn interval(max: AdvertInterval) -> impl Strategy<Value = AdvertInterval> {
    (1..=max.centis()).prop_map(|centiseconds| AdvertInterval::from_centis(centiseconds).unwrap())
}

fn v2_auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::SimplePassword)
    ]
}

/// An advertisement with the source and destination it is sent between.
#[derive(Clone, Debug)]
struct Sent {
    advertisement: Advertisement,
    source: IpAddr,
    destination: IpAddr,
}

impl Sent {
    fn ip(&self) -> IpHeader {
        IpHeader {
            source: self.source,
            destination: self.destination,
            hop_limit: 255,
        }
    }

    /// The options of a receiver configured like the sender.
    fn options(&self, v3_ipv4_checksum: V3Ipv4Checksum) -> DecodeOptions {
        DecodeOptions {
            version: Some(self.advertisement.version),
            v3_ipv4_checksum,
            v2_auth: self.advertisement.auth.clone(),
            hop_limits: HopLimits::LINK_ONLY,
        }
    }
}

fn v2_ipv4() -> impl Strategy<Value = Sent> {
    (
        any::<u8>(),
        any::<u8>(),
        1..=255u8,
        vec(documentation_ipv4(), 0..=255),
        v2_auth(),
        documentation_ipv4(),
        prop_oneof![Just(IpAddr::V4(GROUP4)), documentation_ipv4()],
    )
        .prop_map(
            |(vrid, priority, seconds, addresses, auth, source, destination)| Sent {
                advertisement: Advertisement {
                    version: Version::V2,
                    vrid,
                    priority,
                    advert_interval: AdvertInterval::from_secs(seconds).unwrap(),
                    addresses,
                    auth,
                },
                source,
                destination,
            },
        )
}

fn v3(
    address: impl Strategy<Value = IpAddr>,
    source: impl Strategy<Value = IpAddr>,
    destination: impl Strategy<Value = IpAddr>,
) -> impl Strategy<Value = Sent> {
    (
        any::<u8>(),
        any::<u8>(),
        interval(AdvertInterval::V3_MAX),
        vec(address, 0..=255),
        source,
        destination,
    )
        .prop_map(
            |(vrid, priority, advert_interval, addresses, source, destination)| Sent {
                advertisement: Advertisement {
                    version: Version::V3,
                    vrid,
                    priority,
                    advert_interval,
                    addresses,
                    auth: Auth::None,
                },
                source,
                destination,
            },
        )
}

fn v3_ipv4() -> impl Strategy<Value = Sent> {
    v3(
        documentation_ipv4(),
        documentation_ipv4(),
        prop_oneof![Just(IpAddr::V4(GROUP4)), documentation_ipv4()],
    )
}

fn v3_ipv6() -> impl Strategy<Value = Sent> {
    v3(
        documentation_ipv6(),
        link_local(),
        prop_oneof![Just(IpAddr::V6(GROUP6)), link_local()],
    )
}

fn v3_ipv4_checksum() -> impl Strategy<Value = V3Ipv4Checksum> {
    prop_oneof![
        Just(V3Ipv4Checksum::WithPseudoHeader),
        Just(V3Ipv4Checksum::WithoutPseudoHeader)
    ]
}

/// encode → decode gives the same advertisement, nothing ignored, and the same bytes again.
fn assert_round_trip(sent: &Sent, form: V3Ipv4Checksum) -> Result<Vec<u8>, TestCaseError> {
    let bytes = sent
        .advertisement
        .encode(sent.source, sent.destination, form)
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    let decoded = DecodedAdvertisement::decode(&bytes, &sent.ip(), &sent.options(form))
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    prop_assert_eq!(&decoded.advertisement, &sent.advertisement);
    prop_assert_eq!(
        decoded.ignored,
        IgnoredFields {
            // The canonical encoding writes 0x0000 for a zero checksum.
            checksum_negative_zero: false,
            ..IgnoredFields::default()
        }
    );
    prop_assert_eq!(
        decoded.encode(sent.source, sent.destination, form),
        Ok(bytes.clone())
    );
    Ok(bytes)
}

/// Any header fields around a payload, mostly plausible so that decoding gets past the hop
/// limit check.
fn any_ip() -> impl Strategy<Value = IpHeader> {
    let hop_limit = prop_oneof![4 => Just(255u8), 1 => any::<u8>()];
    prop_oneof![
        (
            documentation_ipv4(),
            documentation_ipv4(),
            hop_limit.clone()
        ),
        (link_local(), documentation_ipv6(), hop_limit.clone()),
        (documentation_ipv4(), documentation_ipv6(), hop_limit),
    ]
    .prop_map(|(source, destination, hop_limit)| IpHeader {
        source,
        destination,
        hop_limit,
    })
}

fn any_options() -> impl Strategy<Value = DecodeOptions> {
    (
        prop_oneof![Just(None), Just(Some(Version::V2)), Just(Some(Version::V3))],
        v3_ipv4_checksum(),
        v2_auth(),
        any::<(u8, u8)>(),
    )
        .prop_map(
            |(version, v3_ipv4_checksum, v2_auth, (lowest, highest))| DecodeOptions {
                version,
                v3_ipv4_checksum,
                v2_auth,
                hop_limits: HopLimits { lowest, highest },
            },
        )
}

/// Whatever decodes re-encodes to the same bytes.
fn assert_no_panic_and_exact(
    payload: &[u8],
    ip: &IpHeader,
    options: &DecodeOptions,
) -> Result<(), TestCaseError> {
    if let Ok(decoded) = DecodedAdvertisement::decode(payload, ip, options) {
        prop_assert_eq!(
            decoded.encode(ip.source, ip.destination, options.v3_ipv4_checksum),
            Ok(payload.to_vec())
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn v2_ipv4_round_trip(sent in v2_ipv4(), form in v3_ipv4_checksum()) {
        assert_round_trip(&sent, form)?;
    }

    #[test]
    fn v3_ipv4_with_pseudo_header_round_trip(sent in v3_ipv4()) {
        assert_round_trip(&sent, V3Ipv4Checksum::WithPseudoHeader)?;
    }

    #[test]
    fn v3_ipv4_without_pseudo_header_round_trip(sent in v3_ipv4()) {
        assert_round_trip(&sent, V3Ipv4Checksum::WithoutPseudoHeader)?;
    }

    /// A receiver on the other form refuses the packet and names the form it verifies with,
    /// except when both forms happen to give the same checksum.
    #[test]
    fn v3_ipv4_other_form_is_named(sent in v3_ipv4(), form in v3_ipv4_checksum()) {
        let bytes = assert_round_trip(&sent, form)?;
        match Advertisement::decode(&bytes, &sent.ip(), &sent.options(form.other())) {
            Ok(decoded) => prop_assert_eq!(decoded, sent.advertisement),
            Err(DecodeError::Checksum { passes_with, .. }) => {
                prop_assert_eq!(passes_with, Some(form));
            }
            Err(other) => return Err(TestCaseError::fail(other.to_string())),
        }
    }

    #[test]
    fn v3_ipv6_round_trip(sent in v3_ipv6(), form in v3_ipv4_checksum()) {
        assert_round_trip(&sent, form)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        payload in vec(any::<u8>(), 0..600),
        ip in any_ip(),
        options in any_options(),
    ) {
        assert_no_panic_and_exact(&payload, &ip, &options)?;
    }

    /// Random bytes rarely carry a valid checksum; with it fixed, decoding reaches the checks
    /// after it (auth, interval, addresses).
    #[test]
    fn arbitrary_bytes_with_a_valid_checksum_never_panic(
        mut payload in vec(any::<u8>(), 8..600),
        ip in any_ip(),
        options in any_options(),
        pseudo_header in any::<bool>(),
    ) {
        if ip.source.is_ipv4() == ip.destination.is_ipv4() {
            refresh_checksum(&mut payload, &ip, pseudo_header);
        }
        assert_no_panic_and_exact(&payload, &ip, &options)?;
    }

    /// A valid packet with one byte changed: decoding never panics, and if it passes it
    /// re-encodes to the changed bytes.
    #[test]
    fn one_changed_byte_never_panics(
        sent in prop_oneof![v2_ipv4(), v3_ipv4(), v3_ipv6()],
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
        fix_checksum in any::<bool>(),
    ) {
        let form = V3Ipv4Checksum::default();
        let mut payload = sent.advertisement.encode(sent.source, sent.destination, form).unwrap();
        let at = position.index(payload.len());
        payload[at] = value;
        if fix_checksum {
            let pseudo_header = payload[0] >> 4 != 2;
            refresh_checksum(&mut payload, &sent.ip(), pseudo_header);
        }
        assert_no_panic_and_exact(&payload, &sent.ip(), &sent.options(form))?;
    }
}
