//! The link event stream: link down/up and addresses deleted by someone else.

mod netns;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use netns::{Lab, require_root, runtime, tear_down};
use vrrp_sidecar::net::{Interface, LinkEvent, LinkEvents, NetError, Netlink};

const EVENT_TIMEOUT: Duration = Duration::from_secs(2);

/// Waits for the first event `wanted` accepts, skipping others (the kernel also reports
/// link-local and route-related changes), within a bounded time and event count.
async fn expect_event(events: &mut LinkEvents, wanted: impl Fn(&LinkEvent) -> bool) -> LinkEvent {
    let search = async {
        let mut seen = Vec::new();
        for _ in 0..64 {
            match events.next().await {
                Some(event) if wanted(&event) => return event,
                Some(event) => seen.push(event),
                None => panic!("event stream closed after {seen:?}"),
            }
        }
        panic!("no wanted event among {seen:?}");
    };
    tokio::time::timeout(EVENT_TIMEOUT, search)
        .await
        .expect("event within the timeout")
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn link_down_and_up_are_reported() {
    require_root("link_down_and_up_are_reported");
    let lab = Lab::builder().host("h1").build();
    let ns = lab.host("h1").ns.clone();
    ns.clone().enter(move || {
        runtime().block_on(async {
            let netlink = Netlink::connect().expect("netlink socket");
            let eth0 = Interface::lookup(&netlink, "eth0").await.expect("eth0");
            let mut events = LinkEvents::subscribe(&[]).expect("subscribe");
            ns.ip(&["link", "set", "eth0", "down"]);
            let down = expect_event(
                &mut events,
                |event| matches!(event, LinkEvent::LinkDown(index) if *index == eth0.index),
            )
            .await;
            assert_eq!(down, LinkEvent::LinkDown(eth0.index));
            ns.ip(&["link", "set", "eth0", "up"]);
            let up = expect_event(
                &mut events,
                |event| matches!(event, LinkEvent::LinkUp(index) if *index == eth0.index),
            )
            .await;
            assert_eq!(up, LinkEvent::LinkUp(eth0.index));
        })
    });
    tear_down(lab);
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn deleting_a_vip_with_ip_addr_del_is_reported() {
    require_root("deleting_a_vip_with_ip_addr_del_is_reported");
    let lab = Lab::builder().host("h1").build();
    let ns = lab.host("h1").ns.clone();
    ns.ip(&["addr", "add", "192.0.2.100/24", "dev", "eth0"]);
    ns.ip(&["addr", "add", "2001:db8::100/64", "dev", "eth0", "nodad"]);
    ns.clone().enter(move || {
        runtime().block_on(async {
            let netlink = Netlink::connect().expect("netlink socket");
            let eth0 = Interface::lookup(&netlink, "eth0").await.expect("eth0");
            let mut events = LinkEvents::subscribe(&[]).expect("subscribe");
            for (vip, with_prefix) in [
                (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)), "192.0.2.100/24"),
                (
                    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100)),
                    "2001:db8::100/64",
                ),
            ] {
                ns.ip(&["addr", "del", with_prefix, "dev", "eth0"]);
                let removed = expect_event(&mut events, |event| {
                    matches!(event, LinkEvent::AddressRemoved(_, address) if *address == vip)
                })
                .await;
                assert_eq!(removed, LinkEvent::AddressRemoved(eth0.index, vip));
            }
        })
    });
    tear_down(lab);
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn looking_up_a_missing_interface_names_it() {
    require_root("looking_up_a_missing_interface_names_it");
    let lab = Lab::builder().host("h1").build();
    let result = lab.host("h1").ns.enter(|| {
        runtime().block_on(async {
            let netlink = Netlink::connect().expect("netlink socket");
            Interface::lookup(&netlink, "nosuch0").await
        })
    });
    match result {
        Err(NetError::NoSuchInterface { interface }) => assert_eq!(interface, "nosuch0"),
        other => panic!("expected NoSuchInterface, got {other:?}"),
    }
    tear_down(lab);
}
