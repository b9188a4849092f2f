//! Virtual MAC interfaces (keepalived's `use_vmac`, ours' `virtual_mac`) in the namespace
//! lab: two routers and a client on one bridge, tshark capturing VRRP on the bridge.
//!
//! - Our pair: the VIP lives on `vrrp.51`, a private-mode macvlan with MAC 00:00:5e:00:01:33,
//!   and the client's neighbour entry for the VIP shows that MAC before and after a failover,
//!   while the VIP stays reachable and a fresh resolution still gets the virtual MAC (the
//!   parent's `arp_ignore`/`arp_filter` keep its own MAC out of it). The sysctls keepalived
//!   sets are set, adverts leave from the virtual MAC, the API shows it, and a stopped daemon
//!   leaves neither the macvlan nor its sysctls behind.
//! - `virtual_mac_xmit_base`: adverts leave from the parent's own MAC, the VIP still answers
//!   from the virtual MAC.
//! - A killed run: its macvlan (with the VIP) stays, and the next start removes it and puts
//!   the parent's sysctls back at exit; an operator's links are never touched, and a name one
//!   of them holds is refused at start.
//! - Beside keepalived 2.2.7, the same keepalived.conf with `use_vmac` on both, each side
//!   master in turn: the client's entry shows the virtual MAC throughout.
//! - IPv6: 00:00:5e:00:02:33, no address made from it, the parent's link-local address
//!   copied to it deprecated, and the client's entry for the VIP on it across a failover.
//!
//! Needs root, keepalived, tshark and ping: `scripts/test vmac_lab` runs it; without them it
//! fails naming what to install.

mod api_lab;
mod daemon_lab;
mod keepalived_lab;
mod netns;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vrrp_sidecar_client::proto;

use daemon_lab::{InstanceSpec, POLL, VIP, VIP6};
use keepalived_lab::{InteropLab, OURS, Router, Running, THEIRS, stop_capture};
use netns::{Lab, Netns, wait_until};

const CLIENT: &str = "client";
const ROUTERS: [&str; 2] = [OURS, THEIRS];
const TOOLS: [(&str, &str); 3] = [
    ("keepalived", "keepalived"),
    ("tshark", "tshark"),
    ("ping", "iputils-ping"),
];

/// The VRID of every instance here, and so the name and MAC of its macvlan.
const VRID: u8 = 51;
const VMAC: &str = "vrrp.51";
const VIRTUAL_MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, VRID];
const MASTER_PRIORITY: u8 = 150;
const BACKUP_PRIORITY: u8 = 100;

/// A first election at 100 ms adverts plus a process start on a loaded two-core machine.
const ELECTION: Duration = Duration::from_secs(4);
/// How long a stopped or killed process may take to exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);
/// How long the VIP may take to answer a ping after a take-over.
const REACH_WAIT: Duration = Duration::from_secs(3);

fn lab(test: &'static str) -> InteropLab {
    netns::require_tools(test, &TOOLS);
    InteropLab::build(test, Lab::builder().host(OURS).host(THEIRS).host(CLIENT))
}

fn ns<'l>(lab: &'l InteropLab, host: &str) -> &'l Netns {
    lab.lab.ns(host)
}

/// Whether `host` holds `address` on `interface` (false when the interface does not exist).
fn holds_on(lab: &InteropLab, host: &str, interface: &str, address: &str) -> bool {
    let output = ns(lab, host).run(&["ip", "-j", "addr", "show", "dev", interface]);
    if !output.status.success() {
        return false;
    }
    let links: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    links[0]["addr_info"]
        .as_array()
        .is_some_and(|entries| entries.iter().any(|entry| entry["local"] == address))
}

/// Waits until `host` alone among the routers holds the VIP on its macvlan, and nowhere
/// else.
fn wait_vip_on_vmac(lab: &InteropLab, host: &str, timeout: Duration) -> bool {
    wait_until(timeout, POLL, || {
        ROUTERS.iter().all(|router| {
            let here = holds_on(lab, router, VMAC, VIP);
            let on_parent = holds_on(lab, router, "eth0", VIP);
            here == (*router == host) && !on_parent
        })
    })
}

/// `ip -d -j link show dev NAME` on `host`, or `None` when there is no such link.
fn link_details(lab: &InteropLab, host: &str, name: &str) -> Option<serde_json::Value> {
    let output = ns(lab, host).run(&["ip", "-d", "-j", "link", "show", "dev", name]);
    if !output.status.success() {
        return None;
    }
    let links: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    links.get(0).cloned()
}

/// Asserts `host` has the virtual router's macvlan on eth0: private mode, the virtual MAC,
/// up.
fn assert_vmac_link(lab: &InteropLab, host: &str) {
    let link = link_details(lab, host, VMAC)
        .unwrap_or_else(|| panic!("{}: {host} has no {VMAC}", lab.test));
    assert_eq!(link["linkinfo"]["info_kind"], "macvlan", "{link}");
    assert_eq!(link["linkinfo"]["info_data"]["mode"], "private", "{link}");
    assert_eq!(link["link"], "eth0", "{link}");
    assert_eq!(link["address"], "00:00:5e:00:01:33", "{link}");
    assert!(
        link["flags"]
            .as_array()
            .is_some_and(|flags| flags.iter().any(|flag| flag == "UP")),
        "{link}"
    );
}

/// A sysctl of `host` under /proc/sys/net.
fn sysctl(lab: &InteropLab, host: &str, path: &str) -> String {
    ns(lab, host)
        .run_ok(&["cat", &format!("/proc/sys/net/{path}")])
        .trim()
        .to_owned()
}

/// The parent's `arp_ignore arp_filter arp_announce` on `host`.
fn parent_arp(lab: &InteropLab, host: &str) -> String {
    ["arp_ignore", "arp_filter", "arp_announce"]
        .map(|key| sysctl(lab, host, &format!("ipv4/conf/eth0/{key}")))
        .join(" ")
}

/// Asserts the sysctls keepalived sets for an IPv4 macvlan (keepalived/vrrp/vrrp_if_config.c)
/// are set on `host`'s.
fn assert_vmac_sysctls(lab: &InteropLab, host: &str) {
    for (key, value) in [
        ("arp_ignore", "1"),
        ("accept_local", "1"),
        ("rp_filter", "0"),
        ("promote_secondaries", "1"),
    ] {
        assert_eq!(
            sysctl(lab, host, &format!("ipv4/conf/{VMAC}/{key}")),
            value,
            "{}: {host} {VMAC} {key}",
            lab.test
        );
    }
    assert_eq!(
        sysctl(lab, host, &format!("ipv6/conf/{VMAC}/disable_ipv6")),
        "1"
    );
    assert_eq!(
        parent_arp(lab, host),
        "1 1 2",
        "{}: {host} eth0 arp_ignore, arp_filter, arp_announce",
        lab.test
    );
}

/// The client's neighbour entry for the VIP: the MAC it would send to.
fn client_entry(lab: &InteropLab) -> Option<[u8; 6]> {
    lab.lab.neighbour_mac(CLIENT, VIP)
}

/// Whether the client gets an answer to a ping of the VIP within `timeout`.
fn reachable(lab: &InteropLab, timeout: Duration) -> bool {
    wait_until(timeout, Duration::from_millis(200), || {
        ns(lab, CLIENT)
            .run(&["ping", "-c", "1", "-W", "1", "-n", VIP])
            .status
            .success()
    })
}

/// What the routers know of the client when it pings the VIP.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RoutersKnowClient {
    /// Nothing: their neighbour tables are flushed first, so the master's reply needs an ARP
    /// request of its own, sent from the parent. keepalived 2.2.7 sends it with the VIP as
    /// sender and the parent's MAC, which moves the client's entry for the VIP to that MAC
    /// (see `PARENT_WHILE_IN_USE` in server/net/vmac.rs); ours does not.
    Nothing,
    /// Its MAC: the client pings both routers' own addresses first.
    ItsMac,
}

/// Asserts the client resolves the VIP to the virtual MAC and reaches it; with `fresh`,
/// after forgetting what it knew, so the answer comes from the master now.
fn assert_client_sees_vmac(lab: &InteropLab, when: &str, fresh: bool, routers: RoutersKnowClient) {
    if fresh {
        ns(lab, CLIENT).ip(&["neigh", "flush", "dev", "eth0"]);
    }
    match routers {
        RoutersKnowClient::Nothing => {
            for host in ROUTERS {
                for interface in ["eth0", VMAC] {
                    // The macvlan may be gone on a router that stopped.
                    ns(lab, host).run(&["ip", "neigh", "flush", "dev", interface]);
                }
            }
        }
        RoutersKnowClient::ItsMac => {
            for router in ["192.0.2.1", "192.0.2.2"] {
                ns(lab, CLIENT).run(&["ping", "-c", "1", "-W", "1", "-n", router]);
            }
        }
    }
    assert!(
        reachable(lab, REACH_WAIT),
        "{}: {when}: the client cannot ping {VIP}",
        lab.test
    );
    assert_eq!(
        client_entry(lab),
        Some(VIRTUAL_MAC),
        "{}: {when}: the client's neighbour entry for {VIP}",
        lab.test
    );
    println!(
        "{}: {when}: the client's entry for {VIP} is 00:00:5e:00:01:33 and the VIP answers",
        lab.test
    );
}

/// Ours' instance as its API reports it.
fn ours_api_instance(lab: &InteropLab, host: &str) -> proto::Instance {
    let runtime = api_lab::runtime();
    let socket = lab.lab.api_socket(host);
    let instances = runtime.block_on(async {
        let mut client = api_lab::connect(&socket).await;
        client
            .list_instances(proto::ListInstancesRequest {})
            .await
            .expect("ListInstances")
            .into_inner()
            .instances
    });
    let [instance] = instances.as_slice() else {
        panic!("{}: one instance expected: {instances:#?}", lab.test);
    };
    instance.clone()
}

/// The source MAC and IPv4 address of every VRRP advert in the capture, after stopping it.
fn advert_sources(lab: &mut InteropLab) -> Vec<(String, String)> {
    let capture = lab
        .capture
        .take()
        .expect("the capture runs until read once");
    stop_capture(&lab.lab, &capture);
    advert_sources_in(&capture.file)
}

fn advert_sources_in(file: &Path) -> Vec<(String, String)> {
    let output = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-Y", "vrrp", "-T", "fields", "-e", "eth.src", "-e", "ip.src",
        ])
        .output()
        .unwrap_or_else(|error| panic!("cannot run tshark: {error}"));
    assert!(output.status.success(), "tshark -r {}", file.display());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (mac, source) = line.split_once('\t')?;
            Some((mac.to_owned(), source.to_owned()))
        })
        .collect()
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|octet| format!("{octet:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn instance(priority: u8) -> InstanceSpec {
    InstanceSpec::v3(priority).with("virtual_mac = true")
}

/// Asserts `host` has no macvlan left and its parent's ARP settings are back to the
/// namespace's defaults (0, 0).
fn assert_cleaned_up(lab: &InteropLab, host: &str, when: &str) {
    assert!(
        link_details(lab, host, VMAC).is_none(),
        "{}: {when}: {host} still has {VMAC}",
        lab.test
    );
    assert_eq!(
        parent_arp(lab, host),
        "0 0 0",
        "{}: {when}: {host}'s eth0 arp_ignore, arp_filter, arp_announce not put back",
        lab.test
    );
}

#[test]
#[ignore = "lab: needs root, keepalived, tshark, ping; scripts/test runs it"]
fn our_pair_keeps_the_virtual_mac_across_a_failover_and_leaves_nothing() {
    let mut lab = lab("our_pair_keeps_the_virtual_mac_across_a_failover_and_leaves_nothing");
    assert_eq!(parent_arp(&lab, OURS), "0 0 0");
    let master = lab.start(OURS, &Router::Ours(instance(MASTER_PRIORITY)));
    assert!(
        wait_vip_on_vmac(&lab, OURS, ELECTION),
        "{OURS} never held {VIP} on {VMAC}\n{}",
        master.log_text()
    );
    let backup = lab.start(THEIRS, &Router::Ours(instance(BACKUP_PRIORITY)));
    assert!(
        wait_until(ELECTION, POLL, || link_details(&lab, THEIRS, VMAC)
            .is_some()),
        "{THEIRS} never made {VMAC}\n{}",
        backup.log_text()
    );
    // A few adverts heard: the backup stays backup, the VIP where it was.
    std::thread::sleep(Duration::from_millis(500));
    assert!(wait_vip_on_vmac(&lab, OURS, Duration::ZERO));
    for host in ROUTERS {
        assert_vmac_link(&lab, host);
        assert_vmac_sysctls(&lab, host);
    }
    let api = ours_api_instance(&lab, OURS);
    let vmac = api.virtual_mac.expect("the API reports the virtual MAC");
    assert_eq!(
        (vmac.interface.as_str(), vmac.mac.as_str(), vmac.xmit_base),
        (VMAC, "00:00:5e:00:01:33", false)
    );
    assert_client_sees_vmac(&lab, "ours master", true, RoutersKnowClient::Nothing);

    let handover = std::time::Instant::now();
    lab.request_stop(&master);
    assert!(
        wait_vip_on_vmac(&lab, THEIRS, ELECTION),
        "{THEIRS} never took {VIP} over on {VMAC}\n{}",
        backup.log_text()
    );
    println!(
        "{}: {THEIRS} holds {VIP} on {VMAC} {:?} after {OURS}'s SIGTERM",
        lab.test,
        handover.elapsed()
    );
    assert_client_sees_vmac(
        &lab,
        "after the failover, the entry kept",
        false,
        RoutersKnowClient::Nothing,
    );
    assert_client_sees_vmac(
        &lab,
        "after the failover, resolved afresh",
        true,
        RoutersKnowClient::Nothing,
    );
    lab.wait_stopped(&master);
    assert_cleaned_up(&lab, OURS, "after SIGTERM");
    lab.stop(&backup);
    assert_cleaned_up(&lab, THEIRS, "after SIGTERM");

    // Every advert left from the virtual MAC, from each side's own primary address.
    let sources = advert_sources(&mut lab);
    assert!(!sources.is_empty(), "no advert captured");
    for (mac, source) in &sources {
        assert_eq!(mac, "00:00:5e:00:01:33", "an advert from {source}");
        assert!(source == "192.0.2.1" || source == "192.0.2.2", "{source}");
    }
    let from = |source: &str| sources.iter().filter(|(_, s)| s == source).count();
    println!(
        "{}: tshark: {} adverts from 192.0.2.1 and {} from 192.0.2.2, all from 00:00:5e:00:01:33",
        lab.test,
        from("192.0.2.1"),
        from("192.0.2.2")
    );
    assert!(from("192.0.2.1") > 0 && from("192.0.2.2") > 0);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root, keepalived, tshark, ping; scripts/test runs it"]
fn with_xmit_base_adverts_leave_from_the_parents_mac() {
    let mut lab = lab("with_xmit_base_adverts_leave_from_the_parents_mac");
    let spec = |priority| instance(priority).with("virtual_mac_xmit_base = true");
    let master = lab.start(OURS, &Router::Ours(spec(MASTER_PRIORITY)));
    assert!(
        wait_vip_on_vmac(&lab, OURS, ELECTION),
        "{OURS} never held {VIP} on {VMAC}\n{}",
        master.log_text()
    );
    let backup = lab.start(THEIRS, &Router::Ours(spec(BACKUP_PRIORITY)));
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        wait_vip_on_vmac(&lab, OURS, Duration::ZERO),
        "{}",
        backup.log_text()
    );
    assert_vmac_link(&lab, THEIRS);
    assert!(
        ours_api_instance(&lab, OURS)
            .virtual_mac
            .expect("reported")
            .xmit_base
    );
    assert_client_sees_vmac(
        &lab,
        "ours master, xmit_base",
        true,
        RoutersKnowClient::Nothing,
    );
    lab.request_stop(&master);
    assert!(
        wait_vip_on_vmac(&lab, THEIRS, ELECTION),
        "{}",
        backup.log_text()
    );
    assert_client_sees_vmac(
        &lab,
        "after the failover, xmit_base",
        false,
        RoutersKnowClient::Nothing,
    );
    lab.wait_stopped(&master);
    lab.stop(&backup);
    let parents = [
        ("192.0.2.1", mac_text(ns(&lab, OURS).mac("eth0"))),
        ("192.0.2.2", mac_text(ns(&lab, THEIRS).mac("eth0"))),
    ];
    let sources = advert_sources(&mut lab);
    assert!(!sources.is_empty(), "no advert captured");
    for (mac, source) in &sources {
        let parent = parents
            .iter()
            .find(|(address, _)| address == source)
            .unwrap_or_else(|| panic!("an advert from {source}"));
        assert_eq!(
            *mac, parent.1,
            "an advert from {source} left from another MAC"
        );
    }
    println!(
        "{}: tshark: all {} adverts left from their parent's own MAC",
        lab.test,
        sources.len()
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root, keepalived, tshark, ping; scripts/test runs it"]
fn a_killed_runs_virtual_mac_is_removed_at_the_next_start_and_others_are_left_alone() {
    let lab =
        lab("a_killed_runs_virtual_mac_is_removed_at_the_next_start_and_others_are_left_alone");
    let host = ns(&lab, OURS);
    // An operator's links: a macvlan named as a virtual MAC interface could be (with a MAC
    // of its own), and another on the same parent.
    for name in ["vrrp.52", "mine"] {
        host.ip(&[
            "link", "add", "link", "eth0", "name", name, "type", "macvlan", "mode", "bridge",
        ]);
    }
    let first = lab.start(OURS, &Router::Ours(instance(MASTER_PRIORITY)));
    assert!(
        wait_vip_on_vmac(&lab, OURS, ELECTION),
        "{}",
        first.log_text()
    );
    lab.crash(&first);
    assert!(
        holds_on(&lab, OURS, VMAC, VIP),
        "a killed run leaves its macvlan with the VIP (the kernel removes it only by \
         lifetime)"
    );
    assert_eq!(parent_arp(&lab, OURS), "1 1 2");

    let second = lab.start(OURS, &Router::Ours(instance(MASTER_PRIORITY)));
    let Running::Ours(daemon) = &second else {
        unreachable!("ours")
    };
    // The leftover still holds the VIP: wait for the new run's own state, not the VIP.
    assert!(
        daemon.wait_state_count("MASTER", 2, ELECTION),
        "{}",
        daemon.log_text()
    );
    assert!(
        wait_vip_on_vmac(&lab, OURS, ELECTION),
        "{}",
        daemon.log_text()
    );
    let removed = daemon.logged("virtual MAC interfaces removed");
    assert!(
        removed
            .iter()
            .any(|line| line.to_string().contains("left by an earlier run")),
        "{}",
        daemon.log_text()
    );
    lab.stop(&second);
    assert_cleaned_up(&lab, OURS, "after the restarted run's SIGTERM");
    for operators in ["vrrp.52", "mine"] {
        assert!(
            link_details(&lab, OURS, operators).is_some(),
            "the operator's {operators} was deleted"
        );
    }

    // A name an operator's link holds is refused at start, and the link is left alone.
    let named = InstanceSpec::v3(MASTER_PRIORITY).with("virtual_mac = \"vrrp.52\"");
    let refused = lab.start(OURS, &Router::Ours(named));
    let status = lab
        .lab
        .lab
        .wait_exit(refused.pid(), EXIT_WAIT)
        .unwrap_or_else(|| {
            panic!(
                "a taken name did not stop the start\n{}",
                refused.log_text()
            )
        });
    assert!(!status.success());
    assert!(
        refused
            .log_text()
            .contains("an interface named vrrp.52 exists and is not a virtual MAC interface"),
        "{}",
        refused.log_text()
    );
    assert!(
        link_details(&lab, OURS, "vrrp.52").is_some(),
        "the operator's vrrp.52 was deleted"
    );
    println!(
        "{}: the leftover {VMAC} was replaced at the next start and removed at its exit; \
         eth0's ARP settings were put back; the operator's vrrp.52 and mine were kept",
        lab.test
    );
    lab.finish();
}

/// The keepalived.conf both sides run, with `use_vmac`, at `priority`.
fn keepalived_conf(priority: u8) -> String {
    format!(
        "global_defs {{\n    router_id vst_vmac\n    vrrp_version 3\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id {VRID}\n    priority {priority}\n    advert_int 0.1\n    \
         use_vmac\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

/// `first` is master, `second` takes over when it stops: the client's entry shows the
/// virtual MAC throughout.
fn failover_beside_keepalived(
    lab: &InteropLab,
    first: (&str, Router),
    second: (&str, Router),
    direction: &str,
) {
    let master = lab.start(first.0, &first.1);
    assert!(
        wait_vip_on_vmac(lab, first.0, ELECTION),
        "{direction}: {} never held {VIP} on {VMAC}\n{}",
        first.0,
        master.log_text()
    );
    let backup = lab.start(second.0, &second.1);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        wait_vip_on_vmac(lab, first.0, Duration::ZERO),
        "{direction}: the backup took over\n{}",
        backup.log_text()
    );
    for host in ROUTERS {
        assert_vmac_link(lab, host);
    }
    assert_client_sees_vmac(
        lab,
        &format!("{direction}, first master"),
        true,
        RoutersKnowClient::ItsMac,
    );
    lab.request_stop(&master);
    assert!(
        wait_vip_on_vmac(lab, second.0, ELECTION),
        "{direction}: {} never took over\n{}",
        second.0,
        backup.log_text()
    );
    assert_client_sees_vmac(
        lab,
        &format!("{direction}, after the failover"),
        false,
        RoutersKnowClient::ItsMac,
    );
    assert_client_sees_vmac(
        lab,
        &format!("{direction}, resolved afresh"),
        true,
        RoutersKnowClient::ItsMac,
    );
    lab.wait_stopped(&master);
    lab.stop(&backup);
    for host in ROUTERS {
        assert!(
            link_details(lab, host, VMAC).is_none(),
            "{direction}: {host} kept {VMAC}"
        );
    }
}

#[test]
#[ignore = "lab: needs root, keepalived, tshark, ping; scripts/test runs it"]
fn beside_keepalived_the_client_sees_the_virtual_mac_in_both_directions() {
    let lab = lab("beside_keepalived_the_client_sees_the_virtual_mac_in_both_directions");
    failover_beside_keepalived(
        &lab,
        (
            OURS,
            Router::OursFromKeepalivedConf(keepalived_conf(MASTER_PRIORITY)),
        ),
        (THEIRS, Router::Keepalived(keepalived_conf(BACKUP_PRIORITY))),
        "ours to keepalived",
    );
    failover_beside_keepalived(
        &lab,
        (THEIRS, Router::Keepalived(keepalived_conf(MASTER_PRIORITY))),
        (
            OURS,
            Router::OursFromKeepalivedConf(keepalived_conf(BACKUP_PRIORITY)),
        ),
        "keepalived to ours",
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root, keepalived, tshark, ping; scripts/test runs it"]
fn an_ipv6_pair_keeps_the_ipv6_virtual_mac_across_a_failover() {
    let lab = lab("an_ipv6_pair_keeps_the_ipv6_virtual_mac_across_a_failover");
    const VIRTUAL_MAC6: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x02, VRID];
    let spec = |priority| {
        InstanceSpec::v3(priority)
            .holding(&format!("{VIP6}/64"))
            .with("virtual_mac = true")
    };
    let sole_holder = |host: &str| {
        wait_until(ELECTION, POLL, || {
            ROUTERS
                .iter()
                .all(|router| holds_on(&lab, router, VMAC, VIP6) == (*router == host))
        })
    };
    let master = lab.start(OURS, &Router::Ours(spec(MASTER_PRIORITY)));
    assert!(sole_holder(OURS), "{}", master.log_text());
    let backup = lab.start(THEIRS, &Router::Ours(spec(BACKUP_PRIORITY)));
    std::thread::sleep(Duration::from_millis(800));
    assert!(sole_holder(OURS), "{}", backup.log_text());
    for host in ROUTERS {
        let link = link_details(&lab, host, VMAC).expect("made");
        assert_eq!(link["address"], "00:00:5e:00:02:33", "{link}");
        assert_eq!(link["linkinfo"]["info_data"]["mode"], "private", "{link}");
        // RFC 9568 §7.4: no address made from the virtual MAC; the parent's link-local
        // address, deprecated, is the adverts' source.
        assert_eq!(
            sysctl(&lab, host, &format!("ipv6/conf/{VMAC}/addr_gen_mode")),
            "1"
        );
        let parent_link_local = ns(&lab, host).link_local("eth0").expect("eth0's");
        let link_locals: Vec<serde_json::Value> = ns(&lab, host)
            .addresses(VMAC)
            .into_iter()
            .filter(|entry| {
                entry["local"]
                    .as_str()
                    .is_some_and(|address| address.starts_with("fe80"))
            })
            .collect();
        assert_eq!(link_locals.len(), 1, "{host}: {link_locals:?}");
        assert_eq!(link_locals[0]["local"], parent_link_local.to_string());
        assert_eq!(link_locals[0]["preferred_life_time"], 0, "{link_locals:?}");
    }
    let client_reaches = |when: &str| {
        let reached = wait_until(REACH_WAIT, Duration::from_millis(200), || {
            ns(&lab, CLIENT)
                .run(&["ping", "-6", "-c", "1", "-W", "1", "-n", VIP6])
                .status
                .success()
        });
        assert!(
            reached,
            "{}: {when}: the client cannot ping {VIP6}",
            lab.test
        );
        assert_eq!(
            lab.lab.neighbour_mac(CLIENT, VIP6),
            Some(VIRTUAL_MAC6),
            "{}: {when}: the client's entry for {VIP6}",
            lab.test
        );
        println!(
            "{}: {when}: the client's entry for {VIP6} is 00:00:5e:00:02:33 and the VIP answers",
            lab.test
        );
    };
    ns(&lab, CLIENT).ip(&["neigh", "flush", "dev", "eth0"]);
    client_reaches("ours master");
    lab.request_stop(&master);
    assert!(sole_holder(THEIRS), "{}", backup.log_text());
    client_reaches("after the failover");
    lab.wait_stopped(&master);
    lab.stop(&backup);
    for host in ROUTERS {
        assert!(
            link_details(&lab, host, VMAC).is_none(),
            "{host} kept {VMAC}"
        );
    }
    lab.finish();
}

#[test]
#[ignore = "lab: needs root, keepalived, tshark, ping; scripts/test runs it"]
fn with_strict_reverse_path_filtering_the_backup_still_hears_the_master() {
    let lab = lab("with_strict_reverse_path_filtering_the_backup_still_hears_the_master");
    // Strict filtering everywhere (RFC 3704), as some distributions ship it: the kernel uses
    // the higher of `all` and the interface's own, so a macvlan's 0 alone would not let the
    // adverts in (their source is reached through eth0, not the macvlan).
    for host in ROUTERS {
        for interface in ["all", "default", "eth0"] {
            ns(&lab, host).run_ok(&[
                "sysctl",
                "-qw",
                &format!("net.ipv4.conf.{interface}.rp_filter=1"),
            ]);
        }
    }
    let master = lab.start(OURS, &Router::Ours(instance(MASTER_PRIORITY)));
    assert!(
        wait_vip_on_vmac(&lab, OURS, ELECTION),
        "{}",
        master.log_text()
    );
    let backup = lab.start(THEIRS, &Router::Ours(instance(BACKUP_PRIORITY)));
    // Deaf to the master's adverts, the backup would take the VIP after Master_Down_Interval
    // (0.36 s at priority 100); it must not.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        wait_vip_on_vmac(&lab, OURS, Duration::ZERO),
        "the backup did not hear the master\n{}",
        backup.log_text()
    );
    for host in ROUTERS {
        assert_eq!(sysctl(&lab, host, "ipv4/conf/all/rp_filter"), "0");
        assert_eq!(
            sysctl(&lab, host, &format!("ipv4/conf/{VMAC}/rp_filter")),
            "0"
        );
        assert_eq!(sysctl(&lab, host, "ipv4/conf/eth0/rp_filter"), "1");
    }
    assert_client_sees_vmac(&lab, "strict rp_filter", true, RoutersKnowClient::Nothing);
    lab.stop(&master);
    lab.stop(&backup);
    for host in ROUTERS {
        assert_eq!(
            sysctl(&lab, host, "ipv4/conf/all/rp_filter"),
            "1",
            "{host}: all.rp_filter not put back"
        );
    }
    println!(
        "{}: with all.rp_filter=1 the backup heard the master through its macvlan; \
         all.rp_filter was 0 while they ran and 1 again after",
        lab.test
    );
    lab.finish();
}
