//! Gratuitous ARP and unsolicited neighbour advertisements, which move clients to the new
//! master's MAC (keepalived-baseline.md, pitfall 11).

use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperation, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherType, EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{self, Icmpv6Code, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;
use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::socket::register;
use super::vmac::is_virtual_router_mac;
use super::{Interface, NetError};

const ETHERNET_HEADER_LEN: usize = 14;
const ARP_LEN: usize = 28;
/// Shortest Ethernet frame without the FCS; the ARP frame is padded to it (IEEE 802.3).
const MIN_ETHERNET_FRAME_LEN: usize = 60;
const IPV6_HEADER_LEN: usize = 40;
/// Neighbour advertisement (24 bytes) plus one Target Link-Layer Address option (8 bytes).
const NEIGHBOR_ADVERT_LEN: usize = 24 + 8;
/// RFC 4861 §7.2.6: unsolicited advertisements go to the all-nodes group.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ff02::1 mapped to Ethernet (RFC 2464 §7).
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// RFC 4861 §7.1.2: a receiver drops neighbour discovery with any other hop limit.
const NDP_HOP_LIMIT: u8 = 255;

/// Sends announcements for VIPs out of one interface through an AF_PACKET socket.
#[derive(Debug)]
pub struct Announcer {
    socket: AsyncFd<Socket>,
    interface: Interface,
}

impl Announcer {
    /// Opens a send-only AF_PACKET socket for `interface` (protocol 0, so the kernel queues
    /// no received frames on it). Must be called within a tokio runtime with IO enabled.
    pub fn open(interface: &Interface) -> Result<Self, NetError> {
        let open_error = |source| NetError::AnnounceSocket {
            interface: interface.name.clone(),
            source,
        };
        let socket = Socket::new(Domain::PACKET, Type::RAW, None).map_err(open_error)?;
        socket.set_nonblocking(true).map_err(open_error)?;
        let socket = register(socket, Interest::WRITABLE).map_err(open_error)?;
        Ok(Self {
            socket,
            interface: interface.clone(),
        })
    }

    /// Sends one gratuitous ARP for `vip`: an ARP request with sender and target protocol
    /// address both the VIP, from the interface's MAC, to broadcast. A request rather than
    /// a reply, as keepalived sends, because Linux with `arp_accept=0` still updates an
    /// existing neighbour entry from it (RFC 5227 §3 discusses both forms).
    ///
    /// From a virtual MAC interface it is a reply instead. There the MAC never changes, so
    /// the announcement only has to move switches' forwarding entries to this port, which any
    /// frame from the MAC does; and a request would be answered, from the same MAC, by a
    /// previous master that still holds the address on its own virtual MAC interface during
    /// a make-before-break handover (its `accept_local=1`, as keepalived sets it, lets it
    /// answer a request from a local address), pulling the entries back to it. A reply draws
    /// no answer.
    pub async fn gratuitous_arp(&self, vip: Ipv4Addr) -> Result<(), NetError> {
        let frame = if is_virtual_router_mac(&self.interface.mac) {
            gratuitous_arp_reply_frame(self.interface.mac, vip)
        } else {
            gratuitous_arp_frame(self.interface.mac, vip)
        };
        self.send_frame(&frame, EtherTypes::Arp, BROADCAST_MAC, vip.into())
            .await
    }

    /// Sends one unsolicited neighbour advertisement for `vip` (RFC 4861 §7.2.6) to ff02::1
    /// from the interface's link-local address, with Override set so receivers replace the
    /// old master's MAC, Solicited clear, and Router as the caller says.
    pub async fn unsolicited_na(&self, vip: Ipv6Addr, router: bool) -> Result<(), NetError> {
        let source = self
            .interface
            .link_local
            .ok_or_else(|| NetError::MissingAddress {
                interface: self.interface.name.clone(),
                what: "IPv6 link-local address to send neighbour advertisements from",
            })?;
        let frame = unsolicited_na_frame(self.interface.mac, source, vip, router);
        self.send_frame(&frame, EtherTypes::Ipv6, ALL_NODES_MAC, vip.into())
            .await
    }

    async fn send_frame(
        &self,
        frame: &[u8],
        ethertype: EtherType,
        destination_mac: [u8; 6],
        vip: IpAddr,
    ) -> Result<(), NetError> {
        let destination = link_layer_address(self.interface.index, ethertype, destination_mac);
        self.socket
            .async_io(Interest::WRITABLE, |socket| {
                socket.send_to(frame, &destination).map(drop)
            })
            .await
            .map_err(|source| NetError::Announce {
                interface: self.interface.name.clone(),
                address: vip,
                source,
            })
    }
}

/// The `sockaddr_ll` that sends a frame out of interface `index`.
fn link_layer_address(index: u32, ethertype: EtherType, destination_mac: [u8; 6]) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `sockaddr_ll` (20 bytes) fits in and has no stricter alignment than
    // `sockaddr_storage`, and every bit pattern, including the zeroed one, is valid for it.
    let address = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    address.sll_family = libc::AF_PACKET as libc::sa_family_t;
    address.sll_protocol = ethertype.0.to_be();
    // Interface indexes are positive `int`s in the kernel, so this never wraps.
    address.sll_ifindex = index as libc::c_int;
    address.sll_halen = 6;
    address.sll_addr[..6].copy_from_slice(&destination_mac);
    let length = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds an initialised `sockaddr_ll` of family AF_PACKET and
    // `length` is its exact size.
    unsafe { SockAddr::new(storage, length) }
}

fn mac_address(octets: [u8; 6]) -> MacAddr {
    MacAddr::new(
        octets[0], octets[1], octets[2], octets[3], octets[4], octets[5],
    )
}

/// Builds the Ethernet frame of a gratuitous ARP request for `vip` from `mac`.
pub fn gratuitous_arp_frame(mac: [u8; 6], vip: Ipv4Addr) -> Vec<u8> {
    arp_frame(mac, vip, ArpOperations::Request)
}

/// Builds the Ethernet frame of a gratuitous ARP reply for `vip` from `mac`, to broadcast
/// (RFC 5227 §3 allows either form).
pub fn gratuitous_arp_reply_frame(mac: [u8; 6], vip: Ipv4Addr) -> Vec<u8> {
    arp_frame(mac, vip, ArpOperations::Reply)
}

fn arp_frame(mac: [u8; 6], vip: Ipv4Addr, operation: ArpOperation) -> Vec<u8> {
    let mut frame = vec![0u8; MIN_ETHERNET_FRAME_LEN];
    // The buffer is MIN_ETHERNET_FRAME_LEN (60) bytes, more than the 14 an Ethernet header
    // and the 28 an ARP packet need, so neither constructor can fail.
    let mut ethernet = MutableEthernetPacket::new(&mut frame).expect("60 >= 14 bytes");
    ethernet.set_destination(mac_address(BROADCAST_MAC));
    ethernet.set_source(mac_address(mac));
    ethernet.set_ethertype(EtherTypes::Arp);
    let mut arp =
        MutableArpPacket::new(&mut frame[ETHERNET_HEADER_LEN..ETHERNET_HEADER_LEN + ARP_LEN])
            .expect("28 bytes is an ARP packet");
    arp.set_hardware_type(ArpHardwareTypes::Ethernet);
    arp.set_protocol_type(EtherTypes::Ipv4);
    arp.set_hw_addr_len(6);
    arp.set_proto_addr_len(4);
    arp.set_operation(operation);
    arp.set_sender_hw_addr(mac_address(mac));
    arp.set_sender_proto_addr(vip);
    // RFC 5227 §2.1.1: the target hardware address of a request is ignored; send zero. A
    // gratuitous reply names the sender again.
    arp.set_target_hw_addr(if operation == ArpOperations::Reply {
        mac_address(mac)
    } else {
        MacAddr::zero()
    });
    arp.set_target_proto_addr(vip);
    frame
}

/// Builds the Ethernet frame of an unsolicited neighbour advertisement for `vip`.
pub fn unsolicited_na_frame(
    mac: [u8; 6],
    source: Ipv6Addr,
    vip: Ipv6Addr,
    router: bool,
) -> Vec<u8> {
    let icmp_start = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
    let mut frame = vec![0u8; icmp_start + NEIGHBOR_ADVERT_LEN];
    // Every slice below is cut to exactly the size its packet type needs, so the
    // constructors (which only check for a minimum length) cannot fail.
    let mut ethernet = MutableEthernetPacket::new(&mut frame).expect("86 >= 14 bytes");
    ethernet.set_destination(mac_address(ALL_NODES_MAC));
    ethernet.set_source(mac_address(mac));
    ethernet.set_ethertype(EtherTypes::Ipv6);
    let mut ipv6 = MutableIpv6Packet::new(&mut frame[ETHERNET_HEADER_LEN..icmp_start])
        .expect("40 bytes is an IPv6 header");
    ipv6.set_version(6);
    ipv6.set_payload_length(NEIGHBOR_ADVERT_LEN as u16);
    ipv6.set_next_header(IpNextHeaderProtocols::Icmpv6);
    ipv6.set_hop_limit(NDP_HOP_LIMIT);
    ipv6.set_source(source);
    ipv6.set_destination(ALL_NODES);
    let mut advert = MutableNeighborAdvertPacket::new(&mut frame[icmp_start..])
        .expect("32 bytes is an advertisement with one option");
    advert.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
    advert.set_icmpv6_code(Icmpv6Code(0));
    let mut flags = NeighborAdvertFlags::Override;
    if router {
        flags |= NeighborAdvertFlags::Router;
    }
    advert.set_flags(flags);
    advert.set_target_addr(vip);
    // RFC 4861 §4.4: the Target Link-Layer Address option (type 2, length 1 = 8 bytes).
    advert.set_options(&[NdpOption {
        option_type: NdpOptionTypes::TargetLLAddr,
        length: 1,
        data: mac.to_vec(),
    }]);
    let checksum = icmpv6::checksum(
        &Icmpv6Packet::new(&frame[icmp_start..]).expect("32 >= 4 bytes"),
        &source,
        &ALL_NODES,
    );
    MutableNeighborAdvertPacket::new(&mut frame[icmp_start..])
        .expect("32 bytes is an advertisement with one option")
        .set_checksum(checksum);
    frame
}
