//! The only part of the daemon that touches the kernel.
//!
//! - [`socket`]: raw IP protocol 112 sockets that send and receive advertisements (51 for
//!   adverts under an IPsec Authentication Header).
//! - [`addresses`]: virtual addresses added and removed over rtnetlink.
//! - [`announce`]: gratuitous ARP and unsolicited neighbour advertisements over AF_PACKET.
//! - [`firewall`]: the nftables rules that drop traffic to the virtual addresses of a master
//!   in accept mode off.
//! - [`link`]: interface lookup and the link/address event stream.
//! - [`netlink`]: the rtnetlink connection the other modules share.
//! - [`proc_events`]: the kernel's process events connector, for process checks.
//! - [`routes`]: virtual routes and rules added and removed over rtnetlink.
//! - [`vmac`]: virtual MAC interfaces (macvlans), made and removed over rtnetlink.
//!
//! Everything here carries VRRP payloads as opaque bytes: encoding, checksums and the
//! protocol checks belong to [`crate::vrrp`].

pub mod addresses;
pub mod announce;
pub mod error;
pub mod firewall;
pub mod link;
pub mod netlink;
pub mod proc_events;
pub mod routes;
pub mod socket;
pub mod vmac;

pub use addresses::{Addresses, InstalledAddress, RenewalError, Renewals, Vip};
pub use announce::Announcer;
pub use error::NetError;
pub use link::{Interface, LinkEvent, LinkEvents};
pub use netlink::Netlink;
pub use routes::{RemovedRoute, RemovedRule, RouteEntry, Routing, RoutingError, RuleEntry};
pub use socket::{Carrier, ReceivedAdvert, VrrpSocket};
pub use vmac::{VmacError, VmacSpec, Vmacs};

/// The IP family a socket or an address belongs to: the protocol core's.
pub use crate::vrrp::Family;
