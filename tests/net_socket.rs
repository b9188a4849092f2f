//! Raw VRRP sockets between namespaces: what arrives, from where, with which hop limit.

mod netns;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use netns::{Lab, Netns, require_root, runtime, tear_down};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::runtime::Handle;
use vrrp_sidecar::net::{Carrier, Family, Interface, Netlink, ReceivedAdvert, VrrpSocket};
use vrrp_sidecar::vrrp::packet::{IP_PROTOCOL, ah};
use vrrp_sidecar::vrrp::{VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_HOP_LIMIT};

/// An advert-sized payload (v3 header plus one IPv4 address); its content is opaque here.
const PAYLOAD: [u8; 12] = [0x31, 51, 100, 1, 0, 10, 0xab, 0xcd, 192, 0, 2, 100];
/// Long enough for a packet on a local bridge, short enough to keep the suite quick.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(2);
const SILENCE: Duration = Duration::from_millis(500);

fn two_hosts() -> Lab {
    Lab::builder().host("h1").host("h2").build()
}

/// Looks `eth0` up from inside `ns`, on a runtime of its own (the result is plain data).
fn lookup(ns: &Netns) -> Interface {
    lookup_named(ns, "eth0")
}

/// Looks `name` up from inside `ns`.
fn lookup_named(ns: &Netns, name: &'static str) -> Interface {
    ns.enter(move || {
        runtime().block_on(async {
            let netlink = Netlink::connect().expect("netlink socket");
            Interface::lookup(&netlink, name)
                .await
                .expect("interface exists")
        })
    })
}

/// Opens a VRRP socket inside `ns`, registered with the runtime behind `handle`.
fn open(ns: &Netns, interface: &Interface, family: Family, handle: &Handle) -> VrrpSocket {
    open_carrying(ns, interface, family, Carrier::Vrrp, handle)
}

/// Opens a socket for `carrier` inside `ns`.
fn open_carrying(
    ns: &Netns,
    interface: &Interface,
    family: Family,
    carrier: Carrier,
    handle: &Handle,
) -> VrrpSocket {
    let interface = interface.clone();
    let handle = handle.clone();
    ns.enter(move || {
        let _runtime = handle.enter();
        VrrpSocket::open(&interface, family, carrier).expect("open VRRP socket")
    })
}

async fn receive(socket: &VrrpSocket) -> ReceivedAdvert {
    tokio::time::timeout(ARRIVAL_TIMEOUT, socket.recv())
        .await
        .expect("advert arrived in time")
        .expect("receive succeeded")
}

async fn assert_silent(socket: &VrrpSocket) {
    if let Ok(received) = tokio::time::timeout(SILENCE, socket.recv()).await {
        panic!("expected nothing, got {received:?}");
    }
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn ipv4_multicast_advert_arrives_with_ttl_255_and_is_not_looped_back() {
    require_root("ipv4_multicast_advert_arrives_with_ttl_255_and_is_not_looped_back");
    let lab = two_hosts();
    let (h1, h2) = (lab.host("h1"), lab.host("h2"));
    let (h1_eth0, h2_eth0) = (lookup(&h1.ns), lookup(&h2.ns));
    assert_eq!(h1_eth0.primary_ipv4, Some(h1.ipv4));
    let runtime = runtime();
    let sender = open(&h1.ns, &h1_eth0, Family::Ipv4, runtime.handle());
    let receiver = open(&h2.ns, &h2_eth0, Family::Ipv4, runtime.handle());
    runtime.block_on(async {
        sender
            .send(&PAYLOAD, VRRP_GROUP_V4.into(), VRRP_HOP_LIMIT)
            .await
            .expect("send");
        let advert = receive(&receiver).await;
        // The IPv4 header as received: 20 bytes, protocol 112 (its ID and checksum are the
        // kernel's).
        assert_eq!((advert.ip_header.len(), advert.ip_header[9]), (20, 112));
        assert_eq!(
            advert,
            ReceivedAdvert {
                source: IpAddr::V4(h1.ipv4),
                destination: IpAddr::V4(VRRP_GROUP_V4),
                hop_limit: 255,
                interface_index: h2_eth0.index,
                ip_header: advert.ip_header.clone(),
                payload: PAYLOAD.to_vec(),
            }
        );
        // IP_MULTICAST_LOOP is off: the sender never hears itself.
        assert_silent(&sender).await;
    });
    drop((sender, receiver));
    tear_down(lab);
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn ipv6_multicast_advert_comes_from_the_link_local_address() {
    require_root("ipv6_multicast_advert_comes_from_the_link_local_address");
    let lab = two_hosts();
    let (h1, h2) = (lab.host("h1"), lab.host("h2"));
    let (h1_eth0, h2_eth0) = (lookup(&h1.ns), lookup(&h2.ns));
    let h1_link_local = h1
        .ns
        .link_local("eth0")
        .expect("h1 has a link-local address");
    assert_eq!(h1_eth0.link_local, Some(h1_link_local));
    let runtime = runtime();
    let sender = open(&h1.ns, &h1_eth0, Family::Ipv6, runtime.handle());
    let receiver = open(&h2.ns, &h2_eth0, Family::Ipv6, runtime.handle());
    runtime.block_on(async {
        sender
            .send(&PAYLOAD, VRRP_GROUP_V6.into(), VRRP_HOP_LIMIT)
            .await
            .expect("send");
        let advert = receive(&receiver).await;
        assert_eq!(
            advert,
            ReceivedAdvert {
                source: IpAddr::V6(h1_link_local),
                destination: IpAddr::V6(VRRP_GROUP_V6),
                hop_limit: 255,
                interface_index: h2_eth0.index,
                ip_header: Vec::new(),
                payload: PAYLOAD.to_vec(),
            }
        );
        assert_silent(&sender).await;
    });
    drop((sender, receiver));
    tear_down(lab);
}

/// Unicast adverts leave with the hop limit given, per packet: 255 by default, or the
/// instance's `unicast_ttl` (keepalived's), on the socket its link's instances share.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn unicast_peers_receive_with_the_hop_limit_sent() {
    require_root("unicast_peers_receive_with_the_hop_limit_sent");
    let lab = two_hosts();
    let (h1, h2) = (lab.host("h1"), lab.host("h2"));
    let (h1_eth0, h2_eth0) = (lookup(&h1.ns), lookup(&h2.ns));
    let runtime = runtime();
    let sender_v4 = open(&h1.ns, &h1_eth0, Family::Ipv4, runtime.handle());
    let receiver_v4 = open(&h2.ns, &h2_eth0, Family::Ipv4, runtime.handle());
    let sender_v6 = open(&h1.ns, &h1_eth0, Family::Ipv6, runtime.handle());
    let receiver_v6 = open(&h2.ns, &h2_eth0, Family::Ipv6, runtime.handle());
    runtime.block_on(async {
        for hop_limit in [VRRP_HOP_LIMIT, 2] {
            sender_v4
                .send_to_peers(&PAYLOAD, &[h2.ipv4.into()], hop_limit)
                .await
                .expect("send to IPv4 peer");
            let advert = receive(&receiver_v4).await;
            assert_eq!(
                (advert.source, advert.destination, advert.hop_limit),
                (h1.ipv4.into(), h2.ipv4.into(), hop_limit)
            );
            assert_eq!(advert.payload, PAYLOAD);

            sender_v6
                .send_to_peers(&PAYLOAD, &[h2.ipv6.into()], hop_limit)
                .await
                .expect("send to IPv6 peer");
            let advert = receive(&receiver_v6).await;
            let h1_link_local = h1_eth0.link_local.expect("looked up");
            assert_eq!(
                (advert.source, advert.destination, advert.hop_limit),
                (h1_link_local.into(), h2.ipv6.into(), hop_limit)
            );
            assert_eq!(advert.interface_index, h2_eth0.index);
        }
    });
    drop((sender_v4, receiver_v4, sender_v6, receiver_v6));
    tear_down(lab);
}

/// Pitfall 8: the lab has no default route, so a raw socket that does not name its
/// interface gets ENETUNREACH for 224.0.0.18; the VRRP socket names it and gets through.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn multicast_send_works_without_a_default_route() {
    require_root("multicast_send_works_without_a_default_route");
    let lab = two_hosts();
    let (h1, h2) = (lab.host("h1"), lab.host("h2"));
    assert_eq!(h1.ns.ip(&["route", "show", "default"]).trim(), "");
    assert_eq!(h1.ns.ip(&["-6", "route", "show", "default"]).trim(), "");
    let plain_send = h1.ns.enter(|| {
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(IP_PROTOCOL))),
        )
        .expect("raw socket");
        let group = SockAddr::from(SocketAddr::new(VRRP_GROUP_V4.into(), 0));
        socket
            .send_to(&PAYLOAD, &group)
            .map_err(|error| error.raw_os_error())
    });
    assert_eq!(
        plain_send,
        Err(Some(libc::ENETUNREACH)),
        "the trap exists here"
    );

    let (h1_eth0, h2_eth0) = (lookup(&h1.ns), lookup(&h2.ns));
    let runtime = runtime();
    let sender = open(&h1.ns, &h1_eth0, Family::Ipv4, runtime.handle());
    let receiver = open(&h2.ns, &h2_eth0, Family::Ipv4, runtime.handle());
    runtime.block_on(async {
        sender
            .send(
                &PAYLOAD,
                Ipv4Addr::new(224, 0, 0, 18).into(),
                VRRP_HOP_LIMIT,
            )
            .await
            .expect("send without a default route");
        assert_eq!(receive(&receiver).await.source, IpAddr::V4(h1.ipv4));
    });
    drop((sender, receiver));
    tear_down(lab);
}

/// Pitfall 9: a raw socket would see protocol 112 from every interface; each socket only
/// returns what arrived on its own.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn each_socket_hears_only_its_own_interface() {
    require_root("each_socket_hears_only_its_own_interface");
    let lab = Lab::builder().host("h1").host("h2").second_lan().build();
    let (h1, h2) = (lab.host("h1"), lab.host("h2"));
    let h1_eth0 = lookup(&h1.ns);
    let h1_eth1 = lookup_named(&h1.ns, "eth1");
    let h2_eth1 = lookup_named(&h2.ns, "eth1");
    assert_eq!(h2_eth1.primary_ipv4, h2.second_ipv4);
    let runtime = runtime();
    let sender = open(&h2.ns, &h2_eth1, Family::Ipv4, runtime.handle());
    let on_eth0 = open(&h1.ns, &h1_eth0, Family::Ipv4, runtime.handle());
    let on_eth1 = open(&h1.ns, &h1_eth1, Family::Ipv4, runtime.handle());
    runtime.block_on(async {
        sender
            .send(&PAYLOAD, VRRP_GROUP_V4.into(), VRRP_HOP_LIMIT)
            .await
            .expect("send");
        let advert = receive(&on_eth1).await;
        assert_eq!(advert.interface_index, h1_eth1.index);
        assert_eq!(Some(advert.source), h2.second_ipv4.map(IpAddr::V4));
        assert_silent(&on_eth0).await;
    });
    drop((sender, on_eth0, on_eth1));
    tear_down(lab);
}

/// An advert under an IPsec Authentication Header goes out as we built its IPv4 header (the
/// ICV covers the identification, which the kernel would otherwise choose), arrives on the
/// protocol 51 socket only, and verifies there.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn authentication_header_adverts_travel_as_protocol_51_and_verify() {
    require_root("authentication_header_adverts_travel_as_protocol_51_and_verify");
    let lab = two_hosts();
    let (h1, h2) = (lab.host("h1"), lab.host("h2"));
    let (h1_eth0, h2_eth0) = (lookup(&h1.ns), lookup(&h2.ns));
    let runtime = runtime();
    let carrier = Carrier::AuthenticationHeader;
    let sender = open_carrying(&h1.ns, &h1_eth0, Family::Ipv4, carrier, runtime.handle());
    let receiver = open_carrying(&h2.ns, &h2_eth0, Family::Ipv4, carrier, runtime.handle());
    let plain_receiver = open(&h2.ns, &h2_eth0, Family::Ipv4, runtime.handle());
    let key = *b"secret\0\0";
    let packet = ah::seal(&PAYLOAD, h1.ipv4, VRRP_GROUP_V4, 7, &key, None);
    runtime.block_on(async {
        sender
            .send(&packet, VRRP_GROUP_V4.into(), VRRP_HOP_LIMIT)
            .await
            .expect("send");
        let advert = receive(&receiver).await;
        assert_eq!(advert.ip_header, packet[..20], "the header as we built it");
        assert_eq!(advert.hop_limit, 255);
        let (header, vrrp) = ah::open(&advert.ip_header, &advert.payload, &key, false)
            .expect("the ICV verifies at the receiver");
        assert_eq!((header.sequence, vrrp), (7, &PAYLOAD[..]));
        assert!(ah::open(&advert.ip_header, &advert.payload, b"wrongkey", false).is_err());
        assert_silent(&plain_receiver).await;
        assert_silent(&sender).await;
    });
    drop((sender, receiver, plain_receiver));
    tear_down(lab);
}
