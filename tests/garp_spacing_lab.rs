//! Announcement spacing on the wire, from a native configuration: the real daemon in a
//! namespace lab, tshark on the bridge timing each gratuitous ARP and unsolicited NA.
//! Unsolicited NAs follow `gna_interval` and gratuitous ARPs `garp_interval`, each on a clock
//! of its own, shared by the instances on the interface; a `garp_groups` entry spaces the
//! interfaces it names together (keepalived 2.2.7's `vrrp_garp_interval`,
//! `vrrp_gna_interval` and `garp_group`). `interop_keepalived.rs` runs the same on
//! keepalived and compares.

mod api_lab;
mod daemon_lab;
mod netns;

use std::net::IpAddr;
use std::time::Duration;

use api_lab::{connect, runtime};
use daemon_lab::DaemonLab;
use daemon_lab::announcements::{AnnouncementCapture, bursts, gaps, on_bridge};
use netns::{Lab, require_tools};
use vrrp_sidecar_client::proto;

/// One VRRPv3 IPv6 owner with two addresses (bursts of 2, NAs 40 ms apart) and one IPv4
/// owner with one address on eth0 and one on eth1 (bursts of 3, ARPs 30 ms apart on eth0,
/// 70 ms on eth1 through its garp group); no second burst.
const CONFIG: &str = r#"
[global]
garp_interval = "30ms"
gna_interval = "0.04"

[garp_groups.second-lan]
garp_interval = "70ms"
interfaces = ["eth1"]

[instances.six]
interface = "eth0"
vrid = 71
version = 3
priority = 255
virtual_addresses = ["2001:db8::61/64", "2001:db8::62/64"]
[instances.six.garp]
repeat = 2
delay = 0

[instances.four]
interface = "eth0"
vrid = 72
priority = 255
virtual_addresses = ["192.0.2.71/24", { address = "198.51.100.71/24", dev = "eth1" }]
[instances.four.garp]
repeat = 3
delay = 0
"#;

#[test]
#[ignore = "lab: needs root, tshark; scripts/test runs it"]
fn announcements_are_spaced_per_interface_and_family_on_the_wire() {
    const TEST: &str = "announcements_are_spaced_per_interface_and_family_on_the_wire";
    require_tools(TEST, &[("tshark", "tshark")]);
    let lab = DaemonLab::new(Lab::builder().host("h1").second_lan().build());
    let addresses: Vec<IpAddr> = [
        "2001:db8::61",
        "2001:db8::62",
        "192.0.2.71",
        "198.51.100.71",
    ]
    .iter()
    .map(|address| address.parse().expect("a literal address"))
    .collect();
    let capture = AnnouncementCapture::start(&lab, "announcements.pcapng", &["br0", "br1"]);
    let daemon = lab.start_with_config("h1", CONFIG, &lab.api_socket("h1"));
    // Start, take over at once (owners) and the bursts' 80 ms; a loaded machine's start
    // takes longer, never the spacing.
    std::thread::sleep(Duration::from_secs(3));
    let four = runtime().block_on(async {
        let mut client = connect(&lab.api_socket("h1")).await;
        client
            .get_instance(proto::GetInstanceRequest {
                name: "four".into(),
            })
            .await
            .expect("GetInstance")
            .into_inner()
    });
    lab.signal(&daemon, nix::sys::signal::Signal::SIGTERM);
    assert!(
        lab.wait_exit(&daemon, Duration::from_secs(5)).is_some(),
        "the daemon did not stop"
    );
    let seen = capture.stop(&lab, &addresses);
    let burst = match bursts(&seen, Duration::from_millis(500)).as_slice() {
        [burst] => burst.clone(),
        other => panic!("expected one burst, got {other:#?}\n{}", daemon.log_text()),
    };
    let br0 = on_bridge(&burst, "br0");
    let by_family = |v6: bool| -> Vec<(IpAddr, f64)> {
        let messages: Vec<(IpAddr, f64)> = br0
            .iter()
            .filter(|(address, _)| address.is_ipv6() == v6)
            .copied()
            .collect();
        let first = messages.first().map_or(0.0, |(_, at)| *at);
        messages
            .iter()
            .map(|(address, at)| (*address, at - first))
            .collect()
    };
    let (nas, arps, second_lan) = (by_family(true), by_family(false), on_bridge(&burst, "br1"));
    println!(
        "{TEST}: NAs {nas:?} gaps {:.1?} ms; ARPs on eth0 {arps:?} gaps {:.1?} ms; ARPs on \
         eth1 gaps {:.1?} ms",
        gaps(&nas),
        gaps(&arps),
        gaps(&second_lan)
    );
    let order = |messages: &[(IpAddr, f64)]| -> Vec<String> {
        messages
            .iter()
            .map(|(address, _)| address.to_string())
            .collect()
    };
    // keepalived's queueing: the first message at once, each other address once more.
    assert_eq!(
        order(&nas),
        ["2001:db8::61", "2001:db8::61", "2001:db8::62"]
    );
    assert_eq!(order(&arps), ["192.0.2.71", "192.0.2.71"]);
    assert_eq!(order(&second_lan), ["198.51.100.71", "198.51.100.71"]);
    // Never closer than the interval (1 ms for the capture's timestamps); load only makes
    // the gaps longer, since each counts from the previous send.
    assert!(gaps(&nas).iter().all(|gap| *gap >= 39.0), "{nas:?}");
    assert!(gaps(&arps).iter().all(|gap| *gap >= 29.0), "{arps:?}");
    assert!(
        gaps(&second_lan).iter().all(|gap| *gap >= 69.0),
        "{second_lan:?}"
    );
    // GetInstance shows the settings and each address's spacing.
    let announcements = four
        .announcements
        .expect("GetInstance reports the announcements");
    assert_eq!(
        (
            announcements.repeat,
            announcements.second_burst_after,
            announcements.lower_priority_repeat
        ),
        (3, None, 3)
    );
    let spacing: Vec<(String, String, Option<prost_types::Duration>)> = announcements
        .spacing
        .into_iter()
        .map(|paced| (paced.address, paced.shared_by, paced.interval))
        .collect();
    let millis = |ms: i32| {
        Some(prost_types::Duration {
            seconds: 0,
            nanos: ms * 1_000_000,
        })
    };
    assert_eq!(
        spacing,
        [
            ("192.0.2.71".to_owned(), "eth0".to_owned(), millis(30)),
            (
                "198.51.100.71".to_owned(),
                "garp group second-lan".to_owned(),
                millis(70)
            ),
        ]
    );
    lab.finish();
}
