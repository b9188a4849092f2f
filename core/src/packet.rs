//! The VRRP advertisement: the one message both versions send (RFC 9568 §5, RFC 3768 §5).
//!
//! The codec is sans-IO: [`Advertisement::decode`] takes the bytes after the IP header plus the
//! few IP header fields the receive checks need ([`IpHeader`]), and [`Advertisement::encode`]
//! returns the bytes to hand to a raw socket. Checksums live in [`checksum`], the receive checks
//! in [`decode`], the send-side rules in [`encode`], and every reason to refuse a packet in
//! [`error`].

pub mod ah;
pub mod checksum;
pub mod decode;
pub mod encode;
pub mod error;

use std::net::IpAddr;

use super::interval::AdvertInterval;

pub use checksum::V3Ipv4Checksum;
pub use decode::{DecodeOptions, DecodedAdvertisement, IgnoredFields, IpHeader};
pub use error::{DecodeError, EncodeError};

/// The IP protocol number (IPv4) and next header (IPv6) of VRRP (RFC 9568 §5.1.1.4 and
/// §5.1.2.4, RFC 3768 §5.2.4).
pub const IP_PROTOCOL: u8 = 112;

/// The TTL / hop limit every advertisement is sent with, and the only one a receiver accepts
/// (RFC 9568 §5.1.1.3, §5.1.2.3 and §7.1, RFC 3768 §5.2.3 and §7.1): a packet that crossed a
/// router cannot come from this link.
pub const HOP_LIMIT: u8 = 255;

/// The TTLs / hop limits a receiver takes, `lowest..=highest`: only [`HOP_LIMIT`] by the RFCs;
/// any from unicast peers, which may be routed hops away (keepalived's `unicast_ttl`), or the
/// range keepalived's `min_ttl` / `max_ttl` set for one peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HopLimits {
    /// The lowest taken.
    pub lowest: u8,
    /// The highest taken; below `lowest`, nothing is taken (keepalived keeps such a peer and
    /// discards all its packets).
    pub highest: u8,
}

impl HopLimits {
    /// The RFCs' rule: 255 only.
    pub const LINK_ONLY: HopLimits = HopLimits {
        lowest: HOP_LIMIT,
        highest: HOP_LIMIT,
    };
    /// Any hop limit.
    pub const ANY: HopLimits = HopLimits {
        lowest: 0,
        highest: u8::MAX,
    };

    /// Whether a packet received with `hop_limit` is taken.
    pub fn contains(self, hop_limit: u8) -> bool {
        (self.lowest..=self.highest).contains(&hop_limit)
    }
}

impl Default for HopLimits {
    fn default() -> Self {
        HopLimits::LINK_ONLY
    }
}

impl std::fmt::Display for HopLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lowest == self.highest {
            write!(f, "{}", self.lowest)
        } else {
            write!(f, "{}..={}", self.lowest, self.highest)
        }
    }
}

/// Version/Type, VRID, Priority, Count, then Auth Type + Adver Int (v2) or Rsvd + Max Adver
/// Int (v3), then the checksum: the part every advertisement has (RFC 9568 §5.1, RFC 3768 §5.1).
pub(crate) const FIXED_HEADER_LEN: usize = 8;

/// VRRPv2 always carries 8 bytes of Authentication Data after the addresses, whatever the auth
/// type (RFC 3768 §5.1 and §5.3.10).
pub(crate) const V2_AUTH_DATA_LEN: usize = 8;

/// The only packet type either version defines: ADVERTISEMENT (RFC 9568 §5.2.2, RFC 3768 §5.3.2).
pub(crate) const ADVERTISEMENT_TYPE: u8 = 1;

/// Byte offset of the checksum in the fixed header.
pub(crate) const CHECKSUM_OFFSET: usize = 6;

/// The protocol version carried in the high nibble of the first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2, RFC 3768: IPv4 only, whole-second intervals, optional simple-password auth.
    V2,
    /// VRRPv3, RFC 9568 (obsoletes RFC 5798): IPv4 or IPv6, centisecond intervals, no auth.
    V3,
}

impl Version {
    /// The number in the Version field.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Authentication of a VRRPv2 advertisement (RFC 3768 §5.3.6; RFC 2338 §5.3.6 for the types).
///
/// RFC 3768 removed authentication but keeps the field; keepalived still sends type 1 ("PASS")
/// and type 2 ("AH"), so interoperating with configurations that use them needs both. VRRPv3
/// has no authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0: no authentication; the 8 auth bytes are zero.
    #[default]
    None,
    /// Type 1: the password in clear text, NUL-padded to 8 bytes.
    SimplePassword([u8; 8]),
    /// Type 2: an IPsec Authentication Header before the advert (IPv4 only), its ICV keyed
    /// with the password NUL-padded to 8 bytes (see [`ah`]). The advert's own 8 auth bytes
    /// are zero.
    AuthenticationHeader(ah::Key),
}

impl Auth {
    /// Auth Type 0 (RFC 2338 §5.3.6).
    pub const TYPE_NONE: u8 = 0;
    /// Auth Type 1, simple text password (RFC 2338 §5.3.6.1).
    pub const TYPE_SIMPLE_PASSWORD: u8 = 1;
    /// Auth Type 2, IP Authentication Header (RFC 2338 §5.3.6.2).
    pub const TYPE_AUTHENTICATION_HEADER: u8 = 2;

    /// A simple password as keepalived's `auth_pass` makes it: the first 8 bytes, NUL-padded.
    pub fn simple_password(password: &[u8]) -> Auth {
        Auth::SimplePassword(padded_password(password))
    }

    /// The key of an Authentication Header as keepalived's `auth_pass` makes it for
    /// `auth_type AH`: the first 8 bytes, NUL-padded.
    pub fn authentication_header(password: &[u8]) -> Auth {
        Auth::AuthenticationHeader(padded_password(password))
    }

    /// The number in the Auth Type field.
    pub const fn type_number(&self) -> u8 {
        match self {
            Auth::None => Self::TYPE_NONE,
            Auth::SimplePassword(_) => Self::TYPE_SIMPLE_PASSWORD,
            Auth::AuthenticationHeader(_) => Self::TYPE_AUTHENTICATION_HEADER,
        }
    }
}

/// The first 8 bytes of `password`, NUL-padded: keepalived's `auth_data`.
fn padded_password(password: &[u8]) -> [u8; V2_AUTH_DATA_LEN] {
    let mut data = [0; V2_AUTH_DATA_LEN];
    let used = password.len().min(V2_AUTH_DATA_LEN);
    data[..used].copy_from_slice(&password[..used]);
    data
}

/// A decoded advertisement, independent of the IP header that carried it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Advertisement {
    /// Which protocol version the packet speaks.
    pub version: Version,
    /// The Virtual Router Identifier, 1..=255.
    pub vrid: u8,
    /// The sender's priority: 0 means "the master is stopping", 255 "I own the addresses".
    pub priority: u8,
    /// `Max Adver Int` (v3) or `Adver Int` (v2), in one unit.
    pub advert_interval: AdvertInterval,
    /// The virtual addresses, all of one family.
    pub addresses: Vec<IpAddr>,
    /// VRRPv2 authentication; always [`Auth::None`] for VRRPv3.
    pub auth: Auth,
}
