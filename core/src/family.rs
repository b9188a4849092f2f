//! The address family of a virtual router and the wire constants that come with it: the
//! multicast groups and the hop limit (RFC 9568 §5.1; the protocol number is
//! [`crate::packet::IP_PROTOCOL`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IPv4 multicast group advertisements go to (RFC 9568 §5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group advertisements go to (RFC 9568 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit sent, and the only one a receiver accepts (RFC 9568 §5.1.1.3, §7.1).
pub const VRRP_HOP_LIMIT: u8 = 255;

/// The IP family of a virtual router, its addresses and its socket: IPv4 (VRRPv2 or v3) or
/// IPv6 (VRRPv3 only, RFC 9568).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of `address`.
    pub fn of(address: IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// The multicast group this family's advertisements go to.
    pub fn vrrp_group(self) -> IpAddr {
        match self {
            Family::Ipv4 => IpAddr::V4(VRRP_GROUP_V4),
            Family::Ipv6 => IpAddr::V6(VRRP_GROUP_V6),
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}
