//! Gratuitous ARP and unsolicited NA: a client's neighbour entry for the VIP must move from
//! the old master's MAC to the new one's.

mod netns;

use std::net::IpAddr;
use std::time::Duration;

use netns::{Lab, Netns, parse_mac, require_root, runtime, tear_down, wait_until};
use vrrp_sidecar::net::{Announcer, Interface, Netlink};

/// The MAC the client's neighbour table holds for `address`, if any.
fn client_entry(client: &Netns, address: IpAddr) -> Option<[u8; 6]> {
    let entries = client.ip_json(&["neigh", "show", &address.to_string(), "dev", "eth0"]);
    entries[0]["lladdr"].as_str().map(parse_mac)
}

/// Puts `vip` on h1, lets the client learn h1's MAC for it, then moves it to h2 and has h2
/// announce it with `announce`; asserts the client's entry follows.
fn moves_client_to_new_master(
    test: &str,
    vip: &str,
    prefix: &str,
    ping_family: &str,
    announce: impl AsyncFnOnce(Announcer) + Send + 'static,
) {
    require_root(test);
    let lab = Lab::builder().host("h1").host("h2").host("client").build();
    let (h1, h2, client) = (
        &lab.host("h1").ns,
        &lab.host("h2").ns,
        &lab.host("client").ns,
    );
    let vip_address: IpAddr = vip.parse().expect("test VIP parses");
    let with_prefix = format!("{vip}/{prefix}");
    let (h1_mac, h2_mac) = (h1.mac("eth0"), h2.mac("eth0"));
    h1.ip(&["addr", "add", &with_prefix, "dev", "eth0", "nodad"]);
    client.run_ok(&["ping", ping_family, "-c", "1", "-W", "2", vip]);
    assert_eq!(
        client_entry(client, vip_address),
        Some(h1_mac),
        "learned h1 by ping"
    );

    h1.ip(&["addr", "del", &with_prefix, "dev", "eth0"]);
    h2.ip(&["addr", "add", &with_prefix, "dev", "eth0", "nodad"]);
    // No wait for the ARP `locktime` (1 s) is needed: the kernel lets a gratuitous ARP
    // override an entry even within it (measured on 6.18 with no wait).
    assert_eq!(
        client_entry(client, vip_address),
        Some(h1_mac),
        "nothing moved it yet"
    );
    h2.enter(|| {
        runtime().block_on(async {
            let netlink = Netlink::connect().expect("netlink socket");
            let eth0 = Interface::lookup(&netlink, "eth0").await.expect("eth0");
            announce(Announcer::open(&eth0).expect("AF_PACKET socket")).await;
        })
    });
    let moved = wait_until(Duration::from_secs(2), Duration::from_millis(20), || {
        client_entry(client, vip_address) == Some(h2_mac)
    });
    assert!(
        moved,
        "client still maps {vip} to {:02x?}, expected h2 {h2_mac:02x?}",
        client_entry(client, vip_address)
    );
    tear_down(lab);
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn gratuitous_arp_moves_the_clients_arp_entry() {
    moves_client_to_new_master(
        "gratuitous_arp_moves_the_clients_arp_entry",
        "192.0.2.100",
        "24",
        "-4",
        async |announcer| {
            announcer
                .gratuitous_arp("192.0.2.100".parse().expect("literal"))
                .await
                .expect("send gratuitous ARP");
        },
    );
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn unsolicited_na_moves_the_clients_neighbour_entry() {
    moves_client_to_new_master(
        "unsolicited_na_moves_the_clients_neighbour_entry",
        "2001:db8::100",
        "64",
        "-6",
        async |announcer| {
            announcer
                .unsolicited_na("2001:db8::100".parse().expect("literal"), false)
                .await
                .expect("send unsolicited NA");
        },
    );
}
