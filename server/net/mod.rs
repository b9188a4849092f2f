//! The only part of the daemon that touches the kernel.
//!
//! - [`socket`]: raw IP protocol 112 sockets that send and receive advertisements.
//! - [`addresses`]: virtual addresses added and removed over rtnetlink.
//! - [`announce`]: gratuitous ARP and unsolicited neighbour advertisements over AF_PACKET.
//! - [`link`]: interface lookup and the link/address event stream.
//! - [`netlink`]: the rtnetlink connection the other modules share.
//!
//! Everything here carries VRRP payloads as opaque bytes: encoding, checksums and the
//! protocol checks belong to [`crate::vrrp`].

pub mod addresses;
pub mod announce;
pub mod error;
pub mod link;
pub mod netlink;
pub mod socket;

use std::fmt;

pub use addresses::{Addresses, InstalledAddress, RenewalError, Renewals, Vip};
pub use announce::Announcer;
pub use error::NetError;
pub use link::{Interface, LinkEvent, LinkEvents};
pub use netlink::Netlink;
pub use socket::{ReceivedAdvert, VrrpSocket};

/// The IP family a socket or an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4: VRRP v2 or v3 over IPv4.
    Ipv4,
    /// IPv6: VRRP v3 only (RFC 9568).
    Ipv6,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}
