//! Interface lookup (index, MAC, link-local and primary IPv4 address) and the stream of link
//! and address events the router reacts to.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

use futures_channel::mpsc::UnboundedReceiver;
use futures_util::StreamExt;
use rtnetlink::MulticastGroup;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{AddressFlags, AddressHeaderFlags};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::sys::{AsyncSocket, SocketAddr};

use super::addresses::{address_flags, message_address, netlink_errno};
use super::vmac::is_virtual_router_mac;
use super::{NetError, Netlink, RemovedRoute, RemovedRule};

/// What the daemon needs to know about one interface, read once from the kernel.
///
/// Re-read it after a [`LinkEvent`] that may have changed it: the IPv6 link-local address
/// is deleted and re-created when the link goes down and up unless `keep_addr_on_down` is
/// set (keepalived-baseline.md, pitfall 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The kernel's name for it, such as `eth0`.
    pub name: String,
    /// The interface index, which sockets and netlink messages use.
    pub index: u32,
    /// The hardware address, the sender of gratuitous ARPs and the NA's target link-layer
    /// address (keepalived uses no virtual MAC by default, nor do we).
    pub mac: [u8; 6],
    /// The first non-tentative fe80::/10 address: the source of IPv6 advertisements
    /// (RFC 9568 §5.1.2.1) and of unsolicited NAs.
    pub link_local: Option<Ipv6Addr>,
    /// The first non-secondary IPv4 address: the source of IPv4 advertisements
    /// (RFC 9568 §5.1.1.1).
    pub primary_ipv4: Option<Ipv4Addr>,
    /// Whether the link was operationally up when it was read. Link events only report
    /// changes, so a link that was already down when the daemon started is known only from
    /// here.
    pub running: bool,
}

impl Interface {
    /// Reads the interface called `name` from the calling namespace's kernel.
    pub async fn lookup(netlink: &Netlink, name: &str) -> Result<Self, NetError> {
        let query_error = |what, source| NetError::Query {
            interface: name.to_owned(),
            what,
            source,
        };
        let mut links = netlink
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        let link = match links.next().await {
            Some(Ok(link)) => link,
            Some(Err(error)) if netlink_errno(&error) == Some(libc::ENODEV) => {
                return Err(NetError::NoSuchInterface {
                    interface: name.to_owned(),
                });
            }
            Some(Err(source)) => return Err(query_error("link", source)),
            None => {
                return Err(NetError::NoSuchInterface {
                    interface: name.to_owned(),
                });
            }
        };
        let mac = link
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
                _ => None,
            })
            .ok_or_else(|| NetError::MissingAddress {
                interface: name.to_owned(),
                what: "Ethernet hardware address",
            })?;
        let index = link.header.index;
        let running = is_running(&link);
        let (link_local, mut primary_ipv4) = interface_addresses(netlink, index, name).await?;
        // A virtual MAC interface holds only virtual addresses, which must never be the
        // source of adverts (RFC 9568 §5.1.1.1): its adverts come from its parent's primary
        // address, as keepalived's do (keepalived/vrrp/vrrp_vmac.c).
        let parent = link
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                LinkAttribute::Link(parent) => Some(*parent),
                _ => None,
            });
        if let Some(parent) = parent.filter(|_| is_virtual_router_mac(&mac)) {
            primary_ipv4 = interface_addresses(netlink, parent, name).await?.1;
        }
        Ok(Self {
            name: name.to_owned(),
            index,
            mac,
            link_local,
            primary_ipv4,
            running,
        })
    }
}

/// The first non-tentative IPv6 link-local address and the first non-secondary IPv4
/// address of the interface with `index`; `name` is for the error.
async fn interface_addresses(
    netlink: &Netlink,
    index: u32,
    name: &str,
) -> Result<(Option<Ipv6Addr>, Option<Ipv4Addr>), NetError> {
    let mut link_local = None;
    let mut primary_ipv4 = None;
    let mut addresses = netlink
        .handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    while let Some(message) = addresses.next().await {
        let message = message.map_err(|source| NetError::Query {
            interface: name.to_owned(),
            what: "addresses",
            source,
        })?;
        let flags = address_flags(&message);
        match message_address(&message) {
            Some(IpAddr::V4(address))
                if primary_ipv4.is_none()
                    && !message.header.flags.contains(AddressHeaderFlags::Secondary) =>
            {
                primary_ipv4 = Some(address);
            }
            Some(IpAddr::V6(address))
                if link_local.is_none()
                    && address.is_unicast_link_local()
                    && !flags.contains(AddressFlags::Tentative) =>
            {
                link_local = Some(address);
            }
            _ => {}
        }
    }
    Ok((link_local, primary_ipv4))
}

/// IFF_RUNNING is the kernel's operational "up" (RFC 2863): admin up alone is not enough when
/// the carrier (for a veth, the peer) is down.
fn is_running(link: &LinkMessage) -> bool {
    link.header
        .flags
        .contains(LinkFlags::Up | LinkFlags::Running)
}

/// A change the router must react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    /// The interface with this index is administratively up and has carrier.
    LinkUp(u32),
    /// The interface went down, lost carrier or was deleted: a reason to enter Fault.
    LinkDown(u32),
    /// An address was deleted from the interface with this index, by someone else or by
    /// the kernel (lifetime expiry, IPv6 link down): a VIP may need putting back.
    AddressRemoved(u32, IpAddr),
    /// A route of keepalived's protocol, which every tracked virtual route carries, was
    /// deleted: it may need putting back.
    RouteRemoved(RemovedRoute),
    /// A rule of keepalived's protocol (or of no protocol, from a kernel older than 4.17)
    /// was deleted: it may need putting back.
    RuleRemoved(RemovedRule),
    /// The kernel dropped events because the socket's buffer was full: any link may have
    /// changed unseen, so every interface must be read again.
    Overrun,
}

/// The receive buffer asked for the event socket: thousands of messages.
const EVENT_BUFFER_BYTES: usize = 1 << 20;

/// SO_RCVBUFFORCE: a receive buffer of `bytes` even above `net.core.rmem_max`.
fn force_receive_buffer(fd: std::os::fd::RawFd, bytes: usize) -> std::io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fd` is an open socket for the duration of the call and `value` outlives it;
    // the option takes an int, whose size is passed.
    let result = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Link and address events from the rtnetlink multicast groups of the calling namespace.
pub struct LinkEvents {
    messages: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    /// The last operational state reported per interface index, so that a netlink message
    /// about an unrelated change (MTU, statistics, a new address) does not repeat it.
    operational: HashMap<u32, bool>,
    /// The route protocols (`RTPROT_*`) whose deleted routes and rules are reported.
    tracked_protocols: Vec<u8>,
}

impl LinkEvents {
    /// Subscribes to the Link, Ipv4Ifaddr and Ipv6Ifaddr groups, and to the route and rule
    /// groups for deletions of routes and rules of `tracked_protocols`; the driver task runs
    /// on the current tokio runtime until this value is dropped. Route messages of other
    /// protocols are dropped here on their header's protocol byte, as keepalived's
    /// `netlink_route_filter()` drops them (`keepalived/core/keepalived_netlink.c`).
    pub fn subscribe(tracked_protocols: &[u8]) -> Result<Self, NetError> {
        Self::subscribe_to(
            &[
                MulticastGroup::Link,
                MulticastGroup::Ipv4Ifaddr,
                MulticastGroup::Ipv6Ifaddr,
                MulticastGroup::Ipv4Route,
                MulticastGroup::Ipv6Route,
                MulticastGroup::Ipv4Rule,
                MulticastGroup::Ipv6Rule,
            ],
            tracked_protocols,
        )
    }

    /// Subscribes to the Link group alone: links going up and down, for a reader (an
    /// interface check) that must not wake for every address a VIP renewal reports.
    pub fn subscribe_links() -> Result<Self, NetError> {
        Self::subscribe_to(&[MulticastGroup::Link], &[])
    }

    fn subscribe_to(groups: &[MulticastGroup], tracked_protocols: &[u8]) -> Result<Self, NetError> {
        const PURPOSE: &str = "link and address events";
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| NetError::NoRuntime { purpose: PURPOSE })?;
        let (mut connection, _handle, messages) = rtnetlink::new_multicast_connection(groups)
            .map_err(|source| NetError::Netlink {
                purpose: PURPOSE,
                source,
            })?;
        // Room for bursts: a renewal tick makes the kernel report up to 64 addresses at once
        // per datagram. Forced past rmem_max, which CAP_NET_ADMIN allows; without it the
        // kernel's default stays and an overrun is still handled (see `LinkEvent::Overrun`).
        let socket = connection.socket_mut().socket_mut();
        if force_receive_buffer(socket.as_raw_fd(), EVENT_BUFFER_BYTES).is_err() {
            let _ = socket.set_rx_buf_sz(EVENT_BUFFER_BYTES);
        }
        runtime.spawn(connection);
        Ok(Self {
            messages,
            operational: HashMap::new(),
            tracked_protocols: tracked_protocols.to_vec(),
        })
    }

    /// Waits for the next event. The first message about an interface reports its state;
    /// after that only changes are reported. `None` means the netlink socket closed.
    pub async fn next(&mut self) -> Option<LinkEvent> {
        while let Some((message, _)) = self.messages.next().await {
            let message = match message.payload {
                NetlinkPayload::InnerMessage(message) => message,
                NetlinkPayload::Overrun(_) => {
                    // What was reported before is no longer known to be current.
                    self.operational.clear();
                    return Some(LinkEvent::Overrun);
                }
                _ => continue,
            };
            let event = match message {
                RouteNetlinkMessage::NewLink(link) => self.operational_change(&link, true),
                RouteNetlinkMessage::DelLink(link) => self.operational_change(&link, false),
                RouteNetlinkMessage::DelAddress(address) => message_address(&address)
                    .map(|removed| LinkEvent::AddressRemoved(address.header.index, removed)),
                RouteNetlinkMessage::DelRoute(route) => {
                    RemovedRoute::from_message(&route, &self.tracked_protocols)
                        .map(LinkEvent::RouteRemoved)
                }
                RouteNetlinkMessage::DelRule(rule) => {
                    RemovedRule::from_message(&rule, &self.tracked_protocols)
                        .map(LinkEvent::RuleRemoved)
                }
                _ => None,
            };
            if event.is_some() {
                return event;
            }
        }
        None
    }

    fn operational_change(&mut self, link: &LinkMessage, exists: bool) -> Option<LinkEvent> {
        let index = link.header.index;
        let up = exists && is_running(link);
        if self.operational.insert(index, up) == Some(up) {
            return None;
        }
        Some(if up {
            LinkEvent::LinkUp(index)
        } else {
            LinkEvent::LinkDown(index)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_link(index: u32, running: bool) -> NetlinkMessage<RouteNetlinkMessage> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        if running {
            link.header.flags = LinkFlags::Up | LinkFlags::Running;
        }
        NetlinkMessage::from(RouteNetlinkMessage::NewLink(link))
    }

    #[tokio::test]
    async fn an_overrun_is_reported_and_the_next_link_message_reports_its_state_again() {
        let (sender, messages) = futures_channel::mpsc::unbounded();
        let mut events = LinkEvents {
            messages,
            operational: HashMap::new(),
            tracked_protocols: Vec::new(),
        };
        let overrun = NetlinkMessage::new(
            rtnetlink::packet_core::NetlinkHeader::default(),
            NetlinkPayload::Overrun(Vec::new()),
        );
        for message in [
            new_link(2, true),
            new_link(2, true),
            overrun,
            new_link(2, true),
        ] {
            sender
                .unbounded_send((message, SocketAddr::new(0, 0)))
                .expect("the receiver is alive");
        }
        drop(sender);
        assert_eq!(events.next().await, Some(LinkEvent::LinkUp(2)));
        // The repeated message about an unchanged link is not an event...
        assert_eq!(events.next().await, Some(LinkEvent::Overrun));
        // ...but after an overrun the link's state is reported again.
        assert_eq!(events.next().await, Some(LinkEvent::LinkUp(2)));
        assert_eq!(events.next().await, None);
    }
}
