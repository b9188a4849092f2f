//! Raw IP protocol 112 sockets: one per (interface, family), sending and receiving VRRP
//! advertisements as opaque bytes. Instances with an IPsec Authentication Header (VRRPv2 auth
//! type 2, IPv4 only) use a protocol 51 socket on their interface beside it ([`Carrier`]).
//!
//! Checksums are left to the codec: IPv6 raw sockets for protocols other than ICMPv6 have
//! kernel checksumming off by default (IPV6_CHECKSUM = -1) and this module does not turn it
//! on, so the kernel neither fills in nor verifies the VRRP checksum.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6, SockaddrStorage,
    recvmsg, sendmsg, setsockopt, sockopt,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::{Family, Interface, NetError};

use crate::vrrp::packet::{IP_PROTOCOL, ah};
pub use crate::vrrp::{VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_HOP_LIMIT};
/// DSCP CS6 (network control) in the TOS / traffic class byte, as keepalived sends.
const TRAFFIC_CLASS_CS6: u8 = 0xc0;
/// Room for the largest advertisement (8-byte header and 255 IPv6 addresses) after an
/// IPv4 header with options; anything longer is not VRRP and arrives truncated.
const RECEIVE_BUFFER_LEN: usize = 60 + 8 + 255 * 16;

/// The IP protocol adverts travel in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Carrier {
    /// Protocol 112: the advert right after the IP header.
    Vrrp,
    /// Protocol 51: an IPsec Authentication Header, then the advert (IPv4 only). The sender
    /// writes the whole IPv4 header (`IP_HDRINCL`), since the header's identification is
    /// under the ICV and the kernel would pick its own.
    AuthenticationHeader,
}

impl Carrier {
    fn protocol(self) -> u8 {
        match self {
            Carrier::Vrrp => IP_PROTOCOL,
            Carrier::AuthenticationHeader => ah::IP_PROTOCOL,
        }
    }
}

impl std::fmt::Display for Carrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Carrier::Vrrp => "VRRP",
            Carrier::AuthenticationHeader => "AH",
        })
    }
}

/// An advertisement as received, before any protocol check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAdvert {
    /// The sender's address from the IP header.
    pub source: IpAddr,
    /// The destination: the VRRP group, or this host for unicast peers.
    pub destination: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6) as received; RFC 9568 §7.1 requires 255.
    pub hop_limit: u8,
    /// The interface the packet arrived on (always the socket's own).
    pub interface_index: u32,
    /// The IPv4 header as received, options included; empty for IPv6.
    pub ip_header: Vec<u8>,
    /// The bytes after the IP header: the VRRP packet, or for protocol 51 the
    /// Authentication Header and the VRRP packet.
    pub payload: Vec<u8>,
}

/// A raw VRRP socket bound to one interface and one IP family.
#[derive(Debug)]
pub struct VrrpSocket {
    socket: AsyncFd<Socket>,
    interface: Interface,
    family: Family,
}

impl VrrpSocket {
    /// Opens the socket, binds it to `interface`, joins the VRRP group there and sets the
    /// send options (TTL / hop limit 255, DSCP CS6, no loopback).
    ///
    /// IPv6 needs the interface's link-local address, the only source RFC 9568 §5.1.2.1
    /// allows; an Authentication Header needs IPv4 and the interface's primary IPv4 address,
    /// which its SPI and ICV cover. Must be called within a tokio runtime with IO enabled.
    pub fn open(interface: &Interface, family: Family, carrier: Carrier) -> Result<Self, NetError> {
        let step_error = |step| {
            move |source| NetError::Socket {
                interface: interface.name.clone(),
                family,
                step,
                source,
            }
        };
        if family == Family::Ipv6 && interface.link_local.is_none() {
            return Err(NetError::MissingAddress {
                interface: interface.name.clone(),
                what: "IPv6 link-local address to send advertisements from",
            });
        }
        let domain = match family {
            Family::Ipv4 => Domain::IPV4,
            Family::Ipv6 => Domain::IPV6,
        };
        if carrier == Carrier::AuthenticationHeader
            && (family != Family::Ipv4 || interface.primary_ipv4.is_none())
        {
            return Err(NetError::MissingAddress {
                interface: interface.name.clone(),
                what: "IPv4 address to send adverts under an Authentication Header from",
            });
        }
        let socket = Socket::new(
            domain,
            Type::RAW,
            Some(Protocol::from(i32::from(carrier.protocol()))),
        )
        .map_err(step_error("socket"))?;
        socket
            .set_nonblocking(true)
            .map_err(step_error("non-blocking"))?;
        // A raw socket otherwise sees protocol 112 from every interface (pitfall 9).
        socket
            .bind_device(Some(interface.name.as_bytes()))
            .map_err(step_error("SO_BINDTODEVICE"))?;
        match family {
            Family::Ipv4 => configure_ipv4(&socket, interface.index),
            Family::Ipv6 => configure_ipv6(&socket, interface.index),
        }
        .map_err(|(step, source)| step_error(step)(source))?;
        if carrier == Carrier::AuthenticationHeader {
            socket
                .set_header_included_v4(true)
                .map_err(step_error("IP_HDRINCL"))?;
        }
        // Readable only: a registration for writability would wake a thread for every packet
        // sent, when the kernel frees its buffer (sock_wfree → EPOLLOUT), 2,550 times a
        // second for 255 masters at 100 ms. `send` waits for room only when there is none.
        let socket =
            register(socket, Interest::READABLE).map_err(step_error("register with tokio"))?;
        Ok(Self {
            socket,
            interface: interface.clone(),
            family,
        })
    }

    /// Waits for the next advertisement that arrived on this socket's interface.
    ///
    /// Packets from another interface, with a malformed IPv4 header or too long to be
    /// VRRP are dropped here and never returned.
    pub async fn recv(&self) -> Result<ReceivedAdvert, NetError> {
        loop {
            let received = self
                .socket
                .async_io(Interest::READABLE, |socket| {
                    self.receive_one(socket.as_raw_fd())
                })
                .await
                .map_err(|source| NetError::Receive {
                    interface: self.interface.name.clone(),
                    family: self.family,
                    source,
                })?;
            if let Some(advert) = received {
                return Ok(advert);
            }
        }
    }

    /// Sends one advertisement to `destination`: the VRRP group, or a unicast peer, with
    /// `hop_limit` (255, or a unicast peer's `unicast_ttl`). Waits only while the socket's
    /// send buffer is full. For [`Carrier::AuthenticationHeader`] `payload` is the whole
    /// IPv4 packet, which carries its own TTL.
    pub async fn send(
        &self,
        payload: &[u8],
        destination: IpAddr,
        hop_limit: u8,
    ) -> Result<(), NetError> {
        let send_error = |source| NetError::Send {
            interface: self.interface.name.clone(),
            destination,
            source,
        };
        loop {
            match self.send_one(self.socket.as_raw_fd(), payload, destination, hop_limit) {
                Err(full) if full.kind() == io::ErrorKind::WouldBlock => {
                    self.wait_writable().await.map_err(send_error)?;
                }
                sent => return sent.map_err(send_error),
            }
        }
    }

    /// Waits until the send buffer has room again. The socket itself is registered for
    /// reading only (see `open`), so a duplicate of its descriptor is registered for
    /// writability for as long as the wait lasts. epoll reports a descriptor that is
    /// already writable when it is added, so room made since the failed send is not missed.
    async fn wait_writable(&self) -> io::Result<()> {
        let duplicate = self.socket.get_ref().try_clone()?;
        let watched = register(duplicate, Interest::WRITABLE)?;
        watched.writable().await?.retain_ready();
        Ok(())
    }

    /// Sends the advertisement to every unicast peer in turn, with `hop_limit`; a failure
    /// for one peer does not stop the others, and the first failure is returned.
    pub async fn send_to_peers(
        &self,
        payload: &[u8],
        peers: &[IpAddr],
        hop_limit: u8,
    ) -> Result<(), NetError> {
        let mut first_error = None;
        for &peer in peers {
            if let Err(error) = self.send(payload, peer, hop_limit).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn receive_one(&self, fd: RawFd) -> io::Result<Option<ReceivedAdvert>> {
        let mut buffer = vec![0u8; RECEIVE_BUFFER_LEN];
        let mut control = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
        let (length, truncated, sender, packet_info, hop_limit) = {
            let mut iov = [IoSliceMut::new(&mut buffer)];
            let message =
                recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut control), MsgFlags::empty())?;
            let mut packet_info = None;
            let mut hop_limit = None;
            for control_message in message.cmsgs()? {
                match control_message {
                    ControlMessageOwned::Ipv4PacketInfo(info) => {
                        packet_info = u32::try_from(info.ipi_ifindex)
                            .ok()
                            .map(|index| (index, None));
                    }
                    ControlMessageOwned::Ipv6PacketInfo(info) => {
                        packet_info = Some((
                            info.ipi6_ifindex,
                            Some(Ipv6Addr::from(info.ipi6_addr.s6_addr)),
                        ));
                    }
                    ControlMessageOwned::Ipv6HopLimit(limit) => {
                        hop_limit = u8::try_from(limit).ok();
                    }
                    _ => {}
                }
            }
            let sender = message
                .address
                .and_then(|address| address.as_sockaddr_in6().map(SockaddrIn6::ip));
            (
                message.bytes,
                message.flags.contains(MsgFlags::MSG_TRUNC),
                sender,
                packet_info,
                hop_limit,
            )
        };
        // Pitfall 9: filter by the arrival interface as well as by SO_BINDTODEVICE.
        let Some((arrival_index, destination_v6)) = packet_info else {
            return Ok(None);
        };
        if arrival_index != self.interface.index || truncated {
            return Ok(None);
        }
        buffer.truncate(length);
        let advert = match self.family {
            Family::Ipv4 => parse_ipv4(&buffer).map(|header| ReceivedAdvert {
                source: header.source.into(),
                destination: header.destination.into(),
                hop_limit: header.ttl,
                interface_index: arrival_index,
                ip_header: buffer[..header.length].to_vec(),
                payload: buffer[header.length..].to_vec(),
            }),
            Family::Ipv6 => match (sender, destination_v6, hop_limit) {
                (Some(source), Some(destination), Some(hop_limit)) => Some(ReceivedAdvert {
                    source: source.into(),
                    destination: destination.into(),
                    hop_limit,
                    interface_index: arrival_index,
                    ip_header: Vec::new(),
                    payload: buffer,
                }),
                _ => None,
            },
        };
        Ok(advert)
    }

    fn send_one(
        &self,
        fd: RawFd,
        payload: &[u8],
        destination: IpAddr,
        hop_limit: u8,
    ) -> io::Result<()> {
        let iov = [IoSlice::new(payload)];
        // Per packet, as the socket is shared by the instances of its link: a unicast
        // instance may send with its own `unicast_ttl` where another sends 255.
        let hop_limit = libc::c_int::from(hop_limit);
        match destination {
            IpAddr::V4(destination) => {
                // Name the source and the interface on every packet: the source must be the
                // interface's primary address (RFC 9568 §5.1.1.1), never a VIP, and the
                // interface must never be left to the routing table (pitfall 8).
                let source = self.interface.primary_ipv4.unwrap_or(Ipv4Addr::UNSPECIFIED);
                let packet_info = libc::in_pktinfo {
                    ipi_ifindex: interface_index_c_int(self.interface.index)?,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from_ne_bytes(source.octets()),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let address = SockaddrIn::from(SocketAddrV4::new(destination, 0));
                sendmsg(
                    fd,
                    &iov,
                    &[
                        ControlMessage::Ipv4PacketInfo(&packet_info),
                        ControlMessage::Ipv4Ttl(&hop_limit),
                    ],
                    MsgFlags::empty(),
                    Some(&address),
                )?;
            }
            IpAddr::V6(destination) => {
                // open() refuses IPv6 on an interface without a link-local address and this
                // copy of the interface never changes, so the fallback is never sent.
                let source = self.interface.link_local.unwrap_or(Ipv6Addr::UNSPECIFIED);
                let packet_info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: source.octets(),
                    },
                    ipi6_ifindex: self.interface.index,
                };
                let scope = if destination.is_unicast_link_local() || destination.is_multicast() {
                    self.interface.index
                } else {
                    0
                };
                let address = SockaddrIn6::from(SocketAddrV6::new(destination, 0, 0, scope));
                sendmsg(
                    fd,
                    &iov,
                    &[
                        ControlMessage::Ipv6PacketInfo(&packet_info),
                        ControlMessage::Ipv6HopLimit(&hop_limit),
                    ],
                    MsgFlags::empty(),
                    Some(&address),
                )?;
            }
        }
        Ok(())
    }
}

type ConfigureError = (&'static str, io::Error);

fn configure_ipv4(socket: &Socket, index: u32) -> Result<(), ConfigureError> {
    let interface = InterfaceIndexOrAddress::Index(index);
    // Pitfall 9: the kernel delivers local multicast only for groups someone joined.
    socket
        .join_multicast_v4_n(&VRRP_GROUP_V4, &interface)
        .map_err(|error| ("join 224.0.0.18", error))?;
    // Receive only the groups this socket joined, not every group joined on the host.
    socket
        .set_multicast_all_v4(false)
        .map_err(|error| ("IP_MULTICAST_ALL off", error))?;
    // Pitfall 8: without a named interface sendto(224.0.0.18) fails with ENETUNREACH in
    // a namespace without a default route, or leaves by the default route's interface.
    let request = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: interface_index_c_int(index).map_err(|error| ("IP_MULTICAST_IF", error))?,
    };
    set_raw_option(socket, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &request)
        .map_err(|error| ("IP_MULTICAST_IF", error))?;
    socket
        .set_multicast_ttl_v4(VRRP_HOP_LIMIT.into())
        .map_err(|error| ("IP_MULTICAST_TTL", error))?;
    socket
        .set_ttl_v4(VRRP_HOP_LIMIT.into())
        .map_err(|error| ("IP_TTL", error))?;
    // Our own adverts must not come back as if from a peer (pitfall 9).
    socket
        .set_multicast_loop_v4(false)
        .map_err(|error| ("IP_MULTICAST_LOOP off", error))?;
    socket
        .set_tos_v4(TRAFFIC_CLASS_CS6.into())
        .map_err(|error| ("IP_TOS", error))?;
    setsockopt(socket, sockopt::Ipv4PacketInfo, &true)
        .map_err(|error| ("IP_PKTINFO", error.into()))?;
    Ok(())
}

fn configure_ipv6(socket: &Socket, index: u32) -> Result<(), ConfigureError> {
    // Pitfall 10: ff02::12 is not flooded by an MLD-snooping bridge unless we join.
    socket
        .join_multicast_v6(&VRRP_GROUP_V6, index)
        .map_err(|error| ("join ff02::12", error))?;
    socket
        .set_multicast_all_v6(false)
        .map_err(|error| ("IPV6_MULTICAST_ALL off", error))?;
    socket
        .set_multicast_if_v6(index)
        .map_err(|error| ("IPV6_MULTICAST_IF", error))?;
    socket
        .set_multicast_hops_v6(VRRP_HOP_LIMIT.into())
        .map_err(|error| ("IPV6_MULTICAST_HOPS", error))?;
    socket
        .set_unicast_hops_v6(VRRP_HOP_LIMIT.into())
        .map_err(|error| ("IPV6_UNICAST_HOPS", error))?;
    socket
        .set_multicast_loop_v6(false)
        .map_err(|error| ("IPV6_MULTICAST_LOOP off", error))?;
    let traffic_class = libc::c_int::from(TRAFFIC_CLASS_CS6);
    set_raw_option(
        socket,
        libc::IPPROTO_IPV6,
        libc::IPV6_TCLASS,
        &traffic_class,
    )
    .map_err(|error| ("IPV6_TCLASS", error))?;
    setsockopt(socket, sockopt::Ipv6RecvPacketInfo, &true)
        .map_err(|error| ("IPV6_RECVPKTINFO", error.into()))?;
    socket
        .set_recv_hoplimit_v6(true)
        .map_err(|error| ("IPV6_RECVHOPLIMIT", error))?;
    Ok(())
}

/// Sets a socket option that neither socket2 nor nix wraps (IP_MULTICAST_IF with an
/// `ip_mreqn`, IPV6_TCLASS). `T` must be a plain C structure or integer without padding.
fn set_raw_option<T>(socket: &Socket, level: i32, name: i32, value: &T) -> io::Result<()> {
    let length = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `value` points to a live, fully initialised `T` for the whole call, `length`
    // is exactly its size, and setsockopt only reads that many bytes; the descriptor is
    // owned by `socket`, which outlives the call.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(value).cast(),
            length,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Hands `socket` to the tokio reactor of the current runtime, for `interest`.
pub(crate) fn register(socket: Socket, interest: Interest) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: the `Socket` owns its descriptor and closes it only when dropped, which
    // happens only when the `AsyncFd` that now owns it is dropped; its `as_raw_fd` always
    // returns that one descriptor.
    unsafe { AsyncFd::register_with_interest(socket, interest) }
        .map_err(|error| error.into_parts().1)
}

fn interface_index_c_int(index: u32) -> io::Result<libc::c_int> {
    libc::c_int::try_from(index).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// The IPv4 header fields the receive path reports.
#[derive(Debug, PartialEq, Eq)]
struct Ipv4Header {
    length: usize,
    ttl: u8,
    source: Ipv4Addr,
    destination: Ipv4Addr,
}

/// Reads the IPv4 header an IPv4 raw socket delivers in front of the payload. Returns
/// `None` for anything that is not a well-formed IPv4 header (wrong version, IHL below 5 or
/// past the end of the packet), so a peer's garbage can never make us index out of range.
fn parse_ipv4(packet: &[u8]) -> Option<Ipv4Header> {
    let first = *packet.first()?;
    let length = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || length < 20 || packet.len() < length {
        return None;
    }
    let address_at = |offset: usize| {
        let octets: [u8; 4] = packet.get(offset..offset + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(octets))
    };
    Some(Ipv4Header {
        length,
        ttl: packet[8],
        source: address_at(12)?,
        destination: address_at(16)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(first: u8, extra: usize) -> Vec<u8> {
        let mut packet = vec![first, 0xc0, 0, 32, 0, 0, 0, 0, 255, 112, 0, 0];
        packet.extend([192, 0, 2, 1, 224, 0, 0, 18]);
        packet.extend(std::iter::repeat_n(0xaa, extra));
        packet
    }

    #[test]
    fn parses_a_plain_ipv4_header() {
        let parsed = parse_ipv4(&header(0x45, 8)).expect("well-formed header");
        assert_eq!(
            parsed,
            Ipv4Header {
                length: 20,
                ttl: 255,
                source: Ipv4Addr::new(192, 0, 2, 1),
                destination: VRRP_GROUP_V4,
            }
        );
    }

    #[test]
    fn rejects_short_or_malformed_headers_without_panicking() {
        for length in 0..20 {
            assert_eq!(
                parse_ipv4(&header(0x45, 0)[..length]),
                None,
                "{length} bytes"
            );
        }
        assert_eq!(
            parse_ipv4(&header(0x44, 8)),
            None,
            "IHL 4 is below the minimum"
        );
        assert_eq!(
            parse_ipv4(&header(0x46, 3)),
            None,
            "IHL 6 runs past the end"
        );
        assert_eq!(parse_ipv4(&header(0x65, 8)), None, "version 6");
    }

    #[test]
    fn honours_ipv4_options() {
        let parsed = parse_ipv4(&header(0x46, 12)).expect("header with one option word");
        assert_eq!(parsed.length, 24);
    }
}
