//! Feeds arbitrary bytes to the advertisement decoder.
//!
//! The input is split into the IP context and the VRRP payload:
//! - byte 0, flags: bit 0 IPv6, bit 1 checksum without the IPv4 pseudo-header, bits 2-3 the
//!   expected version (1 = v2, 2 = v3, else any), bit 4 a configured simple password;
//! - byte 1, the hop limit;
//! - the source and destination addresses, 4 or 16 bytes each;
//! - 8 password bytes when bit 4 is set;
//! - the rest, the VRRP payload.
//!
//! Whatever decodes must re-encode to the very same bytes, and its canonical encoding must
//! decode to the same advertisement.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use vrrp_sidecar_core::{
    Advertisement, Auth, DecodeOptions, DecodedAdvertisement, IpHeader, V3Ipv4Checksum, Version,
};

/// Takes `N` bytes off the front of `input`.
fn take<const N: usize>(input: &mut &[u8]) -> Option<[u8; N]> {
    let (taken, rest) = input.split_first_chunk::<N>()?;
    *input = rest;
    Some(*taken)
}

fn address(input: &mut &[u8], ipv6: bool) -> Option<IpAddr> {
    Some(if ipv6 {
        IpAddr::V6(Ipv6Addr::from(take::<16>(input)?))
    } else {
        IpAddr::V4(Ipv4Addr::from(take::<4>(input)?))
    })
}

/// The IP context and options the flags describe, and the payload after them.
fn split(mut input: &[u8]) -> Option<(IpHeader, DecodeOptions, &[u8])> {
    let [flags, hop_limit] = take::<2>(&mut input)?;
    let ipv6 = flags & 1 != 0;
    let source = address(&mut input, ipv6)?;
    let destination = address(&mut input, ipv6)?;
    let v3_ipv4_checksum = if flags & 2 != 0 {
        V3Ipv4Checksum::WithoutPseudoHeader
    } else {
        V3Ipv4Checksum::WithPseudoHeader
    };
    let version = match (flags >> 2) & 3 {
        1 => Some(Version::V2),
        2 => Some(Version::V3),
        _ => None,
    };
    let v2_auth = if flags & 16 != 0 {
        Auth::SimplePassword(take::<8>(&mut input)?)
    } else {
        Auth::None
    };
    let ip = IpHeader {
        source,
        destination,
        hop_limit,
    };
    let options = DecodeOptions {
        version,
        v3_ipv4_checksum,
        v2_auth,
    };
    Some((ip, options, input))
}

fuzz_target!(|input: &[u8]| {
    let Some((ip, options, payload)) = split(input) else {
        return;
    };
    let Ok(decoded) = DecodedAdvertisement::decode(payload, &ip, &options) else {
        return;
    };
    let exact = decoded
        .encode(ip.source, ip.destination, options.v3_ipv4_checksum)
        .expect("whatever decodes fits every field, so it encodes");
    assert_eq!(
        exact, payload,
        "re-encoding a decoded packet changed its bytes"
    );

    let canonical = decoded
        .advertisement
        .encode(ip.source, ip.destination, options.v3_ipv4_checksum)
        .expect("whatever decodes fits every field, so it encodes");
    let again = Advertisement::decode(&canonical, &ip, &options)
        .expect("a canonical encoding passes the checks its original passed");
    assert_eq!(again, decoded.advertisement);
});
