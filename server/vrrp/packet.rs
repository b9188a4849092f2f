//! The VRRP advertisement: the one message both versions send (RFC 9568 §5, RFC 3768 §5).

use std::net::IpAddr;

use super::interval::AdvertInterval;

/// The protocol version carried in the high nibble of the first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2, RFC 3768: IPv4 only, whole-second intervals, optional simple-password auth.
    V2,
    /// VRRPv3, RFC 9568 (obsoletes RFC 5798): IPv4 or IPv6, centisecond intervals, no auth.
    V3,
}

/// Authentication of a VRRPv2 advertisement (RFC 3768 §5.3.6; RFC 2338 §5.3.6 for the types).
///
/// RFC 3768 removed authentication but keeps the field; keepalived still sends type 1 ("PASS"),
/// so interoperating with the seed configuration needs it. VRRPv3 has no authentication.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0: no authentication; the 8 auth bytes are zero.
    None,
    /// Type 1: the password in clear text, NUL-padded to 8 bytes.
    SimplePassword([u8; 8]),
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
