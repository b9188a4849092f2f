//! Loading fixtures, and an independent checksum to build bad packets that fail only the check
//! under test.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;
use vrrp_sidecar::vrrp::IpHeader;

/// One VRRP payload with the IP header fields it was sent with.
#[derive(Debug, Deserialize)]
pub struct Fixture {
    /// What the packet is and where it came from.
    pub description: String,
    pub source: IpAddr,
    pub destination: IpAddr,
    pub hop_limit: u8,
    /// The VRRP payload in hex.
    payload: String,
}

impl Fixture {
    /// Loads `tests/fixtures/keepalived/<name>.toml`.
    pub fn load(name: &str) -> Fixture {
        let path: PathBuf = [
            env!("CARGO_MANIFEST_DIR"),
            "tests/fixtures/keepalived",
            &format!("{name}.toml"),
        ]
        .iter()
        .collect();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
        toml::from_str(&text).unwrap_or_else(|error| panic!("parsing {}: {error}", path.display()))
    }

    /// The payload bytes.
    pub fn payload(&self) -> Vec<u8> {
        hex(&self.payload)
    }

    /// The IP header the payload arrived in.
    pub fn ip(&self) -> IpHeader {
        IpHeader {
            source: self.source,
            destination: self.destination,
            hop_limit: self.hop_limit,
        }
    }
}

/// Bytes from a hex string; fixtures are written by our own script, so bad hex is a test bug.
pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("fixture hex"))
        .collect()
}

/// Rewrites the checksum of `payload` after a test edited it, so that only the check under test
/// fails. Written apart from the codec's own checksum so each checks the other: the pseudo-header
/// is summed when `pseudo_header` is true, for the family of `ip`.
pub fn refresh_checksum(payload: &mut [u8], ip: &IpHeader, pseudo_header: bool) {
    payload[6] = 0;
    payload[7] = 0;
    let mut summed = Vec::new();
    if pseudo_header {
        let length = payload.len() as u32;
        match (ip.source, ip.destination) {
            (IpAddr::V4(source), IpAddr::V4(destination)) => {
                summed.extend(source.octets());
                summed.extend(destination.octets());
                summed.extend([0, 112]);
                summed.extend((length as u16).to_be_bytes());
            }
            (IpAddr::V6(source), IpAddr::V6(destination)) => {
                summed.extend(source.octets());
                summed.extend(destination.octets());
                summed.extend(length.to_be_bytes());
                summed.extend([0, 0, 0, 112]);
            }
            _ => panic!("mixed families in a test header"),
        }
    }
    summed.extend_from_slice(payload);
    if summed.len() % 2 == 1 {
        summed.push(0);
    }
    let mut sum: u64 = summed
        .chunks(2)
        .map(|word| u64::from(u16::from_be_bytes([word[0], word[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let checksum = !(sum as u16);
    payload[6..8].copy_from_slice(&checksum.to_be_bytes());
}
